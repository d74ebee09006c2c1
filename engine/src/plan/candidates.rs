//! The configurations a plan compares, and a quick capacity estimate of each from the cost
//! model alone. The estimate brackets the rate search and picks disaggregated P:D splits: for
//! each pair of tensor-parallel degrees, the split whose prefill and decode pools can carry
//! the same rate (DistServe's placement idea), and its neighbour. Simulation decides the rest.
use super::deployment::{Deployment, InstanceGroup};
use super::spec::Checked;
use crate::serve::cluster::{ClockKind, Mode, Router, ServeConfig};
use crate::serve::cost_model::{CostModel, StepWork};
use crate::serve::events::Role;
use serde::{Deserialize, Serialize};

/// One configuration: a mode, its instance groups, and its token budget (chunked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub mode: Mode,
    /// Replicas (aggregated, chunked), or prefill then decode instances.
    pub groups: Vec<InstanceGroup>,
    /// Chunked: tokens per step.
    pub token_budget: Option<usize>,
    /// Requests per second the estimate says it carries (before simulation).
    pub estimate_rps: f64,
}

impl Candidate {
    pub fn gpus(&self) -> usize {
        self.groups.iter().map(|g| g.count * g.tp).sum()
    }

    /// `agg 4×TP2`, `chunked 2×TP4 budget 2048`, `disagg 3×TP2 : 1×TP4`.
    pub fn label(&self) -> String {
        let g = |x: &InstanceGroup| format!("{}×TP{}", x.count, x.tp);
        match self.mode {
            Mode::Aggregated => format!("aggregated {}", g(&self.groups[0])),
            Mode::Chunked => format!(
                "chunked {} budget {}",
                g(&self.groups[0]),
                self.token_budget.unwrap_or(0)
            ),
            Mode::Disaggregated => {
                format!(
                    "disaggregated {}P : {}D",
                    g(&self.groups[0]),
                    g(&self.groups[1])
                )
            }
        }
    }
}

/// Mean step shapes of the traffic, and what one instance of each kind can carry.
struct Traffic {
    prompt: f64,
    output: f64,
}

impl Traffic {
    /// Seconds to prefill one mean prompt alone on a `tp`-way instance.
    fn prefill_s(&self, cost: &CostModel, tp: usize) -> f64 {
        let p = self.prompt.round().max(1.0) as usize;
        let w = StepWork {
            prefill_tokens: p,
            decode_tokens: 0,
            attn_pairs: p * (p + 1) / 2,
            kv_tokens_read: p,
            prefill_attn_pairs: p * (p + 1) / 2,
            prefill_kv_tokens_read: p,
            lm_head_rows: Some(1),
        };
        cost.predict_tp_s(&w, tp)
    }

