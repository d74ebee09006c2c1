//! Model weights in the engine's formats: fused QKV and gate/up projections so each layer
//! runs four matmuls over all tokens of a step.
use crate::backend::cpu::quant::{Codes, QMatrix, QK};
use crate::error::Result;
use crate::model::gguf::GgufFile;
use crate::model::spec::ModelSpec;
use rand::{Rng, RngCore, SeedableRng};

pub struct LayerWeights {
    pub attn_norm: Vec<f32>,
    /// Rows: q (d_model), k (kv_dim), v (kv_dim).
    pub wqkv: QMatrix,
    pub wo: QMatrix,
    pub ffn_norm: Vec<f32>,
    /// Rows: gate (d_ffn), up (d_ffn).
    pub w_gate_up: QMatrix,
    pub w_down: QMatrix,
}

pub struct Weights {
    pub spec: ModelSpec,
    pub embed: QMatrix,
    pub layers: Vec<LayerWeights>,
    pub out_norm: Vec<f32>,
    /// None when the output projection is the embedding matrix.
    pub lm_head: Option<QMatrix>,
}

impl Weights {
    pub fn lm_head(&self) -> &QMatrix {
        self.lm_head.as_ref().unwrap_or(&self.embed)
    }

    /// Bytes of weights a decode step reads (all matmuls + LM head).
    pub fn matmul_bytes(&self) -> usize {
        let layers: usize = self
            .layers
            .iter()
            .map(|l| {
                l.wqkv.size_bytes()
                    + l.wo.size_bytes()
                    + l.w_gate_up.size_bytes()
                    + l.w_down.size_bytes()
            })
            .sum();
        layers + self.lm_head().size_bytes()
    }

    pub fn from_gguf(g: &mut GgufFile) -> Result<Self> {
        let spec = g.spec()?;
        let (d, kv, f) = (spec.d_model, spec.kv_dim(), spec.d_ffn);
        let embed = g.matrix("token_embd.weight", spec.vocab_size, d)?;
        let mut layers = Vec::with_capacity(spec.n_layers);
        for i in 0..spec.n_layers {
            let n = |s: &str| format!("blk.{i}.{s}.weight");
            let wq = g.matrix(&n("attn_q"), d, d)?;
            let wk = g.matrix(&n("attn_k"), kv, d)?;
            let wv = g.matrix(&n("attn_v"), kv, d)?;
            let gate = g.matrix(&n("ffn_gate"), f, d)?;
            let up = g.matrix(&n("ffn_up"), f, d)?;
            layers.push(LayerWeights {
                attn_norm: g.vector(&n("attn_norm"), d)?,
                wqkv: QMatrix::concat_rows(&[wq, wk, wv]),
                wo: g.matrix(&n("attn_output"), d, d)?,
                ffn_norm: g.vector(&n("ffn_norm"), d)?,
                w_gate_up: QMatrix::concat_rows(&[gate, up]),
                w_down: g.matrix(&n("ffn_down"), d, f)?,
            });
        }
        let out_norm = g.vector("output_norm.weight", d)?;
        let lm_head = if spec.tied_embeddings {
            None
        } else {
            Some(g.matrix("output.weight", spec.vocab_size, d)?)
        };
        Ok(Weights {
            spec,
            embed,
            layers,
            out_norm,
            lm_head,
        })
    }

    /// Seeded random weights of the exact shape (like vLLM's dummy load format): the same
    /// compute and memory traffic as the real model, nonsense text. Linear layers use 4-bit
    /// codes like Q4_1 and the embedding 8-bit codes like Q8_0, as in the SmolLM2 GGUF.
    pub fn synthetic(spec: &ModelSpec, seed: u64) -> Result<Self> {
        spec.validate()
            .map_err(crate::error::EngineError::Invalid)?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let (d, kv, f) = (spec.d_model, spec.kv_dim(), spec.d_ffn);
        let mut layers = Vec::with_capacity(spec.n_layers);
        for _ in 0..spec.n_layers {
            layers.push(LayerWeights {
                attn_norm: vec![1.0; d],
                wqkv: random_matrix(&mut rng, d + 2 * kv, d, Codes::U4),
                wo: random_matrix(&mut rng, d, d, Codes::U4),
                ffn_norm: vec![1.0; d],
                w_gate_up: random_matrix(&mut rng, 2 * f, d, Codes::U4),
                w_down: random_matrix(&mut rng, d, f, Codes::U4),
            });
        }
        let embed = random_matrix(&mut rng, spec.vocab_size, d, Codes::U8);
        let lm_head =
            (!spec.tied_embeddings).then(|| random_matrix(&mut rng, spec.vocab_size, d, Codes::U4));
        Ok(Weights {
            spec: spec.clone(),
            embed,
            layers,
            out_norm: vec![1.0; d],
            lm_head,
        })
    }
}

/// Uniform codes centred on zero with a per-block scale near 1/sqrt(cols), so activations stay
/// in a realistic range through many layers.
fn random_matrix(rng: &mut impl RngCore, rows: usize, cols: usize, codes: Codes) -> QMatrix {
    let nb = rows * cols / QK;
    let mut qs = vec![0u8; nb * codes.bytes_per_block()];
    rng.fill_bytes(&mut qs);
    let (levels, centre) = match codes {
        Codes::U4 => (16.0f32, 7.5f32),
        Codes::U8 => (256.0, 127.5),
    };
    // std of a uniform code is levels/sqrt(12)
    let base = 1.0 / ((cols as f32).sqrt() * levels / 12f32.sqrt());
    let d: Vec<f32> = (0..nb).map(|_| base * rng.random_range(0.8..1.2)).collect();
    let m = d.iter().map(|d| -centre * d).collect();
    QMatrix {
        rows,
        cols,
        codes,
        qs,
        d,
        m,
    }
}
