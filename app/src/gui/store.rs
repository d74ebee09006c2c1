//! What the window shows, built from a run's events as they arrive: per mode, the finished
//! requests, the steps, the KV transfers and preemptions. The UI reads this; it never reaches
//! into the engine (rerun's store/viewer split).
use engine::serve::cluster::{Mode, RunReport};
use engine::serve::events::{Event, RunEvent, StepRecord};
use engine::serve::metrics::{summarize, RequestRecord, Slo, Summary};
use engine::serve::request::ReqId;
use std::collections::HashMap;

/// One KV hand-off between instances (disaggregated mode).
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub req: u64,
    pub from: usize,
    pub to: usize,
    pub start_s: f64,
    pub end_s: f64,
}

#[derive(Debug, Clone)]
pub struct ModeData {
    pub mode: Mode,
    pub gpus: usize,
    pub requests: Vec<RequestRecord>,
    pub steps: Vec<StepRecord>,
    pub transfers: Vec<Transfer>,
    /// (instance, time) of each preemption.
    pub preemptions: Vec<(usize, f64)>,
    pub arrived: usize,
    pub tokens: usize,
    /// The engine's own summary once the mode's run ended.
    pub report: Option<RunReport>,
    /// Generated token ids per request, when the store keeps them (`Store::keep_output_ids`).
    pub output_ids: HashMap<ReqId, Vec<u32>>,
    summary: Option<(usize, Slo, Summary)>,
    /// The compare view's reduced chart data (`compare_geometry`), kept until its key changes.
    pub geometry: Option<(
        super::compare_geometry::Key,
        std::sync::Arc<super::compare_geometry::Geometry>,
    )>,
}

impl ModeData {
    pub fn new(mode: Mode, gpus: usize) -> Self {
        ModeData {
            mode,
            gpus,
            requests: Vec::new(),
            steps: Vec::new(),
            transfers: Vec::new(),
            preemptions: Vec::new(),
            arrived: 0,
            tokens: 0,
            report: None,
            output_ids: HashMap::new(),
            summary: None,
            geometry: None,
        }
    }

    /// The metrics of the requests finished so far under `slo`, recomputed only when either
    /// changed (the schedulers never look at SLOs, so a new SLO needs no new run).
    pub fn summary(&mut self, slo: Slo) -> &Summary {
        let n = self.requests.len();
        if !matches!(&self.summary, Some((m, s, _)) if *m == n && *s == slo) {
            self.summary = None;
        }
        let (requests, gpus) = (&self.requests, self.gpus);
        &self
            .summary
            .get_or_insert_with(|| (n, slo, summarize(requests, &slo, gpus)))
            .2
    }
}

#[derive(Debug, Clone, Default)]
pub struct Store {
    pub modes: Vec<ModeData>,
    /// Progress lines of the run (loading, the machine fit, each finished mode).
    pub log: Vec<String>,
    pub total_requests: usize,
    pub events: u64,
    /// The experiment as the engine prepared it (machine fit applied), until the window takes it.
    pub prepared: Option<engine::serve::experiment::Experiment>,
    /// Keep each request's generated token ids for the inspector: only when a model computes
    /// them (measured and wall clocks, slow enough that their runs stay small). The modeled
    /// clock emits placeholder ids and may run 30 000 requests: nothing is kept there.
    pub keep_output_ids: bool,
}

impl Store {
    pub fn new(modes: &[Mode], gpus: usize, total_requests: usize) -> Self {
        Store {
            modes: modes.iter().map(|&m| ModeData::new(m, gpus)).collect(),
            total_requests,
            ..Store::default()
        }
    }

    pub fn mode_mut(&mut self, mode: Mode) -> Option<&mut ModeData> {
        self.modes.iter_mut().find(|d| d.mode == mode)
    }

    pub fn apply(&mut self, ev: RunEvent) {
        self.events += 1;
        if let Event::Progress { line, .. } = &ev.event {
            self.log.push(line.clone());
            return;
        }
        if let Event::Prepared(e) = ev.event {
            self.prepared = Some(*e);
            return;
        }
        let keep_ids = self.keep_output_ids;
        let Some(d) = ev.mode.and_then(|m| self.mode_mut(m)) else {
            return;
        };
        match ev.event {
            Event::Arrived { .. } => d.arrived += 1,
            Event::StepDone(s) => d.steps.push(s),
            Event::Token {
                req, index, token, ..
            } => {
                d.tokens += 1;
                if keep_ids {
                    let ids = d.output_ids.entry(req).or_default();
                    // Indexes are unique per request (a preempted request keeps its tokens).
                    if index < ids.len() {
                        ids[index] = token;
                    } else {
                        ids.resize(index, 0);
                        ids.push(token);
                    }
                }
            }
            Event::KvTransferred {
                req,
                from,
                to,
                start_s,
                end_s,
                ..
            } => d.transfers.push(Transfer {
                req,
                from,
                to,
                start_s,
                end_s,
            }),
            Event::Preempted { instance, t_s, .. } => d.preemptions.push((instance, t_s)),
            Event::Finished(r) => d.requests.push(*r),
            // A live server's: its aborted requests count in no metric; its load is not
            // charted (the steps carry KV use).
            Event::Progress { .. }
            | Event::Prepared(_)
            | Event::Aborted { .. }
            | Event::Load { .. } => {}
        }
    }

    /// The final reports replace what the events built (same data, in request order).
    pub fn finish(&mut self, reports: Vec<RunReport>) {
        for r in reports {
            if let Some(d) = self.mode_mut(r.mode) {
                d.requests = r.requests.clone();
                d.steps = r.steps.clone();
                d.report = Some(r);
            }
        }
    }

    /// The engine's reports of the modes whose run ended (empty while running).
    pub fn reports(&self) -> Vec<RunReport> {
        self.modes.iter().filter_map(|d| d.report.clone()).collect()
    }

    /// Latest time anything happened, for shared time axes.
    pub fn end_s(&self) -> f64 {
        self.modes
            .iter()
            .flat_map(|d| d.steps.last().map(|s| s.end_s))
            .fold(0.0, f64::max)
    }
}
