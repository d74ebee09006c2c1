use super::*;
use crate::model::cards::card;
use crate::serve::cost_model::{CostModel, Hardware};
use crate::serve::events::{Emitter, Event, RunControl, RunEvent};
use crate::serve::workload::{Count, LenDist, WorkloadSpec};
use std::sync::Arc;

fn cost() -> CostModel {
    let spec = card("smollm2-135m").expect("card").spec;
    CostModel::roofline_only(spec, Hardware::named("cpu").expect("preset"))
}

fn workload(rate: f64, n: usize, seed: u64) -> Vec<RequestSpec> {
    WorkloadSpec {
        rate,
        burstiness: 1.0,
        count: Count::Requests(n),
        prompt: LenDist::Uniform { lo: 20, hi: 300 },
        output: LenDist::Uniform { lo: 1, hi: 40 },
        seed,
    }
    .generate(49152, 17, 2048)
    .expect("workload")
}

fn modeled(mode: Mode, gpus: usize, kv_tokens: usize) -> ServeConfig {
    let mut c = ServeConfig::defaults(mode, gpus, 2048);
    c.clock = ClockKind::Modeled;
    c.kv_tokens = kv_tokens;
    c.token_budget = 64;
    c
}

type Tx = Option<crossbeam_channel::Sender<RunEvent>>;

/// A modeled run's inputs on the CPU profile, SLOs 2000 / 100 ms.
fn inputs(cfg: &ServeConfig, reqs: &[RequestSpec], stop_ids: &[u32], lean: bool) -> RunInputs {
    RunInputs {
        config: cfg.clone(),
        requests: reqs.to_vec().into(),
        model: None,
        cost: Some(Arc::new(cost())),
        slo: Slo {
            ttft_ms: 2000.0,
            tpot_ms: 100.0,
        },
        stop_ids: stop_ids.to_vec().into(),
        lean,
    }
}

fn go(cfg: &ServeConfig, reqs: &[RequestSpec], events: Tx) -> RunReport {
    go_with(cfg, reqs, &[], events, RunControl::default())
}

fn go_with(
    cfg: &ServeConfig,
    reqs: &[RequestSpec],
    stop_ids: &[u32],
    events: Tx,
    control: RunControl,
) -> RunReport {
    let inputs = inputs(cfg, reqs, stop_ids, false);
    let emitter = events.map_or_else(Emitter::none, |tx| Emitter::new(tx, 1));
    run(&inputs, &emitter, &control).expect("run")
}

/// Every event of a run, untagged (the tests run one mode at a time).
fn events_of(rx: &crossbeam_channel::Receiver<RunEvent>) -> Vec<Event> {
    rx.try_iter().map(|e| e.event).collect()
}

#[test]
fn every_request_finishes_with_its_output_length_in_every_mode() {
    let reqs = workload(4.0, 40, 1);
    for mode in Mode::ALL {
        // A small cache forces preemptions; every request must still finish.
        for kv in [400, 8192] {
            let r = go(&modeled(mode, 2, kv), &reqs, None);
            assert_eq!(r.requests.len(), reqs.len(), "{mode:?}");
            for (rec, spec) in r.requests.iter().zip(&reqs) {
                assert_eq!(rec.output_tokens, spec.output_tokens);
                assert_eq!(rec.arrival_s, spec.arrival_s);
                assert_eq!(rec.prompt_tokens, spec.prompt.len());
                let b = rec.breakdown_ms;
                let sum = b.prefill_queue
                    + b.prefill_exec
                    + b.kv_transfer
                    + b.decode_queue
                    + b.decode_exec;
                assert!(
                    (sum - rec.e2el_ms).abs() < 1e-6,
                    "{mode:?} {b:?} vs {}",
                    rec.e2el_ms
                );
                assert!(b.prefill_queue >= -1e-9 && b.decode_queue >= -1e-9, "{b:?}");
            }
        }
    }
}

#[test]
fn small_caches_preempt_and_large_ones_do_not() {
    let reqs = workload(f64::INFINITY, 30, 2);
    let small = go(&modeled(Mode::Aggregated, 1, 400), &reqs, None);
    let large = go(&modeled(Mode::Aggregated, 1, 16384), &reqs, None);
    assert!(small.summary.preemptions > 0);
    assert_eq!(large.summary.preemptions, 0);
}

