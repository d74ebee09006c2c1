//! A request as the schedulers see it (vLLM v1 shape): tokens so far (prompt + generated) and
//! how many of them are already in the KV cache. There is no "prefill phase": a step computes
//! `tokens.len() - computed` tokens or a chunk of them, and the last one yields the next token.
pub use super::prompt::Prompt;
use serde::{Deserialize, Serialize};

pub type ReqId = u64;

/// What a workload asks for: when a request arrives, its prompt and how many tokens to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestSpec {
    pub id: ReqId,
    pub arrival_s: f64,
    pub prompt: Prompt,
    pub output_tokens: usize,
}

/// Timestamps (seconds from the start of the run) that make up the latency breakdown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stamps {
    /// Start of the first step that computed any of the prompt.
    pub prefill_start_s: Option<f64>,
    /// KV transfer between instances (disaggregated only).
    pub transfer_start_s: Option<f64>,
    pub transfer_end_s: Option<f64>,
    /// Start of the first step that decoded (computed a generated token).
    pub decode_start_s: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub id: ReqId,
    pub arrival_s: f64,
    pub prompt_len: usize,
    /// Prompt followed by the generated tokens.
    pub tokens: Vec<u32>,
    /// Tokens whose keys and values are in the KV cache of the instance holding the request.
    pub computed: usize,
    pub output_tokens: usize,
    pub token_times_s: Vec<f64>,
    pub stamps: Stamps,
    pub preemptions: u32,
    /// Set when generation stopped at an end-of-sequence token before `output_tokens`.
    pub stopped_early: bool,
    /// Whether an end-of-sequence token ends this request; `None`: the run's setting.
    pub stop_at_eos: Option<bool>,
    /// Taken back before it finished (`RunControl::abort`).
    pub aborted: bool,
    pub prefill_instance: Option<usize>,
    pub decode_instance: Option<usize>,
}

impl Request {
    pub fn new(spec: &RequestSpec) -> Self {
        Request {
            id: spec.id,
            arrival_s: spec.arrival_s,
            prompt_len: spec.prompt.len(),
            tokens: spec.prompt.to_vec(),
            computed: 0,
            output_tokens: spec.output_tokens,
            // Grown as tokens come: reserving every output up front held all of them at once.
            token_times_s: Vec::new(),
            stamps: Stamps::default(),
            preemptions: 0,
            stopped_early: false,
            stop_at_eos: None,
            aborted: false,
            prefill_instance: None,
            decode_instance: None,
        }
    }

    pub fn generated(&self) -> usize {
        self.tokens.len() - self.prompt_len
    }

    /// Tokens the next steps must compute before the next token can be sampled.
    pub fn remaining(&self) -> usize {
        self.tokens.len() - self.computed
    }

    /// Past its first token: what remains is one token per step.
    pub fn is_decoding(&self) -> bool {
        self.generated() > 0 && self.remaining() == 1
    }

    pub fn is_finished(&self) -> bool {
        self.stopped_early || self.generated() >= self.output_tokens
    }

    /// Tokens this request will ever hold in a KV cache (the last token is never computed).
    pub fn max_kv_tokens(&self) -> usize {
        self.prompt_len + self.output_tokens.saturating_sub(1)
    }

    /// Recompute preemption: the KV cache is dropped and prompt + generated tokens will be
    /// prefilled again (vLLM's default for v1).
    pub fn preempt(&mut self) {
        self.computed = 0;
        self.preemptions += 1;
    }
}
