//! The discrete-event loop shared by every mode and clock. Events (arrivals, step ends, KV
//! transfer ends) are ordered by (time, sequence number), so ties resolve the same way every
//! run. Whenever an instance is idle and has work, it plans and starts a step at the current
//! time; the step's results are applied at its end.
pub use super::inputs::RunInputs;
use super::instance::{Executor, Instance, Pending};
use super::{ClockKind, Mode, RunReport, ServeConfig};
use crate::backend::cpu::session::Session;
use crate::backend::DeviceModel;
use crate::error::{EngineError, Result};
use crate::kv::KvManager;
use crate::sampler::{Sampler, SamplingParams};
use crate::serve::events::{Emitter, Event, Role, RunControl, StepRecord};
use crate::serve::metrics::{summarize, RequestRecord};
use crate::serve::request::{ReqId, Request};
use crate::serve::sched::schedule;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

struct Sim<'a> {
    inp: &'a RunInputs,
    cfg: &'a ServeConfig,
    emitter: &'a Emitter,
    control: &'a RunControl,
    reqs: Vec<Request>,
    samplers: Vec<Sampler>,
    inst: Vec<Instance<'a>>,
    queue: BinaryHeap<Queued>,
    seq: u64,
    now: f64,
    rr: usize,
    handoff: VecDeque<ReqId>,
    link_free_at: Vec<f64>,
    kv_bytes_per_token: usize,
    vocab_size: usize,
    steps: Vec<StepRecord>,
    done: Vec<RequestRecord>,
    /// Requests taken back, and those whose abort waits for their step or transfer to end.
    aborted: usize,
    pending_aborts: Vec<ReqId>,
    /// What `Event::Load` last said per instance (serving runs only).
    last_load: Vec<[usize; 4]>,
    origin: Instant,
    paused: Duration,
}

/// Runs one mode over the workload to completion (or cancellation), publishing its events
/// through `emitter` and obeying `control`.
pub fn run(inp: &RunInputs, emitter: &Emitter, control: &RunControl) -> Result<RunReport> {
    let cfg = &inp.config;
    cfg.validate(&inp.requests)?;
    for (i, r) in inp.requests.iter().enumerate() {
        if r.id != i as u64 || r.prompt.is_empty() || r.output_tokens == 0 {
            return Err(EngineError::Internal(format!(
                "request {i} of a workload: ids must be 0.., prompts and outputs non-empty"
            )));
        }
    }
    let mut sim = Sim::new(inp, emitter, control)?;
    let cancelled = sim.run()?;
    let mut done = sim.done;
    done.sort_by_key(|r| r.id);
    Ok(RunReport {
        mode: cfg.mode,
        gpus: cfg.gpus,
        pd: (cfg.mode == Mode::Disaggregated).then(|| cfg.split()),
        physical_gpus: cfg.physical_gpus(),
        clock: cfg.clock,
        cancelled,
        summary: summarize(&done, &inp.slo, cfg.physical_gpus()),
        requests: done,
        steps: sim.steps,
    })
}

/// Whether steps sample tokens: the modeled clock samples nothing, and a sampler (~380 bytes)
/// per request was most of a lean run's memory per request.
fn samples(cfg: &ServeConfig) -> bool {
    cfg.clock != ClockKind::Modeled
}

/// Request `id`'s sampling: the run's settings, seeded per request.
fn sampling_for(cfg: &ServeConfig, id: ReqId) -> SamplingParams {
    SamplingParams {
        seed: cfg.sampling.seed.wrapping_add(id),
        ..cfg.sampling
    }
}

