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
use engine::measure::gpu_kernels::{agreement, Breakdown};
use engine::measure::gpu_serving::{modeled_error, serving, ServingRun};
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
    /// Total request rates of the serving section (DistServe Fig. 1 shape); empty skips it.
    #[arg(long, value_delimiter = ',', default_value = "6,12,24")]
    pub serve_rates: Vec<f64>,
    /// Requests per rate in the serving section.
    #[arg(long, default_value_t = 40)]
    pub serve_requests: usize,
    /// Skip re-timing every shape with the tiled CUDA-core attention kernel.
    #[arg(long)]
    pub no_baseline: bool,
    /// Also write every figure as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

const PROMPT: &str = "The capital of France is";
const GREEDY: usize = 16;
/// bf16 weights, K/V and attention operands leave ~1e-2 of relative L2 error in the logits
/// against an f32 forward (README: GPU accuracy); the check allows twice that.
const ACCURACY_BOUND: f64 = 2e-2;

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
        let ok = r.gpu_vs_f32 < ACCURACY_BOUND && r.greedy_same_f32 == r.greedy_len;
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
         goal: gpu~f32 < 2e-2 and greedy32 16/16"
    );

    println!(
        "\n{:<16} {:>5} {:>5} {:>12}  verdict",
        "kernels", "hd", "rows", "new~tiled"
    );
    let mut agree = Vec::new();
    for card in ["tiny", "smollm2-135m", &a.big] {
        let mut spec = cards::card(card)?.spec;
        // Two layers of the big model are enough to exercise its head size and batch shapes.
        spec.n_layers = spec.n_layers.min(2);
        let r = agreement(&gpu, card, &spec)?;
        println!(
            "{:<16} {:>5} {:>5} {:>12.2e}  {}",
            r.model,
            r.head_dim,
            r.rows,
            r.worst_rel_err,
            if r.worst_rel_err < ACCURACY_BOUND {
                "ok"
            } else {
                "FAIL"
            }
        );
        agree.push(r);
    }
    println!(
        "  logits of prefills, decodes (split context up to 1.3 k keys) and mixed steps with the\n  \
         current attention kernels against the tiled CUDA-core kernel, same weights (2 layers)"
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
    let profile = [shape(1, 0), shape(32, 0), shape(0, 2048)].map(|mut s| {
        if s.decode == 0 {
            s.context = 0;
        }
        s
    });
    eprintln!("timing {} shapes of {}...", shapes.len(), a.big);
    let rep = perf(
        &gpu,
        &a.big,
        &spec,
        &shapes,
        &profile,
        a.steps,
        !a.no_baseline,
    )?;
    let m = rep.memory;
    println!(
        "\n{} synthetic bf16: weights {:.1} GB, KV pool {:.1} GB, {:.1} GB free",
        a.big,
        m.weights as f64 / 1e9,
        m.kv_pool as f64 / 1e9,
        m.free as f64 / 1e9
    );
    println!(
        "{:<22} {:>9} {:>9} {:>8} {:>9} {:>8} {:>10} {:>10}",
        "step", "ms", "GB/s", "% mem", "TFLOP/s", "% peak", "vs decode", "tiled ms"
    );
    let base = |b: usize| {
        rep.rows
            .iter()
            .find(|r| r.decode == b && r.prefill == 0)
            .map(|r| r.step_ms)
    };
    for (i, r) in rep.rows.iter().enumerate() {
        print_row(
            r,
            &a,
            base(r.decode),
            rep.baseline.get(i).map(|b| b.step_ms),
        );
    }
    println!("  goals on an H100: decode batch 1 ≥ 85 % of the memory roofline; prefill 2048 ≥ 60 % of peak");
    for b in &rep.breakdown {
        print_breakdown(b);
    }
    let serving = if a.serve_rates.is_empty() {
        Vec::new()
    } else {
        serve_section(&a, ordinal)?
    };
    if let Some(p) = a.json {
        let v = serde_json::json!({
            "device": gpu.name, "accuracy": acc, "kernels": agree, "perf": rep,
            "serving": serving
        });
        write_atomic(&p, &serde_json::to_string_pretty(&v)?)?;
    }
    Ok(())
}

