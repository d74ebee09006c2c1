//! The llama forward over one packed step on the GPU: the same shape as the CPU
//! `Llama::forward` (every linear layer once over all new tokens of all sequences; attention
//! within each sequence over its paged KV), with bf16 weights, cuBLAS GEMMs and an f32
//! residual stream. Logits stay on the device until asked for.
use super::gpu::{ctx_err, Gpu};
use super::kv::DeviceKv;
use super::plan::{
    attention_grid, elementwise_shape, row_threads, StepPlan, ATT_MAX_HEAD_DIM, ATT_THREADS,
};
use super::weights::DeviceWeights;
use crate::backend::step::{check_step, SeqStep};
use crate::error::{EngineError, Result};
use cudarc::driver::{CudaSlice, PushKernelArg};
use std::sync::Arc;

pub struct CudaLlama {
    pub gpu: Arc<Gpu>,
    pub weights: DeviceWeights,
}

/// Activation buffers of a step, grown to the largest step seen.
#[derive(Default)]
pub struct Scratch {
    tokens_cap: usize,
    logits_cap: usize,
    meta_cap: usize,
    pub x: Option<CudaSlice<f32>>,
    h: Option<CudaSlice<u16>>,
    qkv: Option<CudaSlice<f32>>,
    att: Option<CudaSlice<u16>>,
    gu: Option<CudaSlice<f32>>,
    meta: Option<CudaSlice<i32>>,
    last: Option<CudaSlice<f32>>,
    pub logits: Option<CudaSlice<f32>>,
}

/// Elements of each activation buffer for `n` tokens: (x, h, qkv, att, gu).
pub fn scratch_sizes(spec: &crate::model::spec::ModelSpec, n: usize) -> [usize; 5] {
    let (d, f) = (spec.d_model, spec.d_ffn);
    [
        n * d,
        n * d.max(f),
        n * (d + 2 * spec.kv_dim()),
        n * d,
        n * 2 * f,
    ]
}

impl Scratch {
    fn ensure(&mut self, gpu: &Gpu, w: &DeviceWeights, plan: &StepPlan) -> Result<()> {
        let spec = &w.spec;
        if plan.n_tokens > self.tokens_cap {
            let n = plan.n_tokens.next_power_of_two();
            let [x, h, qkv, att, gu] = scratch_sizes(spec, n);
            // Free the old buffers first so growing never needs both at once.
            (self.x, self.h, self.qkv, self.att, self.gu) = (None, None, None, None, None);
            self.x = Some(gpu.zeros(x)?);
            self.h = Some(gpu.zeros(h)?);
            self.qkv = Some(gpu.zeros(qkv)?);
            self.att = Some(gpu.zeros(att)?);
            self.gu = Some(gpu.zeros(gu)?);
            self.tokens_cap = n;
        }
        let k = plan.n_logits().max(1);
        if k > self.logits_cap {
            let k = k.next_power_of_two();
            (self.last, self.logits) = (None, None);
            self.last = Some(gpu.zeros(k * spec.d_model)?);
            self.logits = Some(gpu.zeros(k * spec.vocab_size)?);
            self.logits_cap = k;
        }
        if plan.data.len() > self.meta_cap {
            let m = plan.data.len().next_power_of_two();
            self.meta = Some(gpu.zeros(m)?);
            self.meta_cap = m;
        }
        Ok(())
    }
}

impl CudaLlama {
    pub fn new(gpu: Arc<Gpu>, weights: DeviceWeights) -> Result<Self> {
        let hd = weights.spec.head_dim();
        if hd > ATT_MAX_HEAD_DIM || !hd.is_multiple_of(4) {
            return Err(EngineError::Invalid(format!(
                "head size {hd}: the CUDA attention kernel needs a multiple of 4 up to \
                 {ATT_MAX_HEAD_DIM}"
            )));
        }
        Ok(CudaLlama { gpu, weights })
    }

    /// The CPU forward's checks, plus block ids inside the device pool (a bad id would be an
    /// out-of-bounds write on the GPU).
    pub fn check(&self, seqs: &[SeqStep], kv: &DeviceKv) -> Result<()> {
        check_step(&self.weights.spec, seqs, kv.block_size)?;
        if seqs
            .iter()
            .flat_map(|s| s.table)
            .any(|&b| b as usize >= kv.n_blocks)
        {
            return Err(EngineError::Internal(
                "a KV block id outside the device pool".into(),
            ));
        }
        Ok(())
    }

