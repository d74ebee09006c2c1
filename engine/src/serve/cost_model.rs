//! The modeled clock: a step's duration predicted from its shape without computing it. Two
//! rooflines on a hardware profile give the shape of the cost: the GEMMs (FLOPs against the
//! weight bytes they read) and attention (FLOPs against the KV bytes read), each the slower of
//! its compute and memory time, per phase (a prompt chunk's attention is compute-bound long
//! before a decode token's is). A correction `a + max(b_c·C, b_m·M) + s·min(b_c·C, b_m·M) +
//! b_a·attention` (C and M the GEMM compute and memory times), fitted on measured steps
//! (`cost_fit`), absorbs what the rooflines miss: a fixed per-step overhead, the shares of peak
//! and bandwidth really reached, and how much of the smaller GEMM time fails to hide under the
//! larger (s: 0 is the ideal roofline; a 64-token chunk on an H100 measured ~2 ms over a
//! decode step that the ideal calls free).
//!
//! Tensor parallelism over `tp` GPUs splits the FLOPs and the weight bytes `tp` ways, the KV
//! bytes by KV heads (replicated when there are fewer heads than GPUs), and adds two ring
//! all-reduces of the step's activations per layer over the intra-node link, not overlapped
//! with compute (Megatron-LM's layout; Vidur and DistServe model TP the same way).
use super::cost_fit::{fit, gemm_time, Point};
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
    /// The part of `attn_pairs` that belongs to prompt chunks.
    #[serde(default)]
    pub prefill_attn_pairs: usize,
    /// The part of `kv_tokens_read` that belongs to prompt chunks.
    #[serde(default)]
    pub prefill_kv_tokens_read: usize,
    /// Rows the LM head computes (tokens that are sampled: decodes and prompts' last chunks);
    /// `None` counts every token.
    #[serde(default)]
    pub lm_head_rows: Option<usize>,
}

/// A step's roofline terms in seconds at the profile's datasheet rates, on one instance.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Terms {
    pub gemm_compute: f64,
    pub gemm_memory: f64,
    /// Σ over the prompt and decode parts of max(attention FLOPs time, KV read time).
    pub attention: f64,
    /// Tensor-parallel all-reduces (0 on one GPU).
    pub all_reduce: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostModel {
    pub spec: ModelSpec,
    pub hardware: Hardware,
    /// Fixed seconds per step.
    pub a_s: f64,
    /// Multiplier on the GEMM compute time (1 / the share of peak reached).
    pub b_compute: f64,
    /// Multiplier on the GEMM memory time (1 / the share of bandwidth reached).
    pub b_memory: f64,
    /// Multiplier on the attention time.
    #[serde(default = "one")]
    pub b_attention: f64,
    /// Share of the smaller GEMM time that does not overlap the larger (0 = roofline max,
    /// 1 = sum).
    #[serde(default)]
    pub serial: f64,
}

fn one() -> f64 {
    1.0
}

impl CostModel {
    /// Uncorrected rooflines plus a 1 ms launch/bookkeeping floor.
    pub fn roofline_only(spec: ModelSpec, hardware: Hardware) -> Self {
        CostModel {
            spec,
            hardware,
            a_s: 1e-3,
            b_compute: 1.0,
            b_memory: 1.0,
            b_attention: 1.0,
            serial: 0.0,
        }
    }

    /// The profile's fitted correction when it has one (`calibrate`), else `roofline_only`.
    pub fn new(spec: ModelSpec, hardware: Hardware) -> Self {
        let mut cm = Self::roofline_only(spec, hardware);
        if let Some(c) = &cm.hardware.correction {
            (cm.a_s, cm.b_compute, cm.b_memory, cm.b_attention, cm.serial) =
                (c.a_s, c.b_compute, c.b_memory, c.b_attention, c.serial);
        }
        cm
    }

    /// The correction in words: `2.10 ms + max(1.80 × GEMM compute, 1.20 × GEMM memory) +
    /// 0.40 × min(…) + 1.50 × attention` (the min term only when it is not 0).
    pub fn describe(&self) -> String {
        let serial = if self.serial > 0.0 {
            format!(" + {:.2} × min(…)", self.serial)
        } else {
            String::new()
        };
        format!(
            "{:.2} ms + max({:.2} × GEMM compute, {:.2} × GEMM memory){serial} + {:.2} × attention",
            self.a_s * 1e3,
            self.b_compute,
            self.b_memory,
            self.b_attention
        )
    }

