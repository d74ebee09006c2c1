//! Model weights on the GPU in bf16: a real model's weights dequantized on the host and
//! uploaded, or seeded random weights of any card's shape made on the device (no download,
//! no 26 GB upload for a 13B shape).
use super::gpu::{ctx_err, Gpu};
use super::plan::elementwise_shape;
use crate::backend::cpu::quant::QMatrix;
use crate::backend::cpu::weights::Weights;
use crate::error::Result;
use crate::model::spec::ModelSpec;
use cudarc::driver::{CudaSlice, PushKernelArg};

pub struct DeviceLayer {
    pub attn_norm: CudaSlice<f32>,
    /// `[d + 2 kv_dim, d]`: q, k, v rows as on the CPU.
    pub wqkv: CudaSlice<u16>,
    pub wo: CudaSlice<u16>,
    pub ffn_norm: CudaSlice<f32>,
    /// `[2 d_ffn, d]`: gate rows then up rows.
    pub w_gate_up: CudaSlice<u16>,
    pub w_down: CudaSlice<u16>,
}

pub struct DeviceWeights {
    pub spec: ModelSpec,
    pub embed: CudaSlice<u16>,
    pub layers: Vec<DeviceLayer>,
    pub out_norm: CudaSlice<f32>,
    /// None when tied to the embedding.
    pub lm_head: Option<CudaSlice<u16>>,
}

/// bf16 bits of every weight, row-major.
pub fn to_bf16(m: &QMatrix) -> Vec<u16> {
    m.dequantize()
        .into_iter()
        .map(|v| half::bf16::from_f32(v).to_bits())
        .collect()
}

/// Bytes of bf16 weights a card's shape needs on the device (norms included).
pub fn bf16_bytes(spec: &ModelSpec) -> usize {
    let (d, kv, f, v) = (spec.d_model, spec.kv_dim(), spec.d_ffn, spec.vocab_size);
    let layer = (d + 2 * kv) * d + d * d + 2 * f * d + d * f;
    let head = if spec.tied_embeddings { 0 } else { v * d };
    2 * (spec.n_layers * layer + v * d + head) + 4 * (2 * spec.n_layers + 1) * d
}

impl DeviceWeights {
    pub fn lm_head(&self) -> &CudaSlice<u16> {
        self.lm_head.as_ref().unwrap_or(&self.embed)
    }

    /// Bytes a decode step reads: every linear layer and the LM head.
    pub fn matmul_bytes(&self) -> usize {
        let layers: usize = self
            .layers
            .iter()
            .map(|l| 2 * (l.wqkv.len() + l.wo.len() + l.w_gate_up.len() + l.w_down.len()))
            .sum();
        layers + 2 * self.lm_head().len()
    }

    /// Bytes resident on the device.
    pub fn total_bytes(&self) -> usize {
        bf16_bytes(&self.spec)
    }

    /// The CPU model's weights, dequantized to bf16 (same values up to bf16 rounding).
    pub fn upload(gpu: &Gpu, w: &Weights) -> Result<Self> {
        let layers = w
            .layers
            .iter()
            .map(|l| {
                Ok(DeviceLayer {
                    attn_norm: gpu.upload(&l.attn_norm)?,
                    wqkv: gpu.upload(&to_bf16(&l.wqkv))?,
                    wo: gpu.upload(&to_bf16(&l.wo))?,
                    ffn_norm: gpu.upload(&l.ffn_norm)?,
                    w_gate_up: gpu.upload(&to_bf16(&l.w_gate_up))?,
                    w_down: gpu.upload(&to_bf16(&l.w_down))?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(DeviceWeights {
            spec: w.spec.clone(),
            embed: gpu.upload(&to_bf16(&w.embed))?,
            layers,
            out_norm: gpu.upload(&w.out_norm)?,
            lm_head: w
                .lm_head
                .as_ref()
                .map(|m| gpu.upload(&to_bf16(m)))
                .transpose()?,
        })
    }

    /// Seeded uniform weights with std 1/sqrt(fan_in) (as the CPU's synthetic weights), made
    /// by a kernel; norms are 1.
    pub fn synthetic(gpu: &Gpu, spec: &ModelSpec, seed: u64) -> Result<Self> {
        spec.validate()
            .map_err(crate::error::EngineError::Invalid)?;
        let (d, kv, f, v) = (spec.d_model, spec.kv_dim(), spec.d_ffn, spec.vocab_size);
        let mut next = 0u64;
        let mut matrix = |rows: usize, cols: usize| -> Result<CudaSlice<u16>> {
            next += 1;
            let mut m = gpu.zeros::<u16>(rows * cols)?;
            let (n, s) = (
                (rows * cols) as u64,
                seed ^ next.wrapping_mul(0xd1b5_4a32_d192_ed03),
            );
            // uniform on [-a, a) has std a/sqrt(3)
            let scale = (3.0f32 / cols as f32).sqrt();
            let (grid, block) = elementwise_shape(rows * cols);
            let mut b = gpu.stream.launch_builder(gpu.func("fill_uniform_bf16"));
            b.arg(&mut m).arg(&n).arg(&s).arg(&scale);
            // Safety: argument types match the kernel's signature.
            unsafe { b.launch(Gpu::cfg((grid, 1, 1), block)) }.map_err(ctx_err!("fill"))?;
            Ok(m)
        };
        let mut layers = Vec::with_capacity(spec.n_layers);
        for _ in 0..spec.n_layers {
            let (wqkv, wo) = (matrix(d + 2 * kv, d)?, matrix(d, d)?);
            let (w_gate_up, w_down) = (matrix(2 * f, d)?, matrix(d, f)?);
            layers.push(DeviceLayer {
                attn_norm: gpu.upload(&vec![1.0f32; d])?,
                wqkv,
                wo,
                ffn_norm: gpu.upload(&vec![1.0f32; d])?,
                w_gate_up,
                w_down,
            });
        }
        let embed = matrix(v, d)?;
        let lm_head = if spec.tied_embeddings {
            None
        } else {
            Some(matrix(v, d)?)
        };
        gpu.sync()?;
        Ok(DeviceWeights {
            spec: spec.clone(),
            embed,
            layers,
            out_norm: gpu.upload(&vec![1.0f32; d])?,
            lm_head,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_sizes() {
        let spec = crate::model::cards::card("llama-2-13b").unwrap().spec;
        // 13.0 B parameters in bf16 ≈ 26 GB
        let gb = bf16_bytes(&spec) as f64 / 1e9;
        assert!((25.5..26.5).contains(&gb), "{gb}");
        let w = Weights::synthetic(&crate::model::cards::card("tiny").unwrap().spec, 1).unwrap();
        let b = to_bf16(&w.layers[0].wo);
        assert_eq!(b.len(), w.spec.d_model * w.spec.d_model);
        let f = w.layers[0].wo.dequantize();
        for (x, y) in f.iter().zip(&b) {
            let back = half::bf16::from_bits(*y).to_f32();
            assert!((x - back).abs() <= x.abs() / 128.0, "{x} vs {back}");
        }
    }
}
