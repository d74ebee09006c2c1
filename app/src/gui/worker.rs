//! The engine jobs the window started, each behind its `RunHandle`. Every frame the UI drains
//! their events within a time budget into the store; nothing here blocks on the engine.
//! Starting a run cancels the previous one, which finishes on its own thread.
pub mod live;
pub mod plan;
pub mod run_info;

use super::experiment_bar::weights::Weights;
use super::export::Exports;
use super::store::Store;
use engine::measure::interference::{InterferenceConfig, InterferenceRow};
use engine::serve::cluster::ClockKind;
use engine::serve::events::Event;
use engine::serve::experiment::{load_options, BenchOutput, Experiment, Prepared};
use engine::serve::handle::{spawn_job, RunHandle};
use engine::serve::sweep::{spawn_sweep, SweepReport};
use run_info::RunInfo;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the current run stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Idle,
    Running,
    Paused,
    Done,
    Failed(String),
}

#[derive(Default)]
pub struct Sweep {
    pub handle: Option<RunHandle<(Prepared, SweepReport)>>,
    pub report: Option<SweepReport>,
    pub progress: (usize, usize),
    pub error: Option<String>,
}

#[derive(Default)]
pub struct Interference {
    pub handle: Option<RunHandle<Vec<InterferenceRow>>>,
    pub rows: Vec<InterferenceRow>,
    pub error: Option<String>,
}

pub struct Worker {
    pub store: Store,
    pub status: Status,
    /// The experiment as the engine ran it (machine fit applied), once prepared.
    pub ran: Option<Experiment>,
    run: Option<RunHandle<BenchOutput>>,
    retiring: Vec<RunHandle<BenchOutput>>,
    pub sweep: Sweep,
    pub interference: Interference,
    /// The cluster planner's search (the Plan view).
    pub plan: plan::PlanJob,
    /// What the exports and the inspector need of the finished run.
    pub info: Option<RunInfo>,
    /// Fetching a card's real weights.
    pub weights: Weights,
    pub exports: Exports,
    /// A live server started from the window (`gui --serve PORT`): its requests fill the store.
    pub live: live::Live,
}

impl Default for Worker {
    fn default() -> Self {
        Worker {
            store: Store::default(),
            status: Status::Idle,
            ran: None,
            run: None,
            retiring: Vec::new(),
            sweep: Sweep::default(),
            interference: Interference::default(),
            plan: plan::PlanJob::default(),
            info: None,
            weights: Weights::default(),
            exports: Exports::default(),
            live: live::Live::default(),
        }
    }
}

impl Worker {
    /// Starts every mode of `exp`; the old run is cancelled and left to end on its thread.
    pub fn start(&mut self, exp: &Experiment) {
        self.start_edited(exp, None);
    }

    /// `start`, with one prompt of `long_prompt` tokens added to the workload (arriving with
    /// its middle request): the lessons' and the presenter's "inject a long prompt".
    pub fn start_edited(&mut self, exp: &Experiment, long_prompt: Option<usize>) {
        self.cancel();
        let extra = usize::from(long_prompt.is_some());
        self.store = Store::new(&exp.modes, exp.gpus, exp.workload.num_requests + extra);
        self.store.keep_output_ids = exp.clock != ClockKind::Modeled;
        self.ran = None;
        self.info = None;
        let job = engine::serve::experiment::spawn_edited(exp.clone(), None, move |r, spec| {
            match long_prompt {
                Some(t) => engine::lesson::with_long_prompt(&r, t, spec.vocab_size),
                None => r,
            }
        });
        match job {
            Ok(h) => {
                self.run = Some(h);
                self.status = Status::Running;
            }
            Err(e) => self.status = Status::Failed(e.to_string()),
        }
    }

    pub fn pause(&mut self) {
        if let Some(h) = &self.run {
            h.pause();
            self.status = Status::Paused;
        }
    }

    pub fn resume(&mut self) {
        if let Some(h) = &self.run {
            h.resume();
            self.status = Status::Running;
        }
    }

