//! One error type for the engine, so the app can show any failure as a clear message.
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error("unknown model card '{name}'; known cards: {known}")]
    UnknownCard { name: String, known: String },
    #[error("model file {path} not found. Fetch it with: goodput-lab models fetch {card}")]
    MissingModel { path: PathBuf, card: String },
    #[error(
        "{path}: sha256 mismatch (expected {expected}, got {actual}); delete it and fetch again"
    )]
    BadChecksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{path}: not a usable GGUF file: {reason}")]
    BadGguf { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    BadCard { path: PathBuf, reason: String },
    /// A file the user gave (an experiment, a trace) that cannot be read or parsed.
    #[error("{path}: {reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error("fetching {what} failed: {reason}")]
    Fetch { what: String, reason: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("prompt of {len} tokens does not fit the context of {max} tokens")]
    PromptTooLong { len: usize, max: usize },
    #[error("KV cache out of blocks: need {needed}, {free} free of {total}")]
    OutOfBlocks {
        needed: usize,
        free: usize,
        total: usize,
    },
    #[error("CUDA is not available: {missing} not found{hint}")]
    CudaUnavailable { missing: String, hint: String },
    #[error("CUDA: {0}")]
    Cuda(String),
    /// A user's setting that cannot work, named by its field in the engine's config types
    /// (`workload.rate`, `slo.tpot_ms`, …); the CLI and the GUI map fields to flags and controls.
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// A broken invariant of the engine itself, never the user's input.
    #[error("internal: {0}, please report")]
    Internal(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl EngineError {
    /// A bad setting of `field`.
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        EngineError::Field {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;
