//! Requests that come and go while a run goes on: injections (the presenter's long prompt, a
//! server's HTTP requests) arrive at the run's current time; aborts (a client that went away)
//! free the request's sequence and KV blocks as soon as no step or transfer holds them.
use super::{samples, sampling_for, Ev, Sim};
use crate::error::{EngineError, Result};
use crate::sampler::Sampler;
use crate::serve::events::Event;
use crate::serve::request::{ReqId, Request, RequestSpec};

impl Sim<'_> {
    /// Takes what other threads asked for since the last event.
    pub(super) fn take_inbox(&mut self) -> Result<()> {
        let (injected, aborted) = self.control.take_inbox();
        for (id, inj) in injected {
            if id != self.reqs.len() as ReqId {
                return Err(EngineError::Internal(format!(
                    "injected request {id} arrived as request {}",
                    self.reqs.len()
                )));
            }
            // On the wall clock "now" is real time; on the measured clock it is the run's own
            // time, which a viewer sees (it lags real time when steps compute slower).
            let now = if self.wall() {
                self.elapsed().max(self.now)
            } else {
                self.now
            };
            let prompt = inj.prompt.unwrap_or_else(|| {
                // Any token ids do: a step costs the same whatever the text.
                let span = self.vocab_size.saturating_sub(17).max(1);
                (0..inj.prompt_tokens.max(1))
                    .map(|i| (17 + (i * 7919 + id as usize) % span) as u32)
                    .collect()
            });
            // A request that arrived while a step ran is stamped with its real arrival (its
            // latency includes the wait) but enters the loop now: time never runs backwards.
            let arrival_s = match (self.wall(), inj.arrived) {
                (true, Some(t)) => (t.saturating_duration_since(self.origin).as_secs_f64()
                    - self.paused.as_secs_f64())
                .clamp(0.0, now),
                _ => now,
            };
            let spec = RequestSpec {
                id,
                arrival_s,
                prompt: prompt.into(),
                output_tokens: inj.output_tokens.max(1),
            };
            self.cfg.check_request(&spec)?;
            let mut r = Request::new(&spec);
            r.stop_at_eos = inj.stop_at_eos;
            self.reqs.push(r);
            if samples(self.cfg) {
                let params = inj.sampling.unwrap_or_else(|| sampling_for(self.cfg, id));
                self.samplers.push(Sampler::new(params));
            }
            self.push(now, Ev::Arrival(id));
        }
        self.pending_aborts.extend(aborted);
        self.retry_aborts();
        Ok(())
    }

    /// Aborts every pending request that no step or transfer holds now; the rest wait.
    pub(super) fn retry_aborts(&mut self) {
        if self.pending_aborts.is_empty() {
            return;
        }
        let ids = std::mem::take(&mut self.pending_aborts);
        for id in ids {
            if !self.abort_now(id) {
                self.pending_aborts.push(id);
            }
        }
    }

    /// True once the request is gone (aborted now, finished, or never existed).
    fn abort_now(&mut self, id: ReqId) -> bool {
        let Some(r) = self.reqs.get(id as usize) else {
            return true;
        };
        if r.aborted || r.is_finished() {
            return true;
        }
        let in_step = self.inst.iter().any(|i| {
            i.pending
                .as_ref()
                .is_some_and(|p| p.items.iter().any(|it| it.req == id))
        });
        let in_transfer = self
            .queue
            .iter()
            .any(|q| matches!(q.ev, Ev::TransferEnd { req, .. } if req == id));
        if in_step || in_transfer {
            return false;
        }
        for inst in &mut self.inst {
            inst.queues.running.retain(|&x| x != id);
            inst.queues.waiting.retain(|&x| x != id);
            inst.exec.kv_mut().free(id);
        }
        self.handoff.retain(|&x| x != id);
        self.reqs[id as usize].aborted = true;
        self.aborted += 1;
        self.emit(Event::Aborted {
            req: id,
            t_s: self.now,
        });
        true
    }

    /// A serving run reports each instance's queues and KV use whenever they change (a
    /// server's metrics; a batch run's steps already carry their KV use).
    pub(super) fn emit_load(&mut self) {
        if !self.control.is_serving() {
            return;
        }
        self.last_load.resize(self.inst.len(), [usize::MAX; 4]);
        for i in 0..self.inst.len() {
            let inst = &self.inst[i];
            let u = inst.exec.kv().usage();
            let now = [
                inst.queues.waiting.len(),
                inst.queues.running.len(),
                u.used_blocks,
                u.total_blocks,
            ];
            if self.last_load[i] != now {
                self.last_load[i] = now;
                self.emit(Event::Load {
                    instance: i,
                    waiting: now[0],
                    running: now[1],
                    kv_blocks: now[2],
                    kv_blocks_total: now[3],
                });
            }
        }
    }
}
