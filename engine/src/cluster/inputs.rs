//! What a run needs: the config, the workload, the model (or the cost model), the SLOs, and
//! where to publish events.
use crate::cost_model::CostModel;
use crate::events::{Event, RunControl};
use crate::metrics::Slo;
use crate::model::llama::Llama;
use crate::request::RequestSpec;
use crossbeam_channel::Sender;

use super::ServeConfig;

/// The model whose steps really run: the CPU engine or a GPU.
#[derive(Clone, Copy)]
pub enum ModelRef<'m> {
    Cpu(&'m Llama),
    Cuda(&'m crate::backend::cuda::llama::CudaLlama),
}

impl ModelRef<'_> {
    pub fn spec(&self) -> &crate::model::spec::ModelSpec {
        match self {
            ModelRef::Cpu(m) => &m.weights.spec,
            ModelRef::Cuda(m) => &m.weights.spec,
        }
    }
}

pub struct RunInputs<'a, 'm> {
    pub config: &'a ServeConfig,
    pub requests: &'a [RequestSpec],
    /// The model whose steps run (measured and wall clocks).
    pub model: Option<ModelRef<'m>>,
    /// Predicts step times (modeled clock).
    pub cost: Option<&'a CostModel>,
    pub slo: Slo,
    pub stop_ids: &'a [u32],
    pub events: Option<Sender<Event>>,
    pub control: RunControl,
}
