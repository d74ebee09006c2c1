//! How wrong is the modeled clock? One workload runs with the measured clock and then with the
//! modeled clock calibrated on the same device, on the identical requests; the relative error
//! of p50/p90 TTFT, p50/p90 TPOT and goodput per mode is the answer (Vidur's validation, here
//! on this machine).
use crate::error::{EngineError, Result};
use crate::serve::cluster::{ClockKind, Mode, RunReport};
use crate::serve::events::{Emitter, RunControl};
use crate::serve::experiment::{prepare, Experiment};
use crate::serve::handle::{spawn_job, RunHandle};
use serde::{Deserialize, Serialize};

/// One figure of one mode, both ways.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRow {
    pub mode: Mode,
    /// `p50 TTFT ms`, `p90 TPOT ms`, `goodput req/s`, …
    pub metric: String,
    pub measured: f64,
    pub modeled: f64,
    /// (modeled − measured) / measured; 0 when both are 0.
    pub rel_error: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Validation {
    /// The experiment as it ran (machine fit applied), measured clock.
    pub experiment: Experiment,
    /// `a + max(b_c · compute, b_m · memory)` as fitted, in words.
    pub cost_model: String,
    pub rows: Vec<ErrorRow>,
    pub measured: Vec<RunReport>,
    pub modeled: Vec<RunReport>,
}

impl Validation {
    /// Largest |relative error| over every row.
    pub fn worst(&self) -> f64 {
        self.rows
            .iter()
            .map(|r| r.rel_error.abs())
            .fold(0.0, f64::max)
    }
}

/// The rows of one mode from its two reports.
pub fn compare(measured: &RunReport, modeled: &RunReport) -> Vec<ErrorRow> {
    let (a, b) = (&measured.summary, &modeled.summary);
    let figures = [
        ("p50 TTFT ms", a.ttft_ms.median, b.ttft_ms.median),
        ("p90 TTFT ms", a.ttft_ms.p90, b.ttft_ms.p90),
        ("p50 TPOT ms", a.tpot_ms.median, b.tpot_ms.median),
        ("p90 TPOT ms", a.tpot_ms.p90, b.tpot_ms.p90),
        ("goodput req/s", a.goodput_rps, b.goodput_rps),
    ];
    figures
        .iter()
        .map(|&(metric, m, o)| ErrorRow {
            mode: measured.mode,
            metric: metric.into(),
            measured: m,
            modeled: o,
            rel_error: if m == 0.0 && o == 0.0 {
                0.0
            } else if m == 0.0 {
                f64::INFINITY
            } else {
                (o - m) / m
            },
        })
        .collect()
}

/// Runs `exp` measured, then modeled (calibrated on the loaded model unless its hardware
/// profile already carries a correction), on one workload.
pub fn validate(exp: &Experiment, emitter: &Emitter, control: &RunControl) -> Result<Validation> {
    let measured_exp = Experiment {
        clock: ClockKind::Measured,
        calibrate: false,
        ..exp.clone()
    };
    let p = prepare(&measured_exp, None, emitter)?;
    let requests = p.requests(p.experiment.workload.rate)?;
    let measured = p.run_modes(&requests, "measured ", emitter, control)?;
    let profile = crate::serve::hardware::Hardware::named(&exp.hardware)?;
    let modeled_exp = Experiment {
        clock: ClockKind::Modeled,
        calibrate: profile.correction.is_none(),
        fit: None,
        ..p.experiment.clone()
    };
    let q = prepare(&modeled_exp, p.model.clone(), emitter)?;
    let cost = q
        .cost
        .as_ref()
        .ok_or_else(|| EngineError::Internal("a modeled run without a cost model".into()))?;
    let cost_model = format!(
        "{} on the {} rooflines",
        cost.describe(),
        cost.hardware.name
    );
    let modeled = q.run_modes(&requests, "modeled ", emitter, control)?;
    let rows = measured
        .iter()
        .zip(&modeled)
        .flat_map(|(a, b)| compare(a, b))
        .collect();
    Ok(Validation {
        experiment: p.experiment.clone(),
        cost_model,
        rows,
        measured,
        modeled,
    })
}

/// `validate` on a worker thread.
pub fn spawn(exp: Experiment) -> Result<RunHandle<Validation>> {
    spawn_job("validate", move |em, ctl| validate(&exp, em, ctl))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::workload::LenDist;

    /// The tiny card on synthetic weights: both clocks run the same requests, every mode gets
    /// its five figures, and the modeled run is calibrated on this machine.
    #[test]
    fn both_clocks_run_the_same_workload_and_every_figure_is_compared() {
        let mut e = Experiment {
            model: "tiny".into(),
            synthetic: true,
            threads: Some(1),
            ..Experiment::default()
        };
        e.workload.rate = 200.0;
        e.workload.num_requests = 12;
        e.workload.prompt_len = Some(LenDist::Uniform { lo: 16, hi: 120 });
        e.workload.output_len = Some(LenDist::Uniform { lo: 2, hi: 12 });
        e.sched.token_budget = 32;
        e.sched.kv_tokens = 2048;
        let v = validate(&e, &Emitter::none(), &RunControl::default()).expect("validate");
        assert_eq!(v.rows.len(), 5 * Mode::ALL.len());
        assert!(v.cost_model.contains("GEMM"), "{}", v.cost_model);
        for (a, b) in v.measured.iter().zip(&v.modeled) {
            assert_eq!(
                (a.mode, a.clock, b.clock),
                (b.mode, ClockKind::Measured, ClockKind::Modeled)
            );
            let ids = |r: &RunReport| {
                r.requests
                    .iter()
                    .map(|q| (q.id, q.prompt_tokens, q.output_tokens))
                    .collect::<Vec<_>>()
            };
            assert_eq!(ids(a), ids(b), "{:?}: the same requests", a.mode);
        }
        for r in &v.rows {
            assert!(r.measured >= 0.0 && r.modeled >= 0.0, "{r:?}");
            if r.measured > 0.0 {
                assert!(
                    (r.rel_error - (r.modeled / r.measured - 1.0)).abs() < 1e-12,
                    "{r:?}"
                );
            }
        }
    }
}
