//! Goodput Lab engine: a real llama-family LLM on the CPU over packed mixed prefill/decode
//! steps and a paged KV cache, and the serving layer around it: schedulers, clusters of logical
//! GPUs, workloads, clocks and metrics. No UI dependency.
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

pub mod cluster;
pub mod cost_model;
pub mod events;
pub mod interference;
pub mod link;
pub mod metrics;
pub mod request;
pub mod scenario;
pub mod sched;
pub mod sweep;
pub mod trace;
pub mod workload;
