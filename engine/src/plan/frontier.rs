//! The Pareto frontier of throughput per GPU against speed per user: over every simulated
//! rate of every plan, the points no other point beats on both (more output tokens per
//! second per GPU and more per user). Raising the load moves a plan along its own curve
//! toward more per GPU and less per user; the frontier is the best trade the search found.
use super::search::Evaluated;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontierPoint {
    pub label: String,
    pub rate: f64,
    pub tokens_per_s_per_user: f64,
    pub tokens_per_s_per_gpu: f64,
    pub attainment: f64,
}

/// Non-dominated points among those meeting the attainment target, by tokens per second per
/// user (ascending).
pub fn pareto(plans: &[Evaluated], target: f64) -> Vec<FrontierPoint> {
    let mut pts: Vec<FrontierPoint> = plans
        .iter()
        .flat_map(|e| {
            e.curve.iter().map(|s| FrontierPoint {
                label: e.label.clone(),
                rate: s.rate,
                tokens_per_s_per_user: s.tokens_per_s_per_user,
                tokens_per_s_per_gpu: s.tokens_per_s_per_gpu,
                attainment: s.attainment,
            })
        })
        .filter(|p| {
            p.attainment >= target && p.tokens_per_s_per_user > 0.0 && p.tokens_per_s_per_gpu > 0.0
        })
        .collect();
    // Sweep from the fastest per user down, keeping a point when it beats every faster
    // point's per-GPU throughput.
    pts.sort_by(|a, b| {
        b.tokens_per_s_per_user
            .total_cmp(&a.tokens_per_s_per_user)
            .then(b.tokens_per_s_per_gpu.total_cmp(&a.tokens_per_s_per_gpu))
    });
    let mut best = f64::NEG_INFINITY;
    let mut out = Vec::new();
    for p in pts {
        if p.tokens_per_s_per_gpu > best {
            best = p.tokens_per_s_per_gpu;
            out.push(p);
        }
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::search::RateSample;

    fn plan(label: &str, pts: &[(f64, f64)]) -> Evaluated {
        let c = crate::plan::candidates::Candidate {
            mode: crate::serve::cluster::Mode::Aggregated,
            groups: vec![],
            token_budget: None,
            estimate_rps: 0.0,
        };
        Evaluated {
            label: label.into(),
            deployment: crate::plan::deployment::Deployment {
                model: String::new(),
                hf_repo: String::new(),
                mode: c.mode,
                groups: vec![],
                max_batched_tokens: 0,
                chunked_prefill: false,
                max_seqs: 0,
                max_model_len: 0,
                gpus_per_node: 8,
            },
            candidate: c,
            goodput_rps: 0.0,
            goodput_per_gpu_rps: 0.0,
            per_gpu_range: None,
            at_goodput: None,
            curve: pts
                .iter()
                .map(|&(u, g)| RateSample {
                    rate: g,
                    attainment: 1.0,
                    tokens_per_s_per_gpu: g,
                    tokens_per_s_per_user: u,
                    ttft_p90_ms: 0.0,
                    tpot_p90_ms: 0.0,
                })
                .collect(),
        }
    }

    #[test]
    fn only_undominated_points_remain() {
        let a = plan("a", &[(50.0, 100.0), (30.0, 300.0), (10.0, 350.0)]);
        let b = plan("b", &[(40.0, 250.0), (45.0, 90.0), (20.0, 400.0)]);
        let mut c = plan("c", &[(60.0, 900.0)]);
        c.curve[0].attainment = 0.5;
        let f = pareto(&[a, b, c], 0.9);
        let got: Vec<(String, f64)> = f
            .iter()
            .map(|p| (p.label.clone(), p.tokens_per_s_per_user))
            .collect();
        // (45, 90) is beaten by (50, 100); (10, 350) by (20, 400); c misses the target.
        assert_eq!(
            got,
            [
                ("b".to_string(), 20.0),
                ("a".into(), 30.0),
                ("b".into(), 40.0),
                ("a".into(), 50.0)
            ]
        );
    }
}
