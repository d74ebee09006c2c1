//! Goodput Lab engine: a real llama-family LLM on the CPU or an NVIDIA GPU over packed mixed
//! prefill/decode steps and a paged KV cache, and the serving layer around it. No UI dependency.
//!
//! Table of contents, bottom layer first:
//! - [`model`]: what a model is and where it comes from (cards, GGUF, tokenizer, fetch).
//! - [`kv`]: paged KV bookkeeping (block pool, block tables) shared by every backend.
//! - [`backend`]: where a model runs (`cpu/`, `cuda/`), the neutral step types and `StepSession`.
//! - [`loader`], [`sampler`], [`generate`]: loading a model, sampling, plain text generation.
//! - [`measure`]: timing a model on a device (step timing, model bench, interference, gpu-check).
//! - [`serve`]: serving a workload (schedulers, clusters, clocks, workloads, metrics, experiments).
//! - [`plan`]: cluster-scale planning on the modeled clock, and export to real serving systems.
//! - [`lesson`]: guided lessons (file format, check language, playing them on modeled runs).
pub mod error;
pub mod model;

pub mod backend;
pub mod kv;

pub mod generate;
pub mod loader;
pub mod sampler;

pub mod measure;
pub mod plan;
pub mod serve;

pub mod lesson;

pub use error::{EngineError, Result};
#[doc(hidden)]
pub mod fuzz_checks;
