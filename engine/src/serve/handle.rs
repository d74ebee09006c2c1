//! Owned jobs on worker threads. `spawn_job` runs a closure that owns its inputs (`'static`:
//! `Arc` models and workloads), hands it an `Emitter` and a `RunControl`, and gives the caller a
//! `RunHandle` to read events from, pause, resume, cancel and join — the shape a GUI thread, a
//! lesson or the CLI needs (the caller never borrows the engine's state).
use crate::error::{EngineError, Result};
use crate::serve::events::{Emitter, RunControl, RunEvent, RunId};
use crossbeam_channel::Receiver;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

static NEXT_RUN: AtomicU64 = AtomicU64::new(1);

pub struct RunHandle<T> {
    pub id: RunId,
    /// Every event the job publishes, in order; it disconnects when the job ends.
    pub events: Receiver<RunEvent>,
    pub control: RunControl,
    join: JoinHandle<Result<T>>,
}

impl<T> RunHandle<T> {
    pub fn pause(&self) {
        self.control.pause()
    }
    pub fn resume(&self) {
        self.control.resume()
    }
    pub fn cancel(&self) {
        self.control.cancel()
    }
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }

    /// Waits for the job's result. A panic in the job is an internal error, not a crash.
    pub fn join(self) -> Result<T> {
        self.join
            .join()
            .map_err(|_| EngineError::Internal("a run's worker thread panicked".into()))?
    }

    /// Cancels the job and waits for it to stop (what starting a new run does to the old one).
    pub fn stop(self) -> Result<T> {
        self.control.cancel();
        self.control.resume();
        self.join()
    }
}

/// Runs `job` on a new thread with its own id, event channel and control flags.
pub fn spawn_job<T, F>(name: &str, job: F) -> Result<RunHandle<T>>
where
    T: Send + 'static,
    F: FnOnce(&Emitter, &RunControl) -> Result<T> + Send + 'static,
{
    let id = NEXT_RUN.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = crossbeam_channel::unbounded();
    let control = RunControl::default();
    let c = control.clone();
    let emitter = Emitter::new(tx, id);
    let join = std::thread::Builder::new()
        .name(format!("{name}-{id}"))
        .spawn(move || job(&emitter, &c))?;
    Ok(RunHandle {
        id,
        events: rx,
        control,
        join,
    })
}
