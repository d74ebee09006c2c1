//! Causal attention over the paged KV cache for a packed step: each sequence's new tokens
//! attend to that sequence's cached tokens and to themselves, never to other sequences.
use super::ops::{axpy, dot, SendPtr};
use crate::backend::cpu::kv_store::KvStore;
use rayon::prelude::*;

/// One sequence's slice of the packed step.
#[derive(Debug, Clone, Copy)]
pub struct AttnSeq<'a> {
    pub table: &'a [u32],
    /// Tokens of this sequence already in the cache before this step.
    pub start_pos: usize,
    pub n_new: usize,
    /// Row of this sequence's first new token in the step.
    pub row0: usize,
}

/// Queries per parallel task: long prefill chunks are split so both threads get work.
const QUERY_TILE: usize = 16;

/// Shape of the attention problem.
#[derive(Debug, Clone, Copy)]
pub struct AttnShape {
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
}

/// `q`: rows of `q_stride` floats whose first `n_heads*head_dim` are the (roped) queries;
/// `out`: rows of `n_heads*head_dim`. The K/V of the new tokens must already be in `kv`.
pub fn attention(
    kv: &KvStore,
    layer: usize,
    shape: AttnShape,
    seqs: &[AttnSeq],
    q: &[f32],
    q_stride: usize,
    out: &mut [f32],
) {
    let hd = shape.head_dim;
    let dim = shape.n_heads * hd;
    let mut tasks = Vec::new();
    for (s, seq) in seqs.iter().enumerate() {
        for h in 0..shape.n_heads {
            for i0 in (0..seq.n_new).step_by(QUERY_TILE) {
                tasks.push((s, h, i0, (i0 + QUERY_TILE).min(seq.n_new)));
            }
        }
    }
    let out_ptr = SendPtr(out.as_mut_ptr());
    let scale = 1.0 / (hd as f32).sqrt();
    let group = shape.n_heads / shape.n_kv_heads;
    tasks.par_iter().for_each(|&(s, h, i0, i1)| {
        let seq = &seqs[s];
        let kvh = h / group;
        let bs = kv.block_size;
        let mut scores = Vec::with_capacity(seq.start_pos + i1);
        for i in i0..i1 {
            let row = seq.row0 + i;
            let qv = &q[row * q_stride + h * hd..row * q_stride + (h + 1) * hd];
            let n_ctx = seq.start_pos + i + 1;
            scores.clear();
            for (bi, &blk) in seq.table.iter().enumerate().take(n_ctx.div_ceil(bs)) {
                let kb = kv.k_block(layer, blk, kvh);
                let n = bs.min(n_ctx - bi * bs);
                scores.extend((0..n).map(|j| dot(qv, &kb[j * hd..(j + 1) * hd]) * scale));
            }
            let max = scores.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let mut sum = 0.0;
            for p in scores.iter_mut() {
                *p = (*p - max).exp();
                sum += *p;
            }
            // Safety: task (s, h, i) is the only writer of this row's head slice.
            let o = unsafe {
                std::slice::from_raw_parts_mut(out_ptr.get().add(row * dim + h * hd), hd)
            };
            o.fill(0.0);
            let inv = 1.0 / sum;
            for (bi, &blk) in seq.table.iter().enumerate().take(n_ctx.div_ceil(bs)) {
                let vb = kv.v_block(layer, blk, kvh);
                let n = bs.min(n_ctx - bi * bs);
                for j in 0..n {
                    axpy(scores[bi * bs + j] * inv, &vb[j * hd..(j + 1) * hd], o);
                }
            }
        }
    });
}
