//! A chosen plan as the serving systems that run real clusters need it: which instances, each
//! on how many GPUs, with which scheduler limits. `export` turns it into launch settings.
use crate::serve::cluster::Mode;
use crate::serve::events::Role;
use serde::{Deserialize, Serialize};

/// Instances of one kind that share a shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceGroup {
    /// `Mixed` for aggregated and chunked replicas, `Prefill` or `Decode` when disaggregated.
    pub role: Role,
    /// How many instances of this kind.
    pub count: usize,
    /// Tensor-parallel degree of each instance (GPUs per instance).
    pub tp: usize,
}

/// A deployment: the model, the mode and the instance groups, plus the scheduler limits the
/// plan was simulated with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Model card name (`llama-3-70b`).
    pub model: String,
    /// Hugging Face repository the serving systems load (`meta-llama/Meta-Llama-3-70B-Instruct`).
    pub hf_repo: String,
    pub mode: Mode,
    /// One group for aggregated and chunked; a prefill and a decode group when disaggregated.
    pub groups: Vec<InstanceGroup>,
    /// Tokens one step may hold (vLLM `--max-num-batched-tokens`, SGLang
    /// `--chunked-prefill-size` when chunked).
    pub max_batched_tokens: usize,
    /// Whether prompts are split into chunks of `max_batched_tokens` (chunked prefill).
    pub chunked_prefill: bool,
    /// Most sequences an instance runs at once (vLLM `--max-num-seqs`).
    pub max_seqs: usize,
    /// Longest context served (vLLM `--max-model-len`).
    pub max_model_len: usize,
    /// GPUs per node of the hardware (instances never span nodes in these plans).
    pub gpus_per_node: usize,
}

impl Deployment {
    /// GPUs the deployment occupies.
    pub fn gpus(&self) -> usize {
        self.groups.iter().map(|g| g.count * g.tp).sum()
    }
}