#[test]
fn steps_respect_budgets_and_instances_never_overlap_or_idle_with_work() {
    let reqs = workload(3.0, 40, 3);
    for mode in Mode::ALL {
        let cfg = modeled(mode, 3, 8192);
        let (tx, rx) = crossbeam_channel::unbounded();
        let r = go(&cfg, &reqs, Some(tx));
        // When each KV transfer into an instance ended: the only other thing that wakes one.
        let arrived_kv: Vec<(usize, f64)> = events_of(&rx)
            .iter()
            .filter_map(|e| match e {
                Event::KvTransferred { to, end_s, .. } => Some((*to, *end_s)),
                _ => None,
            })
            .collect();
        for inst in 0..cfg.gpus {
            let steps: Vec<_> = r.steps.iter().filter(|s| s.instance == inst).collect();
            for w in steps.windows(2) {
                assert!(w[1].start_s >= w[0].end_s, "overlap on {inst}");
                if w[1].start_s > w[0].end_s {
                    // An idle gap must end with new work: an arrival or a KV transfer.
                    let t = w[1].start_s;
                    let arrival = r.requests.iter().any(|q| q.arrival_s == t);
                    let transfer = arrived_kv.contains(&(inst, t));
                    assert!(
                        arrival || (mode == Mode::Disaggregated && transfer),
                        "{mode:?} idle before {t}"
                    );
                }
            }
            for s in &steps {
                let limit = cfg.policy(s.role).token_limit();
                assert!(
                    s.prefill_tokens + s.decode_tokens <= limit,
                    "{mode:?} {s:?}"
                );
            }
        }
        if mode == Mode::Disaggregated {
            let (p, _) = cfg.split();
            use crate::serve::events::Role;
            for s in &r.steps {
                let prefill = s.instance < p;
                assert_eq!(s.role, if prefill { Role::Prefill } else { Role::Decode });
                assert!(!prefill || s.decode_tokens == 0, "{s:?}");
            }
            assert!(r
                .requests
                .iter()
                .all(|q| q.breakdown_ms.kv_transfer > 0.0 || q.output_tokens == 1));
        }
    }
}

#[test]
fn modeled_runs_are_bit_for_bit_reproducible() {
    let reqs = workload(2.0, 30, 4);
    for mode in Mode::ALL {
        let a = serde_json::to_string(&go(&modeled(mode, 2, 2048), &reqs, None)).expect("json");
        let b = serde_json::to_string(&go(&modeled(mode, 2, 2048), &workload(2.0, 30, 4), None))
            .expect("json");
        assert_eq!(a, b);
    }
    assert_ne!(workload(2.0, 30, 4), workload(2.0, 30, 5));
}

#[test]
fn events_describe_the_run() {
    let reqs = workload(2.0, 10, 5);
    let (tx, rx) = crossbeam_channel::unbounded();
    let r = go(&modeled(Mode::Disaggregated, 2, 8192), &reqs, Some(tx));
    let ev = events_of(&rx);
    let count = |f: fn(&Event) -> bool| ev.iter().filter(|e| f(e)).count();
    assert_eq!(count(|e| matches!(e, Event::Arrived { .. })), 10);
    assert_eq!(count(|e| matches!(e, Event::Finished(_))), 10);
    assert_eq!(count(|e| matches!(e, Event::StepDone(_))), r.steps.len());
    let tokens: usize = reqs.iter().map(|q| q.output_tokens).sum();
    assert_eq!(count(|e| matches!(e, Event::Token { .. })), tokens);
    let multi = reqs.iter().filter(|q| q.output_tokens > 1).count();
    // One transfer per request that decodes past its first token, no more.
    assert_eq!(count(|e| matches!(e, Event::KvTransferred { .. })), multi);
}

#[test]
fn a_cancelled_run_stops() {
    let reqs = workload(1.0, 20, 6);
    let control = RunControl::default();
    control.cancel();
    let r = go_with(&modeled(Mode::Chunked, 1, 8192), &reqs, &[], None, control);
    assert!(r.cancelled);
    assert!(r.requests.is_empty());
}

#[test]
fn impossible_configs_name_the_field() {
    let reqs = workload(1.0, 5, 7);
    let err = |c: ServeConfig| c.validate(&reqs).unwrap_err().to_string();
    let mut c = modeled(Mode::Disaggregated, 2, 8192);
    c.pd = Some((2, 1));
    assert!(err(c).starts_with("pd: 2:1 uses 3 GPUs"));
    let mut c = modeled(Mode::Disaggregated, 2, 8192);
    c.pd = Some((2, 0));
    assert!(err(c).starts_with("pd: "));
    let mut c = modeled(Mode::Chunked, 1, 8192);
    c.token_budget = 8;
    assert!(err(c).starts_with("sched.token_budget: 8 is smaller"));
    let e = err(modeled(Mode::Chunked, 1, 64));
    assert!(e.starts_with("sched.kv_tokens: KV cache too small"), "{e}");
    let mut c = modeled(Mode::Aggregated, 1, 8192);
    c.max_batched_tokens = 32;
    assert!(err(c).starts_with("sched.max_batched_tokens: 32"));
}

