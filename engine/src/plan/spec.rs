//! What a plan is asked: model, hardware, GPU budget, SLOs and traffic, plus the search's
//! limits. Every field is documented and defaulted here (the CLI and the Plan view derive
//! from it); errors name the field.
use crate::error::{EngineError, Result};
use crate::model::cards::card;
use crate::model::spec::ModelCard;
use crate::serve::cluster::Mode;
use crate::serve::hardware::Hardware;
use crate::serve::metrics::Slo;
use crate::serve::workload::{LenDist, Preset};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanSpec {
    /// Model card (`goodput-lab models list`): `llama-3-70b`, `llama-2-13b`, …
    pub model: String,
    /// Hardware profile: `h100-sxm`, `a100-80`, `h200`, `b200`, `l40s`, `this-machine`, …
    pub hardware: String,
    /// GPUs the plan may use. A plan may leave some idle when that serves more per GPU.
    pub gpus: usize,
    pub slo: Slo,
    /// Share of requests that must meet both SLOs (DistServe's 90 %).
    pub attainment: f64,
    /// Length shapes of a published workload (chat, code, summarization).
    pub dataset: Preset,
    /// Prompt lengths instead of the dataset's.
    pub prompt_len: Option<LenDist>,
    /// Output lengths instead of the dataset's.
    pub output_len: Option<LenDist>,
    /// Gamma shape of the arrival gaps (1 = Poisson).
    pub burstiness: f64,
    /// Requests per simulation; `None`: 100 per GPU, at least 1 000.
    pub num_requests: Option<usize>,
    /// Workload seed of the search; the error bars rerun the best plans on the next seeds.
    pub seed: u64,
    /// Seeds the best plans are re-searched on (their goodput's range is the error bar).
    pub seeds: usize,
    /// How many of the best plans get error bars.
    pub error_bar_top: usize,
    /// Modes searched.
    pub modes: Vec<Mode>,
    /// Tensor-parallel degrees tried; `None`: powers of two up to a node.
    pub tp: Option<Vec<usize>>,
    /// Chunked prefill token budgets tried (vLLM `--max-num-batched-tokens`).
    pub token_budgets: Vec<usize>,
    /// Most sequences an instance runs at once (vLLM's default `--max-num-seqs` is 256).
    pub max_seqs: usize,
    /// Share of GPU memory for weights and KV cache (vLLM `--gpu-memory-utilization`).
    pub mem_util: f64,
    /// Aggregated replicas run prompts in steps of their own that pause decodes (vLLM v0,
    /// DistServe's colocated baseline) instead of mixing them into decode steps.
    pub prefill_only_steps: bool,
}

impl Default for PlanSpec {
    fn default() -> Self {
        PlanSpec {
            model: "llama-3-70b".into(),
            hardware: "h100-sxm".into(),
            gpus: 16,
            slo: Slo {
                ttft_ms: 500.0,
                tpot_ms: 50.0,
            },
            attainment: 0.9,
            dataset: Preset::Chat,
            prompt_len: None,
            output_len: None,
            burstiness: 1.0,
            num_requests: None,
            seed: 0,
            seeds: 3,
            error_bar_top: 5,
            modes: Mode::ALL.to_vec(),
            tp: None,
            token_budgets: vec![512, 2048, 8192],
            max_seqs: 256,
            mem_util: 0.9,
            prefill_only_steps: false,
        }
    }
}

/// A spec with its card and profile looked up and every number checked.
#[derive(Debug, Clone)]
pub struct Checked {
    pub spec: PlanSpec,
    pub card: ModelCard,
    pub hardware: Hardware,
    pub prompt: LenDist,
    pub output: LenDist,
    pub tps: Vec<usize>,
    pub num_requests: usize,
}

impl PlanSpec {
    pub fn check(&self) -> Result<Checked> {
        let bad = |f: &str, m: String| Err(EngineError::field(f, m));
        let card = card(&self.model)?;
        let hardware = Hardware::named(&self.hardware)?;
        if self.gpus == 0 {
            return bad("gpus", "must be ≥ 1".into());
        }
        if !(self.slo.ttft_ms > 0.0 && self.slo.ttft_ms.is_finite()) {
            return bad("slo.ttft_ms", "must be > 0 ms".into());
        }
        if !(self.slo.tpot_ms > 0.0 && self.slo.tpot_ms.is_finite()) {
            return bad("slo.tpot_ms", "must be > 0 ms".into());
        }
        if !(self.attainment > 0.0 && self.attainment <= 1.0) {
            return bad(
                "attainment",
                format!("{} is not in (0, 1]", self.attainment),
            );
        }
        if !(self.burstiness > 0.0 && self.burstiness.is_finite()) {
            return bad("burstiness", "must be > 0".into());
        }
        if !(self.mem_util > 0.0 && self.mem_util <= 1.0) {
            return bad("mem_util", format!("{} is not in (0, 1]", self.mem_util));
        }
        if self.modes.is_empty() {
            return bad("modes", "name at least one mode".into());
        }
        if self.max_seqs == 0 {
            return bad("max_seqs", "must be ≥ 1".into());
        }
        if self.seeds == 0 {
            return bad("seeds", "must be ≥ 1".into());
        }
        if self.modes.contains(&Mode::Chunked) && self.token_budgets.iter().any(|&b| b < 16) {
            return bad("token_budgets", "each budget must be ≥ 16 tokens".into());
        }
        if self.modes.contains(&Mode::Chunked) && self.token_budgets.is_empty() {
            return bad(
                "token_budgets",
                "chunked mode needs at least one budget".into(),
            );
        }
        let (dp, dout) = self.dataset.lengths(1.0);
        let prompt = self.prompt_len.unwrap_or(dp);
        let output = self.output_len.unwrap_or(dout);
        prompt.validate("prompt_len")?;
        output.validate("output_len")?;
        let node = hardware.gpus_per_node.min(self.gpus);
        let tps = match &self.tp {
            Some(v) => {
                if let Some(t) = v.iter().find(|&&t| t == 0 || t > node) {
                    return bad(
                        "tp",
                        format!(
                            "{t}: each degree must be 1..={node} (one node of {})",
                            hardware.name
                        ),
                    );
                }
                let mut v = v.clone();
                v.sort_unstable();
                v.dedup();
                v
            }
            None => (0..).map(|k| 1 << k).take_while(|&t| t <= node).collect(),
        };
        if tps.is_empty() {
            return bad("tp", "name at least one degree".into());
        }
        let num_requests = self.num_requests.unwrap_or((100 * self.gpus).max(1000));
        if num_requests < 10 {
            return bad(
                "num_requests",
                "use at least 10 requests per simulation".into(),
            );
        }
        Ok(Checked {
            spec: self.clone(),
            card,
            hardware,
            prompt,
            output,
            tps,
            num_requests,
        })
    }
}
