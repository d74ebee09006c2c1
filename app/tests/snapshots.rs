//! Snapshot images of each view after a seeded modeled run, rendered headless (wgpu on Mesa's
//! lavapipe in CI). The images live in tests/snapshots/; regenerate them after a deliberate
//! change with `UPDATE_SNAPSHOTS=1 cargo test -p app --test snapshots` and look at each one.
mod common;
use common::{run_to_end, small_plan_spec, tiny, view, wait_for};
use egui_kittest::Harness;
use engine::serve::cluster::ClockKind;
use goodput_lab::gui::app::{View, Workbench};

const SIZE: [f32; 2] = [1280.0, 900.0];

/// The view as it is, without the pointer (a resting pointer would draw hover marks).
fn snap(h: &mut Harness<'static, Workbench>, view: View, name: &str) {
    h.state_mut().view = view;
    h.remove_cursor();
    h.run_steps(3);
    h.snapshot(name);
}

fn finished_run() -> Harness<'static, Workbench> {
    let mut e = tiny(ClockKind::Modeled, 120);
    // SLOs that each mode misses in its own way: chunked's TTFT, the others' TPOT tail.
    e.slo.ttft_ms = 10.0;
    e.slo.tpot_ms = 1.25;
    let mut h = view(e, SIZE);
    h.state_mut().start();
    run_to_end(&mut h);
    h
}

#[test]
fn compare_view() {
    let mut h = finished_run();
    snap(&mut h, View::Compare, "compare");
}

#[test]
fn curves_view() {
    let mut h = finished_run();
    h.state_mut().start_sweep();
    wait_for(&mut h, 120, "the sweep", |w| {
        w.worker.sweep.report.is_some()
    });
    snap(&mut h, View::Curves, "curves");
}

#[test]
fn inspector_view() {
    let mut h = finished_run();
    snap(&mut h, View::Inspector, "inspector");
}

/// The modeled clock's table comes from the cost model, so it is the same on every machine.
/// `tiny` is too small for a prefill to slow its steps (the fixed per-step cost dominates), so
/// this one models Llama-2-13B on an H100, the published curve's setting.
#[test]
fn interference_view() {
    let mut e = tiny(ClockKind::Modeled, 10);
    e.model = "llama-2-13b".into();
    e.hardware = "h100".into();
    let mut h = view(e, SIZE);
    h.state_mut().start_interference();
    wait_for(&mut h, 120, "the interference table", |w| {
        w.worker.interference.handle.is_none()
    });
    assert_eq!(h.state().worker.interference.error, None);
    assert!(!h.state().worker.interference.rows.is_empty());
    snap(&mut h, View::Interference, "interference");
}

/// A small cluster plan (7B on four A100s): the ranked table, the frontier, the goodput curves
/// and the best plan's launch settings. The search is seeded and modeled, so it is the same on
/// every machine.
#[test]
fn plan_view() {
    let mut h = view(tiny(ClockKind::Modeled, 10), SIZE);
    h.state_mut().plan.spec = small_plan_spec();
    h.state_mut().start_plan();
    wait_for(&mut h, 300, "the plan search", |w| {
        w.worker.plan.generation > 0
    });
    assert_eq!(h.state().worker.plan.error, None);
    snap(&mut h, View::Plan, "plan");
}
