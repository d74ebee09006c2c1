//! The plan search: every candidate's highest request rate at which the attainment target
//! holds, found by simulating the workload on the modeled clock (bracket, then bisect), then
//! ranked by goodput per GPU. The best few are searched again on other workload seeds; the
//! range of their goodput is the error bar the plan reports.
use super::candidates::{deployment, enumerate, serve_config, Candidate};
use super::deployment::Deployment;
use super::frontier::{pareto, FrontierPoint};
use super::spec::{Checked, PlanSpec};
use crate::error::Result;
use crate::serve::cluster::{run, RunInputs};
use crate::serve::cost_model::CostModel;
use crate::serve::events::{Emitter, RunControl};
use crate::serve::metrics::Summary;
use crate::serve::workload::{Count, WorkloadSpec};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// One simulated rate of one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateSample {
    pub rate: f64,
    pub attainment: f64,
    /// Output tokens per second per GPU (throughput, SLOs ignored).
    pub tokens_per_s_per_gpu: f64,
    /// Output tokens per second a user sees while decoding (1000 / mean TPOT).
    pub tokens_per_s_per_user: f64,
    pub ttft_p90_ms: f64,
    pub tpot_p90_ms: f64,
}

impl RateSample {
    fn of(rate: f64, s: &Summary, gpus: usize) -> Self {
        RateSample {
            rate,
            attainment: s.attainment.joint,
            tokens_per_s_per_gpu: s.output_tps / gpus.max(1) as f64,
            tokens_per_s_per_user: if s.tpot_ms.mean > 0.0 {
                1e3 / s.tpot_ms.mean
            } else {
                0.0
            },
            ttft_p90_ms: s.ttft_ms.p90,
            tpot_p90_ms: s.tpot_ms.p90,
        }
    }
}

/// A candidate with its simulated goodput.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluated {
    pub label: String,
    pub candidate: Candidate,
    pub deployment: Deployment,
    /// Highest rate meeting the target on the search seed (0 if even a trickle misses).
    pub goodput_rps: f64,
    pub goodput_per_gpu_rps: f64,
    /// (min, max) per-GPU goodput over the error-bar seeds; `None` outside the top few.
    pub per_gpu_range: Option<(f64, f64)>,
    /// The sample at the goodput rate (or the lowest rate tried).
    pub at_goodput: Option<RateSample>,
    /// Every rate simulated, by rate.
    pub curve: Vec<RateSample>,
}

/// The ranked plans, the frontier and how they were found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanReport {
    pub spec: PlanSpec,
    pub hardware: String,
    /// `datasheet roofline (uncalibrated)` or the calibration it used.
    pub cost_model: String,
    /// Best first.
    pub plans: Vec<Evaluated>,
    /// Non-dominated (tokens/s/user, tokens/s/GPU) points over every simulated rate that
    /// met the attainment target.
    pub frontier: Vec<FrontierPoint>,
    pub simulations: usize,
    pub num_requests: usize,
}

/// Rate-search steps: a bracket of at most this many, then this many bisections.
const BRACKET_STEPS: usize = 8;
const BISECTIONS: usize = 5;

struct Searcher<'a> {
    c: &'a Checked,
    cost: Arc<CostModel>,
    sims: AtomicUsize,
}

