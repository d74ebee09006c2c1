//! gpu-check's kernel section: the attention kernels in use (flash-decoding, tensor-core
//! prefill) against the tiled CUDA-core kernel they replace, on the same weights and steps
//! (agreement of logits), and the per-kernel time of chosen steps under each.
use crate::backend::cuda::gpu::Gpu;
use crate::backend::cuda::llama::CudaLlama;
use crate::backend::cuda::profile::{gap_share, KernelTime};
use crate::backend::cuda::session::CudaSession;
use crate::backend::cuda::weights::DeviceWeights;
use crate::backend::step::StepPart;
use crate::error::Result;
use crate::measure::gpu_check::rel_err;
use crate::measure::steps::{time_steps, StepShape, Timing};
use crate::model::spec::ModelSpec;
use serde::Serialize;
use std::sync::Arc;

/// Which attention kernels a llama uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kernels {
    /// Flash-decoding for decode rows, tensor cores for prefill rows (where compiled).
    Current,
    /// The tiled CUDA-core kernel for every row (the first CUDA backend).
    Tiled,
}

impl Kernels {
    pub fn apply(self, llama: &mut CudaLlama) {
        llama.set_fast_attention(self == Kernels::Current);
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    pub model: String,
    pub head_dim: usize,
    /// Logits rows compared (prefills, decodes at short and long context, a mixed step).
    pub rows: usize,
    /// Worst ‖current − tiled‖ / ‖tiled‖ over those rows.
    pub worst_rel_err: f64,
}

/// Runs the same three steps (two prefills; a mixed step with decodes and a long prefill;
/// decodes at up to ~1.3 k context beside a prefill chunk) with both kernel sets.
pub fn agreement(gpu: &Arc<Gpu>, name: &str, spec: &ModelSpec) -> Result<Agreement> {
    let mut llama = CudaLlama::new(gpu.clone(), DeviceWeights::synthetic(gpu, spec, 1)?)?;
    let vocab = spec.vocab_size;
    let toks = |n: usize, k: usize| -> Vec<u32> {
        (0..n)
            .map(|i| ((i * 7919 + k * 104_729) % vocab) as u32)
            .collect()
    };
    // The long prefill reaches past 1 k keys where the context allows (tiny's is 1024).
    let long = 1300.min(spec.max_context - 8);
    let (a, b, c, c2) = (toks(700, 1), toks(33, 2), toks(long, 3), toks(70, 4));
    let (d0, d1, d3) = (toks(1, 5), toks(1, 6), toks(1, 7));
    let part = |seq, tokens| StepPart {
        seq,
        tokens,
        want_logits: true,
    };
    let run = |llama: &CudaLlama| -> Result<Vec<Vec<f32>>> {
        let mut s = CudaSession::with_capacity(llama, 4096)?;
        let mut out = s.step(&[part(0, &a), part(1, &b)])?;
        out.extend(s.step(&[part(0, &d0), part(1, &d1), part(3, &c)])?);
        out.extend(s.step(&[part(0, &d0), part(3, &d3), part(1, &d1), part(2, &c2)])?);
        Ok(out)
    };
    Kernels::Current.apply(&mut llama);
    let new = run(&llama)?;
    Kernels::Tiled.apply(&mut llama);
    let old = run(&llama)?;
    let worst = if new.len() == old.len() {
        new.iter()
            .zip(&old)
            .map(|(n, o)| rel_err(n, o))
            .fold(0.0, f64::max)
    } else {
        f64::INFINITY
    };
    Ok(Agreement {
        model: name.into(),
        head_dim: spec.head_dim(),
        rows: new.len(),
        worst_rel_err: worst,
    })
}

/// One step's kernels under one kernel set.
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    pub kernels: Kernels,
    pub shape: StepShape,
    /// Median event-timed step without profiling.
    pub step_ms: f64,
    pub times: Vec<KernelTime>,
    /// Share of the step no kernel covers (launch gaps, host work).
    pub gap_share: f64,
}

/// Median forward time of each shape in a fresh session, and the kernel breakdown of the
/// shapes in `profile`.
pub fn time_shapes(
    llama: &CudaLlama,
    kernels: Kernels,
    shapes: &[StepShape],
    profile: &[StepShape],
    steps: usize,
) -> Result<(Vec<f64>, Vec<Breakdown>)> {
    let spec = &llama.weights.spec;
    let tokens = shapes
        .iter()
        .map(|s| s.kv_tokens(steps, 16))
        .max()
        .unwrap_or(16);
    let mut s = CudaSession::with_capacity(llama, tokens)?;
    let timing = Timing::forward_growing_context();
    let mut ms = Vec::new();
    let mut breakdown = Vec::new();
    for &shape in shapes {
        let t = time_steps(&mut s, spec.vocab_size, shape, steps, 7, timing)?;
        ms.push(t);
        if profile.contains(&shape) {
            s.set_profiling(true);
            time_steps(&mut s, spec.vocab_size, shape, 1, 8, timing)?;
            s.set_profiling(false);
            let times = s.kernel_times().to_vec();
            breakdown.push(Breakdown {
                kernels,
                shape,
                step_ms: t,
                gap_share: gap_share(&times, t),
                times,
            });
        }
    }
    Ok((ms, breakdown))
}
