//! Goodput Lab engine: a real llama-family LLM on the CPU over packed mixed prefill/decode
//! steps and a paged KV cache. No UI dependency.
pub mod backend;
pub mod cpu;
pub mod error;
pub mod kv;
pub mod model;
pub mod sampler;

pub use error::{EngineError, Result};
pub mod bench;
pub mod generate;
pub mod loader;
pub mod session;
