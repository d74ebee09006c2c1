//! The modeled clock: a step's duration predicted from its shape without computing it. A
//! roofline (the slower of compute and memory traffic, on a hardware profile) gives the shape of
//! the cost; a correction `a + max(b_c · compute, b_m · memory)`, fitted by least squares on
//! measured steps, absorbs what the roofline misses: a fixed per-step overhead and separate
//! efficiencies for compute-bound and memory-bound steps (on a GPU, decode reaches a far larger
//! share of its bandwidth than prefill does of its peak, so one multiplier cannot fit both).
//!
//! Tensor parallelism over `tp` GPUs splits the FLOPs and the weight bytes `tp` ways, the KV
//! bytes by KV heads (replicated when there are fewer heads than GPUs), and adds two ring
//! all-reduces of the step's activations per layer over the intra-node link, not overlapped
//! with compute (Megatron-LM's layout; Vidur and DistServe model TP the same way).
pub use super::hardware::Hardware;
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
pub struct CostModel {
    pub spec: ModelSpec,
    pub hardware: Hardware,
    /// Fixed seconds per step.
    pub a_s: f64,
    /// Multiplier on the compute time (1 / the share of peak reached).
    pub b_compute: f64,
    /// Multiplier on the memory time (1 / the share of bandwidth reached).
    pub b_memory: f64,
}

impl CostModel {
    /// Uncorrected roofline plus a 1 ms launch/bookkeeping floor.
    pub fn roofline_only(spec: ModelSpec, hardware: Hardware) -> Self {
        CostModel {
            spec,
            hardware,
            a_s: 1e-3,
            b_compute: 1.0,
            b_memory: 1.0,
        }
    }

    /// The profile's fitted correction when it has one (`calibrate`), else `roofline_only`.
    pub fn new(spec: ModelSpec, hardware: Hardware) -> Self {
        let mut cm = Self::roofline_only(spec, hardware);
        if let Some(c) = &cm.hardware.correction {
            (cm.a_s, cm.b_compute, cm.b_memory) = (c.a_s, c.b_compute, c.b_memory);
        }
        cm
    }

    /// (compute, memory, all-reduce) seconds of a step on one `tp`-way instance, uncorrected.
    pub fn terms_tp_s(&self, s: &StepWork, tp: usize) -> (f64, f64, f64) {
        let (c, m) = self.terms_s(s);
        if tp <= 1 {
            return (c, m, 0.0);
        }
        let spec = &self.spec;
        let tpf = tp as f64;
        let kv_share = spec.n_kv_heads.div_ceil(tp) as f64 / spec.n_kv_heads as f64;
        let kv_bytes = (2 * spec.n_layers * spec.kv_dim()) as f64
            * s.kv_tokens_read as f64
            * self.hardware.kv_bytes_per_value;
        let weights = spec.matmul_params() as f64 * self.hardware.weight_bytes_per_param;
        let memory = (weights / tpf + kv_bytes * kv_share) / (self.hardware.mem_gb_per_s * 1e9);
        // Ring all-reduce: each GPU sends and receives 2(tp-1)/tp of the message; bf16
        // activations (2 bytes); one after attention and one after the FFN, every layer.
        let tokens = (s.prefill_tokens + s.decode_tokens) as f64;
        let message = tokens * spec.d_model as f64 * 2.0;
        let link = &self.hardware.intra_node;
        let one = 2.0 * (tpf - 1.0) / tpf * message / (link.gb_per_s * 1e9)
            + 2.0 * (tpf - 1.0) * link.latency_us * 1e-6;
        (c / tpf, memory, 2.0 * spec.n_layers as f64 * one)
    }

    /// A step's predicted seconds on a `tp`-way instance (`predict_s` when `tp` is 1).
    pub fn predict_tp_s(&self, s: &StepWork, tp: usize) -> f64 {
        if s.prefill_tokens + s.decode_tokens == 0 {
            return 0.0;
        }
        let (c, m, comm) = self.terms_tp_s(s, tp);
        (self.a_s + (self.b_compute * c).max(self.b_memory * m) + comm).max(1e-6)
    }

