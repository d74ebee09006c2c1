//! `interference`: how much a co-scheduled prefill chunk slows a decode step, measured.
use super::follow::follow;
use super::output::{check_writable, write_atomic};
use super::ModelArgs;
use clap::Args;
use engine::measure::interference::{spawn, InterferenceConfig};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct InterferenceArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Decode batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    pub decode_batch: Vec<usize>,
    /// Lengths of the co-scheduled prefill chunk (0 = the decode batch alone).
    #[arg(long, value_delimiter = ',', default_value = "0,128,256,512,1024")]
    pub prefill_len: Vec<usize>,
    /// Tokens already cached for each decoding sequence.
    #[arg(long, default_value_t = 256)]
    pub context: usize,
    /// Measured steps per cell (median reported).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub fn run(a: InterferenceArgs) -> anyhow::Result<()> {
    if let Some(p) = &a.json {
        check_writable(p)?;
    }
    let m = Arc::new(a.model.load()?);
    let cfg = InterferenceConfig {
        decode_batches: a.decode_batch.clone(),
        prefill_lens: a.prefill_len.clone(),
        context: a.context,
        repeats: a.repeats,
        seed: a.seed,
    };
    let (name, synthetic) = (m.name.clone(), m.synthetic);
    let threads = match a.model.device {
        engine::backend::Device::Cpu => m.model.threads().to_string(),
        d => format!("- ({d})"),
    };
    let rows = follow(spawn(m, cfg)?, None)?;
    println!(
        "model {}{}  threads {}  context {}  (step time of a decode batch with one prefill chunk in the same step)",
        name,
        if synthetic { " (synthetic)" } else { "" },
        threads,
        a.context
    );
    println!(
        "{:>12} {:>12} {:>10} {:>10}",
        "decode batch", "prefill len", "step ms", "slowdown"
    );
    for r in &rows {
        println!(
            "{:>12} {:>12} {:>10.2} {:>9.2}×",
            r.decode_batch, r.prefill_len, r.step_ms, r.slowdown
        );
    }
    if let Some(p) = &a.json {
        write_atomic(
            p,
            &serde_json::to_string_pretty(&serde_json::json!({ "rows": rows }))?,
        )?;
    }
    Ok(())
}
