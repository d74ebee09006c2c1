//! `bench-model`: prefill and decode throughput of the engine on this machine.
use super::output::{check_writable, write_atomic};
use super::ModelArgs;
use clap::Args;
use engine::measure::bench_model::{bench_model, BenchConfig};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct BenchModelArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Decode batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    pub batch: Vec<usize>,
    /// Prompt lengths for the prefill measurement.
    #[arg(long, value_delimiter = ',', default_value = "128,512")]
    pub prompt_len: Vec<usize>,
    /// Tokens already in each decoding sequence's KV cache.
    #[arg(long, default_value_t = 128)]
    pub context: usize,
    #[arg(long, default_value_t = 16)]
    pub decode_steps: usize,
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write the figures as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub fn run(a: BenchModelArgs) -> anyhow::Result<()> {
    if let Some(path) = &a.json {
        check_writable(path)?;
    }
    let m = a.model.load()?;
    let cfg = BenchConfig {
        prompt_lens: a.prompt_len.clone(),
        batches: a.batch.clone(),
        context: a.context,
        decode_steps: a.decode_steps,
        repeats: a.repeats,
        seed: a.seed,
    };
    let m = std::sync::Arc::new(m);
    let job =
        engine::serve::handle::spawn_job("bench-model", move |em, _| bench_model(&m, &cfg, em))?;
    let r = super::follow::follow(job, None)?;
    println!(
        "model {}{}  threads {}  kernels {}  weights read per step {:.1} MB",
        r.model,
        if r.synthetic { " (synthetic)" } else { "" },
        r.threads,
        r.kernels,
        r.weight_bytes as f64 / 1e6
    );
    println!("{:<10} {:>12} {:>10}", "prefill", "tokens/s", "step ms");
    for p in &r.prefill {
        println!(
            "{:<10} {:>12.1} {:>10.1}",
            p.prompt_len, p.tokens_per_s, p.step_ms
        );
    }
    println!(
        "{:<10} {:>8} {:>12} {:>10} {:>12}",
        "decode", "context", "tokens/s", "step ms", "bookkeeping"
    );
    for d in &r.decode {
        println!(
            "{:<10} {:>8} {:>12.1} {:>10.2} {:>11.2}%",
            format!("batch {}", d.batch),
            d.context,
            d.tokens_per_s,
            d.step_ms,
            d.bookkeeping_share * 100.0
        );
    }
    if let Some(path) = a.json {
        let text = serde_json::to_string_pretty(&r)?;
        write_atomic(&path, &text)?;
    }
    Ok(())
}
