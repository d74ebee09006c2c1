//! gpu-check's serving section: DistServe's Fig. 1 setup (13B, prompt 512 / output 64,
//! TTFT ≤ 400 ms, TPOT ≤ 40 ms) through the three modes at several rates on the measured clock
//! (logical GPUs taking turns on the one card), then the same on the modeled clock calibrated
//! on this GPU, so the two can be read side by side and the model's error reported.
use crate::error::Result;
use crate::loader::LoadedModel;
use crate::serve::cluster::{ClockKind, Mode};
use crate::serve::events::{Emitter, RunControl};
use crate::serve::experiment::{prepare, Experiment};
use crate::serve::sweep::{run_sweep, ModeSweep};
use crate::serve::workload::LenDist;
use serde::Serialize;
use std::sync::Arc;

/// One layout (GPUs, P:D) on one clock.
#[derive(Debug, Clone, Serialize)]
pub struct ServingRun {
    pub clock: ClockKind,
    pub gpus: usize,
    pub pd: Option<(usize, usize)>,
    pub modes: Vec<ModeSweep>,
}

/// The experiment behind the section: `model` on its device, `requests` per rate.
pub fn experiment(model: &LoadedModel, rates: &[f64], requests: usize) -> Experiment {
    let mut e = Experiment {
        name: "gpu-check-serving".into(),
        model: model.name.clone(),
        synthetic: model.synthetic,
        device: model.model.device(),
        ..Experiment::default()
    };
    e.workload.prompt_len = Some(LenDist::Fixed(512));
    e.workload.output_len = Some(LenDist::Fixed(64));
    e.workload.num_requests = requests;
    e.workload.seed = 1;
    e.slo.ttft_ms = 400.0;
    e.slo.tpot_ms = 40.0;
    e.sweep.rates = rates.to_vec();
    e
}

/// Runs 2 GPUs (all modes, 1P:1D) and 3 GPUs (2P:1D) on the measured clock, then both on the
/// modeled clock calibrated here. Progress lines go to `emitter`.
pub fn serving(
    model: Arc<LoadedModel>,
    rates: &[f64],
    requests: usize,
    emitter: &Emitter,
) -> Result<Vec<ServingRun>> {
    let base = experiment(&model, rates, requests);
    let layouts = [
        (2, None, Mode::ALL.to_vec()),
        (3, Some((2, 1)), vec![Mode::Disaggregated]),
    ];
    let mut out = Vec::new();
    for clock in [ClockKind::Measured, ClockKind::Modeled] {
        // One calibration serves both layouts of the modeled clock.
        let mut cost = None;
        for (gpus, pd, modes) in &layouts {
            let mut e = base.clone();
            e.clock = clock;
            e.calibrate = clock == ClockKind::Modeled;
            e.gpus = *gpus;
            e.pd = *pd;
            e.modes = modes.clone();
            let mut p = prepare(&e, Some(model.clone()), emitter)?;
            match (&cost, &p.cost) {
                (Some(c), Some(_)) => p.cost = Some(Arc::clone(c)),
                (None, Some(c)) => cost = Some(Arc::clone(c)),
                _ => {}
            }
            let report = run_sweep(&p, emitter, &RunControl::default())?;
            out.push(ServingRun {
                clock,
                gpus: *gpus,
                pd: *pd,
                modes: report.modes,
            });
        }
    }
    Ok(out)
}

/// Relative error of the modeled clock's p90 TTFT and TPOT against the measured clock's, per
/// (layout, mode, rate): `(label, ttft_err, tpot_err)`.
pub fn modeled_error(runs: &[ServingRun]) -> Vec<(String, f64, f64)> {
    let mut rows = Vec::new();
    for m in runs.iter().filter(|r| r.clock == ClockKind::Measured) {
        let Some(p) = runs
            .iter()
            .find(|r| r.clock == ClockKind::Modeled && r.gpus == m.gpus && r.pd == m.pd)
        else {
            continue;
        };
        for (ms, ps) in m.modes.iter().zip(&p.modes) {
            for (a, b) in ms.points.iter().zip(&ps.points) {
                let rel = |model: f64, real: f64| (model - real) / real.max(1e-9);
                rows.push((
                    format!("{} GPUs {} @ {} req/s", m.gpus, ms.mode.name(), a.rate),
                    rel(b.ttft_p90_ms, a.ttft_p90_ms),
                    rel(b.tpot_p90_ms, a.tpot_p90_ms),
                ));
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::{load, LoadOptions};

    /// The section's plumbing on the CPU with `tiny` (the GPU run differs only in the device).
    #[test]
    fn serving_section_runs_both_clocks_and_layouts_on_tiny() {
        let m = Arc::new(
            load(&LoadOptions {
                model: "tiny".into(),
                synthetic: true,
                threads: 1,
                seed: 0,
                device: crate::backend::Device::Cpu,
            })
            .expect("tiny"),
        );
        let runs = serving(m, &[50.0, 100.0], 12, &Emitter::none()).expect("runs");
        assert_eq!(runs.len(), 4);
        assert_eq!(runs[0].modes.len(), 3);
        assert_eq!(runs[1].modes.len(), 1);
        assert_eq!(runs[1].pd, Some((2, 1)));
        assert!(runs
            .iter()
            .all(|r| r.modes.iter().all(|m| m.points.len() == 2)));
        let err = modeled_error(&runs);
        assert_eq!(err.len(), 2 * (3 + 1));
        assert!(err.iter().all(|(_, a, b)| a.is_finite() && b.is_finite()));
    }
}
