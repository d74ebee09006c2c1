//! The modeled clock: a step's duration predicted from its shape without computing it. A
//! roofline (the slower of compute and memory traffic, on a hardware profile) gives the shape of
//! the cost; a linear correction `a + b · roofline`, fitted by least squares on measured steps,
//! absorbs what the roofline misses (kernel efficiency, fixed per-step overheads).
use crate::error::{EngineError, Result};
use crate::model::spec::ModelSpec;
use serde::{Deserialize, Serialize};

/// What a step asks of the hardware (the cost model's input; `measure::steps::StepShape::work`
/// gives it for a timed shape).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StepWork {
    pub prefill_tokens: usize,
    pub decode_tokens: usize,
    /// Σ over new tokens of the context each attends to (query × key pairs).
    pub attn_pairs: usize,
    /// Σ over sequences of the KV tokens read (each sequence's context, read once per step).
    pub kv_tokens_read: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hardware {
    pub name: String,
    /// Dense matmul peak the engine can reach, TFLOP/s.
    pub peak_tflops: f64,
    pub mem_gb_per_s: f64,
    /// Bytes per weight as the engine stores them (Q4_1 ≈ 0.625, bf16 = 2).
    pub weight_bytes_per_param: f64,
    pub kv_bytes_per_value: f64,
}

impl Hardware {
    /// Profiles: `cpu` is this kind of 2-core Zen 4 VM with the Q4_1 kernels (peak and bandwidth
    /// are what bench-model reaches, not datasheet figures); `a100` / `h100` are datasheet bf16
    /// dense peaks and HBM bandwidths.
    pub fn preset(name: &str) -> Result<Hardware> {
        let (peak, bw, wb, kvb) = match name {
            "cpu" => (0.16, 12.0, 0.625, 4.0),
            "a100" => (312.0, 2039.0, 2.0, 2.0),
            "h100" => (989.0, 3350.0, 2.0, 2.0),
            _ => {
                return Err(EngineError::field(
                    "hardware",
                    format!("{name:?}: expected cpu, a100 or h100"),
                ))
            }
        };
        Ok(Hardware {
            name: name.into(),
            peak_tflops: peak,
            mem_gb_per_s: bw,
            weight_bytes_per_param: wb,
            kv_bytes_per_value: kvb,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostModel {
    pub spec: ModelSpec,
    pub hardware: Hardware,
    /// Fixed seconds per step.
    pub a_s: f64,
    /// Multiplier on the roofline time.
    pub b: f64,
}

impl CostModel {
    /// Uncorrected roofline plus a 1 ms launch/bookkeeping floor.
    pub fn roofline_only(spec: ModelSpec, hardware: Hardware) -> Self {
        CostModel {
            spec,
            hardware,
            a_s: 1e-3,
            b: 1.0,
        }
    }

    pub fn roofline_s(&self, s: &StepWork) -> f64 {
        let spec = &self.spec;
        let tokens = (s.prefill_tokens + s.decode_tokens) as f64;
        let params = spec.matmul_params() as f64;
        // QK and PV: 2 flops per multiply-add, d_model wide, per layer.
        let attn_flops = 4.0 * (spec.n_layers * spec.d_model) as f64 * s.attn_pairs as f64;
        let flops = 2.0 * params * tokens + attn_flops;
        let kv_bytes = (2 * spec.n_layers * spec.kv_dim()) as f64
            * s.kv_tokens_read as f64
            * self.hardware.kv_bytes_per_value;
        let bytes = params * self.hardware.weight_bytes_per_param + kv_bytes;
        let compute = flops / (self.hardware.peak_tflops * 1e12);
        let memory = bytes / (self.hardware.mem_gb_per_s * 1e9);
        compute.max(memory)
    }

    pub fn predict_s(&self, s: &StepWork) -> f64 {
        if s.prefill_tokens + s.decode_tokens == 0 {
            return 0.0;
        }
        (self.a_s + self.b * self.roofline_s(s)).max(1e-6)
    }

    /// Least-squares fit of `a`, `b` on measured (shape, seconds) pairs; needs two distinct
    /// roofline values.
    pub fn fit(&mut self, samples: &[(StepWork, f64)]) -> Result<()> {
        let xs: Vec<(f64, f64)> = samples
            .iter()
            .map(|(s, t)| (self.roofline_s(s), *t))
            .collect();
        let n = xs.len() as f64;
        let mx = xs.iter().map(|p| p.0).sum::<f64>() / n;
        let my = xs.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = xs.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = xs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        if xs.len() < 2 || sxx <= 0.0 {
            return Err(EngineError::Invalid(
                "cost-model fit needs steps of at least two different sizes".into(),
            ));
        }
        self.b = (sxy / sxx).max(1e-3);
        self.a_s = (my - self.b * mx).max(0.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_recovers_a_known_correction() {
        let spec = crate::model::cards::card("smollm2-135m")
            .expect("card")
            .spec;
        let mut cm = CostModel::roofline_only(spec, Hardware::preset("cpu").expect("cpu"));
        let shapes: Vec<StepWork> = [(0, 1), (0, 32), (128, 8), (512, 1), (256, 32)]
            .iter()
            .map(|&(p, d)| StepWork {
                prefill_tokens: p,
                decode_tokens: d,
                attn_pairs: p * p / 2 + d * 128,
                kv_tokens_read: p + d * 128,
            })
            .collect();
        let samples: Vec<_> = shapes
            .iter()
            .map(|s| (*s, 0.004 + 1.7 * cm.roofline_s(s)))
            .collect();
        cm.fit(&samples).expect("fit");
        assert!(
            (cm.a_s - 0.004).abs() < 1e-9 && (cm.b - 1.7).abs() < 1e-9,
            "{cm:?}"
        );
        // More prefill never predicts a shorter step.
        let mut s = shapes[1];
        let t0 = cm.predict_s(&s);
        s.prefill_tokens += 256;
        assert!(cm.predict_s(&s) > t0);
        assert!(cm.fit(&samples[..1]).is_err());
    }
}
