//! The KV tensors themselves: per layer, K and V as `[block][kv_head][slot][head_dim]` f32,
//! so one head's keys inside a block are contiguous for the attention loop.
use crate::error::{EngineError, Result};

#[derive(Debug, Clone)]
pub struct KvStore {
    pub n_layers: usize,
    pub n_blocks: usize,
    pub block_size: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl KvStore {
    pub fn bytes_per_block(n_layers: usize, block_size: usize, kv_dim: usize) -> usize {
        2 * n_layers * block_size * kv_dim * 4
    }

    pub fn new(
        n_layers: usize,
        n_blocks: usize,
        block_size: usize,
        n_kv_heads: usize,
        head_dim: usize,
    ) -> Result<Self> {
        let per_layer = n_blocks * block_size * n_kv_heads * head_dim;
        let alloc = || -> Result<Vec<f32>> {
            let mut v = Vec::new();
            v.try_reserve_exact(per_layer).map_err(|_| {
                EngineError::Invalid(format!("cannot allocate a KV cache of {n_blocks} blocks"))
            })?;
            v.resize(per_layer, 0.0);
            Ok(v)
        };
        let k = (0..n_layers).map(|_| alloc()).collect::<Result<_>>()?;
        let v = (0..n_layers).map(|_| alloc()).collect::<Result<_>>()?;
        Ok(KvStore {
            n_layers,
            n_blocks,
            block_size,
            n_kv_heads,
            head_dim,
            k,
            v,
        })
    }

    #[inline]
    fn offset(&self, block: u32, head: usize, slot: usize) -> usize {
        ((block as usize * self.n_kv_heads + head) * self.block_size + slot) * self.head_dim
    }

    /// Key of `head` at `slot` in `block`, layer `layer`.
    #[inline]
    pub fn k(&self, layer: usize, block: u32, head: usize, slot: usize) -> &[f32] {
        let o = self.offset(block, head, slot);
        &self.k[layer][o..o + self.head_dim]
    }

    #[inline]
    pub fn v(&self, layer: usize, block: u32, head: usize, slot: usize) -> &[f32] {
        let o = self.offset(block, head, slot);
        &self.v[layer][o..o + self.head_dim]
    }

    /// Keys of a whole block for one head: `block_size * head_dim` values.
    #[inline]
    pub fn k_block(&self, layer: usize, block: u32, head: usize) -> &[f32] {
        let o = self.offset(block, head, 0);
        &self.k[layer][o..o + self.block_size * self.head_dim]
    }

    #[inline]
    pub fn v_block(&self, layer: usize, block: u32, head: usize) -> &[f32] {
        let o = self.offset(block, head, 0);
        &self.v[layer][o..o + self.block_size * self.head_dim]
    }

    /// Writes the K and V rows (`n_kv_heads * head_dim` each) of the token at `pos`.
    pub fn write(&mut self, layer: usize, table: &[u32], pos: usize, k: &[f32], v: &[f32]) {
        let block = table[pos / self.block_size];
        let slot = pos % self.block_size;
        for h in 0..self.n_kv_heads {
            let o = self.offset(block, h, slot);
            let src = h * self.head_dim..(h + 1) * self.head_dim;
            self.k[layer][o..o + self.head_dim].copy_from_slice(&k[src.clone()]);
            self.v[layer][o..o + self.head_dim].copy_from_slice(&v[src]);
        }
    }

    /// Copies whole blocks from another store (disaggregated KV transfer, swap).
    pub fn copy_blocks_from(&mut self, src: &KvStore, src_blocks: &[u32], dst_blocks: &[u32]) {
        let span = self.n_kv_heads * self.block_size * self.head_dim;
        for layer in 0..self.n_layers {
            for (&s, &d) in src_blocks.iter().zip(dst_blocks) {
                let (so, dso) = (s as usize * span, d as usize * span);
                self.k[layer][dso..dso + span].copy_from_slice(&src.k[layer][so..so + span]);
                self.v[layer][dso..dso + span].copy_from_slice(&src.v[layer][so..so + span]);
            }
        }
    }
}
