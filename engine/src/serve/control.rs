//! What another thread asks of a running run: pause, resume, cancel, pacing, requests added
//! while it runs (the presenter's injected prompt, a server's HTTP requests) and requests
//! taken back (a client that went away). Cloning gives another handle to the same run.
use crate::sampler::SamplingParams;
use crate::serve::request::ReqId;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct RunControl {
    paused: Arc<AtomicBool>,
    cancelled: Arc<AtomicBool>,
    paced: Arc<AtomicBool>,
    serving: Arc<AtomicBool>,
    inbox: Arc<(Mutex<Inbox>, Condvar)>,
}

/// A request added to a running run. It arrives at the run's current time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Injection {
    pub prompt_tokens: usize,
    pub output_tokens: usize,
    /// The prompt's token ids (a server's request); `None`: placeholder ids of
    /// `prompt_tokens` length (a step costs the same whatever the text).
    pub prompt: Option<Vec<u32>>,
    /// This request's sampling; `None`: the run's.
    pub sampling: Option<SamplingParams>,
    /// Whether an end-of-sequence token ends it early; `None`: the run's setting.
    pub stop_at_eos: Option<bool>,
    /// When it really arrived (a server's HTTP request): on the wall clock its latency counts
    /// from then, including any wait for the engine's step in progress to end.
    pub arrived: Option<std::time::Instant>,
}

impl Injection {
    /// A prompt of `prompt_tokens` placeholder ids (the presenter's long prompt).
    pub fn placeholder(prompt_tokens: usize, output_tokens: usize) -> Self {
        Injection {
            prompt_tokens,
            output_tokens,
            ..Injection::default()
        }
    }
}

#[derive(Debug, Default)]
struct Inbox {
    /// The id the next injection gets: ids follow the workload's, in the order injected.
    next_id: ReqId,
    injected: Vec<(ReqId, Injection)>,
    aborted: Vec<ReqId>,
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
        self.inbox.1.notify_all();
    }
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
    /// Keep the measured clock no faster than real time (a live audience watches it): each
    /// logical GPU's steps are still timed for real, and events are released when the wall
    /// clock reaches them. The wall clock is always paced.
    pub fn set_paced(&self, on: bool) {
        self.paced.store(on, Ordering::SeqCst);
    }
    pub fn is_paced(&self) -> bool {
        self.paced.load(Ordering::SeqCst)
    }
    /// A serving run does not end when its work runs out: it waits for injected requests
    /// until cancelled (a server's engine loop).
    pub fn set_serving(&self, on: bool) {
        self.serving.store(on, Ordering::SeqCst);
    }
    pub fn is_serving(&self) -> bool {
        self.serving.load(Ordering::SeqCst)
    }

    fn with_inbox<T>(&self, f: impl FnOnce(&mut Inbox) -> T) -> T {
        // A panicked holder leaves plain data behind: keep using it.
        let mut g = self.inbox.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// Adds a request to the running run and returns the id its events will carry.
    pub fn inject(&self, i: Injection) -> ReqId {
        let id = self.with_inbox(|b| {
            let id = b.next_id;
            b.next_id += 1;
            b.injected.push((id, i));
            id
        });
        self.inbox.1.notify_all();
        id
    }

    /// Takes a request back: the run frees its sequence and KV blocks and emits `Aborted`
    /// (nothing happens to one that already finished).
    pub fn abort(&self, id: ReqId) {
        self.with_inbox(|b| b.aborted.push(id));
        self.inbox.1.notify_all();
    }

    /// The run starts injected ids after its workload's `n` requests. Requests injected
    /// before it started are renumbered from `n` (their ids hold as returned only when the
    /// workload is empty, as a server's is).
    pub fn reserve_ids(&self, n: usize) {
        self.with_inbox(|b| {
            for (k, (id, _)) in b.injected.iter_mut().enumerate() {
                *id = n as ReqId + k as ReqId;
            }
            b.next_id = n as ReqId + b.injected.len() as ReqId;
        });
    }

    /// The injections and aborts not yet taken (the run takes them between events).
    pub fn take_inbox(&self) -> (Vec<(ReqId, Injection)>, Vec<ReqId>) {
        self.with_inbox(|b| {
            (
                std::mem::take(&mut b.injected),
                std::mem::take(&mut b.aborted),
            )
        })
    }

    /// Blocks until something is injected or aborted, the run is cancelled, or `timeout`.
    pub fn wait_for_inbox(&self, timeout: Duration) {
        let g = self.inbox.0.lock().unwrap_or_else(|p| p.into_inner());
        let empty = |b: &mut Inbox| b.injected.is_empty() && b.aborted.is_empty();
        let _ = self
            .inbox
            .1
            .wait_timeout_while(g, timeout, |b| empty(b) && !self.is_cancelled());
    }
}