/// The DistServe Fig. 1 shape served on the measured and the calibrated modeled clock.
fn serve_section(a: &GpuCheckArgs, ordinal: usize) -> anyhow::Result<Vec<ServingRun>> {
    println!(
        "\nserving {} (synthetic), prompt 512 / output 64, SLO TTFT 400 ms / TPOT 40 ms, {} \
         requests per rate; logical GPUs take turns on this one",
        a.big, a.serve_requests
    );
    let model = std::sync::Arc::new(load(&LoadOptions {
        model: a.big.clone(),
        synthetic: true,
        threads: super::threads_or_all(None),
        seed: 0,
        device: Device::Cuda(ordinal),
    })?);
    let (rates, requests) = (a.serve_rates.clone(), a.serve_requests);
    let job = engine::serve::handle::spawn_job("gpu-check serving", move |em, _ctl| {
        serving(model, &rates, requests, em)
    })?;
    let runs = super::follow::follow(job, None)?;
    println!(
        "{:<9} {:<10} {:<14} {:>6} {:>8} {:>10} {:>10} {:>11}",
        "clock", "GPUs", "mode", "rate", "attain", "p90 TTFT", "p90 TPOT", "goodput/GPU"
    );
    for r in &runs {
        let layout = match r.pd {
            Some((p, d)) => format!("{} ({p}P:{d}D)", r.gpus),
            None => r.gpus.to_string(),
        };
        for m in &r.modes {
            for p in &m.points {
                println!(
                    "{:<9} {:<10} {:<14} {:>6} {:>7.1}% {:>8.1}ms {:>8.1}ms {:>11.2}",
                    format!("{:?}", r.clock).to_lowercase(),
                    layout,
                    m.mode.name(),
                    p.rate,
                    100.0 * p.attainment,
                    p.ttft_p90_ms,
                    p.tpot_p90_ms,
                    p.goodput_rps / m.gpus as f64
                );
            }
            let best = m
                .per_gpu_goodput_rps
                .map_or("below 90 % at every rate".into(), |g| {
                    format!("{g:.2} req/s")
                });
            println!(
                "{:<9} {:<10} {:<14} per-GPU rate at 90 %: {best}",
                "", "", ""
            );
        }
    }
    let err = modeled_error(&runs);
    if !err.is_empty() {
        let abs = |f: fn(&(String, f64, f64)) -> f64| {
            let mut v: Vec<f64> = err.iter().map(|e| f(e).abs()).collect();
            v.sort_by(f64::total_cmp);
            (v[v.len() / 2], v[v.len() - 1])
        };
        let (t_med, t_max) = abs(|e| e.1);
        let (p_med, p_max) = abs(|e| e.2);
        println!(
            "  modeled vs measured p90: TTFT error median {:.0} % (worst {:.0} %), TPOT error \
             median {:.0} % (worst {:.0} %)",
            100.0 * t_med,
            100.0 * t_max,
            100.0 * p_med,
            100.0 * p_max
        );
    }
    Ok(runs)
}

fn print_breakdown(b: &Breakdown) {
    let s = b.shape;
    let label = if s.decode > 0 {
        format!("decode {} @{}", s.decode, s.context)
    } else {
        format!("prefill {}", s.prefill)
    };
    println!(
        "\n{label}, {:?} kernels: {:.2} ms per step, {:.1} % not covered by kernels",
        b.kernels,
        b.step_ms,
        100.0 * b.gap_share
    );
    println!(
        "  {:<26} {:>8} {:>10} {:>10}",
        "kernel", "launches", "ms/step", "µs/launch"
    );
    let mut rows = b.times.clone();
    rows.sort_by(|x, y| y.ms.total_cmp(&x.ms));
    for k in rows {
        println!(
            "  {:<26} {:>8} {:>10.3} {:>10.1}",
            k.kernel,
            k.launches,
            k.ms,
            1e3 * k.ms / k.launches as f64
        );
    }
}

fn print_row(r: &PerfRow, a: &GpuCheckArgs, base: Option<f64>, tiled: Option<f64>) {
    let label = match (r.decode, r.prefill) {
        (d, 0) => format!("decode {d} @{}", r.context),
        (0, p) => format!("prefill {p}"),
        (d, p) => format!("decode {d} + prefill {p}"),
    };
    let slowdown = match base {
        Some(b) if r.decode > 0 => format!("{:.2}x", r.step_ms / b),
        _ => "-".into(),
    };
    let tiled = tiled.map_or("-".into(), |t| format!("{t:.2}"));
    println!(
        "{label:<22} {:>9.2} {:>9.0} {:>7.0}% {:>9.1} {:>7.0}% {slowdown:>10} {tiled:>10}",
        r.step_ms,
        r.gb_per_s,
        100.0 * r.gb_per_s / a.peak_gb_s,
        r.tflop_per_s,
        100.0 * r.tflop_per_s / a.peak_tflops
    );
}
