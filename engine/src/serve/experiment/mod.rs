//! An experiment: everything that defines one serving comparison — model, device, clock,
//! workload, GPUs and P:D, the modes and their knobs, SLOs, seed — as one serde type read from
//! RON. The CLI's `bench` and `sweep`, the named scenarios (`engine/scenarios/*.ron`), a saved
//! workbench session and a lesson step all hold this same type. Every field has its default
//! here (`Default` impls), in one place; `resolve` validates and names the field it rejects.
mod fit;
mod resolve;
mod run;
mod scenarios;

pub use fit::{MachineFigures, MachineFit};
pub use resolve::Resolved;
pub use run::{load_options, prepare, spawn, spawn_edited, BenchOutput, Prepared};
pub use scenarios::{scenario, scenarios};

use crate::backend::Device;
use crate::error::{EngineError, Result};
use crate::serve::cluster::{ClockKind, Mode, Router};
use crate::serve::metrics::Slo;
use crate::serve::workload::{LenDist, Preset};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Experiment {
    /// Short name, shown in menus and reports.
    pub name: String,
    /// One or two sentences on what the experiment shows.
    pub about: String,
    /// A model card name (`tiny`, `smollm2-135m`, `llama-2-13b`, …) or a path to a `.gguf`.
    pub model: String,
    /// Seeded random weights of the card's exact shape instead of the real file (no download;
    /// same compute and memory traffic, nonsense text).
    pub synthetic: bool,
    /// Seed of the synthetic weights.
    pub weights_seed: u64,
    /// Where the steps run (measured and wall clocks): `cpu`, `cuda` or `cuda:N`.
    pub device: Device,
    /// CPU worker threads; `None` uses every core.
    pub threads: Option<usize>,
    /// `Measured` (steps run; their durations advance each logical GPU's clock), `Wall` (real
    /// time, one mode) or `Modeled` (a cost model predicts each step; nothing is computed).
    pub clock: ClockKind,
    /// Hardware profile of the modeled clock: a built-in one (`cpu`, `a100-40`, `a100-80`,
    /// `h100-sxm`, `h200`, `b200`, `l40s`; `a100` and `h100` are aliases), `this-machine`
    /// (what `calibrate` stored) or a path to a `.ron` profile.
    pub hardware: String,
    /// GPUs per instance (tensor parallelism) of replicas and prefill instances; above 1 only
    /// on the modeled clock.
    pub tp: usize,
    /// GPUs per decode instance (disaggregated; modeled clock above 1).
    pub decode_tp: usize,
    /// Keep summaries only (no step records, no per-token lists): memory stays flat in the
    /// run's length. For very large modeled runs.
    pub lean: bool,
    /// Fit the modeled clock's correction on steps measured on this machine (needs weights).
    pub calibrate: bool,
    /// Modes to run, each on the identical workload.
    pub modes: Vec<Mode>,
    /// Logical GPUs per mode: replicas for aggregated and chunked, P + D for disaggregated.
    pub gpus: usize,
    /// (prefill, decode) instances for disaggregated mode; `None` splits `gpus` in half.
    pub pd: Option<(usize, usize)>,
    /// How arrivals are spread over replicas or prefill instances.
    pub router: Router,
    /// KV transfer link of disaggregated mode: `nvlink`, `pcie`, `ib`, or `"<GB/s>,<µs>"`.
    pub link: String,
    pub workload: Workload,
    pub slo: Slo,
    /// Scheduler knobs of the modes.
    pub sched: SchedKnobs,
    pub sampling: Sampling,
    /// What `sweep` visits.
    pub sweep: SweepSpec,
    /// State the rate and SLOs relative to this machine's measured step times instead of as
    /// absolute numbers, so the experiment shows the same contrast on any computer.
    pub fit: Option<MachineFit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Workload {
    /// Requests per second (`inf` sends every request at t = 0).
    pub rate: f64,
    /// Gamma shape of the arrival gaps: 1 = Poisson, < 1 burstier (vLLM's meaning).
    pub burstiness: f64,
    /// How many requests arrive (ignored when `duration_secs` is set).
    pub num_requests: usize,
    /// Arrivals for this long instead of a request count.
    pub duration_secs: Option<f64>,
    /// Length shapes of a published workload (`Chat`, `Code`, `Summarization`), scaled by
    /// `dataset_scale`; `prompt_len` / `output_len` override either side.
    pub dataset: Option<Preset>,
    pub dataset_scale: f64,
    /// Prompt tokens; without it and without a dataset, 128.
    pub prompt_len: Option<LenDist>,
    /// Output tokens; without it and without a dataset, 32.
    pub output_len: Option<LenDist>,
    /// Replay a JSONL trace instead of drawing arrivals.
    pub trace: Option<PathBuf>,
    /// Seeds the arrivals, the lengths and the prompts (the same for every mode).
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedKnobs {
    /// Token limit of an aggregated (or prefill-instance) step; `None`: the model's context.
    pub max_batched_tokens: Option<usize>,
    /// Aggregated: steps that admit prompts pause the decodes (vLLM v0).
    pub prefill_only_steps: bool,
    /// Chunked (and decode-instance) tokens per step.
    pub token_budget: usize,
    /// Chunked: prompts being prefilled at once.
    pub max_partial_prefills: usize,
    /// Most requests an instance holds at once.
    pub max_seqs: usize,
    /// KV cache of each instance, in tokens.
    pub kv_tokens: usize,
    /// Tokens per KV block.
    pub block_size: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sampling {
    /// 0 is greedy.
    pub temperature: f32,
    /// Nucleus mass kept, in (0, 1].
    pub top_p: f32,
    /// End a request at an end-of-sequence token (default: outputs have their drawn length).
    pub stop_at_eos: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SweepSpec {
    /// Request rates a sweep visits.
    pub rates: Vec<f64>,
    /// Factors on both SLOs for the SLO-scale curve.
    pub slo_scales: Vec<f64>,
    /// Rate of the SLO-scale curve; `None` reuses the sweep's run at its middle rate.
    pub slo_scale_rate: Option<f64>,
}

impl Default for Experiment {
    fn default() -> Self {
        Experiment {
            name: "custom".into(),
            about: String::new(),
            model: "smollm2-135m".into(),
            synthetic: false,
            weights_seed: 0,
            device: Device::Cpu,
            threads: None,
            clock: ClockKind::Measured,
            hardware: "cpu".into(),
            tp: 1,
            decode_tp: 1,
            lean: false,
            calibrate: false,
            modes: Mode::ALL.to_vec(),
            gpus: 2,
            pd: None,
            router: Router::LeastLoaded,
            link: "pcie".into(),
            workload: Workload::default(),
            slo: Slo {
                ttft_ms: 2000.0,
                tpot_ms: 100.0,
            },
            sched: SchedKnobs::default(),
            sampling: Sampling::default(),
            sweep: SweepSpec::default(),
            fit: None,
        }
    }
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            rate: 1.0,
            burstiness: 1.0,
            num_requests: 40,
            duration_secs: None,
            dataset: None,
            dataset_scale: 1.0,
            prompt_len: None,
            output_len: None,
            trace: None,
            seed: 0,
        }
    }
}

impl Default for SchedKnobs {
    fn default() -> Self {
        SchedKnobs {
            max_batched_tokens: None,
            prefill_only_steps: false,
            token_budget: 256,
            max_partial_prefills: 1,
            max_seqs: 64,
            kv_tokens: 8192,
            block_size: crate::backend::step::DEFAULT_BLOCK_SIZE,
        }
    }
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 0.0,
            top_p: 1.0,
            stop_at_eos: false,
        }
    }
}

