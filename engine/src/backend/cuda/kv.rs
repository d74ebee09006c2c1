//! The paged KV pool on the device: per layer, K and V in bf16 as
//! `[block][kv_head][slot][head_dim]` (the CPU `KvStore` layout), so a block is one contiguous
//! span per layer and moves with one copy — also between GPUs.
use super::gpu::{ctx_err, Gpu};
use crate::error::{EngineError, Result};
use crate::model::spec::ModelSpec;
use cudarc::driver::CudaSlice;
use std::sync::Arc;

pub struct DeviceKv {
    pub gpu: Arc<Gpu>,
    pub n_blocks: usize,
    pub block_size: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub k: Vec<CudaSlice<u16>>,
    pub v: Vec<CudaSlice<u16>>,
}

/// Elements of one block in one layer's K (or V) tensor.
pub fn block_span(block_size: usize, n_kv_heads: usize, head_dim: usize) -> usize {
    block_size * n_kv_heads * head_dim
}

/// Bytes of K and V for one block across all layers (bf16).
pub fn bytes_per_block(spec: &ModelSpec, block_size: usize) -> usize {
    2 * 2 * spec.n_layers * block_span(block_size, spec.n_kv_heads, spec.head_dim())
}

/// Contiguous runs `(src_start, dst_start, len)` of a block-to-block copy, so neighbouring
/// blocks move in one call.
pub fn copy_runs(src: &[u32], dst: &[u32]) -> Vec<(usize, usize, usize)> {
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    for (&s, &d) in src.iter().zip(dst) {
        match runs.last_mut() {
            Some((s0, d0, n)) if *s0 + *n == s as usize && *d0 + *n == d as usize => *n += 1,
            _ => runs.push((s as usize, d as usize, 1)),
        }
    }
    runs
}

impl DeviceKv {
    pub fn new(
        gpu: &Arc<Gpu>,
        spec: &ModelSpec,
        n_blocks: usize,
        block_size: usize,
    ) -> Result<Self> {
        if n_blocks == 0 || block_size == 0 {
            return Err(EngineError::field(
                "sched.kv_tokens",
                "the KV cache needs at least one block",
            ));
        }
        let per_layer = n_blocks * block_span(block_size, spec.n_kv_heads, spec.head_dim());
        let alloc = || gpu.zeros::<u16>(per_layer);
        Ok(DeviceKv {
            gpu: gpu.clone(),
            n_blocks,
            block_size,
            n_kv_heads: spec.n_kv_heads,
            head_dim: spec.head_dim(),
            k: (0..spec.n_layers).map(|_| alloc()).collect::<Result<_>>()?,
            v: (0..spec.n_layers).map(|_| alloc()).collect::<Result<_>>()?,
        })
    }

    pub fn span(&self) -> usize {
        block_span(self.block_size, self.n_kv_heads, self.head_dim)
    }

    pub fn total_bytes(&self) -> usize {
        2 * 2 * self.k.len() * self.n_blocks * self.span()
    }

    /// Copies blocks `src_blocks` of `src` into `dst_blocks` of this pool, on this pool's
    /// stream; peer-to-peer when the pools live on different GPUs.
    pub fn copy_blocks_from(
        &mut self,
        src: &DeviceKv,
        src_blocks: &[u32],
        dst_blocks: &[u32],
    ) -> Result<()> {
        if self.span() != src.span() || self.k.len() != src.k.len() {
            return Err(EngineError::Internal(
                "a KV copy between pools of different shapes".into(),
            ));
        }
        if src_blocks.len() != dst_blocks.len()
            || src_blocks.iter().any(|&b| b as usize >= src.n_blocks)
            || dst_blocks.iter().any(|&b| b as usize >= self.n_blocks)
        {
            return Err(EngineError::Internal(
                "a KV copy with bad block lists".into(),
            ));
        }
        let span = self.span();
        let stream = self.gpu.stream.clone();
        for (s0, d0, n) in copy_runs(src_blocks, dst_blocks) {
            let (s, d) = (s0 * span..(s0 + n) * span, d0 * span..(d0 + n) * span);
            for layer in 0..self.k.len() {
                stream
                    .memcpy_dtod(
                        &src.k[layer].slice(s.clone()),
                        &mut self.k[layer].slice_mut(d.clone()),
                    )
                    .map_err(ctx_err!("copying K blocks"))?;
                stream
                    .memcpy_dtod(
                        &src.v[layer].slice(s.clone()),
                        &mut self.v[layer].slice_mut(d.clone()),
                    )
                    .map_err(ctx_err!("copying V blocks"))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_neighbours() {
        assert_eq!(
            copy_runs(&[3, 4, 5, 9], &[0, 1, 2, 3]),
            [(3, 0, 3), (9, 3, 1)]
        );
        assert_eq!(copy_runs(&[1, 2], &[5, 7]), [(1, 5, 1), (2, 7, 1)]);
        assert!(copy_runs(&[], &[]).is_empty());
    }

    #[test]
    fn block_bytes() {
        let spec = crate::model::cards::card("llama-2-13b").unwrap().spec;
        // 13B: 2 (K,V) × 40 layers × 5120 × 2 bytes = 800 KiB per token
        assert_eq!(bytes_per_block(&spec, 16), 16 * 819_200);
    }
}
