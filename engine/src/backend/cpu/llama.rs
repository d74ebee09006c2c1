//! The llama forward over one packed step: the new tokens of many sequences (prefill chunks and
//! single decode tokens alike) are flattened into one batch, every linear layer runs once over
//! all of them — which is exactly why a long prefill slows the decodes sharing its step — and
//! attention stays within each sequence over its paged KV cache.
use super::weights::Weights;
use crate::backend::cpu::attention::{attention, AttnSeq, AttnShape};
use crate::backend::cpu::kv_store::KvStore;
use crate::backend::cpu::matmul::matmul;
use crate::backend::cpu::ops;
use crate::backend::cpu::qdot::Isa;
use crate::backend::cpu::quant::QActs;
use crate::backend::step::{check_step, SeqStep};
use crate::error::{EngineError, Result};

pub struct Llama {
    pub weights: Weights,
    isa: Isa,
    pool: rayon::ThreadPool,
}

impl Llama {
    pub fn new(weights: Weights, threads: usize) -> Result<Self> {
        if threads == 0 {
            return Err(EngineError::field("threads", "must be at least 1"));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("engine-{i}"))
            .build()
            .map_err(|e| EngineError::Invalid(format!("thread pool: {e}")))?;
        Ok(Llama {
            weights,
            isa: Isa::detect(),
            pool,
        })
    }

    /// Forces a kernel family (tests compare them).
    pub fn with_isa(mut self, isa: Isa) -> Self {
        self.isa = isa;
        self
    }

    pub fn isa(&self) -> Isa {
        self.isa
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Runs a closure on the engine's thread pool (benchmarks of single kernels).
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    fn check(&self, seqs: &[SeqStep], kv: &KvStore) -> Result<()> {
        check_step(&self.weights.spec, seqs, kv.block_size)
    }

    /// Processes one packed step, writing the new tokens' K/V into `kv`. Returns the logits
    /// of the last new token of every sequence with `want_logits`, in order.
    pub fn forward(&self, seqs: &[SeqStep], kv: &mut KvStore) -> Result<Vec<Vec<f32>>> {
        self.check(seqs, kv)?;
        Ok(self.pool.install(|| self.forward_inner(seqs, kv)))
    }

    fn forward_inner(&self, seqs: &[SeqStep], kv: &mut KvStore) -> Vec<Vec<f32>> {
        let w = &self.weights;
        let spec = &w.spec;
        let (d, hd, f) = (spec.d_model, spec.head_dim(), spec.d_ffn);
        let kv_dim = spec.kv_dim();
        let qkv_dim = d + 2 * kv_dim;
        let n: usize = seqs.iter().map(|s| s.tokens.len()).sum();

        // 1. Token embeddings, positions and rotary tables for the flattened step.
        let mut x = vec![0f32; n * d];
        let mut positions = Vec::with_capacity(n);
        let mut attn_seqs = Vec::with_capacity(seqs.len());
        for s in seqs {
            attn_seqs.push(AttnSeq {
                table: s.table,
                start_pos: s.start_pos,
                n_new: s.tokens.len(),
                row0: positions.len(),
            });
            for (i, &t) in s.tokens.iter().enumerate() {
                let row = positions.len();
                w.embed
                    .dequantize_row(t as usize, &mut x[row * d..(row + 1) * d]);
                positions.push(s.start_pos + i);
            }
        }
        let (cos, sin) = ops::rope_tables(&positions, hd, spec.rope_theta);
        let half = hd / 2;
        let shape = AttnShape {
            n_heads: spec.n_heads,
            n_kv_heads: spec.n_kv_heads,
            head_dim: hd,
        };

        let mut h = vec![0f32; n * d];
        let mut qa = QActs::default();
        let mut qkv = vec![0f32; n * qkv_dim];
        let mut att = vec![0f32; n * d];
        let mut tmp = vec![0f32; n * d];
        let mut gu = vec![0f32; n * 2 * f];
        let mut act = vec![0f32; n * f];

        for (li, lw) in w.layers.iter().enumerate() {
            // 2. Attention block: norm, fused QKV, rotary, KV write, paged attention, output.
            ops::rms_norm(&x, &lw.attn_norm, spec.rms_eps, &mut h);
            qa.quantize(&h, n, d);
            matmul(self.isa, &lw.wqkv, &qa, &mut qkv);
            for (row, r) in qkv.chunks_exact_mut(qkv_dim).enumerate() {
                let (c, s) = (
                    &cos[row * half..(row + 1) * half],
                    &sin[row * half..(row + 1) * half],
                );
                ops::rope_row(&mut r[..d + kv_dim], hd, c, s);
            }
            for a in &attn_seqs {
                for i in 0..a.n_new {
                    let r = &qkv[(a.row0 + i) * qkv_dim..(a.row0 + i + 1) * qkv_dim];
                    kv.write(
                        li,
                        a.table,
                        a.start_pos + i,
                        &r[d..d + kv_dim],
                        &r[d + kv_dim..],
                    );
                }
            }
            attention(kv, li, shape, &attn_seqs, &qkv, qkv_dim, &mut att);
            qa.quantize(&att, n, d);
            matmul(self.isa, &lw.wo, &qa, &mut tmp);
            ops::add_in_place(&mut x, &tmp);

            // 3. Feed-forward block: norm, fused gate/up, SiLU·up, down.
            ops::rms_norm(&x, &lw.ffn_norm, spec.rms_eps, &mut h);
            qa.quantize(&h, n, d);
            matmul(self.isa, &lw.w_gate_up, &qa, &mut gu);
            ops::silu_mul(&gu, f, &mut act);
            qa.quantize(&act, n, f);
            matmul(self.isa, &lw.w_down, &qa, &mut tmp);
            ops::add_in_place(&mut x, &tmp);
        }

        // 4. Final norm and LM head, only for the rows whose logits were asked for.
        let rows: Vec<usize> = attn_seqs
            .iter()
            .zip(seqs)
            .filter(|(_, s)| s.want_logits)
            .map(|(a, _)| a.row0 + a.n_new - 1)
            .collect();
        if rows.is_empty() {
            return Vec::new();
        }
        let k = rows.len();
        let mut last = vec![0f32; k * d];
        for (i, &r) in rows.iter().enumerate() {
            last[i * d..(i + 1) * d].copy_from_slice(&x[r * d..(r + 1) * d]);
        }
        let mut normed = vec![0f32; k * d];
        ops::rms_norm(&last, &w.out_norm, spec.rms_eps, &mut normed);
        qa.quantize(&normed, k, d);
        let vocab = spec.vocab_size;
        let mut logits = vec![0f32; k * vocab];
        matmul(self.isa, w.lm_head(), &qa, &mut logits);
        logits.chunks_exact(vocab).map(|c| c.to_vec()).collect()
    }
}
