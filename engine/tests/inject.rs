//! A long prompt joining a steady decode load: in aggregated mode the step that admits it is a
//! long stall for every running decode; chunked feeds it in budget-sized pieces, so its worst
//! step is far shorter (asserted on the step records, not on wall time). Also: a viewer's live
//! injection arrives in a running run, paced or not.
use engine::lesson::with_long_prompt;
use engine::serve::cluster::{run, ClockKind, Mode};
use engine::serve::events::{Emitter, Injection, RunControl, StepRecord};
use engine::serve::experiment::{prepare, Experiment};
use engine::serve::workload::LenDist;

fn steady(clock: ClockKind) -> Experiment {
    let mut e = Experiment {
        model: "tiny".into(),
        synthetic: true,
        threads: Some(1),
        clock,
        gpus: 1,
        modes: vec![Mode::Aggregated, Mode::Chunked],
        ..Experiment::default()
    };
    e.workload.rate = 200.0;
    e.workload.num_requests = 40;
    e.workload.seed = 3;
    e.workload.prompt_len = Some(LenDist::Fixed(32));
    e.workload.output_len = Some(LenDist::Fixed(48));
    e.sched.token_budget = 64;
    e
}

fn longest(steps: &[StepRecord]) -> &StepRecord {
    steps
        .iter()
        .max_by(|a, b| (a.end_s - a.start_s).total_cmp(&(b.end_s - b.start_s)))
        .expect("steps")
}

fn median_decode_step(steps: &[StepRecord]) -> f64 {
    let mut d: Vec<f64> = steps
        .iter()
        .filter(|s| s.prefill_tokens == 0 && s.decode_tokens > 0)
        .map(|s| s.end_s - s.start_s)
        .collect();
    d.sort_by(f64::total_cmp);
    d[d.len() / 2]
}

#[test]
fn a_long_prompt_stalls_aggregated_decodes_more_than_chunked() {
    let p = prepare(&steady(ClockKind::Modeled), None, &Emitter::none()).expect("prepare");
    let reqs = p.requests(p.experiment.workload.rate).expect("requests");
    let with = with_long_prompt(&reqs, 900, 512); // tiny's vocabulary: 512

    let mut worst = Vec::new();
    for (mi, mode) in [Mode::Aggregated, Mode::Chunked].iter().enumerate() {
        let r = run(
            &p.inputs(mi, with.clone()),
            &Emitter::none(),
            &RunControl::default(),
        )
        .expect("run");
        assert_eq!(r.mode, *mode);
        let w = longest(&r.steps);
        let base = median_decode_step(&r.steps);
        worst.push((w.end_s - w.start_s, base, w.clone()));
    }
    let (agg, agg_base, agg_step) = &worst[0];
    let (chunk, _, chunk_step) = &worst[1];
    // Aggregated admits the 900 tokens in one step that also carries decodes.
    assert!(agg_step.prefill_tokens >= 900, "{agg_step:?}");
    assert!(agg_step.decode_tokens > 0, "{agg_step:?}");
    assert!(
        *agg > 5.0 * agg_base,
        "spike {agg} vs decode step {agg_base}"
    );
    // Chunked never puts more than its budget in a step: a far smaller spike.
    assert!(chunk_step.prefill_tokens + chunk_step.decode_tokens <= 64);
    assert!(*chunk < agg / 3.0, "chunked {chunk} vs aggregated {agg}");
}

#[test]
fn an_injected_prompt_arrives_in_a_running_run() {
    for paced in [false, true] {
        let mut e = steady(ClockKind::Measured);
        e.workload.num_requests = 6;
        e.workload.rate = 100.0;
        let p = prepare(&e, None, &Emitter::none()).expect("prepare");
        let reqs = p.requests(e.workload.rate).expect("requests");
        let control = RunControl::default();
        control.set_paced(paced);
        control.inject(Injection::placeholder(300, 3));
        let r = run(&p.inputs(0, reqs), &Emitter::none(), &control).expect("run");
        assert_eq!(r.requests.len(), 7, "paced {paced}");
        let injected = &r.requests[6];
        assert_eq!((injected.prompt_tokens, injected.output_tokens), (300, 3));
        assert!(r.steps.iter().any(|s| s.prefill_tokens >= 300));
        assert!(control.take_inbox().0.is_empty());
    }
}
