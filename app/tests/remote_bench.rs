//! `bench --target` against a fake OpenAI server (`remote_bench/fake_server.rs`).
#[path = "remote_bench/fake_server.rs"]
mod fake_server;

use fake_server::{start, Mode, Script, GOOD};
use goodput_lab::remote_bench::{
    results, run_requests, ClientConfig, Endpoint, PlannedRequest, PromptBuilder, RemoteRun,
    RunOptions, TokenCounter,
};
use serde_json::{json, Value};
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

fn config(url: &str, endpoint: Endpoint, timeout_s: f64) -> ClientConfig {
    ClientConfig {
        base_url: url.to_string(),
        endpoint,
        model: "fake-model".into(),
        headers: vec![("X-Test".into(), "1".into())],
        timeout: Duration::from_secs_f64(timeout_s),
        temperature: 0.0,
        top_p: None,
        ignore_eos: true,
    }
}

/// `n` requests `gap_s` apart, prompts of `words` words, `out` output tokens.
fn requests(n: usize, gap_s: f64, words: usize, out: usize) -> Vec<PlannedRequest> {
    let b = PromptBuilder::new(TokenCounter::Words, 0);
    (0..n as u64)
        .map(|id| {
            let (prompt, prompt_tokens) = b.prompt(&format!("Request {id}"), id, words);
            PlannedRequest {
                id,
                arrival_s: id as f64 * gap_s,
                prompt,
                prompt_tokens,
                output_tokens: out,
            }
        })
        .collect()
}

async fn go(url: &str, ep: Endpoint, reqs: Vec<PlannedRequest>, opts: RunOptions) -> RemoteRun {
    run_requests(&config(url, ep, 5.0), reqs, &opts, None)
        .await
        .unwrap()
}

