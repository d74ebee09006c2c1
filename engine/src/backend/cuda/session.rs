//! One GPU model instance with its own paged KV pool on the device: the `Session` of the CPU
//! engine (same block bookkeeping, same `step / reserve_context / free / usage`), plus
//! device-side token choice, KV transfer between sessions (peer-to-peer across GPUs), step
//! timing with CUDA events and a memory report.
use super::gpu::ctx_err;
use super::kv::DeviceKv;
use super::llama::{CudaLlama, Scratch};
use crate::backend::step::SeqStep;
use crate::backend::step::{StepPart, StepSession, DEFAULT_BLOCK_SIZE};
use crate::error::{EngineError, Result};
use crate::kv::{KvManager, KvUsage, SeqId};
use cudarc::driver::{sys::CUevent_flags, CudaEvent, PushKernelArg};
use serde::Serialize;
use std::time::Duration;

/// Device memory of one session, in bytes.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MemoryReport {
    pub weights: usize,
    pub kv_pool: usize,
    pub free: usize,
    pub total: usize,
}

pub struct CudaSession<'m> {
    pub model: &'m CudaLlama,
    pub kv: KvManager,
    pub pool: DeviceKv,
    scratch: Scratch,
    events: (CudaEvent, CudaEvent),
    n_logits: usize,
    /// GPU time of the last step's forward, from CUDA events.
    pub last_forward: Duration,
}

