//! The llama forward over one packed step on the GPU: the same shape as the CPU
//! `Llama::forward` (every linear layer once over all new tokens of all sequences; attention
//! within each sequence over its paged KV), with bf16 weights, cuBLAS GEMMs and an f32
//! residual stream. Logits stay on the device until asked for.
use super::gpu::{ctx_err, Gpu};
use super::kv::DeviceKv;
use super::plan::{
    attention_grid, elementwise_shape, flash_kernel, row_threads, StepPlan, ATT_MAX_HEAD_DIM,
    ATT_QUERY_TILE, ATT_THREADS, FLASH_QUERY_TILE,
};
use super::profile::{KernelTime, Recorder};
use super::split::{self, decode_split, DECODE_THREADS};

/// Threads per tensor-core prefill block (`FP_WARPS * 32` in flash_prefill.cu).
const FLASH_THREADS: u32 = 128;
use super::weights::DeviceWeights;
use crate::backend::step::{check_step, SeqStep};
use crate::error::{EngineError, Result};
use cudarc::driver::{CudaSlice, PushKernelArg};
use std::sync::Arc;

pub struct CudaLlama {
    pub gpu: Arc<Gpu>,
    pub weights: DeviceWeights,
    /// Decode rows go to the flash-decoding kernel (else to the tiled one, like prefill rows);
    /// see `set_fast_attention`.
    pub split_decode: bool,
    /// Prefill rows go to the tensor-core kernel where one is compiled for the head size
    /// (else to the tiled CUDA-core one). gpu-check turns it off to time the old path.
    pub flash_prefill: bool,
}

/// Activation buffers of a step, grown to the largest step seen.
#[derive(Default)]
pub struct Scratch {
    tokens_cap: usize,
    logits_cap: usize,
    meta_cap: usize,
    part_cap: usize,
    /// Record per-kernel times of each step into `kernel_times` (slows the step a little).
    pub profile: bool,
    pub kernel_times: Vec<KernelTime>,
    pub x: Option<CudaSlice<f32>>,
    h: Option<CudaSlice<u16>>,
    qkv: Option<CudaSlice<f32>>,
    att: Option<CudaSlice<u16>>,
    gu: Option<CudaSlice<f32>>,
    meta: Option<CudaSlice<i32>>,
    /// Split-decode partials: Σ exp(s − m)·v per (row, head, split, dim), and (m, l) pairs.
    part_acc: Option<CudaSlice<f32>>,
    part_ml: Option<CudaSlice<f32>>,
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
    fn ensure(
        &mut self,
        gpu: &Gpu,
        w: &DeviceWeights,
        plan: &StepPlan,
        parts: usize,
    ) -> Result<()> {
        let spec = &w.spec;
        if parts > self.part_cap || self.part_acc.is_none() {
            // At least one element: a step without decode rows still binds the buffers.
            let p = parts.max(1).next_power_of_two();
            (self.part_acc, self.part_ml) = (None, None);
            self.part_acc = Some(gpu.zeros(p * spec.head_dim())?);
            self.part_ml = Some(gpu.zeros(2 * p)?);
            self.part_cap = p;
        }
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
        if !weights.spec.d_ffn.is_multiple_of(2) {
            return Err(EngineError::Invalid(format!(
                "feed-forward size {}: the CUDA kernels need an even one",
                weights.spec.d_ffn
            )));
        }
        if hd > ATT_MAX_HEAD_DIM || !hd.is_multiple_of(4) {
            return Err(EngineError::Invalid(format!(
                "head size {hd}: the CUDA attention kernel needs a multiple of 4 up to \
                 {ATT_MAX_HEAD_DIM}"
            )));
        }
        let mut llama = CudaLlama {
            gpu,
            weights,
            split_decode: false,
            flash_prefill: false,
        };
        llama.set_fast_attention(true);
        Ok(llama)
    }