fn slo() -> engine::serve::metrics::Slo {
    engine::serve::metrics::Slo {
        ttft_ms: 10_000.0,
        tpot_ms: 10_000.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_are_timed_and_counted_from_usage() {
    let (url, seen) = start(Script {
        first_ms: 100,
        gap_ms: 20,
        ..GOOD
    })
    .await;
    let run = go(
        &url,
        Endpoint::Completions,
        requests(4, 0.05, 12, 5),
        RunOptions::default(),
    )
    .await;
    let res = results(&run, &slo());
    assert!(res.failures.is_empty(), "{:?}", res.failures);
    assert_eq!((res.records.len(), seen.requests.load(SeqCst)), (4, 4));
    for (i, r) in res.records.iter().enumerate() {
        assert_eq!(r.id, i as u64);
        assert!((r.arrival_s - i as f64 * 0.05).abs() < 1e-9);
        assert_eq!(r.output_tokens, 5);
        assert_eq!(r.prompt_tokens, 13, "the server's usage.prompt_tokens wins");
        assert_eq!(r.token_times_s.len(), 5);
        assert!(
            r.ttft_ms >= 100.0 && r.ttft_ms < 2_000.0,
            "ttft {}",
            r.ttft_ms
        );
        let tpot = (r.e2el_ms - r.ttft_ms) / 4.0;
        assert!((r.tpot_ms - tpot).abs() < 1e-9);
        assert!(r.tpot_ms >= 10.0, "4 gaps of 20 ms: {}", r.tpot_ms);
        assert_eq!(r.itl_ms.len(), 4);
        assert!(r.itl_ms.iter().sum::<f64>() >= 40.0);
        let first = r.token_times_s[0];
        assert!((first - r.arrival_s - r.ttft_ms / 1e3).abs() < 1e-9);
    }
    assert_eq!(res.summary.completed, 4);
    assert_eq!(res.summary.total_output_tokens, 20);
    assert!(res.itl_per_token_ms.is_some());
    let info = goodput_lab::remote_bench::RunInfo {
        target: url,
        endpoint: "/v1/completions".into(),
        backend: "openai".into(),
        model_id: "fake-model".into(),
        tokenizer: None,
        exact_prompt_lengths: false,
        request_rate: 20.0,
        burstiness: 1.0,
        seed: 0,
        num_prompts: 4,
        num_warmups: 0,
        shared_prefix_tokens: 0,
    };
    let j: Value =
        serde_json::from_str(&goodput_lab::remote_bench::to_json(&info, &run, &res).unwrap())
            .unwrap();
    assert_eq!(
        (j["completed"].as_u64(), j["failed"].as_u64()),
        (Some(4), Some(0))
    );
    assert_eq!(j["output_lens"], json!([5, 5, 5, 5]));
    assert_eq!(j["ttfts"].as_array().unwrap().len(), 4);
    assert!(j["ttfts"][0].as_f64().unwrap() >= 0.1, "seconds, not ms");
    for k in [
        "mean_ttft_ms",
        "median_tpot_ms",
        "std_itl_ms",
        "p99_e2el_ms",
    ] {
        assert!(j[k].as_f64().is_some(), "{k}");
    }
    assert_eq!(j["modes"][0]["mode"], "remote");
    assert_eq!(j["modes"][0]["requests"].as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_ttft_waits_for_content_not_the_role_chunk() {
    let (url, _) = start(Script {
        first_ms: 300,
        ..GOOD
    })
    .await;
    let run = go(
        &url,
        Endpoint::Chat,
        requests(2, 0.0, 8, 3),
        RunOptions::default(),
    )
    .await;
    let res = results(&run, &slo());
    assert_eq!(res.records.len(), 2, "{:?}", res.failures);
    for r in &res.records {
        assert!(
            r.ttft_ms >= 300.0,
            "role chunk taken as first token: {}",
            r.ttft_ms
        );
        assert_eq!(r.output_tokens, 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_of_several_tokens() {
    for continuous in [false, true] {
        let (url, _) = start(Script {
            tokens_per_chunk: 3,
            continuous_usage: continuous,
            gap_ms: 30,
            ..GOOD
        })
        .await;
        let run = go(
            &url,
            Endpoint::Completions,
            requests(1, 0.0, 8, 7),
            RunOptions::default(),
        )
        .await;
        let res = results(&run, &slo());
        let r = &res.records[0];
        assert_eq!(r.output_tokens, 7, "from usage, not from chunks");
        assert_eq!(r.itl_ms.len(), 2, "ITL per chunk");
        assert_eq!(r.token_times_s.len(), 7);
        assert!((r.tpot_ms - (r.e2el_ms - r.ttft_ms) / 6.0).abs() < 1e-9);
        if continuous {
            let t = &r.token_times_s;
            assert!(t[0] == t[2] && t[3] == t[5] && t[2] < t[3] && t[5] < t[6]);
            let per_token = res.itl_per_token_ms.expect("known from per-chunk usage");
            assert!(per_token.mean < r.itl_ms[0], "a gap shared by 3 tokens");
        } else {
            assert!(res.itl_per_token_ms.is_none());
            assert_eq!(res.chunk_tokens_unknown, 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_recorded_not_fatal() {
    let cases = [
        (Mode::Malformed, "malformed JSON"),
        (Mode::Stall, "timed out"),
        (Mode::Reset, ""),
        (Mode::NoDone, "without [DONE]"),
        (Mode::Http500, "the engine fell over"),
    ];
    for (mode, needle) in cases {
        let (url, _) = start(Script { mode, ..GOOD }).await;
        let t = Instant::now();
        let run = run_requests(
            &config(&url, Endpoint::Completions, 1.5),
            requests(2, 0.0, 8, 4),
            &RunOptions::default(),
            None,
        )
        .await
        .unwrap();
        assert!(t.elapsed() < Duration::from_secs(10), "{mode:?} hung");
        let res = results(&run, &slo());
        assert!(res.records.is_empty(), "{mode:?} counted as completed");
        assert_eq!(res.failures.len(), 2, "{mode:?}");
        for f in &res.failures {
            assert!(
                !f.error.is_empty() && f.error.contains(needle),
                "{mode:?}: {}",
                f.error
            );
        }
        if mode == Mode::Http500 {
            assert!(res.failures[0].error.contains("500"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_error_is_a_failure() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let run = go(
        &url,
        Endpoint::Completions,
        requests(1, 0.0, 4, 2),
        RunOptions::default(),
    )
    .await;
    let res = results(&run, &slo());
    assert_eq!(res.failures.len(), 1);
    assert!(
        res.failures[0].error.contains("request failed"),
        "{}",
        res.failures[0].error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_wait_counts_in_latency() {
    // Each request takes ≥ 100 + 2 × 20 ms; three scheduled at t = 0 through one slot.
    let (url, seen) = start(Script {
        first_ms: 100,
        gap_ms: 20,
        ..GOOD
    })
    .await;
    let opts = RunOptions {
        max_concurrency: Some(1),
        ..RunOptions::default()
    };
    let run = go(&url, Endpoint::Completions, requests(3, 0.0, 8, 3), opts).await;
    assert_eq!(seen.max_in_flight.load(SeqCst), 1);
    let res = results(&run, &slo());
    assert_eq!(res.records.len(), 3, "{:?}", res.failures);
    let last = run
        .results
        .iter()
        .max_by(|a, b| a.sent_s.total_cmp(&b.sent_s))
        .unwrap();
    assert_eq!(last.scheduled_s, 0.0);
    assert!(
        last.sent_s >= 0.28,
        "waited for two requests: {}",
        last.sent_s
    );
    let rec = res.records.iter().find(|r| r.id == last.id).unwrap();
    assert!(
        rec.e2el_ms >= 420.0 && rec.ttft_ms >= 380.0,
        "latency from the scheduled time, wait included: e2el {} ttft {}",
        rec.e2el_ms,
        rec.ttft_ms
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmups_are_excluded() {
    let (url, seen) = start(Script {
        warmup_ms: 400,
        ..GOOD
    })
    .await;
    let b = PromptBuilder::new(TokenCounter::Words, 0);
    let warmups = (0..2)
        .map(|i| PlannedRequest {
            id: i,
            arrival_s: 0.0,
            prompt: b.prompt(&format!("Warmup {i}"), i, 8).0,
            prompt_tokens: 8,
            output_tokens: 3,
        })
        .collect();
    let opts = RunOptions {
        max_concurrency: Some(2),
        warmups,
    };
    let run = go(&url, Endpoint::Completions, requests(3, 0.0, 8, 3), opts).await;
    assert_eq!(
        (seen.requests.load(SeqCst), seen.warmups.load(SeqCst)),
        (5, 2)
    );
    assert_eq!((run.warmups, run.warmup_failures), (2, 0));
    let res = results(&run, &slo());
    assert_eq!(res.records.len(), 3);
    assert_eq!(
        run.results.iter().map(|r| r.id).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    for r in &res.records {
        assert!(
            r.ttft_ms < 350.0,
            "a warm-up's delay leaked in: {}",
            r.ttft_ms
        );
    }
}

/// The whole command: flags, model discovery, the table, --json and --csv.
#[test]
fn bench_target_command_end_to_end() {
    use clap::Parser;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, seen) = rt.block_on(start(GOOD));
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("remote.json");
    let csv_dir = dir.path().join("csv");
    let args = [
        "goodput-lab",
        "bench",
        "--target",
        &url,
        "--num-requests",
        "3",
        "--request-rate",
        "inf",
        "--prompt-len",
        "6",
        "--output-len",
        "4",
        "--num-warmups",
        "1",
        "--max-concurrency",
        "2",
        "--header",
        "Authorization: Bearer test",
        "--json",
        json_path.to_str().unwrap(),
        "--csv",
        csv_dir.to_str().unwrap(),
    ];
    use goodput_lab::cli::Cli;
    assert!(Cli::try_parse_from(["goodput-lab", "bench", "--num-requests", "2"]).is_ok());
    let stray = Cli::try_parse_from(["goodput-lab", "bench", "--max-concurrency", "2"]);
    assert!(stray.is_err(), "remote flags need --target");
    let cli = Cli::parse_from(args);
    goodput_lab::cli::run(cli).unwrap();
    assert_eq!(seen.requests.load(SeqCst), 4);
    let j: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(
        (j["completed"].as_u64(), j["failed"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(j["model_id"], "fake-model");
    assert_eq!(j["max_concurrency"], 2);
    assert_eq!(j["output_lens"], json!([4, 4, 4]));
    assert_eq!(j["input_lens"], json!([7, 7, 7]), "6 words + the fake BOS");
    let summary = std::fs::read_to_string(csv_dir.join("summary.csv")).unwrap();
    assert!(summary.lines().nth(1).unwrap().starts_with("remote,1,3,"));
    assert!(csv_dir.join("failures.csv").is_file());
}

/// With a real tokenizer (SmolLM2's, fetched when absent as the engine's tests do), prompts
/// tokenize to exactly the requested counts, start uniquely, and share a requested prefix.
#[test]
fn prompts_hit_exact_token_counts() {
    use engine::model::{cards, fetch};
    let path = fetch::ensure(&cards::card("smollm2-135m").unwrap()).expect("fetching SmolLM2");
    let path = path.to_str().unwrap();
    let check = engine::loader::load_tokenizer(path, false).unwrap();
    let count = |s: &str| check.encode(s).unwrap().len();
    let b = PromptBuilder::new(TokenCounter::load(Some(path)).unwrap(), 0);
    assert!(b.exact());
    let mut firsts = std::collections::HashSet::new();
    for (id, n) in [
        (0u64, 4usize),
        (1, 9),
        (2, 17),
        (3, 100),
        (4, 333),
        (5, 1000),
        (6, 2048),
    ] {
        let (text, got) = b.prompt(&format!("Request {id}"), id, n);
        assert_eq!((got, count(&text)), (n, n), "{text:?}");
        firsts.insert(check.encode(&text).unwrap()[..3].to_vec());
    }
    assert_eq!(firsts.len(), 7, "every prompt starts differently");
    let shared = PromptBuilder::new(TokenCounter::load(Some(path)).unwrap(), 50);
    assert_eq!(shared.shared_tokens(), 50);
    let (a, na) = shared.prompt("Request 1", 1, 120);
    let (c, nc) = shared.prompt("Request 2", 2, 120);
    assert_eq!((na, nc, count(&a)), (120, 120, 120));
    let (ia, ic) = (check.encode(&a).unwrap(), check.encode(&c).unwrap());
    assert_eq!(ia[..50], ic[..50], "the shared prefix is common");
    assert_ne!(ia[..53], ic[..53]);
}
