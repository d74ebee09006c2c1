//! The GPU acceptance check behind `goodput-lab gpu-check`: the GPU against the CPU engine on
//! the same weights (logits, a mixed prefill+decode step, greedy text), then step times of a
//! large synthetic model with roofline figures and the interference table.
use crate::backend::cpu::session::Session;
use crate::backend::cuda::gpu::Gpu;
use crate::backend::cuda::llama::CudaLlama;
use crate::backend::cuda::session::{CudaSession, MemoryReport};
use crate::backend::cuda::weights::DeviceWeights;
use crate::backend::step::StepPart;
use crate::error::Result;
use crate::generate::{generate, generate_in, GenerateRequest};
use crate::loader::LoadedModel;
use crate::measure::gpu_kernels::{time_shapes, Breakdown, Kernels};
use crate::measure::steps::StepShape;
use crate::model::spec::ModelSpec;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, Serialize)]
pub struct Accuracy {
    pub model: String,
    pub synthetic: bool,
    /// ‖gpu − f32‖ / ‖f32‖ of the prompt's last logits against the f32 reference forward.
    pub gpu_vs_f32: f64,
    /// The CPU engine (int8 activations) against the same reference, for scale.
    pub cpu_vs_f32: f64,
    /// ‖gpu − cpu‖ / ‖cpu‖ of the prompt's last logits.
    pub logits_rel_err: f64,
    /// The same, worst row of a step mixing a decode and a prefill.
    pub mixed_rel_err: f64,
    /// Greedy tokens equal on the GPU and the CPU engine, counted from the start.
    pub greedy_same: usize,
    /// The same against greedy decoding of the f32 reference.
    pub greedy_same_f32: usize,
    pub greedy_len: usize,
}

pub fn rel_err(gpu: &[f32], cpu: &[f32]) -> f64 {
    let (mut num, mut den) = (0f64, 0f64);
    for (&g, &c) in gpu.iter().zip(cpu) {
        num += (g as f64 - c as f64).powi(2);
        den += (c as f64).powi(2);
    }
    (num / den.max(f64::MIN_POSITIVE)).sqrt()
}

/// Worst relative error over rows (a row count mismatch counts as total failure).
fn worst(gpu: &[Vec<f32>], cpu: &[Vec<f32>]) -> f64 {
    if gpu.len() != cpu.len() {
        return f64::INFINITY;
    }
    gpu.iter()
        .zip(cpu)
        .map(|(g, c)| rel_err(g, c))
        .fold(0.0, f64::max)
}

