//! DistServe's summaries of a sweep: per-GPU goodput (the highest request rate per GPU at which
//! SLO attainment stays at or above a target, interpolated between the measured rates) and the
//! SLO-scale curve (attainment as both SLOs are scaled at a fixed rate), and the sweep itself:
//! every mode at every rate on the identical workload of that rate.
use crate::error::{EngineError, Result};
use crate::loader::LoadedModel;
use crate::serve::cluster::Mode;
use crate::serve::events::{Emitter, RunControl};
use crate::serve::experiment::{prepare, Experiment, Prepared};
use crate::serve::handle::{spawn_job, RunHandle};
use crate::serve::metrics::{attainment, RequestRecord, Slo};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Attainment target of DistServe's per-GPU goodput.
pub const TARGET: f64 = 0.9;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatePoint {
    pub rate: f64,
    pub attainment: f64,
}

/// Highest rate whose attainment is ≥ `target`, interpolated linearly to where the curve
/// crosses the target after it; `None` if even the lowest rate misses. When every measured
/// rate meets the target the highest one is returned (a lower bound). Divide by the GPU count
/// for per-GPU goodput.
pub fn max_rate_at(points: &[RatePoint], target: f64) -> Option<f64> {
    let mut p: Vec<RatePoint> = points.to_vec();
    p.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    if p.first()?.attainment < target {
        return None;
    }
    for w in p.windows(2) {
        let (a, b) = (w[0], w[1]);
        if b.attainment < target {
            let f = (a.attainment - target) / (a.attainment - b.attainment);
            return Some(a.rate + f * (b.rate - a.rate));
        }
    }
    p.last().map(|x| x.rate)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScalePoint {
    pub scale: f64,
    pub attainment: f64,
}

/// Joint attainment of one run's requests with both SLOs multiplied by each scale (scheduling
/// does not depend on the SLOs, so one run serves every scale).
pub fn slo_scale_curve(reqs: &[RequestRecord], slo: &Slo, scales: &[f64]) -> Vec<ScalePoint> {
    scales
        .iter()
        .map(|&k| ScalePoint {
            scale: k,
            attainment: attainment(reqs, &slo.scaled(k)).joint,
        })
        .collect()
}

/// One mode at one rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub rate: f64,
    pub attainment: f64,
    pub attainment_ttft: f64,
    pub attainment_tpot: f64,
    pub goodput_rps: f64,
    pub throughput_rps: f64,
    pub ttft_p90_ms: f64,
    pub tpot_p90_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeSweep {
    pub mode: Mode,
    pub gpus: usize,
    pub points: Vec<SweepPoint>,
    /// Highest rate with ≥ 90 % joint attainment (interpolated); null if even the lowest misses.
    pub max_rate_at_target: Option<f64>,
    pub per_gpu_goodput_rps: Option<f64>,
    pub slo_scale_rate: f64,
    pub slo_scale: Vec<ScalePoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub modes: Vec<ModeSweep>,
    /// Which run the SLO-scale curve comes from.
    pub slo_scale_source: String,
    /// Whether the sweep was cancelled before every point ran.
    pub cancelled: bool,
}

/// The SLO-scale curve's rate: the one asked for, else the sweep's middle rate (whose runs are
/// reused, so the curve costs no extra run).
pub fn slo_scale_rate(rates: &[f64], asked: Option<f64>) -> Option<f64> {
    asked.or_else(|| {
        let mut r = rates.to_vec();
        r.sort_by(|a, b| a.total_cmp(b));
        r.get((r.len().saturating_sub(1)) / 2).copied()
    })
}

/// Every mode at every rate of the prepared experiment's sweep, in mode-major order, one
/// progress line per finished point. The SLO-scale curve reuses a sweep run unless the
/// experiment names a rate the sweep does not visit (then one extra run per mode).
pub fn run_sweep(p: &Prepared, emitter: &Emitter, control: &RunControl) -> Result<SweepReport> {
    let e = &p.experiment;
    let rates = e.sweep.rates.clone();
    if rates.is_empty() {
        return Err(EngineError::field("sweep.rates", "give the rates to sweep"));
    }
    let scale_rate = slo_scale_rate(&rates, e.sweep.slo_scale_rate).unwrap_or(rates[0]);
    let reused = rates.contains(&scale_rate);
    // Draw (and check) every workload before the first long run.
    let mut workloads = Vec::new();
    for &r in &rates {
        workloads.push(p.requests(r)?);
    }
    let extra = if reused {
        None
    } else {
        Some(p.requests(scale_rate)?)
    };
    let n_modes = p.resolved.configs.len();
    let total = n_modes * (rates.len() + usize::from(!reused));
    let mut done = 0;
    let mut out = Vec::new();
    for (mi, cfg) in p.resolved.configs.iter().enumerate() {
        let mut points = Vec::new();
        let mut scale_reqs: Option<Vec<RequestRecord>> = None;
        let runs = rates.iter().zip(&workloads).map(|(r, w)| (*r, w, false));
        let runs = runs.chain(extra.as_ref().map(|w| (scale_rate, w, true)));
        for (rate, reqs, is_extra) in runs {
            let r = crate::serve::cluster::run(&p.inputs(mi, reqs.clone()), emitter, control)?;
            if r.cancelled {
                return Ok(SweepReport {
                    modes: out,
                    slo_scale_source: String::new(),
                    cancelled: true,
                });
            }
            let m = &r.summary;
            done += 1;
            let what = if is_extra { " (SLO-scale run)" } else { "" };
            let line = format!(
                "{} at {rate} req/s{what}: attainment {:.1} %, goodput {:.3} req/s",
                cfg.mode.name(),
                m.attainment.joint * 100.0,
                m.goodput_rps
            );
            emitter.progress(Some(cfg.mode), done, total, line);
            if rate == scale_rate && scale_reqs.is_none() {
                scale_reqs = Some(r.requests.clone());
            }
            if is_extra {
                continue;
            }
            points.push(SweepPoint {
                rate,
                attainment: m.attainment.joint,
                attainment_ttft: m.attainment.ttft,
                attainment_tpot: m.attainment.tpot,
                goodput_rps: m.goodput_rps,
                throughput_rps: m.throughput_rps,
                ttft_p90_ms: m.ttft_ms.p90,
                tpot_p90_ms: m.tpot_ms.p90,
            });
        }
        let curve: Vec<RatePoint> = points
            .iter()
            .map(|p| RatePoint {
                rate: p.rate,
                attainment: p.attainment,
            })
            .collect();
        let max = max_rate_at(&curve, TARGET);
        let scale_reqs = scale_reqs.unwrap_or_default();
        out.push(ModeSweep {
            mode: cfg.mode,
            gpus: cfg.gpus,
            points,
            max_rate_at_target: max,
            per_gpu_goodput_rps: max.map(|r| r / cfg.gpus as f64),
            slo_scale_rate: scale_rate,
            slo_scale: slo_scale_curve(&scale_reqs, &p.resolved.slo, &e.sweep.slo_scales),
        });
    }
    let slo_scale_source = if reused {
        format!("the sweep's runs at {scale_rate} req/s")
    } else {
        format!("an extra run per mode at {scale_rate} req/s")
    };
    Ok(SweepReport {
        modes: out,
        slo_scale_source,
        cancelled: false,
    })
}

/// Prepares `exp` and sweeps it on a worker thread.
pub fn spawn_sweep(
    exp: Experiment,
    model: Option<Arc<LoadedModel>>,
) -> Result<RunHandle<(Prepared, SweepReport)>> {
    spawn_job("sweep", move |em, ctl| {
        let p = prepare(&exp, model, em)?;
        let r = run_sweep(&p, em, ctl)?;
        Ok((p, r))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(f64, f64)]) -> Vec<RatePoint> {
        v.iter()
            .map(|&(rate, attainment)| RatePoint { rate, attainment })
            .collect()
    }

    #[test]
    fn slo_scale_rate_defaults_to_the_middle_rate() {
        assert_eq!(slo_scale_rate(&[4.0, 1.0, 2.0, 3.0], None), Some(2.0));
        assert_eq!(slo_scale_rate(&[1.0, 2.0, 3.0], None), Some(2.0));
        assert_eq!(slo_scale_rate(&[1.0, 2.0], Some(7.0)), Some(7.0));
        assert_eq!(slo_scale_rate(&[], None), None);
    }

    #[test]
    fn interpolates_the_crossing() {
        // 1.0 at rate 2, 0.8 at rate 4: crosses 0.9 half-way, at 3.
        let r = max_rate_at(&pts(&[(1.0, 1.0), (2.0, 1.0), (4.0, 0.8), (8.0, 0.1)]), 0.9);
        assert!((r.unwrap() - 3.0).abs() < 1e-12);
        assert_eq!(max_rate_at(&pts(&[(1.0, 0.5), (2.0, 0.2)]), 0.9), None);
        assert_eq!(
            max_rate_at(&pts(&[(2.0, 0.95), (1.0, 1.0)]), 0.9),
            Some(2.0)
        );
    }
}
