//! Paged KV bookkeeping shared by every backend: the block pool and per-sequence block tables.
//! The tensors themselves live with their backend (`backend/cpu/kv_store.rs`, `backend/cuda/kv.rs`).
pub mod block_pool;
pub mod manager;

pub use manager::{KvManager, KvUsage, SeqId};
#[cfg(test)]
mod tests;