/// Runs the same prompt, mixed step and greedy generation on the CPU model and on its weights
/// uploaded to `gpu`.
pub fn accuracy(
    gpu: &Arc<Gpu>,
    m: &LoadedModel,
    prompt: &[u32],
    greedy_len: usize,
) -> Result<Accuracy> {
    let cpu = m.model.cpu()?;
    let llama = CudaLlama::new(gpu.clone(), DeviceWeights::upload(gpu, &cpu.weights)?)?;
    let cap = 4 * (prompt.len() + greedy_len) + 64;
    let (mut c, mut g) = (
        Session::with_capacity(cpu, cap)?,
        CudaSession::with_capacity(&llama, cap)?,
    );
    let alone = |seq, toks| {
        [StepPart {
            seq,
            tokens: toks,
            want_logits: true,
        }]
    };
    let cpu0 = c.step(&alone(0, prompt))?;
    let gpu0 = g.step(&alone(0, prompt))?;
    // Sequence 0 decodes while sequence 1 prefills a shifted prompt, in one packed step.
    let next = [prompt[0]];
    let other: Vec<u32> = prompt.iter().rev().copied().collect();
    let mixed = [
        StepPart {
            seq: 0,
            tokens: &next,
            want_logits: true,
        },
        StepPart {
            seq: 1,
            tokens: &other,
            want_logits: true,
        },
    ];
    let (cpu1, gpu1) = (c.step(&mixed)?, g.step(&mixed)?);
    let req = GenerateRequest {
        prompt_ids: prompt.to_vec(),
        max_tokens: greedy_len,
        sampling: Default::default(),
        stop_ids: Vec::new(),
    };
    let max_ctx = cpu.weights.spec.max_context;
    let cpu_text = generate(cpu, &req, |_| {})?.output_ids;
    let mut gs = CudaSession::with_capacity(&llama, prompt.len() + greedy_len)?;
    let gpu_text = generate_in(&mut gs, max_ctx, &req, |_| {})?.output_ids;
    let f32_ref = crate::backend::cuda::reference::f32_prompt_logits(&cpu.weights, prompt)?;
    let f32_text = crate::backend::cuda::reference::f32_greedy(&cpu.weights, prompt, greedy_len)?;
    let same = |a: &[u32], b: &[u32]| a.iter().zip(b).take_while(|(x, y)| x == y).count();
    Ok(Accuracy {
        model: m.name.clone(),
        synthetic: m.synthetic,
        gpu_vs_f32: worst(&gpu0, std::slice::from_ref(&f32_ref)),
        cpu_vs_f32: worst(&cpu0, std::slice::from_ref(&f32_ref)),
        logits_rel_err: worst(&gpu0, &cpu0),
        mixed_rel_err: worst(&gpu1, &cpu1),
        greedy_same: same(&cpu_text, &gpu_text),
        greedy_same_f32: same(&f32_text, &gpu_text),
        greedy_len,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct PerfRow {
    pub decode: usize,
    pub context: usize,
    pub prefill: usize,
    pub step_ms: f64,
    /// Weight + KV bytes read ÷ step time.
    pub gb_per_s: f64,
    /// Matmul + attention FLOPs ÷ step time.
    pub tflop_per_s: f64,
}

/// FLOPs of one step: every linear layer over every new token, the LM head over the rows
/// with logits, and attention (QKᵀ and PV: 4·d per query-key pair per layer).
pub fn step_flops(spec: &ModelSpec, s: StepShape) -> f64 {
    let head = spec.d_model * spec.vocab_size;
    let tokens = (s.decode + s.prefill) as f64;
    let logits = (s.decode + usize::from(s.prefill > 0)) as f64;
    let attn = 4.0 * (spec.d_model * spec.n_layers) as f64 * s.work().attn_pairs as f64;
    2.0 * (spec.matmul_params() - head) as f64 * tokens + 2.0 * head as f64 * logits + attn
}

/// Bytes one step must read at least: the bf16 weights of every matmul and the KV of every
/// token in the step's sequences, once (not once per query: a prefill's queries share it).
pub fn step_bytes(spec: &ModelSpec, weight_bytes: usize, s: StepShape) -> f64 {
    let kv = 2 * spec.kv_values_per_token() * s.work().kv_tokens_read;
    (weight_bytes + kv) as f64
}

#[derive(Debug, Clone, Serialize)]
pub struct PerfReport {
    pub model: String,
    pub memory: MemoryReport,
    pub rows: Vec<PerfRow>,
    /// The same shapes with the tiled CUDA-core attention kernel (empty unless asked for).
    pub baseline: Vec<PerfRow>,
    /// Per-kernel times of the profiled shapes, current kernels then (if asked) tiled.
    pub breakdown: Vec<Breakdown>,
}

/// Times every shape on synthetic bf16 weights of `spec` made on the device, with the current
/// kernels and, when `baseline`, with the tiled ones; profiles the shapes in `profile`.
pub fn perf(
    gpu: &Arc<Gpu>,
    name: &str,
    spec: &ModelSpec,
    shapes: &[StepShape],
    profile: &[StepShape],
    steps: usize,
    baseline: bool,
) -> Result<PerfReport> {
    let mut llama = CudaLlama::new(gpu.clone(), DeviceWeights::synthetic(gpu, spec, 0)?)?;
    let memory = CudaSession::with_capacity(&llama, 16)?.memory_report()?;
    let wbytes = llama.weights.matmul_bytes();
    let rows_of = |ms: Vec<f64>| -> Vec<PerfRow> {
        shapes
            .iter()
            .zip(ms)
            .map(|(&shape, ms)| PerfRow {
                decode: shape.decode,
                context: shape.context,
                prefill: shape.prefill,
                step_ms: ms,
                gb_per_s: step_bytes(spec, wbytes, shape) / (ms * 1e6),
                tflop_per_s: step_flops(spec, shape) / (ms * 1e9),
            })
            .collect()
    };
    let (ms, mut breakdown) = time_shapes(&llama, Kernels::Current, shapes, profile, steps)?;
    let rows = rows_of(ms);
    let mut base = Vec::new();
    if baseline {
        Kernels::Tiled.apply(&mut llama);
        let (ms, b) = time_shapes(&llama, Kernels::Tiled, shapes, profile, steps)?;
        base = rows_of(ms);
        breakdown.extend(b);
    }
    Ok(PerfReport {
        model: name.into(),
        memory,
        rows,
        baseline: base,
        breakdown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_and_roofline_arithmetic() {
        assert_eq!(rel_err(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
        assert!((rel_err(&[1.1, 0.0], &[1.0, 0.0]) - 0.1).abs() < 1e-6);
        assert_eq!(worst(&[vec![1.0]], &[]), f64::INFINITY);
        let spec = crate::model::cards::card("llama-2-13b").unwrap().spec;
        let wbytes = crate::backend::cuda::weights::bf16_bytes(&spec);
        let dec = StepShape {
            decode: 1,
            context: 0,
            prefill: 0,
        };
        // one decode token: ~2 × 13 B FLOPs, ~26 GB read
        assert!((step_flops(&spec, dec) / 26e9 - 1.0).abs() < 0.03);
        assert!((step_bytes(&spec, wbytes, dec) / 26e9 - 1.0).abs() < 0.03);
        let pre = StepShape {
            decode: 0,
            context: 0,
            prefill: 2048,
        };
        assert!(step_flops(&spec, pre) > 2048.0 * 2.0 * 12.5e9);
        // A 2048-token prefill reads its 2048 tokens of K and V once: 2 × 2 B × 40 layers ×
        // 5120 × 2048 = 1.68 GB beside the weights (the old count used query × key pairs as
        // bytes and printed 5445 GB/s on an H100).
        let kv = 2.0 * 2.0 * 40.0 * 5120.0 * 2048.0;
        assert_eq!(step_bytes(&spec, wbytes, pre), wbytes as f64 + kv);
    }
}
