//! The bridge between HTTP handlers (tokio tasks) and the engine's serving loop (its own
//! thread): a submission injects the request and registers where its tokens go; one
//! dispatcher thread routes the engine's events to the requests' channels and feeds the
//! metrics. A handler that goes away (client disconnected) aborts its request on drop.
use super::lock;
use super::openai::ApiError;
use super::prom::Metrics;
use axum::http::StatusCode;
use engine::sampler::SamplingParams;
use engine::serve::cluster::{RunReport, ServeConfig};
use engine::serve::events::{Event, Injection, RunControl};
use engine::serve::handle::RunHandle;
use engine::serve::request::{ReqId, RequestSpec};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// What a request's handler hears from the engine.
#[derive(Debug)]
pub enum Out {
    Token(u32),
    Done,
}

/// What one request asks of the engine.
pub struct Submission {
    pub prompt: Vec<u32>,
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    pub stop_at_eos: bool,
    /// When the HTTP request came in: the engine counts its latency from then.
    pub arrived: std::time::Instant,
}

/// Where each request's tokens go; `None` once the engine stopped (no route will be served).
type Routes = Arc<Mutex<Option<HashMap<ReqId, UnboundedSender<Out>>>>>;

pub struct Link {
    control: RunControl,
    routes: Routes,
    config: ServeConfig,
    max_context: usize,
    /// Requests accepted and not yet finished or aborted, and how many may be.
    in_flight: Arc<AtomicUsize>,
    max_in_flight: usize,
    pub metrics: Arc<Metrics>,
    handle: Arc<Mutex<Option<RunHandle<RunReport>>>>,
    dispatcher: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Link {
    pub fn new(
        handle: RunHandle<RunReport>,
        config: ServeConfig,
        max_context: usize,
        max_in_flight: usize,
        metrics: Arc<Metrics>,
        tap: Option<crossbeam_channel::Sender<engine::serve::events::RunEvent>>,
    ) -> std::io::Result<Arc<Link>> {
        let routes: Routes = Arc::new(Mutex::new(Some(HashMap::new())));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let events = handle.events.clone();
        let control = handle.control.clone();
        let handle = Arc::new(Mutex::new(Some(handle)));
        let (r, f, m, h) = (
            routes.clone(),
            in_flight.clone(),
            metrics.clone(),
            handle.clone(),
        );
        let dispatcher = std::thread::Builder::new()
            .name("serve-dispatch".into())
            .spawn(move || {
                dispatch(events, r, f, m, tap);
                // The engine's loop ends only when cancelled: anything else is its error.
                if let Some(h) = lock(&h).take() {
                    match h.join() {
                        Ok(_) => {}
                        Err(e) => eprintln!("the engine stopped: {e}"),
                    }
                }
            })
            .inspect_err(|_| control.cancel())?;
        Ok(Arc::new(Link {
            control,
            routes,
            config,
            max_context,
            in_flight,
            max_in_flight,
            metrics,
            handle,
            dispatcher: Mutex::new(Some(dispatcher)),
        }))
    }

    /// Checks the request against the context and the instances' KV caches, then hands it
    /// to the engine. Over the in-flight bound it is a 429, not a queue without end.
    pub fn submit(self: &Arc<Self>, s: Submission) -> Result<Ticket, ApiError> {
        let total = s.prompt.len() + s.max_tokens;
        if total > self.max_context {
            return Err(ApiError {
                param: Some("max_tokens"),
                ..ApiError::with(
                    StatusCode::BAD_REQUEST,
                    "context_length_exceeded",
                    format!(
                        "This model's maximum context length is {} tokens. However, you requested {total} tokens ({} in the prompt, {} for the completion).",
                        self.max_context, s.prompt.len(), s.max_tokens
                    ),
                )
            });
        }
        let spec = RequestSpec {
            id: 0,
            arrival_s: 0.0,
            prompt: s.prompt.clone().into(),
            output_tokens: s.max_tokens,
        };
        self.config
            .check_request(&spec)
            .map_err(|e| ApiError::bad(e.to_string(), Some("max_tokens")))?;
        let taken = self
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max_in_flight).then_some(n + 1)
            });
        if taken.is_err() {
            return Err(ApiError::with(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!(
                    "the server holds {} requests, its limit: retry later",
                    self.max_in_flight
                ),
            ));
        }
        let (tx, rx) = unbounded_channel();
        let prompt_tokens = s.prompt.len();
        // Registered under the lock the dispatcher routes with: no token can be routed
        // before its channel exists.
        let mut guard = lock(&self.routes);
        let Some(routes) = guard.as_mut() else {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::with(
                StatusCode::SERVICE_UNAVAILABLE,
                "engine_stopped",
                "the engine has stopped: restart the server",
            ));
        };
        let id = self.control.inject(Injection {
            prompt_tokens,
            output_tokens: s.max_tokens,
            prompt: Some(s.prompt),
            sampling: Some(s.sampling),
            stop_at_eos: Some(s.stop_at_eos),
            arrived: Some(s.arrived),
        });
        routes.insert(id, tx);
        Ok(Ticket {
            id,
            prompt_tokens,
            rx,
            link: self.clone(),
            done: false,
        })
    }

    /// Stops the engine once every in-flight request has ended (Ctrl-C drains streams first).
    pub fn shutdown(&self) -> Option<RunReport> {
        let handle = lock(&self.handle).take()?;
        let report = handle.stop().ok();
        if let Some(d) = lock(&self.dispatcher).take() {
            let _ = d.join();
        }
        report
    }
}

/// One submitted request: its token channel, and an abort when dropped before it finished.
pub struct Ticket {
    pub id: ReqId,
    pub prompt_tokens: usize,
    pub rx: UnboundedReceiver<Out>,
    link: Arc<Link>,
    done: bool,
}

impl Ticket {
    /// The next thing the engine says; `None` if the engine stopped.
    pub async fn next(&mut self) -> Option<Out> {
        let out = self.rx.recv().await;
        if matches!(out, Some(Out::Done) | None) {
            self.done = true;
        }
        out
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.done {
            self.link.control.abort(self.id);
        }
    }
}

fn dispatch(
    events: crossbeam_channel::Receiver<engine::serve::events::RunEvent>,
    routes: Routes,
    in_flight: Arc<AtomicUsize>,
    metrics: Arc<Metrics>,
    tap: Option<crossbeam_channel::Sender<engine::serve::events::RunEvent>>,
) {
    for ev in events {
        // A viewer (the workbench) sees every event; one that went away costs nothing.
        if let Some(t) = &tap {
            let _ = t.send(ev.clone());
        }
        match ev.event {
            Event::Token { req, token, .. } => {
                if let Some(tx) = lock(&routes).as_ref().and_then(|r| r.get(&req)) {
                    let _ = tx.send(Out::Token(token));
                }
            }
            Event::Finished(rec) => {
                metrics.finished(&rec);
                if let Some(tx) = lock(&routes).as_mut().and_then(|r| r.remove(&rec.id)) {
                    let _ = tx.send(Out::Done);
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
            }
            Event::Aborted { req, .. } => {
                metrics.aborted();
                if let Some(r) = lock(&routes).as_mut() {
                    r.remove(&req);
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
            }
            Event::Load {
                instance,
                waiting,
                running,
                kv_blocks,
                kv_blocks_total,
            } => metrics.load(instance, waiting, running, kv_blocks, kv_blocks_total),
            _ => {}
        }
    }
    // The engine stopped: every waiting handler hears it (its channel closes), and no new
    // request is taken.
    lock(&routes).take();
}