    /// `on`: flash-decoding for decode rows and tensor cores for prefill rows, where the head
    /// size has those kernels; off: the tiled CUDA-core kernel for every row (gpu-check's
    /// baseline).
    pub fn set_fast_attention(&mut self, on: bool) {
        let hd = self.weights.spec.head_dim();
        self.split_decode = on && split::supports(hd);
        self.flash_prefill = on && flash_kernel(hd).is_some();
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

    /// The step's launch plan, tiled for the prefill kernel in use.
    pub fn plan(&self, seqs: &[SeqStep], block_size: usize) -> StepPlan {
        let tile = if self.prefill_kernel().1 {
            FLASH_QUERY_TILE
        } else {
            ATT_QUERY_TILE
        };
        StepPlan::new(seqs, block_size, tile, self.split_decode)
    }

    /// The prefill attention kernel's name, and whether it is the tensor-core one.
    fn prefill_kernel(&self) -> (&'static str, bool) {
        match flash_kernel(self.weights.spec.head_dim()) {
            Some(k) if self.flash_prefill => (k, true),
            _ => ("paged_attention", false),
        }
    }

    /// Runs one packed step (queued on the device stream; not synchronized). Leaves the
    /// logits of the `plan.n_logits()` wanted rows in `s.logits`.
    pub fn forward(&self, plan: &StepPlan, kv: &mut DeviceKv, s: &mut Scratch) -> Result<()> {
        let (gpu, w) = (&*self.gpu, &self.weights);
        let spec = &w.spec;
        let (prefill_kernel, flash) = self.prefill_kernel();
        let att_threads = if flash { FLASH_THREADS } else { ATT_THREADS };
        let dec = decode_split(plan.n_decode(), spec.n_heads, plan.dec_max_ctx, gpu.sms);
        s.ensure(gpu, w, plan, plan.n_decode() * spec.n_heads * dec.n_splits)?;
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
            Some(part_acc),
            Some(part_ml),
        ) = (
            s.x.as_mut(),
            s.h.as_mut(),
            s.qkv.as_mut(),
            s.att.as_mut(),
            s.gu.as_mut(),
            s.meta.as_mut(),
            s.last.as_mut(),
            s.logits.as_mut(),
            s.part_acc.as_mut(),
            s.part_ml.as_mut(),
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
        let dec_seq = v(plan.dec_seq);
        let (split_len, n_splits) = (dec.split_len as i32, dec.n_splits as i32);
        let dec_grid = (plan.n_decode() as u32, nh as u32, dec.n_splits as u32);
        let (row0, start, n_new, toff) = (
            v(plan.seq_row0),
            v(plan.seq_start),
            v(plan.seq_n_new),
            v(plan.seq_table_off),
        );
        let rows = |g: usize| (g as u32, 1, 1);
        let (d_i, f_i, hd_i, qkv_i) = (d as i32, f as i32, hd as i32, qkv_dim as i32);
        let (nh_i, nkv_i, bs_i, n_i) = (nh as i32, nkv as i32, kv.block_size as i32, n as i32);
        let (eps, theta, scale) = (spec.rms_eps, spec.rope_theta, 1.0 / (hd as f32).sqrt());
        let mut prof = s.profile.then(Recorder::default);
        // Runs `$e` (one launch), between profiling events when this step is profiled.
        macro_rules! timed {
            ($name:expr, $e:expr) => {{
                let t0 = prof.as_ref().map(|_| Recorder::begin(gpu)).transpose()?;
                $e;
                if let (Some(p), Some(t0)) = (prof.as_mut(), t0) {
                    p.end(gpu, $name, t0)?;
                }
            }};
        }
        macro_rules! launch {
            ($name:expr, $grid:expr, $block:expr, $($a:expr),+) => {{
                let mut b = gpu.stream.launch_builder(gpu.func($name));
                $(b.arg($a);)+
                // Safety: the argument list matches the kernel's signature in the .cu sources
                // and every buffer holds the elements the launch shape touches.
                timed!($name, unsafe { b.launch(Gpu::cfg($grid, $block)) }.map_err(err($name))?);
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
            timed!(
                "gemm qkv",
                gpu.linear(h, &lw.wqkv, qkv, n, d, qkv_dim, 0.0)?
            );
            let (kc, vc) = (&mut kv.k[li], &mut kv.v[li]);
            let pairs = (nh + 2 * nkv) * hd / 2;
            launch!(
                "rope_kv_write",
                (n as u32, pairs.div_ceil(256) as u32, 1),
                256,
                &mut *qkv,
                &positions,
                &slots,
                &mut *kc,
                &mut *vc,
                &qkv_i,
                &nh_i,
                &nkv_i,
                &hd_i,
                &bs_i,
                &theta
            );
            if plan.n_tiles() > 0 {
                launch!(
                    prefill_kernel,
                    attention_grid(plan, nh),
                    att_threads,
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
            }
            if plan.n_decode() > 0 {
                launch!(
                    "paged_decode_attention",
                    dec_grid,
                    DECODE_THREADS as u32,
                    &*qkv,
                    &qkv_i,
                    &mut *att,
                    &mut *part_acc,
                    &mut *part_ml,
                    &*kc,
                    &*vc,
                    &tables,
                    &dec_seq,
                    &row0,
                    &start,
                    &toff,
                    &nh_i,
                    &nkv_i,
                    &hd_i,
                    &bs_i,
                    &scale,
                    &split_len
                );
                if dec.n_splits > 1 {
                    launch!(
                        "merge_decode_splits",
                        (plan.n_decode() as u32, nh as u32, 1),
                        row_threads(hd),
                        &*part_acc,
                        &*part_ml,
                        &mut *att,
                        &dec_seq,
                        &row0,
                        &nh_i,
                        &hd_i,
                        &n_splits
                    );
                }
            }
            timed!("gemm o", gpu.linear(att, &lw.wo, x, n, d, d, 1.0)?);
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
            timed!(
                "gemm gate_up",
                gpu.linear(h, &lw.w_gate_up, gu, n, d, 2 * f, 0.0)?
            );
            let (g, b) = elementwise_shape(n * f / 2);
            launch!("silu_mul_bf16", (g, 1, 1), b, &*gu, &mut *h, &f_i, &n_i);
            timed!("gemm down", gpu.linear(h, &lw.w_down, x, n, f, d, 1.0)?);
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
            timed!(
                "gemm lm_head",
                gpu.linear(h, w.lm_head(), logits, k, d, spec.vocab_size, 0.0)?
            );
        }
        if let Some(p) = prof {
            s.kernel_times = p.finish()?;
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
