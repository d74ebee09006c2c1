//! `interference`: how much a co-scheduled prefill chunk slows a decode step, measured.
use super::device::AnyModel;
use super::output::{check_writable, write_atomic};
use super::ModelArgs;
use clap::Args;
use engine::backend::cuda::session::CudaSession;
use engine::interference::{measure, measure_on, InterferenceConfig};
use indicatif::ProgressBar;
use std::path::PathBuf;

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
    let m = AnyModel::load(&a.model)?;
    let cfg = InterferenceConfig {
        decode_batches: a.decode_batch.clone(),
        prefill_lens: a.prefill_len.clone(),
        context: a.context,
        repeats: a.repeats,
        seed: a.seed,
    };
    let bar = ProgressBar::new(0);
    let mut progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let (name, synthetic, threads) = match &m {
        AnyModel::Cpu(c) => (c.name.clone(), c.synthetic, c.llama.threads().to_string()),
        AnyModel::Cuda(g) => (
            g.name.clone(),
            g.synthetic,
            format!("- ({})", a.model.device),
        ),
    };
    let rows = match &m {
        AnyModel::Cpu(c) => measure(&c.llama, &cfg, &mut progress)?,
        AnyModel::Cuda(g) => measure_on(
            |tokens| CudaSession::with_capacity(&g.llama, tokens),
            &g.llama.weights.spec,
            &cfg,
            &mut progress,
        )?,
    };
    bar.finish_and_clear();
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