    /// The corrected GEMM time from its compute and memory times.
    fn gemm_s(&self, compute: f64, memory: f64) -> f64 {
        gemm_time(compute, memory, self.b_compute, self.b_memory, self.serial)
    }

    /// Roofline terms of a step on one `tp`-way instance, uncorrected.
    pub fn terms(&self, s: &StepWork, tp: usize) -> Terms {
        let spec = &self.spec;
        let hw = &self.hardware;
        let tp = tp.max(1);
        let tpf = tp as f64;
        let peak = hw.peak_tflops * 1e12;
        let bw = hw.mem_gb_per_s * 1e9;
        let tokens = (s.prefill_tokens + s.decode_tokens) as f64;
        let params = spec.matmul_params() as f64;
        // 2 FLOPs per multiply-add; every weight read once per step. The LM head only runs
        // for the rows that are sampled.
        let lm_head = (spec.d_model * spec.vocab_size) as f64;
        let rows = s.lm_head_rows.map_or(tokens, |r| r as f64);
        let gemm_compute = 2.0 * ((params - lm_head) * tokens + lm_head * rows) / tpf / peak;
        let gemm_memory = params * hw.weight_bytes_per_param / tpf / bw;
        // QK and PV: 2 FLOPs per multiply-add, d_model wide (all query heads), per layer; the
        // KV heads a GPU holds are read once per sequence.
        let flops_per_pair = 4.0 * (spec.n_layers * spec.d_model) as f64 / tpf;
        let kv_share = spec.n_kv_heads.div_ceil(tp) as f64 / spec.n_kv_heads as f64;
        let bytes_per_kv = hw.kv_bytes_per_token(spec) * kv_share;
        let part = |pairs: usize, kv: usize| {
            (flops_per_pair * pairs as f64 / peak).max(bytes_per_kv * kv as f64 / bw)
        };
        let decode_pairs = s.attn_pairs.saturating_sub(s.prefill_attn_pairs);
        let decode_kv = s.kv_tokens_read.saturating_sub(s.prefill_kv_tokens_read);
        let attention =
            part(s.prefill_attn_pairs, s.prefill_kv_tokens_read) + part(decode_pairs, decode_kv);
        let all_reduce = if tp > 1 {
            // Ring all-reduce: each GPU sends and receives 2(tp-1)/tp of the message; bf16
            // activations; one after attention and one after the FFN, every layer.
            let message = tokens * spec.d_model as f64 * 2.0;
            let link = &hw.intra_node;
            let one = 2.0 * (tpf - 1.0) / tpf * message / (link.gb_per_s * 1e9)
                + 2.0 * (tpf - 1.0) * link.latency_us * 1e-6;
            2.0 * spec.n_layers as f64 * one
        } else {
            0.0
        };
        Terms {
            gemm_compute,
            gemm_memory,
            attention,
            all_reduce,
        }
    }

    /// Uncorrected roofline seconds of a step on one GPU.
    pub fn roofline_s(&self, s: &StepWork) -> f64 {
        let t = self.terms(s, 1);
        t.gemm_compute.max(t.gemm_memory) + t.attention
    }

    /// A step's predicted seconds on a `tp`-way instance (`predict_s` when `tp` is 1).
    pub fn predict_tp_s(&self, s: &StepWork, tp: usize) -> f64 {
        if s.prefill_tokens + s.decode_tokens == 0 {
            return 0.0;
        }
        let t = self.terms(s, tp);
        (self.a_s
            + self.gemm_s(t.gemm_compute, t.gemm_memory)
            + self.b_attention * t.attention
            + t.all_reduce)
            .max(1e-6)
    }

    pub fn predict_s(&self, s: &StepWork) -> f64 {
        self.predict_tp_s(s, 1)
    }