impl<'a> Sim<'a> {
    fn new(inp: &'a RunInputs, emitter: &'a Emitter, control: &'a RunControl) -> Result<Self> {
        let cfg = &inp.config;
        let model = inp.model.as_deref().map(|m| &m.model);
        let roles: Vec<Role> = match cfg.mode {
            Mode::Disaggregated => {
                let (p, d) = cfg.split();
                [vec![Role::Prefill; p], vec![Role::Decode; d]].concat()
            }
            _ => vec![Role::Mixed; cfg.gpus],
        };
        let spec = match (model, &inp.cost) {
            (Some(m), _) => m.spec().clone(),
            (None, Some(c)) => c.spec.clone(),
            (None, None) => {
                return Err(EngineError::Internal(
                    "a run got neither a model nor a cost model".into(),
                ))
            }
        };
        let mut inst = Vec::new();
        for (i, role) in roles.into_iter().enumerate() {
            let (kv_blocks, tp) = cfg.instance_shape(role);
            let exec = match (cfg.clock, model) {
                (ClockKind::Modeled, _) => {
                    Executor::Modeled(KvManager::new(kv_blocks, cfg.block_size))
                }
                (_, Some(DeviceModel::Cpu(m))) => {
                    Executor::Cpu(Session::new(m, cfg.kv_blocks(), cfg.block_size)?)
                }
                (_, Some(DeviceModel::Cuda(m))) => {
                    Executor::Cuda(Box::new(crate::backend::cuda::session::CudaSession::new(
                        m,
                        cfg.kv_blocks(),
                        cfg.block_size,
                    )?))
                }
                (_, None) => return Err(EngineError::field(
                    "clock",
                    "the measured and wall clocks need model weights (or use the modeled clock)",
                )),
            };
            inst.push(Instance::new(i, role, cfg.policy(role), exec, tp));
        }
        // What one cached value occupies where the KV cache lives (f32 on the CPU, bf16 on GPUs).
        let kv_value_bytes = match (cfg.clock, &inp.cost, model) {
            (ClockKind::Modeled, Some(c), _) => c.hardware.kv_bytes_per_value as usize,
            (_, _, Some(m)) => m.kv_value_bytes(),
            _ => std::mem::size_of::<f32>(),
        };
        let samplers = if samples(cfg) {
            inp.requests
                .iter()
                .map(|r| Sampler::new(sampling_for(cfg, r.id)))
                .collect()
        } else {
            Vec::new()
        };
        control.reserve_ids(inp.requests.len());
        Ok(Sim {
            inp,
            cfg,
            emitter,
            control,
            reqs: inp
                .requests
                .iter()
                .map(|spec| {
                    let mut r = Request::new(spec);
                    if inp.lean {
                        // Lean runs copy a prompt's ids in when it arrives (`arrive`).
                        r.tokens = Vec::new();
                    }
                    r
                })
                .collect(),
            samplers,
            link_free_at: vec![0.0; inst.len()],
            inst,
            queue: BinaryHeap::new(),
            seq: 0,
            now: 0.0,
            rr: 0,
            handoff: VecDeque::new(),
            kv_bytes_per_token: spec.kv_values_per_token() * kv_value_bytes,
            vocab_size: spec.vocab_size,
            steps: Vec::new(),
            done: Vec::with_capacity(inp.requests.len()),
            aborted: 0,
            pending_aborts: Vec::new(),
            last_load: Vec::new(),
            origin: Instant::now(),
            paused: Duration::ZERO,
        })
    }

