//! A serving cluster of logical GPUs ("instances") running one mode on one workload. Each
//! instance has its own KV pool and its own virtual timeline; under the measured clock they take
//! turns on the one physical device (DESIGN.md, "one engine, three clocks").
mod inputs;
mod instance;
mod run;
#[cfg(test)]
mod tests;

pub use run::{run, RunInputs};

use crate::error::{EngineError, Result};
use crate::sampler::SamplingParams;
use crate::serve::events::StepRecord;
use crate::serve::link::LinkModel;
use crate::serve::metrics::{summarize, RequestRecord, Slo, Summary};
use crate::serve::request::RequestSpec;
use crate::serve::sched::Policy;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Aggregated,
    Chunked,
    Disaggregated,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Aggregated, Mode::Chunked, Mode::Disaggregated];

    pub fn parse(s: &str) -> Result<Mode> {
        match s {
            "aggregated" | "agg" => Ok(Mode::Aggregated),
            "chunked" => Ok(Mode::Chunked),
            "disaggregated" | "disagg" => Ok(Mode::Disaggregated),
            _ => Err(EngineError::field(
                "modes",
                format!("{s:?} is not a mode (aggregated, chunked, disaggregated)"),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Aggregated => "aggregated",
            Mode::Chunked => "chunked",
            Mode::Disaggregated => "disaggregated",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClockKind {
    /// Steps run for real; their measured durations advance each instance's virtual clock.
    Measured,
    /// Real time: arrivals are paced by the wall clock and steps run as they come.
    Wall,
    /// A cost model predicts each step; nothing is computed.
    Modeled,
}

impl ClockKind {
    pub fn parse(s: &str) -> Result<ClockKind> {
        match s {
            "measured" => Ok(ClockKind::Measured),
            "wall" => Ok(ClockKind::Wall),
            "modeled" => Ok(ClockKind::Modeled),
            _ => Err(EngineError::field(
                "clock",
                format!("{s:?}: expected measured, wall or modeled"),
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Router {
    RoundRobin,
    /// Fewest requests queued or running; ties go to the lowest index.
    LeastLoaded,
}

impl Router {
    pub fn parse(s: &str) -> Result<Router> {
        match s {
            "round-robin" | "rr" => Ok(Router::RoundRobin),
            "least-loaded" => Ok(Router::LeastLoaded),
            _ => Err(EngineError::field(
                "router",
                format!("{s:?}: expected round-robin or least-loaded"),
            )),
        }
    }
}

/// Everything that shapes one mode's run except the workload and the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServeConfig {
    pub mode: Mode,
    /// Logical GPUs: replicas for aggregated/chunked, P + D for disaggregated.
    pub gpus: usize,
    /// Prefill and decode instances (disaggregated); default splits `gpus` in half.
    pub pd: Option<(usize, usize)>,
    pub router: Router,
    pub max_batched_tokens: usize,
    pub prefill_only_steps: bool,
    pub token_budget: usize,
    pub max_partial_prefills: usize,
    pub max_seqs: usize,
    pub kv_tokens: usize,
    pub block_size: usize,
    /// GPUs per instance (tensor parallelism) of aggregated, chunked and prefill instances;
    /// only the modeled clock runs more than 1.
    #[serde(default = "one")]
    pub tp: usize,
    /// GPUs per decode instance (disaggregated).
    #[serde(default = "one")]
    pub decode_tp: usize,
    /// KV cache of each decode instance in tokens, when it differs from `kv_tokens` (a
    /// decode instance on other GPUs than the prefill ones).
    #[serde(default)]
    pub decode_kv_tokens: Option<usize>,
    pub link: LinkModel,
    pub clock: ClockKind,
    pub sampling: SamplingParams,
    pub stop_at_eos: bool,
}

impl ServeConfig {
    /// A config with the experiment's defaults (`Experiment::default()`, the one place they
    /// live) for `mode` on `gpus` logical GPUs.
    pub fn defaults(mode: Mode, gpus: usize, max_context: usize) -> Self {
        let e = crate::serve::experiment::Experiment {
            gpus,
            ..Default::default()
        };
        // The default link is a preset name, which always parses.
        e.serve_config(mode, max_context)
            .unwrap_or_else(|err| unreachable!("default experiment: {err}"))
    }

    /// (prefill, decode) instance counts for disaggregated mode.
    pub fn split(&self) -> (usize, usize) {
        self.pd.unwrap_or((self.gpus.div_ceil(2), self.gpus / 2))
    }

    pub fn kv_blocks(&self) -> usize {
        self.kv_tokens.div_ceil(self.block_size.max(1))
    }

    /// KV blocks and GPUs of one instance of `role`.
    pub fn instance_shape(&self, role: crate::serve::events::Role) -> (usize, usize) {
        match (self.mode, role) {
            (Mode::Disaggregated, crate::serve::events::Role::Decode) => (
                self.decode_kv_tokens
                    .unwrap_or(self.kv_tokens)
                    .div_ceil(self.block_size.max(1)),
                self.decode_tp,
            ),
            _ => (self.kv_blocks(), self.tp),
        }
    }

    /// Physical GPUs the run occupies (instances × their tensor parallelism): what per-GPU
    /// goodput divides by.
    pub fn physical_gpus(&self) -> usize {
        match self.mode {
            Mode::Disaggregated => {
                let (p, d) = self.split();
                p * self.tp + d * self.decode_tp
            }
            _ => self.gpus * self.tp,
        }
    }

    /// Scheduling policy of each kind of instance.
    pub fn policy(&self, role: crate::serve::events::Role) -> Policy {
        use crate::serve::events::Role;
        let aggregated = Policy::Aggregated {
            max_batched_tokens: self.max_batched_tokens,
            max_seqs: self.max_seqs,
            prefill_only_steps: self.prefill_only_steps,
        };
        let chunked = Policy::Chunked {
            token_budget: self.token_budget,
            max_seqs: self.max_seqs,
            max_partial_prefills: self.max_partial_prefills,
        };
        match (self.mode, role) {
            (Mode::Chunked, _) | (Mode::Disaggregated, Role::Decode) => chunked,
            _ => aggregated,
        }
    }

    /// Rejects impossible settings before anything runs, naming the experiment's field.
    /// With requests, also checks that each fits the KV cache and, where prompts are admitted
    /// whole, one step.
    pub fn validate(&self, reqs: &[RequestSpec]) -> Result<()> {
        let bad = |f: &str, m: String| Err(EngineError::field(f, m));
        if self.gpus == 0 {
            return bad("gpus", "must be ≥ 1".into());
        }
        if self.block_size == 0 {
            return bad("sched.block_size", "must be ≥ 1".into());
        }
        if self.max_seqs == 0 {
            return bad("sched.max_seqs", "must be ≥ 1".into());
        }
        if self.tp == 0 || self.decode_tp == 0 {
            return bad("tp", "must be ≥ 1".into());
        }
        if (self.tp > 1 || self.decode_tp > 1) && self.clock != ClockKind::Modeled {
            return bad(
                "tp",
                "tensor parallelism above 1 runs only on the modeled clock (this engine runs one GPU per instance)".into(),
            );
        }
        if self.max_partial_prefills == 0 {
            return bad("sched.max_partial_prefills", "must be ≥ 1".into());
        }
        if self.mode == Mode::Disaggregated {
            let (p, d) = self.split();
            if p == 0 || d == 0 {
                return bad("pd", format!(
                    "{p}:{d}: disaggregated serving needs at least one prefill and one decode instance (gpus ≥ 2)"
                ));
            }
            if p + d != self.gpus {
                return bad("pd", format!(
                    "{p}:{d} uses {} GPUs but the budget is {} GPUs: compare modes at equal GPU count",
                    p + d,
                    self.gpus
                ));
            }
        }
        if self.token_budget < self.block_size {
            return bad(
                "sched.token_budget",
                format!(
                    "{} is smaller than one KV block ({} tokens)",
                    self.token_budget, self.block_size
                ),
            );
        }
        if self.max_batched_tokens < self.block_size {
            return bad(
                "sched.max_batched_tokens",
                format!(
                    "{} is smaller than one KV block ({} tokens)",
                    self.max_batched_tokens, self.block_size
                ),
            );
        }
        for r in reqs {
            self.check_request(r)?;
        }
        Ok(())
    }
}

impl ServeConfig {
    /// Whether one request can ever run here: its KV fits an instance, and where prompts are
    /// admitted whole, one step holds it.
    pub fn check_request(&self, r: &RequestSpec) -> Result<()> {
        let bad = |f: &str, m: String| Err(EngineError::field(f, m));
        let decode_blocks = self.instance_shape(crate::serve::events::Role::Decode).0;
        let kv_cap = self.kv_blocks().min(decode_blocks) * self.block_size;
        let need = r.prompt.len() + r.output_tokens.saturating_sub(1);
        if need > kv_cap {
            return bad("sched.kv_tokens", format!(
                "KV cache too small: request {} needs {need} tokens of KV but an instance holds {kv_cap}",
                r.id
            ));
        }
        // Whole-prompt admission must fit one step; in aggregated mode so must the
        // recompute of prompt + output after a preemption.
        let whole = match self.mode {
            Mode::Aggregated => need,
            Mode::Disaggregated => r.prompt.len(),
            Mode::Chunked => 0,
        };
        if whole > self.max_batched_tokens {
            return bad("sched.max_batched_tokens", format!(
                "{} is smaller than request {} needs in one step ({whole} tokens): aggregated and prefill instances admit prompts whole",
                self.max_batched_tokens, r.id
            ));
        }
        Ok(())
    }
}

/// Everything one mode's run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub mode: Mode,
    pub gpus: usize,
    pub pd: Option<(usize, usize)>,
    /// GPUs the run occupied (`gpus` × tensor parallelism).
    #[serde(default)]
    pub physical_gpus: usize,
    pub clock: ClockKind,
    pub cancelled: bool,
    pub summary: Summary,
    pub requests: Vec<RequestRecord>,
    pub steps: Vec<StepRecord>,
}

impl RunReport {
    pub fn resummarize(&mut self, slo: &Slo) {
        self.summary = summarize(&self.requests, slo, self.physical_gpus.max(self.gpus));
    }
}

fn one() -> usize {
    1
}
