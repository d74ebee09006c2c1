//! An f32 forward of one prompt over the dequantized weights: the CPU engine's own ops
//! without its int8 activations. It is the yardstick for the GPU's bf16 error (the CPU
//! engine's int8 activations alone put its logits 1.3 % (tiny) to 7.7 % (SmolLM2) from f32).
use crate::backend::cpu::attention::{attention, AttnSeq, AttnShape};
use crate::backend::cpu::kv_store::KvStore;
use crate::backend::cpu::ops;
use crate::backend::cpu::weights::Weights;
use crate::error::Result;

/// `y[n, rows] = x[n, cols] · wᵀ` for a dense row-major `w`.
fn matmul(x: &[f32], w: &[f32], cols: usize) -> Vec<f32> {
    let mut y = Vec::with_capacity(x.len() / cols * (w.len() / cols));
    for xr in x.chunks_exact(cols) {
        y.extend(w.chunks_exact(cols).map(|wr| ops::dot(xr, wr)));
    }
    y
}

/// Logits after the last token of `prompt`, prefilled alone, in f32 throughout.
pub fn f32_prompt_logits(w: &Weights, prompt: &[u32]) -> Result<Vec<f32>> {
    let spec = &w.spec;
    let (n, d, hd, f) = (prompt.len(), spec.d_model, spec.head_dim(), spec.d_ffn);
    let (kv_dim, bs) = (spec.kv_dim(), 16);
    let qkv_dim = d + 2 * kv_dim;
    let blocks = n.div_ceil(bs).max(1);
    let mut kv = KvStore::new(spec.n_layers, blocks, bs, spec.n_kv_heads, hd)?;
    let table: Vec<u32> = (0..blocks as u32).collect();
    let seq = [AttnSeq {
        table: &table,
        start_pos: 0,
        n_new: n,
        row0: 0,
    }];
    let shape = AttnShape {
        n_heads: spec.n_heads,
        n_kv_heads: spec.n_kv_heads,
        head_dim: hd,
    };
    let positions: Vec<usize> = (0..n).collect();
    let (cos, sin) = ops::rope_tables(&positions, hd, spec.rope_theta);
    let mut x = vec![0f32; n * d];
    for (row, &t) in x.chunks_exact_mut(d).zip(prompt) {
        w.embed.dequantize_row(t as usize, row);
    }
    let (mut h, mut att, mut act) = (vec![0f32; n * d], vec![0f32; n * d], vec![0f32; n * f]);
    for (li, lw) in w.layers.iter().enumerate() {
        ops::rms_norm(&x, &lw.attn_norm, spec.rms_eps, &mut h);
        let mut qkv = matmul(&h, &lw.wqkv.dequantize(), d);
        for (row, r) in qkv.chunks_exact_mut(qkv_dim).enumerate() {
            let half = hd / 2;
            let (c, s) = (&cos[row * half..][..half], &sin[row * half..][..half]);
            ops::rope_row(&mut r[..d + kv_dim], hd, c, s);
            kv.write(li, &table, row, &r[d..d + kv_dim], &r[d + kv_dim..]);
        }
        attention(&kv, li, shape, &seq, &qkv, qkv_dim, &mut att);
        ops::add_in_place(&mut x, &matmul(&att, &lw.wo.dequantize(), d));
        ops::rms_norm(&x, &lw.ffn_norm, spec.rms_eps, &mut h);
        let gu = matmul(&h, &lw.w_gate_up.dequantize(), d);
        ops::silu_mul(&gu, f, &mut act);
        ops::add_in_place(&mut x, &matmul(&act, &lw.w_down.dequantize(), f));
    }
    let mut last = vec![0f32; d];
    ops::rms_norm(&x[(n - 1) * d..], &w.out_norm, spec.rms_eps, &mut last);
    Ok(matmul(&last, &w.lm_head().dequantize(), d))
}

/// Greedy continuation of `prompt` by the f32 forward (recomputed from scratch per token:
/// slow, but only a yardstick for short checks).
pub fn f32_greedy(w: &Weights, prompt: &[u32], n: usize) -> Result<Vec<u32>> {
    let mut ids = prompt.to_vec();
    for _ in 0..n {
        let next = ops::argmax(&f32_prompt_logits(w, &ids)?) as u32;
        ids.push(next);
    }
    Ok(ids.split_off(prompt.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::llama::Llama;
    use crate::model::cards;

    /// The yardstick agrees with the CPU engine up to the engine's int8 activations.
    #[test]
    fn matches_the_cpu_engine_closely() {
        let spec = cards::card("tiny").unwrap().spec;
        let w = Weights::synthetic(&spec, 3).unwrap();
        let prompt = [
            1u32, 7, 42, 99, 5, 300, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
        ];
        let reference = f32_prompt_logits(&w, &prompt).unwrap();
        let llama = Llama::new(w, 1).unwrap();
        let engine = crate::backend::cpu::session::prompt_logits(&llama, &prompt).unwrap();
        let err = crate::measure::gpu_check::rel_err(&engine, &reference);
        assert!(err < 0.03, "{err}"); // measured 0.013

        assert_eq!(ops::argmax(&engine), ops::argmax(&reference));
        let text = f32_greedy(&llama.weights, &prompt, 3).unwrap();
        assert_eq!(text[0] as usize, ops::argmax(&reference));
        assert_eq!(text.len(), 3);
    }
}
