//! Interference, measured: the step time of a decode batch when one prefill chunk of a given
//! length shares its step, relative to the same batch alone. The same rows calibrate the
//! modeled clock's cost model.
use super::steps::{time_steps, StepShape, Timing};
use crate::backend::DeviceModel;
use crate::error::{EngineError, Result};
use crate::loader::LoadedModel;
use crate::serve::cost_model::{CostModel, StepWork};
use crate::serve::events::{Emitter, RunControl};
use crate::serve::handle::{spawn_job, RunHandle};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub fn shape(&self) -> StepShape {
        StepShape {
            decode: self.decode_batch,
            context: self.context,
            prefill: self.prefill_len,
        }
    }

    /// The step's work, for fitting the cost model.
    pub fn work(&self) -> StepWork {
        self.shape().work()
    }
}

/// Measures every (decode batch, prefill length) cell on `model`'s device: wall time of the
/// step with sampling, context held fixed, as the serving loop sees a step. Publishes one
/// progress line per row; stops early (with the rows so far) when cancelled.
pub fn measure(
    model: &DeviceModel,
    cfg: &InterferenceConfig,
    emitter: &Emitter,
    control: &RunControl,
) -> Result<Vec<InterferenceRow>> {
    let spec = model.spec();
    let lens = checked_lens(cfg, spec.max_context)?;
    let total = cfg.decode_batches.len() * lens.len();
    let mut rows = Vec::new();
    for &b in &cfg.decode_batches {
        let shapes: Vec<StepShape> = lens
            .iter()
            .map(|&l| StepShape {
                decode: b,
                context: cfg.context,
                prefill: l,
            })
            .collect();
        let tokens = shapes
            .iter()
            .map(|s| s.kv_tokens(cfg.repeats, 16))
            .max()
            .unwrap_or(16);
        let mut s = model.session_for(tokens)?;
        let mut base = 0.0;
        for shape in shapes {
            if control.is_cancelled() {
                return Ok(rows);
            }
            let timing = Timing::with_sampling_fixed_context();
            let seed = cfg.seed.wrapping_add(rows.len() as u64);
            let step_ms = time_steps(
                s.as_mut(),
                spec.vocab_size,
                shape,
                cfg.repeats,
                seed,
                timing,
            )?;
            if shape.prefill == 0 {
                base = step_ms;
            }
            let row = InterferenceRow {
                decode_batch: b,
                prefill_len: shape.prefill,
                context: cfg.context,
                step_ms,
                slowdown: step_ms / base,
            };
            let line = format!(
                "decode batch {b} + prefill {}: {:.2} ms ({:.2}×)",
                row.prefill_len, row.step_ms, row.slowdown
            );
            rows.push(row);
            emitter.progress(None, rows.len(), total, line);
        }
    }
    Ok(rows)
}

/// The config checked against a model's context; the prefill lengths to visit, 0 (the batch
/// alone, the slowdown's baseline) first.
fn checked_lens(cfg: &InterferenceConfig, max_context: usize) -> Result<Vec<usize>> {
    if cfg.decode_batches.is_empty() || cfg.decode_batches.contains(&0) {
        return Err(EngineError::field("decode_batches", "sizes must be ≥ 1"));
    }
    if cfg.repeats == 0 {
        return Err(EngineError::field("repeats", "must be ≥ 1"));
    }
    let longest = cfg.prefill_lens.iter().copied().max().unwrap_or(0);
    if longest > max_context || cfg.context + cfg.repeats + 2 > max_context {
        return Err(EngineError::PromptTooLong {
            len: longest.max(cfg.context + cfg.repeats + 2),
            max: max_context,
        });
    }
    let mut lens = vec![0];
    lens.extend(cfg.prefill_lens.iter().copied().filter(|&l| l > 0));
    lens.dedup();
    Ok(lens)
}

/// The same table on the modeled clock: each cell's step time predicted by the cost model
/// instead of measured (the engine has no device to time there), so lessons and the modeled
/// workbench get a slowdown curve, e.g. for a 13B model on an H100, with no compute.
pub fn modeled(cost: &CostModel, cfg: &InterferenceConfig) -> Result<Vec<InterferenceRow>> {
    let lens = checked_lens(cfg, cost.spec.max_context)?;
    let mut rows = Vec::new();
    for &b in &cfg.decode_batches {
        let ms = |prefill| {
            let shape = StepShape {
                decode: b,
                context: cfg.context,
                prefill,
            };
            cost.predict_s(&shape.work()) * 1e3
        };
        let base = ms(0);
        for &l in &lens {
            let step_ms = ms(l);
            rows.push(InterferenceRow {
                decode_batch: b,
                prefill_len: l,
                context: cfg.context,
                step_ms,
                slowdown: step_ms / base,
            });
        }
    }
    Ok(rows)
}

/// Measures on a worker thread; events and control through the handle.
pub fn spawn(
    model: Arc<LoadedModel>,
    cfg: InterferenceConfig,
) -> Result<RunHandle<Vec<InterferenceRow>>> {
    spawn_job("interference", move |em, ctl| {
        measure(&model.model, &cfg, em, ctl)
    })
}