    /// Runs one packed step (queued on the device stream; not synchronized). Leaves the
    /// logits of the `plan.n_logits()` wanted rows in `s.logits`.
    pub fn forward(&self, plan: &StepPlan, kv: &mut DeviceKv, s: &mut Scratch) -> Result<()> {
        let (gpu, w) = (&*self.gpu, &self.weights);
        let spec = &w.spec;
        s.ensure(gpu, w, plan)?;
        let n = plan.n_tokens;
        let (d, f, hd) = (spec.d_model, spec.d_ffn, spec.head_dim());
        let (nh, nkv, kv_dim) = (spec.n_heads, spec.n_kv_heads, spec.kv_dim());
        let qkv_dim = d + 2 * kv_dim;
        let err = |what: &'static str| ctx_err!(what);
        let (
            Some(x),
            Some(h),
            Some(qkv),
            Some(att),
            Some(gu),
            Some(meta),
            Some(last),
            Some(logits),
        ) = (
            s.x.as_mut(),
            s.h.as_mut(),
            s.qkv.as_mut(),
            s.att.as_mut(),
            s.gu.as_mut(),
            s.meta.as_mut(),
            s.last.as_mut(),
            s.logits.as_mut(),
        )
        else {
            return Err(EngineError::Cuda("scratch buffers missing".into()));
        };
        gpu.stream
            .memcpy_htod(&plan.data, &mut meta.slice_mut(..plan.data.len()))
            .map_err(err("uploading the step plan"))?;
        let v = |sp: super::plan::Span| meta.slice(sp.off..sp.off + sp.len.max(1));
        let (tokens, positions, slots) = (v(plan.tokens), v(plan.positions), v(plan.slots));
        let (tile_seq, tile_q0, tables) = (v(plan.tile_seq), v(plan.tile_q0), v(plan.tables));
        let (row0, start, n_new, toff) = (
            v(plan.seq_row0),
            v(plan.seq_start),
            v(plan.seq_n_new),
            v(plan.seq_table_off),
        );
        let rows = |g: usize| (g as u32, 1, 1);
        let (d_i, f_i, hd_i, qkv_i) = (d as i32, f as i32, hd as i32, qkv_dim as i32);
        let (nh_i, nkv_i, bs_i, n_i) = (nh as i32, nkv as i32, kv.block_size as i32, n as i32);
        let n_rot = (nh + nkv) as i32;
        let (eps, theta, scale) = (spec.rms_eps, spec.rope_theta, 1.0 / (hd as f32).sqrt());
        macro_rules! launch {
            ($name:expr, $grid:expr, $block:expr, $($a:expr),+) => {{
                let mut b = gpu.stream.launch_builder(gpu.func($name));
                $(b.arg($a);)+
                // Safety: the argument list matches the kernel's signature in the .cu sources
                // and every buffer holds the elements the launch shape touches.
                unsafe { b.launch(Gpu::cfg($grid, $block)) }.map_err(err($name))?;
            }};
        }

        // 1. Token embeddings into the f32 residual stream.
        launch!(
            "embed_gather",
            rows(n),
            row_threads(d),
            &w.embed,
            &tokens,
            &mut *x,
            &d_i
        );
        for (li, lw) in w.layers.iter().enumerate() {
            // 2. Attention: norm, fused QKV, rotary, KV write, paged attention, x += att·Woᵀ.
            launch!(
                "rms_norm_bf16",
                rows(n),
                row_threads(d),
                &*x,
                &lw.attn_norm,
                &mut *h,
                &d_i,
                &eps
            );
            gpu.linear(h, &lw.wqkv, qkv, n, d, qkv_dim, 0.0)?;
            let rot_threads = row_threads((nh + nkv) * hd / 2);
            launch!(
                "rope",
                rows(n),
                rot_threads,
                &mut *qkv,
                &positions,
                &qkv_i,
                &n_rot,
                &hd_i,
                &theta
            );
            let (kc, vc) = (&mut kv.k[li], &mut kv.v[li]);
            launch!(
                "kv_write",
                rows(n),
                row_threads(kv_dim),
                &*qkv,
                &mut *kc,
                &mut *vc,
                &slots,
                &qkv_i,
                &d_i,
                &nkv_i,
                &hd_i,
                &bs_i
            );
            launch!(
                "paged_attention",
                attention_grid(plan, nh),
                ATT_THREADS,
                &*qkv,
                &qkv_i,
                &mut *att,
                &*kc,
                &*vc,
                &tables,
                &tile_seq,
                &tile_q0,
                &row0,
                &start,
                &n_new,
                &toff,
                &nh_i,
                &nkv_i,
                &hd_i,
                &bs_i,
                &scale
            );
            gpu.linear(att, &lw.wo, x, n, d, d, 1.0)?;
            // 3. Feed-forward: norm, fused gate/up, SiLU·up, x += act·W_downᵀ.
            launch!(
                "rms_norm_bf16",
                rows(n),
                row_threads(d),
                &*x,
                &lw.ffn_norm,
                &mut *h,
                &d_i,
                &eps
            );
            gpu.linear(h, &lw.w_gate_up, gu, n, d, 2 * f, 0.0)?;
            let (g, b) = elementwise_shape(n * f);
            launch!("silu_mul_bf16", (g, 1, 1), b, &*gu, &mut *h, &f_i, &n_i);
            gpu.linear(h, &lw.w_down, x, n, f, d, 1.0)?;
        }
        // 4. Final norm and LM head for the rows whose logits were asked for.
        let k = plan.n_logits();
        if k > 0 {
            let want = v(plan.logit_rows);
            launch!(
                "gather_rows",
                rows(k),
                row_threads(d),
                &*x,
                &want,
                &mut *last,
                &d_i
            );
            launch!(
                "rms_norm_bf16",
                rows(k),
                row_threads(d),
                &*last,
                &w.out_norm,
                &mut *h,
                &d_i,
                &eps
            );
            gpu.linear(h, w.lm_head(), logits, k, d, spec.vocab_size, 0.0)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_for_13b_prefill_fits_easily() {
        let spec = crate::model::cards::card("llama-2-13b").unwrap().spec;
        let bytes: usize = scratch_sizes(&spec, 2048)
            .iter()
            .zip([4, 2, 4, 2, 4])
            .map(|(n, b)| n * b)
            .sum();
        // ~0.5 GB of activations for a 2048-token step
        assert!(bytes < 700 << 20, "{bytes}");
        assert_eq!(scratch_sizes(&spec, 1)[2], 3 * 5120);
    }
}
