//! Workload generation and trace replay.
use engine::serve::trace::parse_trace;
use engine::serve::workload::{Count, LenDist, Preset, WorkloadSpec};

fn spec(rate: f64, burstiness: f64, n: usize) -> WorkloadSpec {
    WorkloadSpec {
        rate,
        burstiness,
        count: Count::Requests(n),
        prompt: LenDist::Fixed(16),
        output: LenDist::Fixed(4),
        seed: 9,
    }
}

fn gaps(w: &WorkloadSpec) -> (f64, f64) {
    let r = w.generate(1000, 17, 2048).expect("workload");
    let g: Vec<f64> = r
        .windows(2)
        .map(|p| p[1].arrival_s - p[0].arrival_s)
        .collect();
    let mean = g.iter().sum::<f64>() / g.len() as f64;
    let var = g.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / g.len() as f64;
    (mean, var.sqrt() / mean)
}

#[test]
fn poisson_and_bursty_arrivals_have_the_right_mean_and_spread() {
    let (mean, cv) = gaps(&spec(4.0, 1.0, 20000));
    assert!((mean - 0.25).abs() < 0.01, "{mean}");
    assert!((cv - 1.0).abs() < 0.05, "{cv}");
    // Gamma shape k: CV = 1/sqrt(k).
    let (mean, cv) = gaps(&spec(4.0, 0.25, 20000));
    assert!((mean - 0.25).abs() < 0.02, "{mean}");
    assert!((cv - 2.0).abs() < 0.15, "{cv}");
}

#[test]
fn infinite_rate_sends_everything_at_once_and_duration_bounds_arrivals() {
    let r = spec(f64::INFINITY, 1.0, 10)
        .generate(1000, 17, 2048)
        .expect("workload");
    assert!(r.iter().all(|q| q.arrival_s == 0.0) && r.len() == 10);
    let mut w = spec(10.0, 1.0, 1);
    w.count = Count::Duration(5.0);
    let r = w.generate(1000, 17, 2048).expect("workload");
    assert!(r.len() > 30 && r.len() < 80, "{}", r.len());
    assert!(r.iter().all(|q| q.arrival_s <= 5.0));
}

#[test]
fn lengths_follow_their_distribution_and_fit_the_context() {
    let mut w = spec(1.0, 1.0, 4000);
    let (p, o) = Preset::Chat.lengths(1.0);
    w.prompt = p;
    w.output = o;
    let r = w.generate(1000, 17, 2048).expect("workload");
    let mean_p = r.iter().map(|q| q.prompt.len()).sum::<usize>() as f64 / r.len() as f64;
    let mean_o = r.iter().map(|q| q.output_tokens).sum::<usize>() as f64 / r.len() as f64;
    assert!((mean_p - 161.0).abs() < 12.0, "{mean_p}");
    assert!((mean_o - 338.0).abs() < 30.0, "{mean_o}");
    assert!(r.iter().all(|q| q.prompt.len() + q.output_tokens <= 2048));
    assert!(r
        .iter()
        .all(|q| q.prompt.ids().iter().all(|&t| (17..1000).contains(&t))));
}

#[test]
fn bad_workloads_name_the_field() {
    let e = |w: WorkloadSpec| w.generate(1000, 17, 2048).unwrap_err().to_string();
    assert!(e(spec(0.0, 1.0, 5)).starts_with("workload.rate: "));
    assert!(e(spec(-1.0, 1.0, 5)).starts_with("workload.rate: "));
    assert!(e(spec(1.0, 0.0, 5)).starts_with("workload.burstiness: "));
    assert!(e(spec(1.0, 1.0, 0)).starts_with("workload.num_requests: "));
    assert!(LenDist::parse("uniform:9-3", "workload.prompt_len").is_err());
    assert_eq!(
        LenDist::parse("normal:100,10", "x").unwrap(),
        LenDist::Normal {
            mean: 100.0,
            std: 10.0
        }
    );
    assert!(LenDist::parse("abc", "workload.output_len")
        .unwrap_err()
        .to_string()
        .starts_with("workload.output_len: \"abc\""));
}

#[test]
fn traces_replay_and_bad_lines_are_named() {
    let enc = |s: &str| Ok(s.bytes().map(|b| b as u32).collect());
    let text = "{\"arrival_s\": 0.0, \"prompt_tokens\": 12, \"output_tokens\": 3}\n\n{\"arrival_s\": 0.5, \"prompt\": \"hello\", \"output_tokens\": 2}\n";
    let r = parse_trace(text, &enc, 1000, 17, 2048, 1).expect("trace");
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].prompt.len(), r[0].output_tokens), (12, 3));
    assert_eq!(r[1].prompt.to_vec(), vec![104, 101, 108, 108, 111]);
    assert_eq!(r[1].arrival_s, 0.5);
    for (bad, line) in [
        ("{\"arrival_s\": 0.0, \"output_tokens\": 3}", 1),
        ("{\"arrival_s\": 0.0, \"prompt_tokens\": 3, \"output_tokens\": 3}\nnot json", 2),
        ("{\"arrival_s\": 1.0, \"prompt_tokens\": 3, \"output_tokens\": 3}\n{\"arrival_s\": 0.5, \"prompt_tokens\": 3, \"output_tokens\": 3}", 2),
        ("{\"arrival_s\": 0.0, \"prompt_tokens\": 3000, \"output_tokens\": 3}", 1),
        ("{\"arrival_s\": -1, \"prompt_tokens\": 3, \"output_tokens\": 3}", 1),
    ] {
        let e = parse_trace(bad, &enc, 1000, 17, 2048, 1).unwrap_err().to_string();
        assert!(e.contains(&format!("trace line {line}")), "{e}");
    }
}

/// Lean runs hold seeded prompts: every arrival, prompt length and output length is the held
/// workload's, the ids are valid ones, and the same seed draws the same ids again.
#[test]
fn a_seeded_workload_has_the_held_workloads_shape() {
    let mut w = spec(8.0, 1.0, 300);
    w.prompt = LenDist::Uniform { lo: 1, hi: 900 };
    w.output = LenDist::Uniform { lo: 1, hi: 60 };
    let held = w.generate(1000, 17, 2048).expect("held");
    let seeded = w.generate_seeded(1000, 17, 2048).expect("seeded");
    let shape = |r: &[engine::serve::request::RequestSpec]| {
        r.iter()
            .map(|q| (q.id, q.arrival_s, q.prompt.len(), q.output_tokens))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&held), shape(&seeded));
    assert!(seeded
        .iter()
        .all(|q| q.prompt.ids().iter().all(|&t| (17..1000).contains(&t))));
    let again = w.generate_seeded(1000, 17, 2048).expect("again");
    assert!(seeded
        .iter()
        .zip(&again)
        .all(|(a, b)| a.prompt.to_vec() == b.prompt.to_vec()));
}