impl<'m> CudaSession<'m> {
    pub fn new(model: &'m CudaLlama, n_blocks: usize, block_size: usize) -> Result<Self> {
        let gpu = &model.gpu;
        let pool = DeviceKv::new(gpu, &model.weights.spec, n_blocks, block_size)?;
        let ev = || gpu.ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT));
        Ok(CudaSession {
            model,
            kv: KvManager::new(n_blocks, block_size),
            pool,
            scratch: Scratch::default(),
            events: (
                ev().map_err(ctx_err!("event"))?,
                ev().map_err(ctx_err!("event"))?,
            ),
            n_logits: 0,
            last_forward: Duration::ZERO,
        })
    }

    pub fn with_capacity(model: &'m CudaLlama, tokens: usize) -> Result<Self> {
        Self::new(
            model,
            tokens.div_ceil(DEFAULT_BLOCK_SIZE).max(1),
            DEFAULT_BLOCK_SIZE,
        )
    }

    /// Reserves KV room for every part (all or nothing) and runs the step on the device,
    /// timing it with CUDA events. Logits stay on the device (`logits`, `next_tokens`).
    pub fn run(&mut self, parts: &[StepPart]) -> Result<()> {
        let needed: usize = parts
            .iter()
            .map(|p| self.kv.blocks_needed(p.seq, p.tokens.len()))
            .sum();
        if needed > self.kv.free_blocks() {
            return Err(EngineError::OutOfBlocks {
                needed,
                free: self.kv.free_blocks(),
                total: self.kv.usage().total_blocks,
            });
        }
        let mut starts = Vec::with_capacity(parts.len());
        for p in parts {
            starts.push(self.kv.seq_len(p.seq));
        }
        // Validate against the tables as they will be before committing the reservation.
        let mut after = self.kv.clone();
        for p in parts {
            after.append(p.seq, p.tokens.len())?;
        }
        let seqs = parts
            .iter()
            .zip(&starts)
            .map(|(p, &start_pos)| {
                Ok(SeqStep {
                    tokens: p.tokens,
                    start_pos,
                    table: after.block_table(p.seq)?,
                    want_logits: p.want_logits,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.model.check(&seqs, &self.pool)?;
        let plan = self.model.plan(&seqs, self.kv.block_size());
        self.kv = after;
        let stream = &self.model.gpu.stream;
        self.events.0.record(stream).map_err(ctx_err!("event"))?;
        self.model
            .forward(&plan, &mut self.pool, &mut self.scratch)?;
        self.events.1.record(stream).map_err(ctx_err!("event"))?;
        self.events.1.synchronize().map_err(ctx_err!("step"))?;
        let ms = self
            .events
            .0
            .elapsed_ms(&self.events.1)
            .map_err(ctx_err!("event"))?;
        self.last_forward = Duration::from_secs_f64(ms as f64 / 1e3);
        self.n_logits = plan.n_logits();
        Ok(())
    }

    /// Like `Session::step`: the logits of every part that wants them, copied to the host.
    pub fn step(&mut self, parts: &[StepPart]) -> Result<Vec<Vec<f32>>> {
        self.run(parts)?;
        self.logits()
    }

    /// The last step's logits, one row per part that wanted them.
    pub fn logits(&self) -> Result<Vec<Vec<f32>>> {
        let vocab = self.model.weights.spec.vocab_size;
        let Some(dev) = self.scratch.logits.as_ref().filter(|_| self.n_logits > 0) else {
            return Ok(Vec::new());
        };
        let host = self
            .model
            .gpu
            .stream
            .clone_dtoh(&dev.slice(..self.n_logits * vocab))
            .map_err(ctx_err!("copying logits"))?;
        Ok(host.chunks_exact(vocab).map(|c| c.to_vec()).collect())
    }

    /// The next token of each logits row of the last step, chosen on the device: greedy when
    /// `temperature` is 0, else temperature + top-p with one uniform draw per row.
    pub fn next_tokens(&self, temperature: f32, top_p: f32, uniforms: &[f32]) -> Result<Vec<u32>> {
        let (gpu, k) = (&self.model.gpu, self.n_logits);
        let Some(logits) = self.scratch.logits.as_ref().filter(|_| k > 0) else {
            return Ok(Vec::new());
        };
        let vocab = self.model.weights.spec.vocab_size as i32;
        let mut out = gpu.zeros::<u32>(k)?;
        let cfg = super::gpu::Gpu::cfg((k as u32, 1, 1), 1024);
        if temperature == 0.0 {
            let mut b = gpu.stream.launch_builder(gpu.func("argmax_rows"));
            b.arg(logits).arg(&vocab).arg(&mut out);
            // Safety: matches argmax_rows(const float*, int, u32*); `logits` has k rows.
            unsafe { b.launch(cfg) }.map_err(ctx_err!("argmax"))?;
        } else {
            if uniforms.len() < k {
                return Err(EngineError::Internal(
                    "device sampling needs one uniform draw per row".into(),
                ));
            }
            let u = gpu.upload(&uniforms[..k])?;
            let inv_t = 1.0 / temperature;
            let mut b = gpu.stream.launch_builder(gpu.func("sample_rows"));
            b.arg(logits)
                .arg(&vocab)
                .arg(&u)
                .arg(&inv_t)
                .arg(&top_p)
                .arg(&mut out);
            // Safety: matches sample_rows(const float*, int, const float*, float, float, u32*).
            unsafe { b.launch(cfg) }.map_err(ctx_err!("sampling"))?;
        }
        gpu.stream
            .clone_dtoh(&out)
            .map_err(ctx_err!("copying tokens"))
    }

    pub fn reserve_context(&mut self, seq: SeqId, n: usize) -> Result<()> {
        self.kv.append(seq, n)
    }

    pub fn free(&mut self, seq: SeqId) {
        self.kv.free(seq);
    }

    pub fn usage(&self) -> KvUsage {
        self.kv.usage()
    }

    /// Copies `seq`'s KV blocks into `dst` as `dst_seq` (disaggregated prefill → decode), peer
    /// to peer when the sessions are on different GPUs. Returns the bytes moved.
    pub fn transfer_to(&self, seq: SeqId, dst: &mut CudaSession, dst_seq: SeqId) -> Result<usize> {
        let len = self.kv.seq_len(seq);
        let src_table = self.kv.block_table(seq)?.to_vec();
        if dst.kv.seq_len(dst_seq) != 0 {
            return Err(EngineError::Internal(format!(
                "a KV transfer into sequence {dst_seq}, which already exists there"
            )));
        }
        dst.kv.append(dst_seq, len)?;
        let dst_table = dst.kv.block_table(dst_seq)?.to_vec();
        if let Err(e) = dst
            .pool
            .copy_blocks_from(&self.pool, &src_table, &dst_table)
        {
            dst.kv.free(dst_seq);
            return Err(e);
        }
        dst.model.gpu.sync()?;
        Ok(src_table.len() * self.pool.span() * 2 * 2 * self.pool.k.len())
    }

    /// Per-kernel times of every following step (`kernel_times` holds the last one's).
    pub fn set_profiling(&mut self, on: bool) {
        self.scratch.profile = on;
    }

    pub fn kernel_times(&self) -> &[super::profile::KernelTime] {
        &self.scratch.kernel_times
    }

    pub fn memory_report(&self) -> Result<MemoryReport> {
        let (free, total) = self.model.gpu.mem_info()?;
        Ok(MemoryReport {
            weights: self.model.weights.total_bytes(),
            kv_pool: self.pool.total_bytes(),
            free,
            total,
        })
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
