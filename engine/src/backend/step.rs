//! The step types every backend shares and what a scheduler, `generate` and the benchmarks need
//! from a model instance (`StepSession`), so the same code drives the CPU `Session` and the GPU
//! `CudaSession`.
use crate::error::EngineError;
use crate::error::Result;
use crate::kv::{KvUsage, SeqId};
use std::time::Duration;

/// Tokens per KV block unless a run says otherwise.
pub const DEFAULT_BLOCK_SIZE: usize = 16;

/// A sequence's part of a step, by id.
#[derive(Debug, Clone, Copy)]
pub struct StepPart<'a> {
    pub seq: SeqId,
    pub tokens: &'a [u32],
    pub want_logits: bool,
}

/// One sequence's part of a step.
#[derive(Debug, Clone, Copy)]
pub struct SeqStep<'a> {
    /// New tokens to process (a whole prompt, a chunk of one, or one decode token).
    pub tokens: &'a [u32],
    /// Tokens of this sequence already in the KV cache.
    pub start_pos: usize,
    /// KV blocks of this sequence, with room for `start_pos + tokens.len()` tokens.
    pub table: &'a [u32],
    /// Whether to compute logits for the last new token.
    pub want_logits: bool,
}

/// Checks a step against the model's shape before any compute: non-empty parts inside the
/// context and the vocabulary, block tables long enough (shared by the CPU and GPU forwards).
pub fn check_step(
    spec: &crate::model::spec::ModelSpec,
    seqs: &[SeqStep],
    block_size: usize,
) -> Result<()> {
    for (i, s) in seqs.iter().enumerate() {
        let end = s.start_pos + s.tokens.len();
        if s.tokens.is_empty() {
            return Err(EngineError::Internal(format!(
                "sequence {i} of a step has no tokens"
            )));
        }
        if end > spec.max_context {
            return Err(EngineError::PromptTooLong {
                len: end,
                max: spec.max_context,
            });
        }
        if end > s.table.len() * block_size {
            return Err(EngineError::Internal(format!(
                "sequence {i}: {end} tokens but KV blocks for {}",
                s.table.len() * block_size
            )));
        }
        if let Some(t) = s.tokens.iter().find(|&&t| t as usize >= spec.vocab_size) {
            return Err(EngineError::field(
                "prompt",
                format!("token id {t} outside the vocabulary"),
            ));
        }
    }
    Ok(())
}

pub trait StepSession {
    /// Runs one packed step; logits of the parts that want them, in order.
    fn step(&mut self, parts: &[StepPart]) -> Result<Vec<Vec<f32>>>;
    /// Reserves context without computing it (benchmarks).
    fn reserve_context(&mut self, seq: SeqId, n: usize) -> Result<()>;
    fn free(&mut self, seq: SeqId);
    fn usage(&self) -> KvUsage;
    /// Time the last step spent in the forward (CPU wall time, or GPU time from CUDA events).
    fn last_forward(&self) -> Duration;
}
