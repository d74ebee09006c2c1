//! Interference, measured: the step time of a decode batch when one prefill chunk of a given
//! length shares its step, relative to the same batch alone. The same rows calibrate the
//! modeled clock's cost model.
use crate::backend::session::StepSession;
use crate::cost_model::StepShape;
use crate::error::{EngineError, Result};
use crate::model::llama::Llama;
use crate::model::spec::ModelSpec;
use crate::session::{Session, StepPart};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct InterferenceConfig {
    pub decode_batches: Vec<usize>,
    pub prefill_lens: Vec<usize>,
    /// Tokens already cached for every decoding sequence.
    pub context: usize,
    /// Measured steps per cell (after one warm-up); the median is reported.
    pub repeats: usize,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterferenceRow {
    pub decode_batch: usize,
    pub prefill_len: usize,
    pub context: usize,
    pub step_ms: f64,
    /// step_ms ÷ the same decode batch's step without prefill.
    pub slowdown: f64,
}

impl InterferenceRow {
    /// The step's shape, for fitting the cost model.
    pub fn shape(&self) -> StepShape {
        let (b, l, c) = (self.decode_batch, self.prefill_len, self.context);
        StepShape {
            prefill_tokens: l,
            decode_tokens: b,
            attn_pairs: b * (c + 1) + l * (l + 1) / 2,
            kv_tokens_read: b * (c + 1) + l,
        }
    }
}

/// Measures on the CPU engine.
pub fn measure(
    model: &Llama,
    cfg: &InterferenceConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<InterferenceRow>> {
    measure_on(
        |tokens| Session::with_capacity(model, tokens),
        &model.weights.spec,
        cfg,
        progress,
    )
}

/// Measures on any session kind (`make` builds one with room for that many tokens).
pub fn measure_on<S: StepSession>(
    make: impl Fn(usize) -> Result<S>,
    spec: &ModelSpec,
    cfg: &InterferenceConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<InterferenceRow>> {
    if cfg.decode_batches.is_empty() || cfg.decode_batches.contains(&0) || cfg.repeats == 0 {
        return Err(EngineError::Invalid(
            "--decode-batch sizes must be ≥ 1".into(),
        ));
    }
    let longest = cfg.prefill_lens.iter().copied().max().unwrap_or(0);
    if longest > spec.max_context || cfg.context + 2 > spec.max_context {
        return Err(EngineError::PromptTooLong {
            len: longest.max(cfg.context + 2),
            max: spec.max_context,
        });
    }
    // The slowdown needs the batch alone as its baseline.
    let mut lens = vec![0];
    lens.extend(cfg.prefill_lens.iter().copied().filter(|&l| l > 0));
    lens.dedup();
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
    let vocab = spec.vocab_size as u32;
    let total = cfg.decode_batches.len() * lens.len();
    let mut rows = Vec::new();
    for &b in &cfg.decode_batches {
        let per_seq = (cfg.context + cfg.repeats + 2).next_multiple_of(16);
        let mut s = make(b * per_seq + longest + 16)?;
        for seq in 0..b {
            s.reserve_context(seq as u64, cfg.context)?;
        }
        let mut base = 0.0;
        for &l in &lens {
            progress(rows.len(), total);
            let mut times = Vec::new();
            for rep in 0..=cfg.repeats {
                let decode: Vec<[u32; 1]> = (0..b).map(|_| [rng.random_range(0..vocab)]).collect();
                let prompt: Vec<u32> = (0..l).map(|_| rng.random_range(0..vocab)).collect();
                let mut parts: Vec<StepPart> = decode
                    .iter()
                    .enumerate()
                    .map(|(i, t)| StepPart {
                        seq: i as u64,
                        tokens: t,
                        want_logits: true,
                    })
                    .collect();
                let prefill_seq = 1_000_000;
                if l > 0 {
                    parts.push(StepPart {
                        seq: prefill_seq,
                        tokens: &prompt,
                        want_logits: true,
                    });
                }
                let t = Instant::now();
                s.step(&parts)?;
                let dt = t.elapsed().as_secs_f64();
                s.free(prefill_seq);
                // Keep every decoding sequence at the configured context.
                for seq in 0..b as u64 {
                    s.free(seq);
                    s.reserve_context(seq, cfg.context)?;
                }
                if rep > 0 {
                    times.push(dt);
                }
            }
            let step = crate::bench::median(times);
            if l == 0 {
                base = step;
            }
            rows.push(InterferenceRow {
                decode_batch: b,
                prefill_len: l,
                context: cfg.context,
                step_ms: step * 1e3,
                slowdown: step / base,
            });
        }
    }
    progress(total, total);
    Ok(rows)
}

/// A cost model for this machine: a small grid of real steps (decode batches with and without
/// a co-scheduled prefill) fitted to the roofline of `hardware`.
pub fn calibrate(
    model: &Llama,
    hardware: crate::cost_model::Hardware,
) -> Result<crate::cost_model::CostModel> {
    let cfg = InterferenceConfig {
        decode_batches: vec![1, 8, 32],
        prefill_lens: vec![0, 64, 256],
        context: 128,
        repeats: 2,
        seed: 0,
    };
    let rows = measure(model, &cfg, &mut |_, _| {})?;
    let mut cm = crate::cost_model::CostModel::roofline_only(model.weights.spec.clone(), hardware);
    let samples: Vec<_> = rows.iter().map(|r| (r.shape(), r.step_ms / 1e3)).collect();
    cm.fit(&samples)?;
    Ok(cm)
}
