//! The lesson panel and presenter mode driven like a user (kittest, no display): lesson 4 from
//! its first step to the end — each step's action runs, its check holds on the run's numbers,
//! its question is answered — and the presenter's inject button stalls the streams.
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use engine::lesson::base_experiment;
use goodput_lab::gui::app::{View, Workbench};
use std::time::{Duration, Instant};

fn harness() -> Harness<'static, Workbench> {
    Harness::builder()
        .with_size([1600.0, 1000.0])
        .build_ui_state(
            |ui, wb: &mut Workbench| wb.frame_ui(ui),
            Workbench::new(base_experiment()),
        )
}

/// Steps the window until the step's action has brought its data.
fn wait_for_step(h: &mut Harness<'static, Workbench>) {
    let t0 = Instant::now();
    loop {
        h.step();
        let s = h.state();
        if s.lessons.waiting.is_none() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "step {} never finished; error {:?}",
            s.lessons.step,
            s.error
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

#[test]
fn lesson_4_walks_from_start_to_end_with_every_check_holding() {
    let mut h = harness();
    h.get_by_label("Lessons").click();
    h.run_steps(2);
    h.get_by_label("4. Interference: a prefill slows every decode in its step")
        .click();
    h.run_steps(2);
    let lesson = h.state().lessons.lesson().cloned().expect("lesson 4 open");
    assert_eq!(h.state().lessons.step, 0);
    let n = lesson.lesson.steps.len();
    for (i, step) in lesson.lesson.steps.iter().enumerate() {
        wait_for_step(&mut h);
        let s = h.state();
        assert_eq!(s.lessons.step, i);
        if let Some(hl) = step.highlight {
            let want = goodput_lab::gui::lesson_state::view_of(hl.view);
            assert_eq!(s.view, want, "step {i} points at the wrong view");
            assert_eq!(s.highlight, hl.chart);
        }
        if step.check.is_some() {
            match &s.lessons.outcome {
                Some(Ok(o)) => assert!(o.passed, "step {i}: {}", o.describe()),
                other => panic!("step {i}: no outcome: {other:?}"),
            }
            // The learner's numbers are on screen, in green.
            h.get_by_label("Holds on your run:");
        }
        if let Some(q) = &step.question {
            let right = q.choices.iter().find(|c| c.correct).expect("an answer");
            h.get_by_label(&right.text).click();
            h.run_steps(2);
            assert!(h
                .query_by_label(&format!("Right: {}", right.explanation))
                .is_some());
        }
        let next = if i + 1 < n { "Next" } else { "Finish" };
        h.get_by_label(next).click();
        h.run_steps(2);
    }
    // Finished: back to the list, progress kept at the last step.
    assert!(h.state().lessons.current.is_none());
    assert_eq!(
        h.state().lessons.progress.get("04-interference.ron"),
        Some(&(n - 1))
    );
    assert!(h
        .state()
        .lessons
        .progress_ron()
        .contains("04-interference.ron"));
}

#[test]
fn a_wrong_answer_is_explained_and_back_restores_the_previous_step() {
    let mut h = harness();
    h.get_by_label("Lessons").click();
    h.run_steps(2);
    h.get_by_label("4. Interference: a prefill slows every decode in its step")
        .click();
    wait_for_step(&mut h);
    let q = h.state().lessons.lesson().unwrap().lesson.steps[0]
        .question
        .clone()
        .unwrap();
    let wrong = q.choices.iter().find(|c| !c.correct).unwrap();
    h.get_by_label(&wrong.text).click();
    h.run_steps(2);
    assert!(h
        .query_by_label(&format!("Not quite: {}", wrong.explanation))
        .is_some());
    h.get_by_label("Next").click();
    wait_for_step(&mut h);
    h.get_by_label("Back").click();
    wait_for_step(&mut h);
    assert_eq!(h.state().lessons.step, 0);
    assert_eq!(h.state().view, View::Interference);
    assert_eq!(h.state().experiment.model, "tiny");
}

#[test]
fn presenter_injects_a_long_prompt_and_switches_modes_by_key() {
    use engine::serve::cluster::{ClockKind, Mode};
    use engine::serve::workload::LenDist;
    use goodput_lab::gui::presenter::Presenter;
    let mut base = base_experiment();
    base.clock = ClockKind::Measured;
    base.threads = Some(1);
    base.gpus = 2;
    base.workload.rate = 50.0;
    base.workload.num_requests = 400;
    base.workload.prompt_len = Some(LenDist::Fixed(16));
    base.workload.output_len = Some(LenDist::Fixed(40));
    let mut h = harness();
    let current = h.state().experiment.clone();
    h.state_mut().presenter = Some(Presenter::with_experiment(&current, base));
    h.run_steps(2);
    let label = format!(
        "Inject a {}-token prompt (I)",
        h.state().presenter.as_ref().unwrap().inject_tokens
    );
    h.get_by_label(&label).click();
    let t0 = Instant::now();
    loop {
        h.step();
        let p = h.state().presenter.as_ref().unwrap();
        if p.streams.injected_first_token().is_some() {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no injected stream");
        std::thread::sleep(Duration::from_millis(10));
    }
    let p = h.state().presenter.as_ref().unwrap();
    assert_eq!(p.streams.injections.len(), 1);
    assert!(p
        .streams
        .streams
        .values()
        .any(|s| s.injected && s.tokens > 0));
    assert!(!p.streams.gaps.is_empty());
    // Key 2: chunked, a fresh run.
    h.key_press(egui::Key::Num2);
    h.run_steps(2);
    let p = h.state().presenter.as_ref().unwrap();
    assert_eq!(p.mode, Mode::Chunked);
    assert!(p.streams.injections.is_empty());
    // Escape leaves presenter mode.
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(h.state().presenter.is_none());
}
