//! What a lesson's checks are evaluated over: the latest run of each mode, the latest
//! interference table and the latest sweep, filled from the engine's own outputs. The GUI and
//! the checker both build it with `from_bench` / `with_*` as their runs finish.
use crate::measure::interference::InterferenceRow;
use crate::serve::cluster::{Mode, RunReport};
use crate::serve::experiment::BenchOutput;
use crate::serve::metrics::{mean_breakdown, RequestRecord, Summary};
use crate::serve::sweep::SweepReport;

/// One mode's run, reduced to what the check functions read.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeResult {
    pub mode: Mode,
    pub gpus: usize,
    pub summary: Summary,
    /// Mean KV transfer per request, ms (0 outside disaggregated mode).
    pub kv_transfer_ms: f64,
    /// The worst request (the worst gap for ITL): what one stalled step does shows here
    /// long before it moves a percentile.
    pub max: Maxima,
}

/// Largest value of each latency metric over a run's requests, ms.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Maxima {
    pub ttft_ms: f64,
    pub tpot_ms: f64,
    pub itl_ms: f64,
    pub e2el_ms: f64,
}

impl ModeResult {
    pub fn from_report(r: &RunReport) -> ModeResult {
        let most = |f: &dyn Fn(&RequestRecord) -> f64| r.requests.iter().map(f).fold(0.0, f64::max);
        ModeResult {
            mode: r.mode,
            gpus: r.gpus,
            summary: r.summary.clone(),
            kv_transfer_ms: mean_breakdown(&r.requests).kv_transfer,
            max: Maxima {
                ttft_ms: most(&|q| q.ttft_ms),
                tpot_ms: most(&|q| q.tpot_ms),
                itl_ms: most(&|q| q.itl_ms.iter().copied().fold(0.0, f64::max)),
                e2el_ms: most(&|q| q.e2el_ms),
            },
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Results {
    /// The latest run of each mode (a later run of a mode replaces the earlier one).
    pub modes: Vec<ModeResult>,
    pub interference: Option<Vec<InterferenceRow>>,
    pub sweep: Option<SweepReport>,
}

impl Results {
    pub fn from_bench(out: &BenchOutput) -> Results {
        Results::default().with_reports(&out.reports)
    }

    /// Adds (or replaces) the modes of a bench run, keeping interference and sweep.
    pub fn with_bench(self, out: &BenchOutput) -> Results {
        self.with_reports(&out.reports)
    }

    /// Adds (or replaces) one result per report; cancelled reports are skipped, since their
    /// numbers describe only part of the workload.
    pub fn with_reports(mut self, reports: &[RunReport]) -> Results {
        for r in reports.iter().filter(|r| !r.cancelled) {
            let m = ModeResult::from_report(r);
            match self.modes.iter_mut().find(|x| x.mode == m.mode) {
                Some(x) => *x = m,
                None => self.modes.push(m),
            }
        }
        self
    }

    pub fn with_interference(mut self, rows: &[InterferenceRow]) -> Results {
        self.interference = Some(rows.to_vec());
        self
    }

    pub fn with_sweep(mut self, report: &SweepReport) -> Results {
        self.sweep = Some(report.clone());
        self
    }

    pub fn mode(&self, mode: Mode) -> Option<&ModeResult> {
        self.modes.iter().find(|m| m.mode == mode)
    }
}