    fn push(&mut self, t: f64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Queued {
            t,
            seq: self.seq,
            ev,
        });
    }

    fn emit(&self, e: Event) {
        self.emitter.emit(Some(self.cfg.mode), e);
    }

    fn wall(&self) -> bool {
        self.cfg.clock == ClockKind::Wall
    }

    /// Events wait for the wall clock: always on the wall clock, on request on the measured one.
    fn paced(&self) -> bool {
        self.wall() || (self.cfg.clock == ClockKind::Measured && self.control.is_paced())
    }

    fn elapsed(&self) -> f64 {
        (self.origin.elapsed() - self.paused).as_secs_f64()
    }

    /// Returns whether the run was cancelled.
    fn run(&mut self) -> Result<bool> {
        let arrivals: Vec<(f64, ReqId)> = self.reqs.iter().map(|r| (r.arrival_s, r.id)).collect();
        for (t, id) in arrivals {
            self.push(t, Ev::Arrival(id));
        }
        self.origin = Instant::now();
        loop {
            if self.wait_while_paused() {
                return Ok(true);
            }
            self.take_inbox()?;
            self.start_idle_steps()?;
            self.emit_load();
            let Some(q) = self.queue.pop() else {
                if self.control.is_serving() {
                    // A server's engine idles until a request comes (or it is cancelled).
                    self.control.wait_for_inbox(Duration::from_millis(100));
                    continue;
                }
                break;
            };
            if self.paced() {
                // Sleep in short slices so injections and cancels are seen while waiting.
                let ahead = q.t - self.elapsed();
                if ahead > 0.0 {
                    std::thread::sleep(Duration::from_secs_f64(ahead.min(0.02)));
                    self.queue.push(q);
                    continue;
                }
            }
            self.now = q.t;
            self.handle(q.ev)?;
            self.retry_aborts();
        }
        if self.done.len() + self.aborted < self.reqs.len() {
            return Err(EngineError::Internal(format!(
                "the scheduler stalled with {} of {} requests unfinished",
                self.reqs.len() - self.done.len(),
                self.reqs.len()
            )));
        }
        Ok(false)
    }

    /// Blocks while paused; true if cancelled. Paused time does not count on the wall clock.
    fn wait_while_paused(&mut self) -> bool {
        let c = self.control;
        let t0 = Instant::now();
        while c.is_paused() && !c.is_cancelled() {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.paused += t0.elapsed();
        c.is_cancelled()
    }

    fn start_idle_steps(&mut self) -> Result<()> {
        for i in 0..self.inst.len() {
            if !self.inst[i].is_busy() && self.inst[i].queues.has_work() {
                self.start_step(i)?;
            }
        }
        Ok(())
    }

    fn start_step(&mut self, i: usize) -> Result<()> {
        let inst = &mut self.inst[i];
        let plan = schedule(
            &inst.policy,
            &mut inst.queues,
            &mut self.reqs,
            inst.exec.kv_mut(),
        );
        for &p in &plan.preempted {
            self.emit(Event::Preempted {
                req: p,
                instance: i,
                t_s: self.now,
            });
        }
        if plan.items.is_empty() {
            return Ok(()); // waits for blocks that a later event frees
        }
        let start = if self.wall() {
            self.elapsed().max(self.now)
        } else {
            self.now
        };
        for it in &plan.items {
            let r = &mut self.reqs[it.req as usize];
            if r.is_decoding() {
                r.stamps.decode_start_s.get_or_insert(start);
            } else {
                r.stamps.prefill_start_s.get_or_insert(start);
            }
        }
        let shape = Instance::shape(&plan, &self.reqs);
        let inst = &mut self.inst[i];
        let (sampled, dur) = inst.execute(
            &plan,
            &shape,
            &self.reqs,
            &mut self.samplers,
            self.inp.cost.as_deref(),
        )?;
        let usage = inst.exec.kv().usage();
        let role = inst.role;
        let end = if self.wall() {
            self.elapsed().max(start)
        } else {
            start + dur
        };
        let record = StepRecord {
            instance: i,
            role,
            start_s: start,
            end_s: end,
            prefill_tokens: shape.prefill_tokens,
            decode_tokens: shape.decode_tokens,
            seqs: plan.items.len(),
            kv_blocks: usage.used_blocks,
            kv_blocks_total: usage.total_blocks,
        };
        self.inst[i].pending = Some(Pending {
            items: plan.items,
            sampled,
            record,
        });
        self.push(end, Ev::StepEnd(i));
        Ok(())
    }

    fn handle(&mut self, ev: Ev) -> Result<()> {
        match ev {
            Ev::Arrival(id) => self.arrive(id),
            Ev::StepEnd(i) => self.end_step(i)?,
            Ev::TransferEnd {
                req,
                from,
                to,
                bytes,
            } => {
                self.inst[from].exec.kv_mut().free(req);
                self.inst[to].inbound -= 1;
                self.inst[to].queues.running.push(req);
                let s = &self.reqs[req as usize].stamps;
                let (start_s, end_s) = (s.transfer_start_s.unwrap_or(self.now), self.now);
                self.emit(Event::KvTransferred {
                    req,
                    from,
                    to,
                    bytes,
                    start_s,
                    end_s,
                });
            }
        }
        Ok(())
    }

    fn arrive(&mut self, id: ReqId) {
        if self.reqs[id as usize].aborted {
            return;
        }
        if self.inp.lean {
            if let Some(spec) = self.inp.requests.get(id as usize) {
                self.reqs[id as usize].tokens = spec.prompt.to_vec();
            }
        }
        let front: Vec<usize> = (0..self.inst.len())
            .filter(|&i| self.inst[i].role != Role::Decode)
            .collect();
        let i = match self.cfg.router {
            super::Router::RoundRobin => front[self.rr % front.len()],
            super::Router::LeastLoaded => *front
                .iter()
                .min_by_key(|&&i| (self.inst[i].load(), i))
                .unwrap_or(&0),
        };
        self.rr += 1;
        self.inst[i].queues.waiting.push_back(id);
        let r = &mut self.reqs[id as usize];
        r.prefill_instance = Some(i);
        if self.inst[i].role == Role::Mixed {
            r.decode_instance = Some(i);
        }
        let prompt_tokens = r.prompt_len;
        self.emit(Event::Arrived {
            req: id,
            t_s: self.now,
            instance: i,
            prompt_tokens,
        });
    }
}

mod ends;
mod handoff;
mod live;
mod queue;
use queue::{Ev, Queued};
