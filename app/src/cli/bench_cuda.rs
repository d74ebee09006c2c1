//! `bench-model --device cuda`: prefill and decode step times on the GPU (CUDA-event time of
//! the forward), in the CPU table's format.
use super::bench_model::BenchModelArgs;
use engine::backend::cuda::load::load_cuda;
use engine::backend::cuda::session::CudaSession;
use engine::backend::steps::{time_steps, StepShape};

pub fn run(a: &BenchModelArgs, ordinal: usize) -> anyhow::Result<()> {
    if a.json.is_some() {
        anyhow::bail!("--json is not supported with --device cuda yet; use gpu-check --json");
    }
    let m = load_cuda(&a.model.options(), ordinal)?;
    let spec = &m.llama.weights.spec;
    let pre = |p| StepShape {
        decode: 0,
        context: 0,
        prefill: p,
    };
    let dec = |b| StepShape {
        decode: b,
        context: a.context,
        prefill: 0,
    };
    let shapes: Vec<StepShape> = a
        .prompt_len
        .iter()
        .map(|&p| pre(p))
        .chain(a.batch.iter().map(|&b| dec(b)))
        .collect();
    let steps = a.repeats.max(a.decode_steps);
    let tokens = shapes
        .iter()
        .map(|s| s.kv_tokens(steps, 16))
        .max()
        .unwrap_or(16);
    let mut s = CudaSession::with_capacity(&m.llama, tokens)?;
    println!(
        "model {}{}  device cuda:{ordinal} {}  weights read per step {:.1} MB",
        m.name,
        if m.synthetic { " (synthetic)" } else { "" },
        m.llama.gpu.name,
        m.llama.weights.matmul_bytes() as f64 / 1e6
    );
    println!("{:<10} {:>12} {:>10}", "prefill", "tokens/s", "step ms");
    for &p in &a.prompt_len {
        let ms = time_steps(&mut s, spec.vocab_size, pre(p), a.repeats, a.seed)?;
        println!("{:<10} {:>12.1} {:>10.2}", p, p as f64 / (ms / 1e3), ms);
    }
    println!(
        "{:<10} {:>8} {:>12} {:>10}",
        "decode", "context", "tokens/s", "step ms"
    );
    for &b in &a.batch {
        let ms = time_steps(&mut s, spec.vocab_size, dec(b), a.decode_steps, a.seed)?;
        println!(
            "{:<10} {:>8} {:>12.1} {:>10.2}",
            format!("batch {b}"),
            a.context,
            b as f64 / (ms / 1e3),
            ms
        );
    }
    Ok(())
}