    /// Cancels the run (its thread ends by itself) and clears the window's data.
    pub fn reset(&mut self) {
        self.cancel();
        self.store = Store::default();
        self.info = None;
        self.status = Status::Idle;
    }

    fn cancel(&mut self) {
        self.live.stop();
        if let Some(h) = self.run.take() {
            h.cancel();
            h.resume();
            self.retiring.push(h);
        }
    }

    pub fn start_sweep(&mut self, exp: &Experiment) {
        if let Some(h) = self.sweep.handle.take() {
            h.cancel();
        }
        self.sweep = Sweep::default();
        match spawn_sweep(exp.clone(), None) {
            Ok(h) => self.sweep.handle = Some(h),
            Err(e) => self.sweep.error = Some(e.to_string()),
        }
    }

    /// Loads the experiment's model on a worker thread and measures the slowdown table.
    pub fn start_interference(&mut self, exp: &Experiment, cfg: InterferenceConfig) {
        if let Some(h) = self.interference.handle.take() {
            h.cancel();
        }
        self.interference = Interference::default();
        let opts = load_options(exp);
        let exp = exp.clone();
        let job = spawn_job("interference", move |em, ctl| {
            // The modeled clock computes nothing: its table comes from the cost model that
            // times its runs (prepared without weights, calibrated if the experiment says so).
            if exp.clock == ClockKind::Modeled {
                return engine::serve::experiment::prepare(&exp, None, em)?
                    .modeled_interference(&cfg);
            }
            let m = Arc::new(engine::loader::load(&opts)?);
            engine::measure::interference::measure(&m.model, &cfg, em, ctl)
        });
        match job {
            Ok(h) => self.interference.handle = Some(h),
            Err(e) => self.interference.error = Some(e.to_string()),
        }
    }

    pub fn is_busy(&self) -> bool {
        self.run.is_some()
            || self.live.is_on()
            || self.sweep.handle.is_some()
            || self.interference.handle.is_some()
            || self.plan.is_running()
            || self.weights.job.is_some()
    }

    /// Moves pending events into the store for at most `budget`, and collects finished jobs.
    pub fn drain(&mut self, budget: Duration) {
        let t0 = Instant::now();
        if let Some(h) = &self.run {
            while t0.elapsed() < budget {
                let Ok(ev) = h.events.try_recv() else { break };
                self.store.apply(ev);
            }
            if h.is_finished() && h.events.is_empty() {
                if let Some(h) = self.run.take() {
                    match h.join() {
                        Ok(out) => {
                            self.info = Some(RunInfo::new(&out));
                            self.store.finish(out.reports);
                            self.ran = Some(out.prepared.experiment);
                            self.status = Status::Done;
                        }
                        Err(e) => self.status = Status::Failed(e.to_string()),
                    }
                }
            }
        }
        if let Some(status) = self.live.drain(&mut self.store, t0, budget) {
            self.status = status;
        }
        self.retiring.retain(|h| !h.is_finished());
        self.drain_sweep();
        self.drain_interference();
        self.plan.drain();
    }

    fn drain_sweep(&mut self) {
        let Some(h) = &self.sweep.handle else { return };
        for ev in h.events.try_iter() {
            if let Event::Progress { done, total, .. } = ev.event {
                self.sweep.progress = (done, total);
            }
        }
        if h.is_finished() {
            if let Some(h) = self.sweep.handle.take() {
                match h.join() {
                    Ok((_, r)) => self.sweep.report = Some(r),
                    Err(e) => self.sweep.error = Some(e.to_string()),
                }
            }
        }
    }

    fn drain_interference(&mut self) {
        let Some(h) = &self.interference.handle else {
            return;
        };
        for _ in h.events.try_iter() {}
        if h.is_finished() {
            if let Some(h) = self.interference.handle.take() {
                match h.join() {
                    Ok(rows) => self.interference.rows = rows,
                    Err(e) => self.interference.error = Some(e.to_string()),
                }
            }
        }
    }
}
