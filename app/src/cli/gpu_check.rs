//! `gpu-check`: the CUDA backend's acceptance run on a machine with an NVIDIA GPU
//! (scripts/gpu-check.sh runs it): correctness against the CPU on the same weights, then
//! step times, roofline figures and the interference table of a large synthetic model.
use super::output::{check_writable, write_atomic};
use anyhow::bail;
use clap::Args;
use engine::backend::cuda::gpu::Gpu;
use engine::backend::Device;
use engine::loader::{load, LoadOptions};
use engine::measure::gpu_check::{accuracy, perf, Accuracy, PerfRow};
use engine::measure::steps::StepShape;
use engine::model::cards;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct GpuCheckArgs {
    #[arg(long, default_value = "cuda")]
    pub device: Device,
    /// Card timed with synthetic bf16 weights made on the GPU.
    #[arg(long, default_value = "llama-2-13b")]
    pub big: String,
    /// Measured steps per shape (median; one warm-up step first).
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Tokens in each decoding sequence's cache.
    #[arg(long, default_value_t = 512)]
    pub context: usize,
    /// Memory roofline, GB/s (~3000 measured copy bandwidth on an H100).
    #[arg(long, default_value_t = 3000.0)]
    pub peak_gb_s: f64,
    /// Compute roofline, bf16 dense TFLOP/s (~800 measured on an H100).
    #[arg(long, default_value_t = 800.0)]
    pub peak_tflops: f64,
    /// Also write every figure as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

const PROMPT: &str = "The capital of France is";
const GREEDY: usize = 16;

fn accuracy_of(gpu: &std::sync::Arc<Gpu>, card: &str) -> anyhow::Result<Accuracy> {
    let c = cards::card(card)?;
    let real = cards::has_weights(&c);
    let threads = super::threads_or_all(None);
    let m = load(&LoadOptions {
        model: card.into(),
        synthetic: !real,
        threads,
        seed: 0,
        device: Device::Cpu,
    })?;
    let mut prompt = m.tokenizer.encode(PROMPT).unwrap_or_default();
    if prompt.len() < 2 {
        prompt = vec![1, 2, 3, 4, 5];
    }
    Ok(accuracy(gpu, &m, &prompt, GREEDY)?)
}

pub fn run(a: GpuCheckArgs) -> anyhow::Result<()> {
    let Device::Cuda(ordinal) = a.device else {
        bail!("gpu-check runs on a GPU: pass --device cuda or cuda:N");
    };
    if let Some(p) = &a.json {
        check_writable(p)?;
    }
    let gpu = Gpu::open(ordinal)?;
    let (free, total) = gpu.mem_info()?;
    let (maj, min) = gpu.compute_capability;
    println!(
        "device cuda:{ordinal} {} (cc {maj}.{min}), {:.1} of {:.1} GiB free",
        gpu.name,
        free as f64 / 1073741824.0,
        total as f64 / 1073741824.0
    );

    println!(
        "\n{:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  verdict",
        "accuracy", "gpu~f32", "cpu~f32", "gpu~cpu", "mixed", "greedy32", "greedyCPU"
    );
    let mut acc = Vec::new();
    for card in ["tiny", "smollm2-135m"] {
        let r = accuracy_of(&gpu, card)?;
        let ok = r.gpu_vs_f32 < 1e-2 && r.greedy_same_f32 == r.greedy_len;
        println!(
            "{:<14} {:>9.2e} {:>9.2e} {:>9.2e} {:>9.2e} {:>6}/{:<2} {:>6}/{:<2}  {}",
            format!("{}{}", r.model, if r.synthetic { "*" } else { "" }),
            r.gpu_vs_f32,
            r.cpu_vs_f32,
            r.logits_rel_err,
            r.mixed_rel_err,
            r.greedy_same_f32,
            r.greedy_len,
            r.greedy_same,
            r.greedy_len,
            if ok { "ok" } else { "FAIL" }
        );
        acc.push(r);
    }
    println!(
        "  relative L2 error of logits (f32: an f32 forward of the same weights; cpu: the CPU\n  \
         engine, whose int8 activations alone are cpu~f32 off); mixed: gpu~cpu on a decode+prefill\n  \
         step; greedy: tokens equal to f32 / CPU greedy; * synthetic weights.\n  \
         goal: gpu~f32 < 1e-2 and greedy32 16/16"
    );

    let spec = cards::card(&a.big)?.spec;
    let ctx = a.context;
    let shape = |decode, prefill| StepShape {
        decode,
        context: ctx,
        prefill,
    };
    let mut shapes = vec![shape(1, 0), shape(32, 0)];
    for p in [128, 512, 2048] {
        shapes.push(StepShape {
            decode: 0,
            context: 0,
            prefill: p,
        });
    }
    for b in [8, 32] {
        for p in [0, 128, 512, 1024, 2048] {
            if !shapes.contains(&shape(b, p)) {
                shapes.push(shape(b, p));
            }
        }
    }
    let rep = perf(&gpu, &a.big, &spec, &shapes, a.steps)?;
    let m = rep.memory;
    println!(
        "\n{} synthetic bf16: weights {:.1} GB, KV pool {:.1} GB, {:.1} GB free",
        a.big,
        m.weights as f64 / 1e9,
        m.kv_pool as f64 / 1e9,
        m.free as f64 / 1e9
    );
    println!(
        "{:<22} {:>9} {:>9} {:>8} {:>9} {:>8} {:>10}",
        "step", "ms", "GB/s", "% mem", "TFLOP/s", "% peak", "vs decode"
    );
    let base = |b: usize| {
        rep.rows
            .iter()
            .find(|r| r.decode == b && r.prefill == 0)
            .map(|r| r.step_ms)
    };
    for r in &rep.rows {
        print_row(r, &a, base(r.decode));
    }
    println!("  goals on an H100: decode batch 1 ≥ 85 % of the memory roofline; prefill 2048 ≥ 60 % of peak");
    if let Some(p) = a.json {
        let v = serde_json::json!({ "device": gpu.name, "accuracy": acc, "perf": rep });
        write_atomic(&p, &serde_json::to_string_pretty(&v)?)?;
    }
    Ok(())
}

fn print_row(r: &PerfRow, a: &GpuCheckArgs, base: Option<f64>) {
    let label = match (r.decode, r.prefill) {
        (d, 0) => format!("decode {d} @{}", r.context),
        (0, p) => format!("prefill {p}"),
        (d, p) => format!("decode {d} + prefill {p}"),
    };
    let slowdown = match base {
        Some(b) if r.decode > 0 => format!("{:.2}x", r.step_ms / b),
        _ => "-".into(),
    };
    println!(
        "{label:<22} {:>9.2} {:>9.0} {:>7.0}% {:>9.1} {:>7.0}% {slowdown:>10}",
        r.step_ms,
        r.gb_per_s,
        100.0 * r.gb_per_s / a.peak_gb_s,
        r.tflop_per_s,
        100.0 * r.tflop_per_s / a.peak_tflops
    );
}
