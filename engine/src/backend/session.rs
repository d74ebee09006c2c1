//! What a scheduler, `generate` and the benchmarks need from a model instance, so the same
//! code drives the CPU `Session` and the GPU `CudaSession`.
use super::cuda::session::CudaSession;
use crate::error::Result;
use crate::kv::{KvUsage, SeqId};
use crate::session::{Session, StepPart};
use std::time::Duration;

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
    fn last_forward(&self) -> Duration {
        self.last_forward
    }
}

impl StepSession for CudaSession<'_> {
    fn step(&mut self, parts: &[StepPart]) -> Result<Vec<Vec<f32>>> {
        CudaSession::step(self, parts)
    }
    fn reserve_context(&mut self, seq: SeqId, n: usize) -> Result<()> {
        CudaSession::reserve_context(self, seq, n)
    }
    fn free(&mut self, seq: SeqId) {
        CudaSession::free(self, seq)
    }
    fn usage(&self) -> KvUsage {
        CudaSession::usage(self)
    }
    fn last_forward(&self) -> Duration {
        self.last_forward
    }
}
