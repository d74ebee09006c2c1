//! The window as a live server's viewer: `serve`'s engine runs inside the process, requests
//! come over HTTP from any client (a chat client driven by a presenter, `bench --target`), and
//! every engine event also lands in the store, so the same views show them as they come.
use super::Status;
use crate::cli::serve::{start, Server, ServerOptions};
use crate::gui::store::Store;
use crossbeam_channel::Receiver;
use engine::serve::events::RunEvent;
use engine::serve::experiment::Experiment;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Live {
    /// The server while it starts (model loading happens off the UI thread).
    starting: Option<Receiver<anyhow::Result<Server>>>,
    server: Option<Server>,
    events: Option<Receiver<RunEvent>>,
}

impl Live {
    pub fn is_on(&self) -> bool {
        self.starting.is_some() || self.server.is_some()
    }

    /// The address clients use, once listening.
    pub fn address(&self) -> Option<String> {
        self.server
            .as_ref()
            .map(|s| format!("http://{}/v1", s.addr))
    }

    /// Starts serving `exp`'s first mode on `port` (0: any free port) and begins filling a
    /// fresh store for that mode.
    pub fn start(&mut self, exp: &Experiment, port: u16, store: &mut Store) {
        self.stop();
        let mode = *exp
            .modes
            .first()
            .unwrap_or(&engine::serve::cluster::Mode::Chunked);
        *store = Store::new(&[mode], exp.gpus, 0);
        store.keep_output_ids = true;
        let (tap, events) = crossbeam_channel::unbounded();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let (exp, opts) = (
            exp.clone(),
            ServerOptions {
                host: "127.0.0.1".into(),
                port,
                served_model_name: None,
                max_queued: 1024,
                request_log: None,
            },
        );
        std::thread::spawn(move || {
            let _ = tx.send(start(exp, &opts, Some(tap)));
        });
        self.starting = Some(rx);
        self.events = Some(events);
    }

    pub fn stop(&mut self) {
        self.starting = None;
        self.events = None;
        if let Some(s) = self.server.take() {
            // Stopping waits for streams in flight: on its own thread, never the UI's.
            std::thread::spawn(move || s.stop());
        }
    }

    /// Moves the server's events into the store within the frame's budget; says the new
    /// status when the server started or failed to.
    pub fn drain(&mut self, store: &mut Store, t0: Instant, budget: Duration) -> Option<Status> {
        let mut status = None;
        if let Some(rx) = &self.starting {
            if let Ok(r) = rx.try_recv() {
                self.starting = None;
                match r {
                    Ok(s) => {
                        store.log.push(format!(
                            "serving {} ({} mode) at http://{}/v1: send requests from any OpenAI client",
                            s.model,
                            s.mode.name(),
                            s.addr
                        ));
                        self.server = Some(s);
                        status = Some(Status::Running);
                    }
                    Err(e) => {
                        self.events = None;
                        status = Some(Status::Failed(format!("the server did not start: {e}")));
                    }
                }
            }
        }
        if let Some(rx) = &self.events {
            while t0.elapsed() < budget {
                let Ok(ev) = rx.try_recv() else { break };
                store.apply(ev);
            }
        }
        status
    }
}
