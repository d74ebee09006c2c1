//! The Plan view driven like a user: a small cluster plan searched to the end, its ranked rows,
//! a row picked and its launch settings shown; a model that cannot fit shows the engine's error.
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use engine::plan::PlanSpec;
use goodput_lab::gui::app::{View, Workbench};

mod common;
use common::{small_plan_spec, tiny, wait_for, window};

#[test]
fn plan_is_a_view_name() {
    assert_eq!(View::parse("plan"), Some(View::Plan));
}

fn plan_window(spec: PlanSpec) -> Harness<'static, Workbench> {
    let mut h = window(tiny(engine::serve::cluster::ClockKind::Modeled, 10));
    h.get_by_label("Plan").click();
    h.run_steps(2);
    assert_eq!(h.state().view, View::Plan);
    h.state_mut().plan.spec = spec;
    h.get_by_label("Run plan").click();
    h.step();
    wait_for(&mut h, 300, "the plan search", |w| {
        w.worker.plan.generation > 0
    });
    h
}

#[test]
fn a_small_plan_fills_the_table_and_a_picked_row_shows_its_launch_settings() {
    let mut h = plan_window(small_plan_spec());
    assert_eq!(h.state().worker.plan.error, None);
    let plans = h.state().worker.plan.report.as_ref().unwrap().plans.clone();
    assert!(plans.len() >= 3, "{} plans", plans.len());
    let best = plans[0].goodput_per_gpu_rps;
    assert!(best > 0.0);
    assert!(plans.iter().all(|e| e.goodput_per_gpu_rps <= best));
    // The first row is the best plan, with its per-GPU goodput and error range on screen.
    let (lo, hi) = plans[0]
        .per_gpu_range
        .expect("the best plan has an error bar");
    let shown = format!("{best:.3} [{lo:.3}–{hi:.3}]");
    assert!(h.query_by_label(&shown).is_some(), "{shown} is not shown");
    assert_eq!(h.state().plan.selected, Some(0));
    // Pick the second row: its launch settings replace the first's.
    h.get_by_label(&plans[1].label).click();
    h.run_steps(2);
    assert_eq!(h.state().plan.selected, Some(1));
    let header = format!("Launch settings: #2 {}", plans[1].label);
    assert!(h.query_by_label(&header).is_some(), "{header} is not shown");
    // A label's text is its AccessKit value.
    let script = |n: &egui_kittest::kittest::AccessKitNode<'_>| {
        n.value()
            .is_some_and(|l| l.starts_with("#!/usr/bin/env bash") && l.contains("vllm serve"))
    };
    assert!(h.query_by(script).is_some(), "no vLLM script shown");
    assert!(h.query_by_label_contains("Cost model: ").is_some());
    h.get_by_label("sglang.sh").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("launch_server").is_some());
}

#[test]
fn a_model_that_cannot_fit_shows_the_engines_error_and_the_window_goes_on() {
    let spec = PlanSpec {
        model: "llama-3-70b".into(),
        hardware: "a100-40".into(),
        gpus: 2,
        ..PlanSpec::default()
    };
    let mut h = plan_window(spec);
    let err = h.state().worker.plan.error.clone().expect("an error");
    assert!(
        err.starts_with("gpus: ") && err.contains("does not fit"),
        "{err}"
    );
    assert!(h.state().worker.plan.report.is_none());
    // Shown under the control that sets the field.
    assert!(h.query_by_label_contains("GPU budget: ").is_some());
    assert!(h.query_by_label_contains("does not fit").is_some());
    for view in ["Compare", "Plan"] {
        h.get_by_label(view).click();
        h.run_steps(2);
    }
    assert!(h.query_by_label("Run plan").is_some());
}

#[test]
fn cancel_stops_a_running_search() {
    let mut h = window(tiny(engine::serve::cluster::ClockKind::Modeled, 10));
    h.get_by_label("Plan").click();
    h.run_steps(2);
    // The default spec (70B on 16 H100s) searches for a while: long enough to cancel.
    h.get_by_label("Run plan").click();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("candidates").is_some(),
        "no progress bar"
    );
    h.get_by_label("Cancel plan").click();
    h.step();
    wait_for(&mut h, 300, "the cancelled search's end", |w| {
        w.worker.plan.generation > 0
    });
    let job = &h.state().worker.plan;
    assert_eq!(job.error, None);
    assert!(job.report.is_none());
    assert!(job.line.starts_with("cancelled after"), "{}", job.line);
    assert!(h.query_by_label("Run plan").is_some());
}