#[test]
fn a_full_decode_pool_makes_requests_wait_visibly() {
    let reqs = workload(f64::INFINITY, 30, 8);
    let roomy = go(&modeled(Mode::Disaggregated, 2, 16384), &reqs, None);
    let tight = go(&modeled(Mode::Disaggregated, 2, 400), &reqs, None);
    let waited = |r: &RunReport| {
        r.requests
            .iter()
            .map(|q| q.breakdown_ms.decode_queue)
            .fold(0.0, f64::max)
    };
    assert!(
        waited(&tight) > waited(&roomy) + 10.0,
        "{} vs {}",
        waited(&tight),
        waited(&roomy)
    );
    assert_eq!(tight.requests.len(), 30);
}

#[test]
fn stop_at_eos_ends_requests_early_only_when_asked() {
    let reqs = workload(2.0, 10, 9);
    let go_eos = |stop: bool| {
        let mut cfg = modeled(Mode::Chunked, 1, 8192);
        cfg.stop_at_eos = stop;
        // The modeled clock emits token 0 for every position: make it the end-of-sequence id.
        go_with(&cfg, &reqs, &[0], None, RunControl::default())
    };
    assert!(go_eos(true).requests.iter().all(|q| q.output_tokens == 1));
    let full = go_eos(false);
    assert!(full
        .requests
        .iter()
        .zip(&reqs)
        .all(|(q, s)| q.output_tokens == s.output_tokens));
}

#[test]
fn a_paused_run_waits_and_resumes_from_another_thread() {
    let reqs = workload(2.0, 10, 10);
    let cfg = modeled(Mode::Aggregated, 1, 8192);
    let control = RunControl::default();
    control.pause();
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::scope(|s| {
        let ctl = control.clone();
        let h = s.spawn(|| go_with(&cfg, &reqs, &[], Some(tx), ctl));
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(rx.try_recv().is_err(), "a paused run published events");
        control.resume();
        let r = h.join().expect("no panic");
        assert_eq!(r.requests.len(), 10);
        assert!(!r.cancelled);
    });
    assert!(rx.try_iter().count() > 10);
}

/// A lean run summarises exactly as a full one, keeping no step records and two token times
/// per request.
#[test]
fn a_lean_run_summarises_like_a_full_one() {
    let reqs = workload(20.0, 60, 3);
    for mode in Mode::ALL {
        let cfg = modeled(mode, 2, 4096);
        let full = go(&cfg, &reqs, None);
        let lean = run(
            &inputs(&cfg, &reqs, &[], true),
            &Emitter::none(),
            &RunControl::default(),
        )
        .expect("lean");
        let (a, b) = (&full.summary, &lean.summary);
        assert_eq!(
            (
                a.ttft_ms,
                a.tpot_ms,
                a.e2el_ms,
                a.attainment,
                a.goodput_rps,
                a.duration_s
            ),
            (
                b.ttft_ms,
                b.tpot_ms,
                b.e2el_ms,
                b.attainment,
                b.goodput_rps,
                b.duration_s
            ),
            "{mode:?}"
        );
        assert!(!full.steps.is_empty() && lean.steps.is_empty());
        assert!(lean.requests.iter().all(|r| r.token_times_s.len() <= 2));
    }
}

/// Tensor parallelism: a TP2 instance takes less time per step than a TP1 one, counts two
/// GPUs, and is refused on a clock that really computes.
#[test]
fn tensor_parallel_instances_are_faster_and_count_their_gpus() {
    let reqs = workload(40.0, 60, 5);
    let mut one = modeled(Mode::Disaggregated, 2, 8192);
    let r1 = go(&one, &reqs, None);
    one.tp = 2;
    one.decode_tp = 4;
    let r2 = go(&one, &reqs, None);
    assert_eq!((r1.physical_gpus, r2.physical_gpus), (2, 6));
    assert!(r2.summary.ttft_ms.mean < r1.summary.ttft_ms.mean);
    assert!(r2.summary.goodput_per_gpu_rps <= r2.summary.goodput_rps / 6.0 + 1e-9);
    one.clock = ClockKind::Measured;
    let err = one.validate(&[]).expect_err("measured TP").to_string();
    assert!(err.starts_with("tp:"), "{err}");
}
