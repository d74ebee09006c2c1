//! Fixed-size KV blocks handed out from a flat array with an index-linked free list
//! (no Rc/RefCell: a block is its index).
use crate::error::{EngineError, Result};

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub struct BlockPool {
    next_free: Vec<u32>,
    in_use: Vec<bool>,
    head: u32,
    n_free: usize,
}

impl BlockPool {
    pub fn new(n_blocks: usize) -> Self {
        assert!(n_blocks < NONE as usize);
        let next_free = (0..n_blocks as u32)
            .map(|i| if i + 1 < n_blocks as u32 { i + 1 } else { NONE })
            .collect();
        BlockPool {
            next_free,
            in_use: vec![false; n_blocks],
            head: if n_blocks > 0 { 0 } else { NONE },
            n_free: n_blocks,
        }
    }

    pub fn total(&self) -> usize {
        self.in_use.len()
    }
    pub fn free_count(&self) -> usize {
        self.n_free
    }
    pub fn used_count(&self) -> usize {
        self.total() - self.n_free
    }

    /// Takes `n` blocks, all or none.
    pub fn allocate(&mut self, n: usize) -> Result<Vec<u32>> {
        if n > self.n_free {
            return Err(EngineError::OutOfBlocks {
                needed: n,
                free: self.n_free,
                total: self.total(),
            });
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let b = self.head;
            self.head = self.next_free[b as usize];
            self.in_use[b as usize] = true;
            out.push(b);
        }
        self.n_free -= n;
        Ok(out)
    }

    /// Returns a block; freeing a block twice is a bug in the caller and panics in debug builds.
    pub fn free(&mut self, b: u32) {
        let i = b as usize;
        debug_assert!(self.in_use[i], "double free of KV block {b}");
        if !self.in_use[i] {
            return;
        }
        self.in_use[i] = false;
        self.next_free[i] = self.head;
        self.head = b;
        self.n_free += 1;
    }
}
