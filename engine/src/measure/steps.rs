//! The one step-timing primitive: steps of a chosen shape on any `StepSession`, decodes at a
//! given context, optionally sharing the step with a prefill, with an explicit choice of what
//! is timed (`Timing`). `bench-model`, `interference`, the cost-model calibration, machine fits
//! and `gpu-check` all time through it.
use crate::backend::cpu::ops::argmax;
use crate::backend::step::StepPart;
use crate::backend::step::StepSession;
use crate::error::{EngineError, Result};
use crate::kv::SeqId;
use crate::serve::cost_model::StepWork;
use rand::{Rng, SeedableRng};
use std::time::Instant;

/// The shape of one measured step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StepShape {
    /// Sequences making one token each.
    pub decode: usize,
    /// Tokens already in each decoding sequence's cache.
    pub context: usize,
    /// Prompt tokens prefilled in the same step (0: pure decode).
    pub prefill: usize,
}

impl StepShape {
    /// KV tokens a session needs to run this shape `steps` times (+1 warm-up).
    pub fn kv_tokens(&self, steps: usize, block_size: usize) -> usize {
        let per_seq = (self.context + steps + 1).next_multiple_of(block_size);
        self.decode * per_seq + self.prefill.next_multiple_of(block_size)
    }

    /// What the step asks of the hardware, in the cost model's terms.
    pub fn work(&self) -> StepWork {
        let (b, c, l) = (self.decode, self.context, self.prefill);
        StepWork {
            prefill_tokens: l,
            decode_tokens: b,
            // Each decode token attends to its context and itself; the prompt causally.
            attn_pairs: b * (c + 1) + l * (l + 1) / 2,
            // Every sequence's cached K/V is read once per step, whatever its query count.
            kv_tokens_read: b * (c + 1) + l,
            prefill_attn_pairs: l * (l + 1) / 2,
            prefill_kv_tokens_read: l,
            // Every decode row and the prompt's last token are sampled.
            lm_head_rows: Some(b + usize::from(l > 0)),
        }
    }
}

/// What a timed step's duration includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timed {
    /// The session's own forward time (CPU wall time of the forward; CUDA events on a GPU).
    Forward,
    /// Wall time of the whole step and a greedy pick from every returned row of logits, as a
    /// serving engine sees it.
    WithSampling,
}

/// Whether decoding sequences keep their context across the timed steps or grow by one token
/// per step as real decoding does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextMode {
    Fixed,
    Growing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub timed: Timed,
    pub context: ContextMode,
}

impl Timing {
    pub fn forward_fixed_context() -> Self {
        Timing {
            timed: Timed::Forward,
            context: ContextMode::Fixed,
        }
    }
    pub fn forward_growing_context() -> Self {
        Timing {
            timed: Timed::Forward,
            context: ContextMode::Growing,
        }
    }
    pub fn with_sampling_fixed_context() -> Self {
        Timing {
            timed: Timed::WithSampling,
            context: ContextMode::Fixed,
        }
    }
}

/// Median of `v` (upper middle for an even count); NaN when empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Prefill sequences get ids far above the decoders'.
const PREFILL_SEQ: SeqId = 1 << 40;

/// Medians of one timed shape, in ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepTimes {
    /// Wall time of the step call and a greedy pick from its logits.
    pub wall_ms: f64,
    /// The session's own forward time.
    pub forward_ms: f64,
    /// Wall minus forward: planning, block tables, logits copies, sampling.
    pub bookkeeping_ms: f64,
}

impl StepTimes {
    pub fn pick(&self, timed: Timed) -> f64 {
        match timed {
            Timed::Forward => self.forward_ms,
            Timed::WithSampling => self.wall_ms,
        }
    }
}

/// Median time in ms of `steps` steps of `shape` (after one warm-up step), timed as `timing`
/// says.
pub fn time_steps(
    s: &mut dyn StepSession,
    vocab: usize,
    shape: StepShape,
    steps: usize,
    seed: u64,
    timing: Timing,
) -> Result<f64> {
    Ok(time_steps_all(s, vocab, shape, steps, seed, timing.context)?.pick(timing.timed))
}

