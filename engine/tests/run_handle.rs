//! A run owned by a worker thread and driven only through its `RunHandle`: spawn, read events,
//! pause, resume, cancel — no borrowed inputs (what the workbench and lessons rely on).
use engine::serve::cluster::{ClockKind, Mode};
use engine::serve::events::Event;
use engine::serve::experiment::{spawn, Experiment};
use engine::serve::workload::LenDist;
use std::time::Duration;

fn tiny_measured(n: usize) -> Experiment {
    let mut e = Experiment {
        model: "tiny".into(),
        synthetic: true,
        threads: Some(1),
        clock: ClockKind::Measured,
        ..Experiment::default()
    };
    e.workload.rate = 200.0;
    e.workload.num_requests = n;
    e.workload.prompt_len = Some(LenDist::Uniform { lo: 16, hi: 64 });
    e.workload.output_len = Some(LenDist::Uniform { lo: 8, hi: 24 });
    e.sched.token_budget = 64;
    e.sched.kv_tokens = 4096;
    e
}

#[test]
fn a_spawned_run_is_read_paused_resumed_and_cancelled_through_its_handle() {
    let h = spawn(tiny_measured(400), None).unwrap();
    // Events flow, each tagged with the run and (for request events) the mode.
    let first = h.events.recv_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(first.run, h.id);
    let step = loop {
        let e = h.events.recv_timeout(Duration::from_secs(60)).unwrap();
        if let Event::StepDone(_) = e.event {
            break e;
        }
    };
    assert_eq!(step.mode, Some(Mode::Aggregated));

    h.pause();
    // A step in flight may still land; after that, nothing while paused.
    std::thread::sleep(Duration::from_millis(100));
    while h.events.try_recv().is_ok() {}
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        h.events.try_recv().is_err(),
        "a paused run published events"
    );
    assert!(!h.is_finished());

    h.resume();
    let after = h.events.recv_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(after.run, h.id);

    h.cancel();
    let out = h.join().unwrap();
    // Cancelled in its first mode: one report, marked cancelled, short of the workload.
    assert_eq!(out.reports.len(), 1);
    assert!(out.reports[0].cancelled);
    assert!(out.reports[0].requests.len() < 400);
}

#[test]
fn a_spawned_run_finishes_every_mode_and_its_events_match_the_reports() {
    let h = spawn(tiny_measured(12), None).unwrap();
    let events: Vec<_> = h.events.iter().collect();
    let out = h.join().unwrap();
    assert_eq!(out.reports.len(), 3);
    for r in &out.reports {
        assert!(!r.cancelled);
        let finished = events
            .iter()
            .filter(|e| e.mode == Some(r.mode) && matches!(e.event, Event::Finished(_)))
            .count();
        assert_eq!(finished, r.requests.len());
        assert_eq!(r.requests.len(), 12);
    }
    // One progress line per finished mode.
    let lines = events
        .iter()
        .filter(|e| matches!(e.event, Event::Progress { .. }) && e.mode.is_some())
        .count();
    assert_eq!(lines, 3);
}

#[test]
fn a_bad_experiment_fails_in_the_handle_naming_the_field() {
    let mut e = tiny_measured(5);
    e.sched.token_budget = 4;
    let err = spawn(e, None).unwrap().join().err().unwrap().to_string();
    assert!(err.starts_with("sched.token_budget: 4"), "{err}");
}
