//! The workbench driven like a user: controls found by their labels (AccessKit), a run to the
//! end, and the window following the engine's data. No display needed (kittest).
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use engine::serve::cluster::{ClockKind, Mode};
use goodput_lab::gui::app::Workbench;
use goodput_lab::gui::worker::Status;
use std::time::{Duration, Instant};

mod common;
use common::{cli, run_to_end, tiny, window as harness};

fn shown_attainment(h: &mut Harness<'static, Workbench>, mode: usize) -> f64 {
    let slo = h.state().experiment.slo;
    let a = h.state_mut().worker.store.modes[mode]
        .summary(slo)
        .attainment
        .joint
        * 100.0;
    // The value the counters show is on screen.
    let text = format!("{a:.1} %");
    assert!(
        h.query_all_by_label(&text).next().is_some(),
        "{text} is not shown"
    );
    a
}

#[test]
fn a_modeled_run_fills_every_view_and_tighter_slos_lower_the_attainment_shown() {
    let mut h = harness(tiny(ClockKind::Modeled, 60));
    h.get_by_label("Run").click();
    h.step();
    run_to_end(&mut h);
    for d in &h.state().worker.store.modes {
        assert_eq!(d.requests.len(), 60, "{:?}", d.mode);
        assert!(!d.steps.is_empty());
    }
    let before = shown_attainment(&mut h, 0);
    // Tighten the TPOT SLO through its slider (as a screen reader would set it).
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "TPOT SLO (ms)")
        .set_value_accesskit(0.02);
    h.run_steps(2);
    assert!(
        h.state().experiment.slo.tpot_ms < 0.05,
        "{}",
        h.state().experiment.slo.tpot_ms
    );
    let after = shown_attainment(&mut h, 0);
    assert!(after < before, "attainment {before} → {after}");
    for view in ["Curves", "Interference", "Inspector", "Plan", "Compare"] {
        h.get_by_label(view).click();
        h.run_steps(2);
    }
}

#[test]
fn chunking_changes_the_step_timeline() {
    let mut h = harness(tiny(ClockKind::Modeled, 40));
    h.get_by_label("Run").click();
    h.step();
    run_to_end(&mut h);
    let budget = h.state().experiment.sched.token_budget;
    let max_tokens = |m: Mode, h: &Harness<'static, Workbench>| {
        let d = h
            .state()
            .worker
            .store
            .modes
            .iter()
            .find(|d| d.mode == m)
            .unwrap()
            .clone();
        d.steps
            .iter()
            .map(|s| s.prefill_tokens + s.decode_tokens)
            .max()
            .unwrap()
    };
    // Aggregated admits whole prompts (up to 200 tokens); chunked steps stay within the budget.
    assert!(max_tokens(Mode::Aggregated, &h) > budget);
    assert!(max_tokens(Mode::Chunked, &h) <= budget);
}

#[test]
fn pause_stops_the_counters_and_resume_restarts_them() {
    let mut e = tiny(ClockKind::Measured, 3000);
    e.workload.rate = 300.0;
    let mut h = harness(e);
    h.get_by_label("Run").click();
    h.step();
    let t0 = Instant::now();
    while h.state().worker.store.modes[0].requests.len() < 5 {
        assert!(t0.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.get_by_label("Pause").click();
    h.step();
    assert_eq!(h.state().worker.status, Status::Paused);
    std::thread::sleep(Duration::from_millis(200));
    h.step();
    let frozen = h.state().worker.store.modes[0].requests.len();
    std::thread::sleep(Duration::from_millis(300));
    h.run_steps(3);
    assert_eq!(
        h.state().worker.store.modes[0].requests.len(),
        frozen,
        "counters moved while paused"
    );
    h.get_by_label("Resume").click();
    let t0 = Instant::now();
    while h.state().worker.store.modes[0].requests.len() == frozen {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no progress after resume"
        );
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.get_by_label("Reset").click();
    h.step();
    assert_eq!(h.state().worker.status, Status::Idle);
}

#[test]
fn a_bad_setting_shows_an_error_and_keeps_the_window_usable() {
    // A setting the bar has no control for (the bar's own fields clamp to valid ranges).
    let mut e = tiny(ClockKind::Modeled, 10);
    e.sched.max_seqs = 0;
    let mut h = harness(e);
    h.get_by_label("Run").click();
    let t0 = Instant::now();
    while !matches!(h.state().worker.status, Status::Failed(_)) {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{:?}",
            h.state().worker.status
        );
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    let Status::Failed(err) = h.state().worker.status.clone() else {
        unreachable!()
    };
    assert!(err.starts_with("sched.max_seqs: "), "{err}");
    // The window says so in its status line.
    assert!(h.query_by_label_contains("sched.max_seqs").is_some());
    h.state_mut().experiment.sched.max_seqs = 64;
    h.get_by_label("Run").click();
    h.step();
    run_to_end(&mut h);
    assert_eq!(h.state().worker.store.modes[0].requests.len(), 10);
}

/// The window and the command line agree on a seeded modeled experiment.
#[test]
fn the_window_and_the_cli_give_the_same_numbers() {
    let e = tiny(ClockKind::Modeled, 50);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("e.ron");
    std::fs::write(&file, e.to_ron().unwrap()).unwrap();
    let json = dir.path().join("b.json");
    cli([
        "bench",
        "--experiment",
        file.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let from_cli: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let mut h = harness(e);
    h.get_by_label("Run").click();
    h.step();
    run_to_end(&mut h);
    let slo = h.state().experiment.slo;
    for (i, m) in from_cli["modes"].as_array().unwrap().iter().enumerate() {
        let s = h.state_mut().worker.store.modes[i].summary(slo).clone();
        // JSON text round-trips floats to within an ulp.
        let same = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
        let g = m["summary"]["goodput_rps"].as_f64().unwrap();
        assert!(same(g, s.goodput_rps), "mode {i}: {g} vs {}", s.goodput_rps);
        let t = m["summary"]["ttft_ms"]["p90"].as_f64().unwrap();
        assert!(same(t, s.ttft_ms.p90), "mode {i}: {t} vs {}", s.ttft_ms.p90);
        assert!(s.goodput_rps > 0.0);
    }
}
