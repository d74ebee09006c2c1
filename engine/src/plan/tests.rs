//! The plan search against brute force on a small case, and its reproducibility.
use super::candidates::enumerate;
use super::search::plan;
use super::spec::PlanSpec;
use crate::serve::cluster::Mode;
use crate::serve::cost_model::CostModel;
use crate::serve::events::{Emitter, RunControl};
use crate::serve::metrics::Slo;
use crate::serve::workload::LenDist;

fn small() -> PlanSpec {
    PlanSpec {
        model: "llama-2-7b".into(),
        hardware: "a100-80".into(),
        gpus: 4,
        slo: Slo {
            ttft_ms: 300.0,
            tpot_ms: 30.0,
        },
        prompt_len: Some(LenDist::Uniform { lo: 200, hi: 600 }),
        output_len: Some(LenDist::Uniform { lo: 16, hi: 64 }),
        num_requests: Some(300),
        seeds: 2,
        error_bar_top: 2,
        tp: Some(vec![1, 2]),
        token_budgets: vec![512],
        ..PlanSpec::default()
    }
}

/// Every candidate's goodput is where its attainment really crosses the target (met there,
/// missed 10 % above), and the best plan is the best of a brute-force grid over all of them.
#[test]
fn the_search_finds_the_brute_force_optimum() {
    let spec = small();
    let report = plan(&spec, &Emitter::none(), &RunControl::default()).expect("plan");
    let c = spec.check().expect("spec");
    let cost = CostModel::new(c.card.spec.clone(), c.hardware.clone());
    let cands = enumerate(&c, &cost);
    assert_eq!(report.plans.len(), cands.len());
    let modes: Vec<Mode> = report.plans.iter().map(|p| p.candidate.mode).collect();
    for m in Mode::ALL {
        assert!(modes.contains(&m), "{m:?} searched");
    }
    let probe = |label: &str, rate: f64| -> f64 {
        let one = PlanSpec {
            seeds: 1,
            error_bar_top: 0,
            ..spec.clone()
        };
        // The same simulation the search runs, through its public report: a plan of one
        // candidate at a fixed rate is not exposed, so rerun the search's simulate by seed.
        super::search::attainment_at(&one, label, rate).expect("probe")
    };
    let mut brute_best = (String::new(), 0.0f64);
    for e in &report.plans {
        let r = e.goodput_rps;
        assert!(r > 0.0, "{} serves something", e.label);
        assert!(
            probe(&e.label, r) >= spec.attainment,
            "{} meets at {r}",
            e.label
        );
        assert!(
            probe(&e.label, r * 1.1) < spec.attainment,
            "{} misses 10 % above {r}",
            e.label
        );
        // Brute force: the highest rate of a 2 % grid from 0 that still meets the target.
        let gpus = e.candidate.gpus() as f64;
        let step = r * 0.02;
        let mut k = 1;
        while probe(&e.label, step * (k + 1) as f64) >= spec.attainment && k < 80 {
            k += 1;
        }
        let per_gpu = step * k as f64 / gpus;
        if per_gpu > brute_best.1 {
            brute_best = (e.label.clone(), per_gpu);
        }
    }
    let best = &report.plans[0];
    assert!(
        best.label == brute_best.0 || best.goodput_per_gpu_rps >= brute_best.1 * 0.97,
        "search picked {} ({:.3}/GPU), brute force {} ({:.3}/GPU)",
        best.label,
        best.goodput_per_gpu_rps,
        brute_best.0,
        brute_best.1
    );
    let (lo, hi) = best.per_gpu_range.expect("error bar");
    assert!(lo <= best.goodput_per_gpu_rps && best.goodput_per_gpu_rps <= hi);
}

#[test]
fn a_plan_is_reproducible_and_explains_what_does_not_fit() {
    let spec = PlanSpec {
        modes: vec![Mode::Chunked],
        ..small()
    };
    let a = plan(&spec, &Emitter::none(), &RunControl::default()).expect("a");
    let b = plan(&spec, &Emitter::none(), &RunControl::default()).expect("b");
    assert_eq!(
        serde_json::to_string(&a.plans).expect("json"),
        serde_json::to_string(&b.plans).expect("json")
    );
    // 70B on two 40 GB GPUs: nothing fits, and the error says so by field.
    let too_big = PlanSpec {
        model: "llama-3-70b".into(),
        hardware: "a100-40".into(),
        gpus: 2,
        ..small()
    };
    let err = plan(&too_big, &Emitter::none(), &RunControl::default())
        .expect_err("does not fit")
        .to_string();
    assert!(
        err.starts_with("gpus:") && err.contains("does not fit"),
        "{err}"
    );
    let bad = PlanSpec {
        tp: Some(vec![16]),
        ..small()
    };
    assert!(bad.check().expect_err("tp").to_string().starts_with("tp:"));
}

/// DistServe's Fig. 1 (Llama-2-13B on A100-80GB, prompt 512 / output 64, TTFT ≤ 400 ms,
/// TPOT ≤ 40 ms, 90 %): the paper measured 1.6 req/s per GPU colocated and 3.3 for 2P:1D.
/// With KV pools sized from the GPU's memory and the paper's colocated baseline (prompts in
/// steps of their own), the model agrees on the direction: 2P:1D serves more per GPU.
#[test]
fn distserve_fig1_direction_holds_with_memory_sized_kv() {
    let spec = PlanSpec {
        model: "llama-2-13b".into(),
        hardware: "a100-80".into(),
        gpus: 3,
        slo: Slo {
            ttft_ms: 400.0,
            tpot_ms: 40.0,
        },
        prompt_len: Some(LenDist::Fixed(512)),
        output_len: Some(LenDist::Fixed(64)),
        num_requests: Some(600),
        seeds: 1,
        error_bar_top: 0,
        tp: Some(vec![1]),
        modes: vec![Mode::Aggregated, Mode::Disaggregated],
        prefill_only_steps: true,
        ..PlanSpec::default()
    };
    let r = plan(&spec, &Emitter::none(), &RunControl::default()).expect("plan");
    let per_gpu = |label: &str| {
        r.plans
            .iter()
            .find(|p| p.label == label)
            .map(|p| p.goodput_per_gpu_rps)
            .unwrap_or_else(|| panic!("{label} searched"))
    };
    let colocated = per_gpu("aggregated 3×TP1");
    let two_to_one = per_gpu("disaggregated 2×TP1P : 1×TP1D");
    assert!(
        two_to_one > 1.15 * colocated,
        "2P:1D {two_to_one} vs colocated {colocated}"
    );
    // Each pool is sized from the GPU: 72 GB less 26 GB of weights holds ~56k tokens of
    // 13B's KV, where the experiment default (8192 tokens) starved the one decode instance.
    let c = spec.check().expect("spec");
    let cand = &r
        .plans
        .iter()
        .find(|p| p.label.starts_with("disagg"))
        .expect("disagg");
    let cfg = crate::plan::candidates::serve_config(&c, &cand.candidate);
    assert!(
        (50_000..60_000).contains(&cfg.kv_tokens),
        "{}",
        cfg.kv_tokens
    );
}