impl Default for SweepSpec {
    fn default() -> Self {
        SweepSpec {
            rates: Vec::new(),
            slo_scales: vec![0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0],
            slo_scale_rate: None,
        }
    }
}

impl Experiment {
    /// Reads an experiment from RON; `file` only names it in errors, which give the line and
    /// column ron reports.
    pub fn from_ron(file: &str, text: &str) -> Result<Experiment> {
        ron::from_str(text).map_err(|e| EngineError::BadFile {
            path: PathBuf::from(file),
            reason: e.to_string(),
        })
    }

    pub fn load(path: &std::path::Path) -> Result<Experiment> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::BadFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_ron(&path.display().to_string(), &text)
    }

    /// The experiment as pretty RON, readable by `from_ron`.
    pub fn to_ron(&self) -> Result<String> {
        let cfg = ron::ser::PrettyConfig::new().struct_names(false);
        ron::ser::to_string_pretty(self, cfg)
            .map_err(|e| EngineError::Internal(format!("writing an experiment as RON: {e}")))
    }

    /// Prompt and output length distributions after the dataset and the overrides.
    pub fn lengths(&self) -> Result<(LenDist, LenDist)> {
        let w = &self.workload;
        let (p, o) = match w.dataset {
            Some(d) => {
                if !(w.dataset_scale > 0.0 && w.dataset_scale.is_finite()) {
                    return Err(EngineError::field("workload.dataset_scale", "must be > 0"));
                }
                d.lengths(w.dataset_scale)
            }
            None => (LenDist::Fixed(128), LenDist::Fixed(32)),
        };
        Ok((w.prompt_len.unwrap_or(p), w.output_len.unwrap_or(o)))
    }

    /// Whether a sweep knows its rates: given, or to come from the machine fit.
    pub fn has_sweep_rates(&self) -> bool {
        !self.sweep.rates.is_empty() || self.fit.as_ref().is_some_and(|f| f.sweep_loads.is_some())
    }

    /// Whether the experiment needs model weights (the modeled clock alone does not).
    pub fn needs_weights(&self) -> bool {
        self.clock != ClockKind::Modeled || self.calibrate || self.fit.is_some()
    }
}
