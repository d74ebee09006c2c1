//! Per-sequence block tables over a `BlockPool`: the small boundary the scheduler sees
//! (`can_append / append / free / usage`), never the pool's internals.
use super::block_pool::BlockPool;
use crate::error::{EngineError, Result};
use std::collections::HashMap;

pub type SeqId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvUsage {
    pub used_blocks: usize,
    pub total_blocks: usize,
    pub block_size: usize,
}

#[derive(Debug, Default, Clone)]
struct SeqBlocks {
    blocks: Vec<u32>,
    len: usize,
}

#[derive(Debug, Clone)]
pub struct KvManager {
    pool: BlockPool,
    block_size: usize,
    seqs: HashMap<SeqId, SeqBlocks>,
}

impl KvManager {
    pub fn new(n_blocks: usize, block_size: usize) -> Self {
        assert!(block_size > 0);
        KvManager {
            pool: BlockPool::new(n_blocks),
            block_size,
            seqs: HashMap::new(),
        }
    }

    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// Blocks that `append(seq, n_new)` would take from the pool.
    pub fn blocks_needed(&self, seq: SeqId, n_new: usize) -> usize {
        let (len, have) = self
            .seqs
            .get(&seq)
            .map_or((0, 0), |s| (s.len, s.blocks.len()));
        (len + n_new).div_ceil(self.block_size).saturating_sub(have)
    }

    pub fn can_append(&self, seq: SeqId, n_new: usize) -> bool {
        self.blocks_needed(seq, n_new) <= self.pool.free_count()
    }

    /// Reserves room for `n_new` more tokens of `seq` (creating it if new); all or nothing.
    pub fn append(&mut self, seq: SeqId, n_new: usize) -> Result<()> {
        let need = self.blocks_needed(seq, n_new);
        let got = self.pool.allocate(need)?;
        let s = self.seqs.entry(seq).or_default();
        s.blocks.extend(got);
        s.len += n_new;
        Ok(())
    }

    /// Releases every block of `seq`; unknown sequences are ignored.
    pub fn free(&mut self, seq: SeqId) {
        if let Some(s) = self.seqs.remove(&seq) {
            for b in s.blocks {
                self.pool.free(b);
            }
        }
    }

    pub fn block_table(&self, seq: SeqId) -> Result<&[u32]> {
        self.seqs
            .get(&seq)
            .map(|s| s.blocks.as_slice())
            .ok_or_else(|| EngineError::Internal(format!("sequence {seq} has no KV blocks")))
    }

    /// Tokens reserved for `seq` (0 if unknown).
    pub fn seq_len(&self, seq: SeqId) -> usize {
        self.seqs.get(&seq).map_or(0, |s| s.len)
    }

    pub fn usage(&self) -> KvUsage {
        KvUsage {
            used_blocks: self.pool.used_count(),
            total_blocks: self.pool.total(),
            block_size: self.block_size,
        }
    }

    pub fn free_blocks(&self) -> usize {
        self.pool.free_count()
    }

    pub fn num_seqs(&self) -> usize {
        self.seqs.len()
    }

    /// Checks that the tables and the pool agree (tests and debug builds).
    pub fn check_conservation(&self) -> std::result::Result<(), String> {
        let held: usize = self.seqs.values().map(|s| s.blocks.len()).sum();
        if held != self.pool.used_count() {
            return Err(format!(
                "{held} blocks in tables, {} used in pool",
                self.pool.used_count()
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for s in self.seqs.values() {
            if s.len.div_ceil(self.block_size) != s.blocks.len() {
                return Err(format!("{} tokens in {} blocks", s.len, s.blocks.len()));
            }
            if !s.blocks.iter().all(|b| seen.insert(*b)) {
                return Err("a block is shared by two tables".into());
            }
        }
        Ok(())
    }
}
