//! What a run publishes while it progresses (the GUI plots these as they come) and the handle
//! another thread uses to pause, resume or cancel it.
use crate::metrics::RequestRecord;
use crate::request::ReqId;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The kind of work an instance does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Aggregated or chunked replica: prefill and decode together.
    Mixed,
    Prefill,
    Decode,
}

/// One executed step of one instance. Times in seconds from the start of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub instance: usize,
    pub role: Role,
    pub start_s: f64,
    pub end_s: f64,
    pub prefill_tokens: usize,
    pub decode_tokens: usize,
    pub seqs: usize,
    /// KV blocks in use on the instance during the step.
    pub kv_blocks: usize,
    pub kv_blocks_total: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    Arrived {
        req: ReqId,
        t_s: f64,
        instance: usize,
        prompt_tokens: usize,
    },
    StepDone(StepRecord),
    Token {
        req: ReqId,
        index: usize,
        token: u32,
        t_s: f64,
    },
    KvTransferred {
        req: ReqId,
        from: usize,
        to: usize,
        bytes: usize,
        start_s: f64,
        end_s: f64,
    },
    Preempted {
        req: ReqId,
        instance: usize,
        t_s: f64,
    },
    Finished(Box<RequestRecord>),
}

/// Shared pause/cancel flags; cloning gives another handle to the same run.
#[derive(Debug, Clone, Default)]
pub struct RunControl {
    paused: Arc<AtomicBool>,
    cancelled: Arc<AtomicBool>,
}

impl RunControl {
    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}
