//! Timed steps of a chosen shape on any `StepSession`: decodes at a given context, optionally
//! sharing the step with a prefill (the interference measurement). Used by `gpu-check` and
//! `bench-model --device cuda`; the time is the session's own forward time (CUDA events on
//! the GPU).
use super::session::StepSession;
use crate::error::{EngineError, Result};
use crate::kv::SeqId;
use crate::session::StepPart;
use rand::{Rng, SeedableRng};

/// The shape of one measured step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    /// KV tokens attention reads in one step (decodes' contexts and the causal prefill).
    pub fn kv_tokens_read(&self) -> usize {
        self.decode * (self.context + 1) + self.prefill * (self.prefill + 1) / 2
    }
}

/// Prefill sequences get ids far above the decoders'.
const PREFILL_SEQ: SeqId = 1 << 40;

/// Median forward time in ms of `steps` steps of `shape` (after one warm-up step). Decoders
/// grow by one token per step; each prefill is a new sequence, freed afterwards.
pub fn time_steps(
    s: &mut impl StepSession,
    vocab: usize,
    shape: StepShape,
    steps: usize,
    seed: u64,
) -> Result<f64> {
    if steps == 0 || (shape.decode == 0 && shape.prefill == 0) {
        return Err(EngineError::Invalid("a measured step needs tokens".into()));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut tok = || rng.random_range(0..vocab as u32);
    for b in 0..shape.decode {
        s.reserve_context(b as SeqId, shape.context)?;
    }
    let mut times = Vec::with_capacity(steps);
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
        s.step(&parts)?;
        s.free(PREFILL_SEQ);
        if i > 0 {
            times.push(s.last_forward().as_secs_f64() * 1e3);
        }
    }
    for b in 0..shape.decode {
        s.free(b as SeqId);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(times[times.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{cards, llama::Llama, weights::Weights};
    use crate::session::Session;

    #[test]
    fn sizes() {
        let s = StepShape {
            decode: 2,
            context: 10,
            prefill: 20,
        };
        assert_eq!(s.kv_tokens(3, 16), 2 * 16 + 32);
        assert_eq!(s.kv_tokens_read(), 22 + 210);
    }

    /// The same helper drives the CPU session (the GPU one is exercised by gpu-check).
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
        let ms = time_steps(&mut s, spec.vocab_size, shape, 2, 1).unwrap();
        assert!(ms > 0.0);
        assert_eq!(s.usage().used_blocks, 0);
        assert!(time_steps(
            &mut s,
            spec.vocab_size,
            StepShape {
                decode: 0,
                context: 0,
                prefill: 0
            },
            1,
            1
        )
        .is_err());
    }
}
