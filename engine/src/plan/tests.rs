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
