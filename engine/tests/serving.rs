//! Serving on the real engine (tiny, synthetic weights, measured clock).
mod common;
use engine::backend::cpu::session::Session;
use engine::backend::step::StepPart;
use engine::serve::cluster::{run, ClockKind, Mode, RunInputs, ServeConfig};
use engine::serve::events::{Emitter, Event, RunControl};
use engine::serve::metrics::Slo;
use engine::serve::workload::{Count, LenDist, WorkloadSpec};
use std::collections::BTreeMap;

#[test]
fn a_kv_copy_between_instances_gives_the_same_next_token_logits() {
    let m = common::tiny(1);
    let prompt: Vec<u32> = (0..37).map(|i| 20 + i * 7).collect();
    let mut a = Session::new(m.model.cpu().unwrap(), 16, 4).unwrap();
    let mut b = Session::new(m.model.cpu().unwrap(), 16, 4).unwrap();
    // Occupy some of b's blocks so the copy lands in different block numbers.
    b.reserve_context(99, 9).unwrap();
    a.step(&[StepPart {
        seq: 5,
        tokens: &prompt,
        want_logits: true,
    }])
    .unwrap();
    b.kv.append(5, prompt.len()).unwrap();
    let (from, to) = (
        a.kv.block_table(5).unwrap().to_vec(),
        b.kv.block_table(5).unwrap().to_vec(),
    );
    assert_ne!(from, to);
    b.store.copy_blocks_from(&a.store, &from, &to);
    let next = [123u32];
    let la = a
        .step(&[StepPart {
            seq: 5,
            tokens: &next,
            want_logits: true,
        }])
        .unwrap();
    let lb = b
        .step(&[StepPart {
            seq: 5,
            tokens: &next,
            want_logits: true,
        }])
        .unwrap();
    assert_eq!(la, lb);
    // And a copy of the wrong blocks would not: the test can fail.
    let mut c = Session::new(m.model.cpu().unwrap(), 16, 4).unwrap();
    c.kv.append(5, prompt.len()).unwrap();
    let lc = c
        .step(&[StepPart {
            seq: 5,
            tokens: &next,
            want_logits: true,
        }])
        .unwrap();
    assert_ne!(la, lc);
}

/// Greedy decoding is batch-invariant bit for bit, so every mode — including disaggregated,
/// where the KV cache really moves between pools — must produce exactly the same tokens.
#[test]
fn all_modes_generate_the_same_tokens_on_a_measured_run() {
    let m = std::sync::Arc::new(common::tiny(2));
    let spec = m.spec().clone();
    let reqs = WorkloadSpec {
        rate: 50.0,
        burstiness: 1.0,
        count: Count::Requests(12),
        prompt: LenDist::Uniform { lo: 5, hi: 80 },
        output: LenDist::Uniform { lo: 1, hi: 12 },
        seed: 3,
    }
    .generate(spec.vocab_size, 17, spec.max_context)
    .unwrap();
    let mut outputs = Vec::new();
    for mode in Mode::ALL {
        let mut cfg = ServeConfig::defaults(mode, 2, spec.max_context);
        cfg.clock = ClockKind::Measured;
        cfg.token_budget = 32;
        cfg.kv_tokens = 512;
        let (tx, rx) = crossbeam_channel::unbounded();
        let inputs = RunInputs {
            config: cfg,
            requests: reqs.clone().into(),
            model: Some(m.clone()),
            cost: None,
            slo: Slo {
                ttft_ms: 1e3,
                tpot_ms: 1e3,
            },
            stop_ids: Vec::new().into(),
            lean: false,
        };
        let report = run(&inputs, &Emitter::new(tx, 1), &RunControl::default()).unwrap();
        assert_eq!(report.requests.len(), 12);
        assert!(report.steps.iter().all(|s| s.end_s > s.start_s));
        let mut toks: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
        for e in rx.try_iter() {
            assert_eq!(e.mode, Some(mode));
            if let Event::Token { req, token, .. } = e.event {
                toks.entry(req).or_default().push(token);
            }
        }
        for q in &reqs {
            assert_eq!(toks[&q.id].len(), q.output_tokens);
        }
        outputs.push(toks);
    }
    assert_eq!(outputs[0], outputs[1], "chunked differs from aggregated");
    assert_eq!(
        outputs[0], outputs[2],
        "disaggregated differs from aggregated"
    );
}
