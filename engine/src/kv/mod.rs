//! Paged KV cache: block pool, per-sequence block tables, and the KV tensors.
pub mod block_pool;
pub mod manager;
pub mod store;

pub use manager::{KvManager, KvUsage, SeqId};
pub use store::KvStore;
#[cfg(test)]
mod tests;
