//! `bench-model`: prefill tokens/s per prompt length and decode tokens/s per batch size, with
//! the share of a decode step spent outside the forward (planning, block tables, sampling).
use crate::error::{EngineError, Result};
use crate::loader::LoadedModel;
use crate::sampler::{Sampler, SamplingParams};
use crate::session::{Session, StepPart};
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::time::Instant;

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

/// Middle value (upper middle for an even count) of step times.
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

pub fn bench_model(
    m: &LoadedModel,
    cfg: &BenchConfig,
    progress: &mut dyn FnMut(&str),
) -> Result<ModelBench> {
    let spec = &m.llama.weights.spec;
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
        return Err(EngineError::Invalid(
            "prompt lengths, batch sizes, repeats and steps must be ≥ 1".into(),
        ));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
    let vocab = spec.vocab_size as u32;
    let mut prefill = Vec::new();
    for &len in &cfg.prompt_lens {
        progress(&format!("prefill {len} tokens"));
        let mut s = Session::with_capacity(&m.llama, len)?;
        let mut times = Vec::new();
        for i in 0..=cfg.repeats {
            let toks: Vec<u32> = (0..len).map(|_| rng.random_range(0..vocab)).collect();
            let t = Instant::now();
            s.step(&[StepPart {
                seq: i as u64,
                tokens: &toks,
                want_logits: true,
            }])?;
            if i > 0 {
                times.push(t.elapsed().as_secs_f64());
            }
            s.free(i as u64);
        }
        let step = median(times);
        prefill.push(PrefillRow {
            prompt_len: len,
            tokens_per_s: len as f64 / step,
            step_ms: step * 1e3,
        });
    }
    let mut decode = Vec::new();
    for &batch in &cfg.batches {
        progress(&format!("decode batch {batch}"));
        let per_seq = cfg.context + cfg.decode_steps + 2;
        let mut s = Session::with_capacity(&m.llama, batch * per_seq.next_multiple_of(16))?;
        let mut samplers = Vec::with_capacity(batch);
        let mut next = Vec::with_capacity(batch);
        for b in 0..batch {
            s.reserve_context(b as u64, cfg.context)?;
            samplers.push(Sampler::new(SamplingParams {
                seed: b as u64,
                ..Default::default()
            }));
            next.push(rng.random_range(0..vocab));
        }
        let (mut steps, mut books) = (Vec::new(), Vec::new());
        for i in 0..=cfg.decode_steps {
            let t = Instant::now();
            let toks: Vec<[u32; 1]> = next.iter().map(|&t| [t]).collect();
            let parts: Vec<StepPart> = toks
                .iter()
                .enumerate()
                .map(|(b, t)| StepPart {
                    seq: b as u64,
                    tokens: t,
                    want_logits: true,
                })
                .collect();
            let logits = s.step(&parts)?;
            for ((n, sm), l) in next.iter_mut().zip(&mut samplers).zip(&logits) {
                *n = sm.sample(l);
            }
            let total = t.elapsed().as_secs_f64();
            if i > 0 {
                steps.push(total);
                books.push(total - s.last_forward.as_secs_f64());
            }
        }
        let (step, book) = (median(steps), median(books));
        decode.push(DecodeRow {
            batch,
            context: cfg.context,
            tokens_per_s: batch as f64 / step,
            step_ms: step * 1e3,
            bookkeeping_ms: book * 1e3,
            bookkeeping_share: book / step,
        });
    }
    Ok(ModelBench {
        model: m.name.clone(),
        synthetic: m.synthetic,
        threads: m.llama.threads(),
        kernels: format!("{:?}", m.llama.isa()),
        weight_bytes: m.llama.weights.matmul_bytes(),
        prefill,
        decode,
    })
}