    /// (batch, step seconds) of the largest decode batch whose step stays within the TPOT
    /// target (at least 1), limited by `max_seqs` and the KV pool.
    fn decode_batch(&self, cost: &CostModel, tp: usize, tpot_s: f64, cap: usize) -> (usize, f64) {
        let ctx = (self.prompt + self.output / 2.0).round().max(1.0) as usize;
        let step = |b: usize| {
            cost.predict_tp_s(
                &StepWork {
                    prefill_tokens: 0,
                    decode_tokens: b,
                    attn_pairs: b * ctx,
                    kv_tokens_read: b * ctx,
                    ..Default::default()
                },
                tp,
            )
        };
        let (mut lo, mut hi) = (1usize, cap.max(1));
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if step(mid) <= tpot_s {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        (lo, step(lo))
    }
}

/// Every candidate the spec allows, each with its estimate. Degrees whose weights do not fit,
/// or whose KV pool cannot hold one long request, are left out.
pub fn enumerate(c: &Checked, cost: &CostModel) -> Vec<Candidate> {
    let s = &c.spec;
    let t = Traffic {
        prompt: c.prompt.mean(),
        output: c.output.mean(),
    };
    let need = (t.prompt + t.output).ceil() as usize * 4;
    let fits: Vec<(usize, usize)> = c
        .tps
        .iter()
        .filter_map(|&tp| {
            let kv = c
                .hardware
                .kv_capacity_tokens(&c.card.spec, tp, s.mem_util)?;
            (kv >= need).then_some((tp, kv))
        })
        .collect();
    let tpot_s = s.slo.tpot_ms / 1e3;
    let per_seq = (t.prompt + t.output).ceil().max(1.0) as usize;
    let cap_of = |tp: usize, kv: usize| -> (f64, f64, f64) {
        let (b, step) = t.decode_batch(cost, tp, tpot_s, s.max_seqs.min(kv / per_seq));
        let prefill = t.prefill_s(cost, tp);
        let decode_rps = b as f64 / (t.output * step);
        let mixed_rps = 1.0 / (prefill + t.output * step / b as f64);
        (1.0 / prefill, decode_rps, mixed_rps)
    };
    let mut out = Vec::new();
    for &(tp, kv) in &fits {
        let n = s.gpus / tp;
        if n == 0 {
            continue;
        }
        let mixed = InstanceGroup {
            role: Role::Mixed,
            count: n,
            tp,
        };
        let est = n as f64 * cap_of(tp, kv).2;
        if s.modes.contains(&Mode::Aggregated) {
            out.push(Candidate {
                mode: Mode::Aggregated,
                groups: vec![mixed.clone()],
                token_budget: None,
                estimate_rps: est,
            });
        }
        if s.modes.contains(&Mode::Chunked) {
            for &b in &s.token_budgets {
                out.push(Candidate {
                    mode: Mode::Chunked,
                    groups: vec![mixed.clone()],
                    token_budget: Some(b),
                    estimate_rps: est,
                });
            }
        }
    }
    if s.modes.contains(&Mode::Disaggregated) {
        for &(tp_p, kv_p) in &fits {
            for &(tp_d, kv_d) in &fits {
                let (cap_p, _, _) = cap_of(tp_p, kv_p);
                let (_, cap_d, _) = cap_of(tp_d, kv_d);
                let g = s.gpus as f64;
                // n_p·cap_p = n_d·cap_d with n_p·tp_p + n_d·tp_d = gpus.
                let n_p = g * cap_d / (tp_p as f64 * cap_d + tp_d as f64 * cap_p);
                let mut tried = Vec::new();
                for n_p in [n_p.floor() as usize, n_p.ceil() as usize] {
                    let n_p = n_p.max(1);
                    if n_p * tp_p >= s.gpus || tried.contains(&n_p) {
                        continue;
                    }
                    tried.push(n_p);
                    let n_d = (s.gpus - n_p * tp_p) / tp_d;
                    if n_d == 0 {
                        continue;
                    }
                    out.push(Candidate {
                        mode: Mode::Disaggregated,
                        groups: vec![
                            InstanceGroup {
                                role: Role::Prefill,
                                count: n_p,
                                tp: tp_p,
                            },
                            InstanceGroup {
                                role: Role::Decode,
                                count: n_d,
                                tp: tp_d,
                            },
                        ],
                        token_budget: None,
                        estimate_rps: (n_p as f64 * cap_p).min(n_d as f64 * cap_d),
                    });
                }
            }
        }
    }
    out
}

/// The cluster config that simulates `cand` (modeled clock, KV pools from the memory left
/// after the weights, the KV link intra-node when the deployment fits one node).
pub fn serve_config(c: &Checked, cand: &Candidate) -> ServeConfig {
    let s = &c.spec;
    let hw = &c.hardware;
    let kv = |tp: usize| {
        hw.kv_capacity_tokens(&c.card.spec, tp, s.mem_util)
            .unwrap_or(0)
    };
    let first = &cand.groups[0];
    let decode = cand.groups.get(1);
    let instances: usize = cand.groups.iter().map(|g| g.count).sum();
    let link = if cand.gpus() <= hw.gpus_per_node {
        hw.intra_node.clone()
    } else {
        hw.inter_node.clone()
    };
    let max_context = c.card.spec.max_context;
    ServeConfig {
        mode: cand.mode,
        gpus: instances,
        pd: decode.map(|d| (first.count, d.count)),
        router: Router::LeastLoaded,
        // Whole prompts are admitted in one step (recompute after preemption too).
        max_batched_tokens: max_context,
        prefill_only_steps: s.prefill_only_steps,
        // Decode instances only decode: their budget never binds before max_seqs.
        token_budget: cand.token_budget.unwrap_or(s.max_seqs.max(16)),
        max_partial_prefills: 1,
        max_seqs: s.max_seqs,
        kv_tokens: kv(first.tp),
        block_size: 16,
        tp: first.tp,
        decode_tp: decode.map_or(1, |d| d.tp),
        decode_kv_tokens: decode.map(|d| kv(d.tp)),
        link,
        clock: ClockKind::Modeled,
        sampling: Default::default(),
        stop_at_eos: false,
    }
}

/// The deployment the serving systems would run for `cand`.
pub fn deployment(c: &Checked, cand: &Candidate) -> Deployment {
    Deployment {
        model: c.card.name.clone(),
        hf_repo: c
            .card
            .hf_repo
            .clone()
            .unwrap_or_else(|| c.card.name.clone()),
        mode: cand.mode,
        groups: cand.groups.clone(),
        // What `serve_config` simulates: the budget when chunked, else whole prompts.
        max_batched_tokens: cand.token_budget.unwrap_or(c.card.spec.max_context),
        chunked_prefill: cand.mode == Mode::Chunked,
        max_seqs: c.spec.max_seqs,
        max_model_len: c.card.spec.max_context,
        gpus_per_node: c.hardware.gpus_per_node,
    }
}
