//! One model instance with its own paged KV cache: reserve blocks, run a packed step, free.
//! Schedulers and benchmarks drive the engine through this.
use super::kv_store::KvStore;
use crate::backend::cpu::llama::Llama;
use crate::backend::step::{SeqStep, StepPart, StepSession, DEFAULT_BLOCK_SIZE};
use crate::error::{EngineError, Result};
use crate::kv::{KvManager, KvUsage, SeqId};

pub struct Session<'m> {
    pub model: &'m Llama,
    pub kv: KvManager,
    pub store: KvStore,
    /// Time the last `step` spent in the model forward (the rest of a step is bookkeeping).
    pub last_forward: std::time::Duration,
}

impl<'m> Session<'m> {
    pub fn new(model: &'m Llama, n_blocks: usize, block_size: usize) -> Result<Self> {
        if n_blocks == 0 || block_size == 0 {
            return Err(EngineError::field(
                "sched.kv_tokens",
                "the KV cache needs at least one block",
            ));
        }
        let s = &model.weights.spec;
        Ok(Session {
            model,
            kv: KvManager::new(n_blocks, block_size),
            store: KvStore::new(s.n_layers, n_blocks, block_size, s.n_kv_heads, s.head_dim())?,
            last_forward: Default::default(),
        })
    }

    /// A session with room for `tokens` tokens in blocks of the default size.
    pub fn with_capacity(model: &'m Llama, tokens: usize) -> Result<Self> {
        Self::new(
            model,
            tokens.div_ceil(DEFAULT_BLOCK_SIZE).max(1),
            DEFAULT_BLOCK_SIZE,
        )
    }

    /// Reserves KV room for every part (all or nothing), then runs the step.
    pub fn step(&mut self, parts: &[StepPart]) -> Result<Vec<Vec<f32>>> {
        let needed: usize = parts
            .iter()
            .map(|p| self.kv.blocks_needed(p.seq, p.tokens.len()))
            .sum();
        if needed > self.kv.free_blocks() {
            let u = self.kv.usage();
            return Err(EngineError::OutOfBlocks {
                needed,
                free: self.kv.free_blocks(),
                total: u.total_blocks,
            });
        }
        let mut starts = Vec::with_capacity(parts.len());
        for p in parts {
            starts.push(self.kv.seq_len(p.seq));
            self.kv.append(p.seq, p.tokens.len())?;
        }
        let steps: Vec<SeqStep> = parts
            .iter()
            .zip(&starts)
            .map(|(p, &start_pos)| {
                Ok(SeqStep {
                    tokens: p.tokens,
                    start_pos,
                    table: self.kv.block_table(p.seq)?,
                    want_logits: p.want_logits,
                })
            })
            .collect::<Result<_>>()?;
        let t = std::time::Instant::now();
        let out = self.model.forward(&steps, &mut self.store);
        self.last_forward = t.elapsed();
        out
    }

    /// Reserves `n` tokens of context for `seq` without computing them (benchmarks: the
    /// attention cost of a context does not depend on its values).
    pub fn reserve_context(&mut self, seq: SeqId, n: usize) -> Result<()> {
        self.kv.append(seq, n)
    }

    pub fn free(&mut self, seq: SeqId) {
        self.kv.free(seq);
    }

    pub fn usage(&self) -> KvUsage {
        self.kv.usage()
    }
}

/// Logits after the last token of `prompt`, prefilled alone in a fresh session (tests and
/// accuracy checks compare against this).
pub fn prompt_logits(model: &Llama, prompt: &[u32]) -> Result<Vec<f32>> {
    let mut s = Session::with_capacity(model, prompt.len())?;
    let mut out = s.step(&[StepPart {
        seq: 0,
        tokens: prompt,
        want_logits: true,
    }])?;
    Ok(out.remove(0))
}

impl StepSession for Session<'_> {
    fn step(&mut self, parts: &[StepPart]) -> Result<Vec<Vec<f32>>> {
        Session::step(self, parts)
    }
    fn reserve_context(&mut self, seq: SeqId, n: usize) -> Result<()> {
        Session::reserve_context(self, seq, n)
    }
    fn free(&mut self, seq: SeqId) {
        Session::free(self, seq)
    }
    fn usage(&self) -> KvUsage {
        Session::usage(self)
    }
    fn last_forward(&self) -> std::time::Duration {
        self.last_forward
    }
}