    /// Least-squares fit of the correction on measured (shape, seconds) pairs of one GPU.
    /// Needs steps of at least two different sizes.
    pub fn fit(&mut self, samples: &[(StepWork, f64)]) -> Result<()> {
        let xs: Vec<Point> = samples
            .iter()
            .map(|(s, t)| {
                let r = self.terms(s, 1);
                Point {
                    gemm_compute: r.gemm_compute,
                    gemm_memory: r.gemm_memory,
                    attention: r.attention,
                    t: *t,
                }
            })
            .collect();
        let size = |p: &Point| p.gemm_compute.max(p.gemm_memory) + p.attention;
        let lo = xs.iter().map(size).fold(f64::INFINITY, f64::min);
        let hi = xs.iter().map(size).fold(f64::NEG_INFINITY, f64::max);
        if xs.len() < 2 || hi <= lo || xs.iter().any(|p| !(p.t > 0.0 && p.t.is_finite())) {
            return Err(EngineError::Invalid(
                "cost-model fit needs positive step times of at least two different sizes".into(),
            ));
        }
        let f = fit(&xs);
        (
            self.a_s,
            self.b_compute,
            self.b_memory,
            self.b_attention,
            self.serial,
        ) = (f.a, f.b_compute, f.b_memory, f.b_attention, f.serial);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::cost_fit::least_squares;

    fn shapes() -> Vec<StepWork> {
        [
            (0, 1, 512),
            (0, 32, 512),
            (128, 8, 256),
            (512, 1, 512),
            (256, 32, 1024),
            (2048, 0, 0),
            (1024, 8, 128),
            (0, 8, 2048),
        ]
        .iter()
        .map(|&(p, d, ctx)| StepWork {
            prefill_tokens: p,
            decode_tokens: d,
            attn_pairs: p * p / 2 + d * ctx,
            kv_tokens_read: p + d * ctx,
            prefill_attn_pairs: p * p / 2,
            prefill_kv_tokens_read: p,
            lm_head_rows: Some(d + usize::from(p > 0)),
        })
        .collect()
    }

    #[test]
    fn the_fit_recovers_a_known_correction() {
        let spec = crate::model::cards::card("smollm2-135m")
            .expect("card")
            .spec;
        let mut cm = CostModel::roofline_only(spec, Hardware::named("cpu").expect("cpu"));
        let shapes = shapes();
        let samples: Vec<_> = shapes
            .iter()
            .map(|s| (*s, 0.004 + 1.7 * cm.roofline_s(s)))
            .collect();
        cm.fit(&samples).expect("fit");
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6 * b.abs().max(1e-3);
        assert!(
            close(cm.a_s, 0.004)
                && close(cm.b_compute, 1.7)
                && close(cm.b_memory, 1.7)
                && close(cm.b_attention, 1.7),
            "{cm:?}"
        );
        // More prefill never predicts a shorter step.
        let mut s = shapes[1];
        let t0 = cm.predict_s(&s);
        s.prefill_tokens += 256;
        assert!(cm.predict_s(&s) > t0);
        assert!(cm.fit(&samples[..1]).is_err());
    }

    /// A GPU-like machine: GEMMs reach 40 % of peak when compute-bound and 70 % of bandwidth
    /// when memory-bound, attention runs 1.3× its roofline, 0.3 ms fixed: every planted
    /// coefficient comes back.
    #[test]
    fn the_fit_separates_compute_memory_and_attention() {
        let spec = crate::model::cards::card("llama-2-13b").expect("card").spec;
        let mut cm = CostModel::roofline_only(spec, Hardware::named("h100").expect("h100"));
        let truth = |cm: &CostModel, s: &StepWork| {
            let t = cm.terms(s, 1);
            3e-4 + (t.gemm_compute / 0.4).max(t.gemm_memory / 0.7) + 1.3 * t.attention
        };
        let samples: Vec<_> = shapes().iter().map(|s| (*s, truth(&cm, s))).collect();
        cm.fit(&samples).expect("fit");
        assert!((cm.b_compute - 2.5).abs() < 1e-6, "{cm:?}");
        assert!((cm.b_memory - 1.0 / 0.7).abs() < 1e-6, "{cm:?}");
        assert!((cm.b_attention - 1.3).abs() < 1e-6, "{cm:?}");
        assert!((cm.a_s - 3e-4).abs() < 1e-9, "{cm:?}");
        for (s, t) in &samples {
            assert!((cm.predict_s(s) - t).abs() < 1e-9);
        }
        // A single multiplier cannot: its best fit is off by > 10 % somewhere.
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

    /// Noise of ±3 % on every sample moves no coefficient by more than 10 %.
    #[test]
    fn the_fit_is_stable_under_noise() {
        let spec = crate::model::cards::card("llama-2-13b").expect("card").spec;
        let mut cm = CostModel::roofline_only(spec, Hardware::named("h100").expect("h100"));
        let noise = [1.03, 0.97, 1.01, 0.99, 1.02, 0.98, 1.0, 1.03];
        let samples: Vec<_> = shapes()
            .iter()
            .zip(noise)
            .map(|(s, k)| {
                let t = cm.terms(s, 1);
                let truth = 2e-3 + (t.gemm_compute * 2.0).max(t.gemm_memory * 1.5) + t.attention;
                (*s, truth * k)
            })
            .collect();
        cm.fit(&samples).expect("fit");
        for (got, want) in [(cm.b_compute, 2.0), (cm.b_memory, 1.5)] {
            assert!((got / want - 1.0).abs() < 0.1, "{cm:?}");
        }
        for (s, t) in &samples {
            assert!((cm.predict_s(s) / t - 1.0).abs() < 0.08, "{cm:?}");
        }
    }

    /// Llama-3-70B (GQA: 8 KV heads of 128) decoding 8 sequences of 1000 tokens on TP4 H100s,
    /// every term computed by hand.
    #[test]
    fn tensor_parallel_terms_match_a_hand_computation() {
        let spec = crate::model::cards::card("llama-3-70b").expect("card").spec;
        let cm = CostModel::roofline_only(spec, Hardware::named("h100-sxm").expect("h100"));
        let s = StepWork {
            decode_tokens: 8,
            attn_pairs: 8000,
            kv_tokens_read: 8000,
            ..Default::default()
        };
        // Per layer: q,o 8192² each; k,v 8192·1024 each; gate, up, down 8192·28672 each.
        let per_layer = 2.0 * 8192.0 * 8192.0 + 2.0 * 8192.0 * 1024.0 + 3.0 * 8192.0 * 28672.0;
        let params = 80.0 * per_layer + 8192.0 * 128_256.0;
        assert_eq!(params, 69_501_714_432.0);
        let gemm_c = 2.0 * params * 8.0 / 4.0 / 989e12;
        let gemm_m = params * 2.0 / 4.0 / 3350e9;
        let attn_c: f64 = 4.0 * 80.0 * 8192.0 * 8000.0 / 4.0 / 989e12;
        // KV: K and V, 80 layers, 1024 values, 2 bytes, 8000 tokens; TP4 holds 2 of 8 heads.
        let kv: f64 = 2.0 * 80.0 * 1024.0 * 2.0 * 8000.0;
        let attn_m = kv * (2.0 / 8.0) / 3350e9;
        // Two ring all-reduces of 8 × 8192 bf16 values per layer over 450 GB/s, 5 µs hops.
        let one = 2.0 * 3.0 / 4.0 * (8.0 * 8192.0 * 2.0) / 450e9 + 2.0 * 3.0 * 5e-6;
        let t = cm.terms(&s, 4);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
        assert!(close(t.gemm_compute, gemm_c), "{t:?}");
        assert!(close(t.gemm_memory, gemm_m), "{t:?}");
        assert!(close(t.attention, attn_c.max(attn_m)), "{t:?}");
        assert!(close(t.all_reduce, 160.0 * one), "{t:?}");
        let want = 1e-3 + gemm_c.max(gemm_m) + attn_c.max(attn_m) + 160.0 * one;
        assert!(close(cm.predict_tp_s(&s, 4), want));
        // TP1 has no all-reduce and reads every KV head.
        let t1 = cm.terms(&s, 1);
        assert_eq!(t1.all_reduce, 0.0);
        assert!(
            close(t1.attention, (kv / 3350e9).max(attn_c * 4.0)),
            "{t1:?}"
        );
        // TP16 on 8 KV heads: each GPU still holds one whole head (replicated).
        let t16 = cm.terms(&s, 16);
        assert!(
            close(t16.attention, (kv / 8.0 / 3350e9).max(attn_c / 4.0)),
            "{t16:?}"
        );
        // A prompt chunk's attention is its own roofline: 2048 queries are compute-bound.
        let p = StepWork {
            prefill_tokens: 2048,
            attn_pairs: 2048 * 2049 / 2,
            kv_tokens_read: 2048,
            prefill_attn_pairs: 2048 * 2049 / 2,
            prefill_kv_tokens_read: 2048,
            ..Default::default()
        };
        let tp = cm.terms(&p, 1);
        assert!(close(
            tp.attention,
            4.0 * 80.0 * 8192.0 * (2048.0 * 2049.0 / 2.0) / 989e12
        ));
        // Its LM head (8192 × 128 256) runs for the one sampled row, not all 2048.
        let lm = 8192.0 * 128_256.0;
        let sampled = cm.terms(
            &StepWork {
                lm_head_rows: Some(1),
                ..p
            },
            1,
        );
        let want = 2.0 * ((params - lm) * 2048.0 + lm) / 989e12;
        assert!(close(sampled.gemm_compute, want), "{sampled:?}");
        assert!(
            close(tp.gemm_compute, 2.0 * params * 2048.0 / 989e12),
            "{tp:?}"
        );
    }
}
