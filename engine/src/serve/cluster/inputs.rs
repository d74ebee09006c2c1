//! What a run needs, owned or shared (`Arc`) so that a worker thread can hold it: the config,
//! the workload, the model (or the cost model), the SLOs and the stop tokens.
use crate::loader::LoadedModel;
use crate::serve::cost_model::CostModel;
use crate::serve::metrics::Slo;
use crate::serve::request::RequestSpec;
use std::sync::Arc;

use super::ServeConfig;

#[derive(Clone)]
pub struct RunInputs {
    pub config: ServeConfig,
    pub requests: Arc<[RequestSpec]>,
    /// The model whose steps run (measured and wall clocks).
    pub model: Option<Arc<LoadedModel>>,
    /// Predicts step times (modeled clock).
    pub cost: Option<Arc<CostModel>>,
    pub slo: Slo,
    pub stop_ids: Arc<[u32]>,
    /// Keep only what summaries need, so memory does not grow with the run's length: no step
    /// records, each request's record with its first and last token times only (no ITL
    /// list), and a request's token times dropped when it finishes. For planning and very
    /// large modeled runs.
    pub lean: bool,
}
