//! What our kernel choices cost in accuracy: logits of our engine (Q4_1 weights as stored,
//! activations quantized to 8 bits per 32-block) and of candle's quantized llama (the Q4_1
//! reference: Q4_1 × Q8_1 dot products), each against an f32 forward over the same weights
//! dequantized (candle with F32 tensors). Run: cargo run --release -p engine --example accuracy
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;
use engine::backend::cpu::session::prompt_logits;
use engine::loader::{load, LoadOptions};
use engine::model::{cards, fetch};
use std::io::Cursor;

fn logits(model: &mut ModelWeights, prompt: &[u32]) -> Vec<f32> {
    let x = Tensor::new(prompt, &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    model
        .forward(&x, 0)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn stats(a: &[f32], b: &[f32]) -> (f32, f32, bool) {
    let max = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    let mean = a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32;
    let am = |v: &[f32]| engine::backend::cpu::ops::argmax(v);
    (max, mean, am(a) == am(b))
}

fn main() {
    let path = fetch::ensure(&cards::card("smollm2-135m").unwrap()).unwrap();
    let dev = Device::Cpu;
    let mut f = std::fs::File::open(&path).unwrap();
    let content = gguf_file::Content::read(&mut f).unwrap();
    // f32 copy of every tensor, written to an in-memory GGUF that candle loads as F32.
    let mut tensors = Vec::new();
    for name in content.tensor_infos.keys() {
        let q = content.tensor(&mut f, name, &dev).unwrap();
        let t = q.dequantize(&dev).unwrap();
        tensors.push((name.clone(), QTensor::quantize(&t, GgmlDType::F32).unwrap()));
    }
    let meta: Vec<(&str, &gguf_file::Value)> = content
        .metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let tref: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut buf = Cursor::new(Vec::new());
    gguf_file::write(&mut buf, &meta, &tref).unwrap();
    buf.set_position(0);
    let c32 = gguf_file::Content::read(&mut buf).unwrap();
    let mut f32_model = ModelWeights::from_gguf(c32, &mut buf, &dev).unwrap();
    use std::io::Seek;
    f.rewind().unwrap();
    let mut q_model =
        ModelWeights::from_gguf(gguf_file::Content::read(&mut f).unwrap(), &mut f, &dev).unwrap();
    let ours = load(&LoadOptions {
        model: "smollm2-135m".into(),
        synthetic: false,
        threads: 2,
        seed: 0,
        device: Default::default(),
    })
    .unwrap();
    println!(
        "{:<34} {:>22} {:>22}",
        "prompt (vs f32 forward)", "ours max/mean/top1", "candle Q4_1 max/mean/top1"
    );
    for text in [
        "The capital of France is",
        "def fibonacci(n):\n    if n < 2:\n        return n\n",
        "Once upon a time, in a land far away, there was a small dragon who",
        "<|im_start|>user\nWhat is 12 * 7?<|im_end|>\n<|im_start|>assistant\n",
    ] {
        let prompt = ours.tokenizer.encode(text).unwrap();
        let want = logits(&mut f32_model, &prompt);
        let theirs = logits(&mut q_model, &prompt);
        let got = prompt_logits(ours.model.cpu().unwrap(), &prompt).unwrap();
        let (a, b) = (stats(&got, &want), stats(&theirs, &want));
        let short: String = text.chars().take(30).collect::<String>().replace('\n', "⏎");
        println!(
            "{:<34} {:>9.3}/{:.3}/{:<5} {:>9.3}/{:.3}/{:<5}",
            short, a.0, a.1, a.2, b.0, b.1, b.2
        );
    }
}