    pub fn roofline_s(&self, s: &StepWork) -> f64 {
        let (c, m) = self.terms_s(s);
        c.max(m)
    }

    /// (compute, memory) seconds of a step at the profile's peak and bandwidth.
    pub fn terms_s(&self, s: &StepWork) -> (f64, f64) {
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
        (compute, memory)
    }

    pub fn predict_s(&self, s: &StepWork) -> f64 {
        self.predict_tp_s(s, 1)
    }

    /// Least-squares fit of `a`, `b_c`, `b_m` on measured (shape, seconds) pairs. Each sample is
    /// assigned to the term that bounds it, the three are fitted linearly, and the assignment
    /// is redone with the fitted multipliers until it settles. A regime without samples shares
    /// the other's multiplier. Needs steps of at least two different sizes.
    pub fn fit(&mut self, samples: &[(StepWork, f64)]) -> Result<()> {
        let xs: Vec<(f64, f64, f64)> = samples
            .iter()
            .map(|(s, t)| {
                let (c, m) = self.terms_s(s);
                (c, m, *t)
            })
            .collect();
        let spread = |f: &dyn Fn(&(f64, f64, f64)) -> f64| {
            let lo = xs.iter().map(f).fold(f64::INFINITY, f64::min);
            let hi = xs.iter().map(f).fold(f64::NEG_INFINITY, f64::max);
            hi > lo
        };
        if xs.len() < 2 || !spread(&|p| p.0.max(p.1)) {
            return Err(EngineError::Invalid(
                "cost-model fit needs steps of at least two different sizes".into(),
            ));
        }
        let (mut bc, mut bm) = (1.0, 1.0);
        let mut fitted = (0.0, 1.0, 1.0);
        for _ in 0..8 {
            let compute_bound: Vec<bool> = xs.iter().map(|p| bc * p.0 > bm * p.1).collect();
            let next = fit_split(&xs, &compute_bound);
            let settled = next == fitted;
            fitted = next;
            (bc, bm) = (fitted.1, fitted.2);
            if settled {
                break;
            }
        }
        (self.a_s, self.b_compute, self.b_memory) = fitted;
        Ok(())
    }
}

/// Least squares of `t = a + b_c·c` (compute-bound samples) and `t = a + b_m·m` (the others)
/// with one shared `a ≥ 0`; a regime with no samples takes the other's multiplier. Each row is
/// weighted by 1/t, so the fit minimises relative error: a 10 ms decode step counts as much as
/// a 1 s prefill (serving latencies are sums of both, and TPOT is made of the small ones).
fn fit_split(xs: &[(f64, f64, f64)], compute_bound: &[bool]) -> (f64, f64, f64) {
    // Columns: 1, c·[compute-bound], m·[memory-bound].
    let rows: Vec<[f64; 3]> = xs
        .iter()
        .zip(compute_bound)
        .map(|(p, &cb)| [1.0, if cb { p.0 } else { 0.0 }, if cb { 0.0 } else { p.1 }])
        .collect();
    let n_c = compute_bound.iter().filter(|&&c| c).count();
    let n_m = compute_bound.len() - n_c;
    // Merge an empty regime's column into the other (one shared multiplier).
    let cols: Vec<usize> = match (n_c, n_m) {
        (0, _) | (_, 0) => vec![0, 3],
        _ => vec![0, 1, 2],
    };
    let design: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| {
            cols.iter()
                .map(|&c| if c == 3 { r[1] + r[2] } else { r[c] })
                .collect()
        })
        .collect();
    let w: Vec<f64> = xs.iter().map(|p| 1.0 / p.2.max(1e-12)).collect();
    let design: Vec<Vec<f64>> = design
        .iter()
        .zip(&w)
        .map(|(r, w)| r.iter().map(|x| x * w).collect())
        .collect();
    let t: Vec<f64> = xs.iter().zip(&w).map(|(p, w)| p.2 * w).collect();
    let mut beta = least_squares(&design, &t);
    if beta.first().is_some_and(|&a| a < 0.0) {
        // No negative overhead: refit through the origin.
        let no_a: Vec<Vec<f64>> = design.iter().map(|r| r[1..].to_vec()).collect();
        beta = std::iter::once(0.0)
            .chain(least_squares(&no_a, &t))
            .collect();
    }
    let clamp = |b: f64| if b.is_finite() { b.max(1e-3) } else { 1.0 };
    match beta.as_slice() {
        [a, b] => (*a, clamp(*b), clamp(*b)),
        [a, bc, bm] => (*a, clamp(*bc), clamp(*bm)),
        _ => (0.0, 1.0, 1.0),
    }
}

