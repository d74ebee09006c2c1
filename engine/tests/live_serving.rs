//! A live serving run (what `goodput-lab serve` drives): requests injected with their own prompt ids
//! and sampling produce the tokens `generate` does; a request taken back mid-way frees its
//! sequence and KV blocks; the loop idles without work and stops when cancelled.
use engine::generate::{generate_on, GenerateRequest};
use engine::sampler::SamplingParams;
use engine::serve::cluster::{ClockKind, Mode};
use engine::serve::events::{Emitter, Event, Injection};
use engine::serve::experiment::{prepare, Experiment};
use engine::serve::live::spawn_serving;
use std::collections::HashMap;
use std::time::Duration;

fn experiment(mode: Mode) -> Experiment {
    Experiment {
        model: "tiny".into(),
        synthetic: true,
        threads: Some(1),
        clock: ClockKind::Wall,
        gpus: 2,
        modes: vec![mode],
        ..Experiment::default()
    }
}

fn request(prompt: Vec<u32>, n: usize, seed: u64) -> Injection {
    Injection {
        prompt_tokens: prompt.len(),
        output_tokens: n,
        prompt: Some(prompt),
        sampling: Some(SamplingParams {
            temperature: 0.8,
            top_p: 0.9,
            seed,
        }),
        stop_at_eos: Some(false),
        arrived: None,
    }
}

#[test]
fn injected_requests_match_generate_and_aborts_free_their_blocks() {
    for mode in [Mode::Aggregated, Mode::Chunked, Mode::Disaggregated] {
        let p = prepare(&experiment(mode), None, &Emitter::none()).expect("prepare");
        let model = p.model.clone().expect("weights");
        let h = spawn_serving(p.inputs(0, Vec::new().into())).expect("spawn");
        // Idle with no work: the loop waits instead of ending.
        std::thread::sleep(Duration::from_millis(150));
        assert!(
            !h.is_finished(),
            "{mode:?}: a serving run ended without work"
        );
        let prompts: Vec<Vec<u32>> = (0..3)
            .map(|k| {
                (0..20 + 7 * k)
                    .map(|i| (3 + i * 11 + k * 5) % 500)
                    .collect()
            })
            .collect();
        let ids: Vec<u64> = prompts
            .iter()
            .enumerate()
            .map(|(k, pr)| h.control.inject(request(pr.clone(), 12, 40 + k as u64)))
            .collect();
        assert_eq!(ids, vec![0, 1, 2]);
        let long = h.control.inject(request(vec![9; 30], 400, 1));
        // Arrived 80 ms before the loop saw it (a server stamps the HTTP arrival): its latency
        // counts from then.
        let early = h.control.inject(Injection {
            arrived: Some(std::time::Instant::now() - Duration::from_millis(80)),
            ..request(vec![4; 6], 2, 9)
        });
        let mut tokens: HashMap<u64, Vec<u32>> = HashMap::new();
        let (mut finished, mut aborted, mut idle) = (0, false, false);
        while !(finished == 4 && aborted && idle) {
            let ev = h
                .events
                .recv_timeout(Duration::from_secs(60))
                .expect("event");
            match ev.event {
                Event::Token { req, token, .. } => {
                    tokens.entry(req).or_default().push(token);
                    if req == long && tokens[&req].len() == 3 {
                        h.control.abort(long);
                    }
                }
                Event::Finished(r) => {
                    assert_ne!(r.id, long, "{mode:?}: the aborted request finished");
                    if r.id == early {
                        assert!(r.ttft_ms >= 80.0, "{mode:?}: TTFT {} ms", r.ttft_ms);
                    }
                    finished += 1;
                }
                Event::Aborted { req, .. } => {
                    assert_eq!(req, long);
                    aborted = true;
                }
                Event::Load {
                    running,
                    waiting,
                    kv_blocks,
                    ..
                } => idle = aborted && finished == 4 && running + waiting + kv_blocks == 0,
                _ => {}
            }
        }
        assert!(tokens[&long].len() < 400);
        for (k, pr) in prompts.iter().enumerate() {
            let want = generate_on(
                &model.model,
                &GenerateRequest {
                    prompt_ids: pr.clone(),
                    max_tokens: 12,
                    sampling: SamplingParams {
                        temperature: 0.8,
                        top_p: 0.9,
                        seed: 40 + k as u64,
                    },
                    stop_ids: vec![],
                },
                |_| {},
            )
            .expect("generate");
            assert_eq!(tokens[&(k as u64)], want.output_ids, "{mode:?} request {k}");
        }
        h.cancel();
        let report = h.join().expect("join");
        assert!(report.cancelled);
        assert_eq!(report.requests.len(), 4);
    }
}

#[test]
fn requests_injected_before_the_loop_starts_keep_their_ids() {
    let p = prepare(&experiment(Mode::Chunked), None, &Emitter::none()).expect("prepare");
    let inputs = p.inputs(0, Vec::new().into());
    let control = engine::serve::events::RunControl::default();
    // Injected before the run exists (a request that beats the engine thread's start).
    let ids: Vec<u64> = (0..2)
        .map(|_| control.inject(request(vec![5; 8], 3, 0)))
        .collect();
    assert_eq!(ids, vec![0, 1]);
    control.set_serving(true);
    let c = control.clone();
    let (tx, rx) = crossbeam_channel::unbounded();
    let job =
        std::thread::spawn(move || engine::serve::cluster::run(&inputs, &Emitter::new(tx, 1), &c));
    let mut finished = Vec::new();
    while finished.len() < 2 {
        if let Event::Finished(r) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("event")
            .event
        {
            finished.push(r.id);
        }
    }
    finished.sort();
    assert_eq!(finished, ids);
    control.cancel();
    assert!(job.join().expect("join").expect("run").cancelled);
}