impl Searcher<'_> {
    fn simulate(&self, cand: &Candidate, rate: f64, seed: u64) -> Result<RateSample> {
        // Arrivals must outlast a few request lifetimes, or the batch never reaches its steady
        // size and the run looks faster than it is: at least `num_requests`, and at least
        // three lifetimes at the SLOs (TTFT + mean output × TPOT), at most 20 000 requests.
        let s = &self.c.spec;
        let lifetime_s = (s.slo.ttft_ms + self.c.output.mean() * s.slo.tpot_ms) / 1e3;
        let n = (rate * 3.0 * lifetime_s)
            .ceil()
            .clamp(self.c.num_requests as f64, 20_000.0) as usize;
        let w = WorkloadSpec {
            rate,
            burstiness: self.c.spec.burstiness,
            count: Count::Requests(n),
            prompt: self.c.prompt,
            output: self.c.output,
            seed,
        };
        let spec = &self.c.card.spec;
        let reqs = w.generate_seeded(spec.vocab_size, 0, spec.max_context)?;
        let inputs = RunInputs {
            config: serve_config(self.c, cand),
            requests: reqs.into(),
            model: None,
            cost: Some(self.cost.clone()),
            slo: self.c.spec.slo,
            stop_ids: Vec::new().into(),
            lean: true,
        };
        let report = run(&inputs, &Emitter::none(), &RunControl::default())?;
        self.sims.fetch_add(1, Ordering::Relaxed);
        Ok(RateSample::of(rate, &report.summary, cand.gpus()))
    }

    /// Highest rate meeting the target, and every sample taken on the way.
    fn max_rate(&self, cand: &Candidate, seed: u64) -> Result<(f64, Vec<RateSample>)> {
        let target = self.c.spec.attainment;
        let mut samples = Vec::new();
        let probe = |r: f64, samples: &mut Vec<RateSample>| -> Result<bool> {
            let s = self.simulate(cand, r, seed)?;
            samples.push(s);
            Ok(s.attainment >= target)
        };
        let start = cand.estimate_rps.max(1e-3) * 0.8;
        let (mut lo, mut hi) = (0.0f64, f64::INFINITY);
        let mut r = start;
        for _ in 0..BRACKET_STEPS {
            if probe(r, &mut samples)? {
                lo = r;
                if hi.is_finite() {
                    break;
                }
                r *= 1.6;
            } else {
                hi = r;
                if lo > 0.0 {
                    break;
                }
                r *= 0.5;
            }
        }
        if lo > 0.0 && hi.is_finite() {
            for _ in 0..BISECTIONS {
                let mid = 0.5 * (lo + hi);
                if probe(mid, &mut samples)? {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
        }
        samples.sort_by(|a, b| a.rate.total_cmp(&b.rate));
        Ok((lo, samples))
    }

    fn evaluate(&self, cand: &Candidate) -> Result<Evaluated> {
        let (rate, curve) = self.max_rate(cand, self.c.spec.seed)?;
        let gpus = cand.gpus().max(1) as f64;
        let at_goodput = curve
            .iter()
            .find(|s| s.rate == rate)
            .or(curve.first())
            .copied();
        Ok(Evaluated {
            label: cand.label(),
            candidate: cand.clone(),
            deployment: deployment(self.c, cand),
            goodput_rps: rate,
            goodput_per_gpu_rps: rate / gpus,
            per_gpu_range: None,
            at_goodput,
            curve,
        })
    }
}

/// Runs the whole search. `emitter` gets one progress line per finished candidate.
pub fn plan(spec: &PlanSpec, emitter: &Emitter, control: &RunControl) -> Result<PlanReport> {
    let c = spec.check()?;
    let cost = Arc::new(CostModel::new(c.card.spec.clone(), c.hardware.clone()));
    let cands = enumerate(&c, &cost);
    if cands.is_empty() {
        return Err(crate::error::EngineError::field(
            "gpus",
            format!(
                "{} does not fit {} GPU(s) of {} at any tensor-parallel degree tried (weights plus one request's KV)",
                c.card.name, spec.gpus, c.hardware.name
            ),
        ));
    }
    let me = Searcher {
        c: &c,
        cost: cost.clone(),
        sims: AtomicUsize::new(0),
    };
    let done = AtomicUsize::new(0);
    let total = cands.len();
    let mut plans: Vec<Evaluated> = cands
        .par_iter()
        .map(|cand| {
            if control.is_cancelled() {
                return Err(crate::error::EngineError::Invalid("plan cancelled".into()));
            }
            let e = me.evaluate(cand)?;
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            emitter.progress(
                None,
                n,
                total,
                format!("{:<44} {:>8.3} req/s/GPU", e.label, e.goodput_per_gpu_rps),
            );
            Ok(e)
        })
        .collect::<Result<_>>()?;
    // Best per GPU first; ties go to fewer GPUs, then the label (a stable order).
    plans.sort_by(|a, b| {
        b.goodput_per_gpu_rps
            .total_cmp(&a.goodput_per_gpu_rps)
            .then(a.candidate.gpus().cmp(&b.candidate.gpus()))
            .then(a.label.cmp(&b.label))
    });
    let top = spec.error_bar_top.min(plans.len());
    let ranges: Vec<(f64, f64)> = plans[..top]
        .par_iter()
        .map(|e| {
            let gpus = e.candidate.gpus().max(1) as f64;
            let mut lo = e.goodput_per_gpu_rps;
            let mut hi = lo;
            for k in 1..spec.seeds as u64 {
                let (r, _) = me.max_rate(&e.candidate, spec.seed.wrapping_add(k))?;
                lo = lo.min(r / gpus);
                hi = hi.max(r / gpus);
            }
            Ok((lo, hi))
        })
        .collect::<Result<_>>()?;
    for (e, r) in plans.iter_mut().zip(ranges) {
        e.per_gpu_range = Some(r);
    }
    let frontier = pareto(&plans, spec.attainment);
    let cost_model = match &c.hardware.correction {
        Some(k) => format!("calibrated on {}: {}", k.fitted_on, cost.describe()),
        None => format!("datasheet rooflines, uncalibrated: {}", cost.describe()),
    };
    Ok(PlanReport {
        spec: spec.clone(),
        hardware: c.hardware.name.clone(),
        cost_model,
        plans,
        frontier,
        simulations: me.sims.load(Ordering::Relaxed),
        num_requests: c.num_requests,
    })
}

/// `plan` on a worker thread behind a handle (progress lines, cancellation).
pub fn spawn_plan(spec: PlanSpec) -> Result<crate::serve::handle::RunHandle<PlanReport>> {
    crate::serve::handle::spawn_job("plan", move |em, ctl| plan(&spec, em, ctl))
}

/// Joint attainment of the candidate labelled `label` at `rate` on the spec's seed (the
/// simulation the search itself runs; tests and the Plan view's curves use it).
pub fn attainment_at(spec: &PlanSpec, label: &str, rate: f64) -> Result<f64> {
    let c = spec.check()?;
    let cost = Arc::new(CostModel::new(c.card.spec.clone(), c.hardware.clone()));
    let cand = enumerate(&c, &cost)
        .into_iter()
        .find(|x| x.label() == label)
        .ok_or_else(|| {
            crate::error::EngineError::field("plan", format!("no candidate {label:?}"))
        })?;
    let me = Searcher {
        c: &c,
        cost,
        sims: AtomicUsize::new(0),
    };
    Ok(me.simulate(&cand, rate, spec.seed)?.attainment)
}
