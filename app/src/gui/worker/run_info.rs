//! What the window keeps of a finished run beyond its reports: what the exports need (model
//! name, cost model, request count) and what the inspector needs to show text (the prompts'
//! token ids and the tokenizer).
use engine::model::tokenizer::Tokenizer;
use engine::serve::cluster::ClockKind;
use engine::serve::cost_model::CostModel;
use engine::serve::experiment::{BenchOutput, Experiment};
use engine::serve::request::RequestSpec;
use std::sync::Arc;

/// Runs up to this many requests keep token ids even on the modeled clock.
pub const SMALL_RUN: usize = 2_000;

/// Whether a run's token ids are kept for the inspector. A modeled run computes no tokens and
/// may have 30 000 requests of hundreds of prompt ids each, so its ids (tens of MB) are kept
/// only when it is small; measured and wall runs are slow enough to be small anyway.
pub fn keeps_ids(e: &Experiment) -> bool {
    e.clock != ClockKind::Modeled || e.workload.num_requests <= SMALL_RUN
}

pub struct RunInfo {
    pub model_name: String,
    pub cost: Option<Arc<CostModel>>,
    /// Requests in the workload (the JSON's `num_requests`).
    pub num_requests: usize,
    pub clock: ClockKind,
    /// Set when a model computed the tokens (measured and wall clocks).
    pub tokenizer: Option<Tokenizer>,
    /// The model's weights were seeded random ones: its text means nothing.
    pub synthetic: bool,
    /// Whether the prompts came from a trace (text) rather than drawn at random.
    pub traced: bool,
    /// The workload, kept only when `keeps_ids`.
    pub prompts: Option<Arc<[RequestSpec]>>,
}

impl RunInfo {
    pub fn new(out: &BenchOutput) -> RunInfo {
        let p = &out.prepared;
        let e = &p.experiment;
        RunInfo {
            model_name: p.model_name.clone(),
            cost: p.cost.clone(),
            num_requests: out.requests.len(),
            clock: e.clock,
            tokenizer: p.model.as_ref().map(|m| m.tokenizer.clone()),
            synthetic: p.model.as_ref().is_none_or(|m| m.synthetic),
            traced: e.workload.trace.is_some(),
            prompts: keeps_ids(e).then(|| out.requests.clone()),
        }
    }

    /// The prompt's token ids of request `id`, when kept.
    pub fn prompt(&self, id: u64) -> Option<std::borrow::Cow<'_, [u32]>> {
        let p = self.prompts.as_ref()?;
        // Requests are numbered in order; search in case a trace numbered them otherwise.
        p.get(id as usize)
            .filter(|r| r.id == id)
            .or_else(|| p.iter().find(|r| r.id == id))
            .map(|r| r.prompt.ids())
    }

    /// The text of `ids`, when a model's tokenizer is at hand and decodes them.
    pub fn decode(&self, ids: &[u32]) -> Option<String> {
        self.tokenizer.as_ref()?.decode(ids).ok()
    }
}
