//! `bench-model`: prefill tokens/s per prompt length and decode tokens/s per batch size, with
//! the share of a decode step spent outside the forward (planning, block tables, sampling).
use crate::error::{EngineError, Result};
use crate::loader::LoadedModel;
use crate::measure::steps::{time_steps_all, ContextMode, StepShape};
use crate::serve::events::Emitter;
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub prompt_lens: Vec<usize>,
    pub batches: Vec<usize>,
    /// Tokens already in the cache of every decoding sequence.
    pub context: usize,
    /// Measured decode steps per batch size (after one warm-up step).
    pub decode_steps: usize,
    /// Measured prefills per prompt length (after one warm-up).
    pub repeats: usize,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrefillRow {
    pub prompt_len: usize,
    pub tokens_per_s: f64,
    pub step_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DecodeRow {
    pub batch: usize,
    pub context: usize,
    pub tokens_per_s: f64,
    pub step_ms: f64,
    pub bookkeeping_ms: f64,
    pub bookkeeping_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelBench {
    pub model: String,
    pub synthetic: bool,
    pub threads: usize,
    pub kernels: String,
    pub weight_bytes: usize,
    pub prefill: Vec<PrefillRow>,
    pub decode: Vec<DecodeRow>,
}

/// Times prefills and decode steps on the model's device through the one timing primitive:
/// wall time with sampling (what serving sees); decodes grow their context as real decoding
/// does. `progress` gets one line per finished row.
pub fn bench_model(m: &LoadedModel, cfg: &BenchConfig, emitter: &Emitter) -> Result<ModelBench> {
    let spec = m.spec();
    let longest = cfg.prompt_lens.iter().max().copied().unwrap_or(0);
    if longest > spec.max_context || cfg.context + cfg.decode_steps + 2 > spec.max_context {
        return Err(EngineError::PromptTooLong {
            len: longest.max(cfg.context),
            max: spec.max_context,
        });
    }
    if cfg.prompt_lens.contains(&0)
        || cfg.batches.contains(&0)
        || cfg.repeats == 0
        || cfg.decode_steps == 0
    {
        return Err(EngineError::field(
            "bench",
            "prompt lengths, batch sizes, repeats and steps must be ≥ 1",
        ));
    }
    let total = cfg.prompt_lens.len() + cfg.batches.len();
    let mut prefill = Vec::new();
    for &len in &cfg.prompt_lens {
        let shape = StepShape {
            decode: 0,
            context: 0,
            prefill: len,
        };
        let mut s = m.model.session_for(shape.kv_tokens(cfg.repeats, 16))?;
        let seed = cfg.seed.wrapping_add(prefill.len() as u64);
        let t = time_steps_all(
            s.as_mut(),
            spec.vocab_size,
            shape,
            cfg.repeats,
            seed,
            ContextMode::Fixed,
        )?;
        prefill.push(PrefillRow {
            prompt_len: len,
            tokens_per_s: len as f64 / (t.wall_ms / 1e3),
            step_ms: t.wall_ms,
        });
        let line = format!("prefill {len} tokens: {:.2} ms", t.wall_ms);
        emitter.progress(None, prefill.len(), total, line);
    }
    let mut decode = Vec::new();
    for &batch in &cfg.batches {
        let shape = StepShape {
            decode: batch,
            context: cfg.context,
            prefill: 0,
        };
        let mut s = m.model.session_for(shape.kv_tokens(cfg.decode_steps, 16))?;
        let seed = cfg.seed.wrapping_add(1000 + batch as u64);
        let t = time_steps_all(
            s.as_mut(),
            spec.vocab_size,
            shape,
            cfg.decode_steps,
            seed,
            ContextMode::Growing,
        )?;
        decode.push(DecodeRow {
            batch,
            context: cfg.context,
            tokens_per_s: batch as f64 / (t.wall_ms / 1e3),
            step_ms: t.wall_ms,
            bookkeeping_ms: t.bookkeeping_ms,
            bookkeeping_share: t.bookkeeping_ms / t.wall_ms,
        });
        let line = format!("decode batch {batch}: {:.2} ms", t.wall_ms);
        emitter.progress(None, prefill.len() + decode.len(), total, line);
    }
    Ok(ModelBench {
        model: m.name.clone(),
        synthetic: m.synthetic,
        threads: m.model.threads(),
        kernels: m.model.kernels(),
        weight_bytes: m.model.weight_bytes(),
        prefill,
        decode,
    })
}