/// Every median of `steps` steps of `shape`. Each prefill is a new sequence, freed afterwards;
/// decoders keep or grow their context as `context` says, and are freed at the end.
pub fn time_steps_all(
    s: &mut dyn StepSession,
    vocab: usize,
    shape: StepShape,
    steps: usize,
    seed: u64,
    context: ContextMode,
) -> Result<StepTimes> {
    if steps == 0 || (shape.decode == 0 && shape.prefill == 0) {
        return Err(EngineError::field("shape", "a measured step needs tokens"));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut tok = || rng.random_range(0..vocab as u32);
    for b in 0..shape.decode {
        s.reserve_context(b as SeqId, shape.context)?;
    }
    let (mut wall, mut fwd, mut book) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..=steps {
        let dec: Vec<[u32; 1]> = (0..shape.decode).map(|_| [tok()]).collect();
        let pre: Vec<u32> = (0..shape.prefill).map(|_| tok()).collect();
        let mut parts: Vec<StepPart> = dec
            .iter()
            .enumerate()
            .map(|(b, t)| StepPart {
                seq: b as SeqId,
                tokens: t,
                want_logits: true,
            })
            .collect();
        if !pre.is_empty() {
            parts.push(StepPart {
                seq: PREFILL_SEQ,
                tokens: &pre,
                want_logits: true,
            });
        }
        let t0 = Instant::now();
        let logits = s.step(&parts)?;
        let picked: usize = logits.iter().map(|row| argmax(row)).sum();
        std::hint::black_box(picked);
        let w = t0.elapsed().as_secs_f64() * 1e3;
        s.free(PREFILL_SEQ);
        if context == ContextMode::Fixed {
            for b in 0..shape.decode as SeqId {
                s.free(b);
                s.reserve_context(b, shape.context)?;
            }
        }
        if i > 0 {
            let f = s.last_forward().as_secs_f64() * 1e3;
            wall.push(w);
            fwd.push(f);
            book.push(w - f);
        }
    }
    for b in 0..shape.decode {
        s.free(b as SeqId);
    }
    Ok(StepTimes {
        wall_ms: median(wall),
        forward_ms: median(fwd),
        bookkeeping_ms: median(book),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::{llama::Llama, session::Session, weights::Weights};
    use crate::model::cards;

    #[test]
    fn sizes_and_work() {
        let s = StepShape {
            decode: 2,
            context: 10,
            prefill: 20,
        };
        assert_eq!(s.kv_tokens(3, 16), 2 * 16 + 32);
        let w = s.work();
        assert_eq!((w.prefill_tokens, w.decode_tokens), (20, 2));
        // Query × key pairs: 2 × 11 for the decodes, 20·21/2 for the causal prompt.
        assert_eq!(w.attn_pairs, 22 + 210);
        // Tokens of K/V read: each decode's context + itself, and the prompt's 20 tokens once.
        assert_eq!(w.kv_tokens_read, 22 + 20);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert!(median(vec![]).is_nan());
    }

    /// The same primitive drives the CPU session (the GPU one is exercised by gpu-check), in
    /// every timing mode, and leaves the pool empty.
    #[test]
    fn times_a_mixed_step_on_the_cpu_and_cleans_up() {
        let spec = cards::card("tiny").unwrap().spec;
        let llama = Llama::new(Weights::synthetic(&spec, 0).unwrap(), 1).unwrap();
        let shape = StepShape {
            decode: 3,
            context: 5,
            prefill: 7,
        };
        let mut s = Session::with_capacity(&llama, shape.kv_tokens(2, 16)).unwrap();
        for t in [
            Timing::forward_fixed_context(),
            Timing::forward_growing_context(),
            Timing::with_sampling_fixed_context(),
        ] {
            let ms = time_steps(&mut s, spec.vocab_size, shape, 2, 1, t).unwrap();
            assert!(ms > 0.0, "{t:?}");
            assert_eq!(s.usage().used_blocks, 0, "{t:?}");
        }
        let none = StepShape {
            decode: 0,
            context: 0,
            prefill: 0,
        };
        let t = Timing::forward_fixed_context();
        assert!(time_steps(&mut s, spec.vocab_size, none, 1, 1, t).is_err());
    }
}