/// Solves the normal equations `XᵀX β = Xᵀt` by Gaussian elimination (k ≤ 3 columns).
/// A singular system leaves the dependent coefficients at 0.
fn least_squares(x: &[Vec<f64>], t: &[f64]) -> Vec<f64> {
    let k = x.first().map_or(0, |r| r.len());
    let mut m = vec![vec![0.0; k + 1]; k];
    for (row, &ti) in x.iter().zip(t) {
        for i in 0..k {
            for j in 0..k {
                m[i][j] += row[i] * row[j];
            }
            m[i][k] += row[i] * ti;
        }
    }
    for col in 0..k {
        let Some(piv) = (col..k).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))
        else {
            continue;
        };
        m.swap(col, piv);
        let p = m[col][col];
        if p.abs() < 1e-300 {
            continue;
        }
        let pivot_row = m[col].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / p;
                for (x, &y) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *x -= f * y;
                }
            }
        }
    }
    (0..k)
        .map(|i| {
            if m[i][i].abs() < 1e-300 {
                0.0
            } else {
                m[i][k] / m[i][i]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes() -> Vec<StepWork> {
        [
            (0, 1),
            (0, 32),
            (128, 8),
            (512, 1),
            (256, 32),
            (2048, 0),
            (1024, 8),
        ]
        .iter()
        .map(|&(p, d)| StepWork {
            prefill_tokens: p,
            decode_tokens: d,
            attn_pairs: p * p / 2 + d * 512,
            kv_tokens_read: p + d * 512,
        })
        .collect()
    }

    #[test]
    fn the_fit_recovers_a_known_correction() {
        let spec = crate::model::cards::card("smollm2-135m")
            .expect("card")
            .spec;
        let mut cm = CostModel::roofline_only(spec, Hardware::preset("cpu").expect("cpu"));
        let shapes = shapes();
        let samples: Vec<_> = shapes
            .iter()
            .map(|s| (*s, 0.004 + 1.7 * cm.roofline_s(s)))
            .collect();
        cm.fit(&samples).expect("fit");
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6 * b.abs().max(1e-3);
        assert!(
            close(cm.a_s, 0.004) && close(cm.b_compute, 1.7) && close(cm.b_memory, 1.7),
            "{cm:?}"
        );
        // More prefill never predicts a shorter step.
        let mut s = shapes[1];
        let t0 = cm.predict_s(&s);
        s.prefill_tokens += 256;
        assert!(cm.predict_s(&s) > t0);
        assert!(cm.fit(&samples[..1]).is_err());
    }

    /// A GPU-like machine: decode reaches 70 % of bandwidth, prefill 40 % of peak, 0.3 ms fixed.
    #[test]
    fn the_fit_separates_compute_and_memory_efficiency() {
        let spec = crate::model::cards::card("llama-2-13b").expect("card").spec;
        let mut cm = CostModel::roofline_only(spec, Hardware::preset("h100").expect("h100"));
        let truth = |cm: &CostModel, s: &StepWork| {
            let (c, m) = cm.terms_s(s);
            3e-4 + (c / 0.4).max(m / 0.7)
        };
        let samples: Vec<_> = shapes().iter().map(|s| (*s, truth(&cm, s))).collect();
        cm.fit(&samples).expect("fit");
        assert!((cm.b_compute - 2.5).abs() < 1e-6, "{cm:?}");
        assert!((cm.b_memory - 1.0 / 0.7).abs() < 1e-6, "{cm:?}");
        assert!((cm.a_s - 3e-4).abs() < 1e-9, "{cm:?}");
        for (s, t) in &samples {
            assert!((cm.predict_s(s) - t).abs() < 1e-9);
        }
        // A single multiplier cannot: the old model's best fit is off by > 10 % somewhere.
        let xs: Vec<Vec<f64>> = samples
            .iter()
            .map(|(s, _)| vec![1.0, cm.roofline_s(s)])
            .collect();
        let ts: Vec<f64> = samples.iter().map(|p| p.1).collect();
        let b = least_squares(&xs, &ts);
        let worst = samples
            .iter()
            .map(|(s, t)| ((b[0] + b[1] * cm.roofline_s(s)) - t).abs() / t)
            .fold(0.0, f64::max);
        assert!(worst > 0.1, "{worst}");
    }

    /// Llama-3-70B (GQA: 8 KV heads of 128) decoding 8 sequences of 1000 tokens on TP4 H100s,
    /// every term computed by hand.
    #[test]
    fn tensor_parallel_terms_match_a_hand_computation() {
        let spec = crate::model::cards::card("llama-3-70b").expect("card").spec;
        let cm = CostModel::roofline_only(spec, Hardware::named("h100-sxm").expect("h100"));
        let s = StepWork {
            prefill_tokens: 0,
            decode_tokens: 8,
            attn_pairs: 8000,
            kv_tokens_read: 8000,
        };
        // Per layer: q,o 8192² each; k,v 8192·1024 each; gate, up, down 8192·28672 each.
        let per_layer = 2.0 * 8192.0 * 8192.0 + 2.0 * 8192.0 * 1024.0 + 3.0 * 8192.0 * 28672.0;
        let params = 80.0 * per_layer + 8192.0 * 128_256.0;
        assert_eq!(params, 69_501_714_432.0);
        let flops = 2.0 * params * 8.0 + 4.0 * 80.0 * 8192.0 * 8000.0;
        // KV: K and V, 80 layers, 1024 values, 2 bytes, 8000 tokens; TP4 holds 2 of 8 heads.
        let kv = 2.0 * 80.0 * 1024.0 * 2.0 * 8000.0 * (2.0 / 8.0);
        let memory = (params * 2.0 / 4.0 + kv) / 3350e9;
        // Two ring all-reduces of 8 × 8192 bf16 values per layer over 450 GB/s, 5 µs hops.
        let one = 2.0 * 3.0 / 4.0 * (8.0 * 8192.0 * 2.0) / 450e9 + 2.0 * 3.0 * 5e-6;
        let (c, m, comm) = cm.terms_tp_s(&s, 4);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
        assert!(close(c, flops / 4.0 / 989e12), "{c}");
        assert!(close(m, memory), "{m}");
        assert!(close(comm, 160.0 * one), "{comm}");
        assert!(close(cm.predict_tp_s(&s, 4), 1e-3 + c.max(m) + comm));
        // TP1 has no all-reduce and reads every KV head.
        let (_, m1, comm1) = cm.terms_tp_s(&s, 1);
        assert_eq!(comm1, 0.0);
        assert!(close(m1, (params * 2.0 + kv * 4.0) / 3350e9), "{m1}");
        // TP16 on 8 KV heads: each GPU still holds one whole head (replicated).
        let (_, m16, _) = cm.terms_tp_s(&s, 16);
        assert!(
            close(m16, (params * 2.0 / 16.0 + kv / 2.0) / 3350e9),
            "{m16}"
        );
    }
}
