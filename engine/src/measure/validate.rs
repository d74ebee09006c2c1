//! How wrong is the modeled clock? One workload runs with the measured clock and then with the
//! modeled clock calibrated on the same device, on the identical requests; the relative error
//! of p50/p90 TTFT, p50/p90 TPOT and goodput per mode is the answer (Vidur's validation, here
//! on this machine). The measured side can be run several times: its median is the reference
//! and its range is the noise floor no model can beat on that machine.
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
    /// The median over the measured runs.
    pub measured: f64,
    /// The lowest and highest measured value over the runs.
    pub measured_range: (f64, f64),
    pub modeled: f64,
    /// (modeled − measured) / measured; 0 when both are 0.
    pub rel_error: f64,
}

impl ErrorRow {
    /// Whether the model lands between the lowest and highest measured run.
    pub fn modeled_in_range(&self) -> bool {
        (self.measured_range.0..=self.measured_range.1).contains(&self.modeled)
    }

    /// (max − min) / median of the measured runs: how far the machine disagrees with itself.
    pub fn spread(&self) -> f64 {
        relative(self.measured_range.1 - self.measured_range.0, self.measured).abs()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Validation {
    /// The experiment as it ran (machine fit applied), measured clock.
    pub experiment: Experiment,
    /// The fitted correction in words (`CostModel::describe`) and the profile it corrects.
    pub cost_model: String,
    pub rows: Vec<ErrorRow>,
    /// Every measured run, each with one report per mode.
    pub measured: Vec<Vec<RunReport>>,
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

fn figures(r: &RunReport) -> [(&'static str, f64); 5] {
    let s = &r.summary;
    [
        ("p50 TTFT ms", s.ttft_ms.median),
        ("p90 TTFT ms", s.ttft_ms.p90),
        ("p50 TPOT ms", s.tpot_ms.median),
        ("p90 TPOT ms", s.tpot_ms.p90),
        ("goodput req/s", s.goodput_rps),
    ]
}

/// `diff` relative to `base`: 0 when `diff` is 0, infinite when only the base is.
fn relative(diff: f64, base: f64) -> f64 {
    if diff == 0.0 {
        0.0
    } else if base == 0.0 {
        f64::INFINITY
    } else {
        diff / base
    }
}

/// The rows of one mode: its measured reports (one per run) against its modeled one.
pub fn compare(measured: &[&RunReport], modeled: &RunReport) -> Vec<ErrorRow> {
    let runs: Vec<_> = measured.iter().map(|r| figures(r)).collect();
    figures(modeled)
        .iter()
        .enumerate()
        .map(|(i, &(metric, o))| {
            let mut xs: Vec<f64> = runs.iter().map(|f| f[i].1).collect();
            xs.sort_by(f64::total_cmp);
            let m = crate::serve::metrics::percentile(&xs, 50.0);
            ErrorRow {
                mode: modeled.mode,
                metric: metric.into(),
                measured: m,
                measured_range: (xs[0], xs[xs.len() - 1]),
                modeled: o,
                rel_error: relative(o - m, m),
            }
        })
        .collect()
}

/// Runs `exp` measured `repeats` times, then modeled (calibrated on the loaded model unless its
/// hardware profile already carries a correction), on one workload.
pub fn validate(
    exp: &Experiment,
    repeats: usize,
    emitter: &Emitter,
    control: &RunControl,
) -> Result<Validation> {
    if repeats == 0 {
        return Err(EngineError::field(
            "repeats",
            "at least one measured run is needed",
        ));
    }
    let measured_exp = Experiment {
        clock: ClockKind::Measured,
        calibrate: false,
        ..exp.clone()
    };
    let p = prepare(&measured_exp, None, emitter)?;
    let requests = p.requests(p.experiment.workload.rate)?;
    let measured = (1..=repeats)
        .map(|i| {
            let label = if repeats == 1 {
                "measured ".to_string()
            } else {
                format!("measured {i}/{repeats} ")
            };
            p.run_modes(&requests, &label, emitter, control)
        })
        .collect::<Result<Vec<_>>>()?;
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
    let rows = modeled
        .iter()
        .enumerate()
        .flat_map(|(m, b)| {
            let runs: Vec<&RunReport> = measured.iter().map(|run| &run[m]).collect();
            compare(&runs, b)
        })
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
pub fn spawn(exp: Experiment, repeats: usize) -> Result<RunHandle<Validation>> {
    spawn_job("validate", move |em, ctl| validate(&exp, repeats, em, ctl))
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
        let v = validate(&e, 2, &Emitter::none(), &RunControl::default()).expect("validate");
        assert_eq!(v.rows.len(), 5 * Mode::ALL.len());
        assert_eq!(v.measured.len(), 2);
        assert!(v.cost_model.contains("GEMM"), "{}", v.cost_model);
        for (a, b) in v.measured.iter().flatten().zip(v.modeled.iter().cycle()) {
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
            let (lo, hi) = r.measured_range;
            assert!(lo <= r.measured && r.measured <= hi, "{r:?}");
            if r.measured > 0.0 {
                assert!(
                    (r.rel_error - (r.modeled / r.measured - 1.0)).abs() < 1e-12,
                    "{r:?}"
                );
            }
        }
        assert!(validate(&e, 0, &Emitter::none(), &RunControl::default())
            .is_err_and(|e| e.to_string().starts_with("repeats:")));
    }

    /// The reference is the median of the runs, the range their extremes.
    #[test]
    fn rows_compare_the_median_of_the_measured_runs() {
        let slo = crate::serve::metrics::Slo {
            ttft_ms: 1.0,
            tpot_ms: 1.0,
        };
        let run = |ttft: f64| {
            let mut summary = crate::serve::metrics::summarize(&[], &slo, 1);
            summary.ttft_ms.median = ttft;
            RunReport {
                mode: Mode::Aggregated,
                gpus: 1,
                pd: None,
                physical_gpus: 1,
                clock: ClockKind::Measured,
                cancelled: false,
                summary,
                requests: Vec::new(),
                steps: Vec::new(),
            }
        };
        let (a, b, c, m) = (run(10.0), run(14.0), run(11.0), run(12.1));
        let rows = compare(&[&a, &b, &c], &m);
        let r = &rows[0];
        assert_eq!(r.metric, "p50 TTFT ms");
        assert_eq!((r.measured, r.measured_range), (11.0, (10.0, 14.0)));
        assert!((r.rel_error - 0.1).abs() < 1e-12 && (r.spread() - 4.0 / 11.0).abs() < 1e-12);
        assert!(r.modeled_in_range());
        assert!(!compare(&[&a, &b, &c], &run(15.0))[0].modeled_in_range());
        assert_eq!(rows[4].rel_error, 0.0, "0 measured and 0 modeled agree");
    }
}
