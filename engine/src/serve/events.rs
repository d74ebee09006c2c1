//! What a run publishes while it progresses (the GUI plots these as they come), the one way
//! every long job reports progress (`Emitter`), and the flags another thread uses to pause,
//! resume or cancel it.
use crate::serve::cluster::Mode;
use crate::serve::metrics::RequestRecord;
use crate::serve::request::ReqId;
use serde::{Deserialize, Serialize};

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
    /// A request taken back before it finished (a server's client went away): its sequence
    /// and KV blocks are freed and it counts in no metric.
    Aborted {
        req: ReqId,
        t_s: f64,
    },
    /// A serving run's instance changed its queues or KV use (`RunControl::set_serving`).
    Load {
        instance: usize,
        waiting: usize,
        running: usize,
        kv_blocks: usize,
        kv_blocks_total: usize,
    },
    /// The experiment as it will run (a machine fit applied), once prepared: what a viewer
    /// should show as the run's rate and SLOs.
    Prepared(Box<crate::serve::experiment::Experiment>),
    /// One unit of a longer job ended (a mode's run, a sweep point, an interference row):
    /// `done` of `total` units, and a line saying what it was.
    Progress {
        done: usize,
        total: usize,
        line: String,
    },
}

/// Identifies one spawned job; every event it publishes carries it.
pub type RunId = u64;

/// An event with the job and the mode it came from (`None` for job-wide progress).
#[derive(Debug, Clone, PartialEq)]
pub struct RunEvent {
    pub run: RunId,
    pub mode: Option<Mode>,
    pub event: Event,
}

/// Where a job publishes: a channel (or nowhere), tagged with the job's id. Sending never
/// blocks the engine and a closed receiver only means nobody is watching.
#[derive(Debug, Clone, Default)]
pub struct Emitter {
    tx: Option<crossbeam_channel::Sender<RunEvent>>,
    run: RunId,
}

impl Emitter {
    pub fn new(tx: crossbeam_channel::Sender<RunEvent>, run: RunId) -> Self {
        Emitter { tx: Some(tx), run }
    }

    /// Publishes nothing.
    pub fn none() -> Self {
        Emitter::default()
    }

    pub fn run(&self) -> RunId {
        self.run
    }

    pub fn emit(&self, mode: Option<Mode>, event: Event) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(RunEvent {
                run: self.run,
                mode,
                event,
            });
        }
    }

    pub fn progress(&self, mode: Option<Mode>, done: usize, total: usize, line: String) {
        self.emit(mode, Event::Progress { done, total, line });
    }
}

pub use super::control::{Injection, RunControl};
