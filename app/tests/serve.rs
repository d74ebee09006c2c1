//! `goodput-lab serve` end to end on loopback, on `tiny` with synthetic weights: streamed and
//! whole completions carry the tokens `generate` gives for the same seed; OpenAI-shaped errors;
//! a client that hangs up frees its request; 1 000 concurrent streams lose and duplicate no
//! token and leave no sequence and no KV block behind; a full queue answers 429.
use engine::generate::{generate_on, GenerateRequest};
use engine::loader::{load, LoadOptions};
use engine::model::tokenizer::TokenStream;
use engine::sampler::SamplingParams;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server on a free port and reads its address from the line it prints.
fn server(extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_goodput-lab"))
        .args([
            "serve",
            "--model",
            "tiny",
            "--synthetic",
            "--threads",
            "1",
            "--port",
            "0",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read address");
    let at = line
        .find("http://")
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let base = line[at..].trim().trim_end_matches("/v1").to_string();
    Server { child, base }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// What `generate` writes for this prompt and seed, decoded as a stream decodes it.
fn expected_text(prompt: &[u32], n: usize, seed: u64) -> String {
    let m = load(&LoadOptions {
        model: "tiny".into(),
        synthetic: true,
        threads: 1,
        seed: 0,
        device: engine::backend::Device::Cpu,
    })
    .expect("load");
    let out = generate_on(
        &m.model,
        &GenerateRequest {
            prompt_ids: prompt.to_vec(),
            max_tokens: n,
            sampling: SamplingParams {
                temperature: 0.7,
                top_p: 0.95,
                seed,
            },
            stop_ids: vec![],
        },
        |_| {},
    )
    .expect("generate");
    let mut s = TokenStream::new();
    let mut text: String = out
        .output_ids
        .iter()
        .filter_map(|&id| s.push(&m.tokenizer, id).expect("decode"))
        .collect();
    text += &s.flush(&m.tokenizer).expect("flush");
    text
}

/// Streams one completion; returns the text and the usage's completion tokens.
async fn stream(c: &reqwest::Client, base: &str, body: Value) -> (String, u64) {
    let mut resp = c
        .post(format!("{base}/v1/completions"))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let mut raw = Vec::new();
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        raw.extend_from_slice(&chunk);
    }
    let raw = String::from_utf8(raw).expect("utf-8");
    let mut text = String::new();
    let mut usage = None;
    let mut done = 0;
    for line in raw.lines().filter_map(|l| l.strip_prefix("data: ")) {
        if line == "[DONE]" {
            done += 1;
            continue;
        }
        let v: Value = serde_json::from_str(line).expect("chunk JSON");
        if let Some(t) = v["choices"][0]["text"].as_str() {
            text += t;
        }
        if let Some(u) = v["usage"]["completion_tokens"].as_u64() {
            usage = Some(u);
        }
    }
    assert_eq!(done, 1, "one [DONE] at the end: {raw}");
    (text, usage.expect("usage chunk"))
}

fn prompt(k: u64) -> Vec<u32> {
    (0..12 + k % 9)
        .map(|i| ((5 + i * 13 + k * 7) % 400) as u32 + 3)
        .collect()
}

async fn metric(c: &reqwest::Client, base: &str, name: &str) -> f64 {
    let text = c
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics");
    let text = text.text().await.expect("text");
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from {text}"))
}

#[test]
fn streams_match_generate_and_errors_are_openai_shaped() {
    let s = server(&["--mode", "chunked"]);
    rt().block_on(async {
        let c = reqwest::Client::new();
        let body = |k: u64, stream: bool| {
            json!({"model": "tiny", "prompt": prompt(k), "max_tokens": 10, "temperature": 0.7,
                   "top_p": 0.95, "seed": k, "ignore_eos": true, "stream": stream,
                   "stream_options": {"include_usage": true}, "some_unknown_field": [1, 2]})
        };
        let (text, n) = stream(&c, &s.base, body(3, true)).await;
        assert_eq!(n, 10);
        assert_eq!(text, expected_text(&prompt(3), 10, 3));
        let whole: Value = c
            .post(format!("{}/v1/completions", s.base))
            .json(&body(4, false))
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        assert_eq!(
            whole["choices"][0]["text"],
            expected_text(&prompt(4), 10, 4)
        );
        assert_eq!(whole["usage"]["completion_tokens"], 10);
        assert_eq!(whole["choices"][0]["finish_reason"], "length");
        let models: Value = c
            .get(format!("{}/v1/models", s.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(models["data"][0]["id"], "tiny");
        for (body, status, code) in [
            ("{not json", 400, Value::Null),
            (
                r#"{"model": "gpt-9", "prompt": "hi"}"#,
                404,
                json!("model_not_found"),
            ),
            (
                r#"{"prompt": "hi", "max_tokens": 5000}"#,
                400,
                json!("context_length_exceeded"),
            ),
            (r#"{"prompt": "hi", "temperature": -1}"#, 400, Value::Null),
        ] {
            let r = c
                .post(format!("{}/v1/completions", s.base))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("send");
            assert_eq!(r.status().as_u16(), status, "{body}");
            let v: Value = r.json().await.expect("error JSON");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{v}"
            );
            assert_eq!(v["error"]["code"], code, "{body}");
        }
        // A chat stream: the role chunk comes first, then content.
        let chat = c
            .post(format!("{}/v1/chat/completions", s.base))
            .json(&json!({"messages": [{"role": "user", "content": "hello"}],
                          "max_completion_tokens": 4, "stream": true, "ignore_eos": true}))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let first = chat.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
        let first: Value = serde_json::from_str(first).unwrap();
        assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
        assert!(chat.trim_end().ends_with("data: [DONE]"));
    });
}

#[test]
fn a_client_that_hangs_up_frees_its_request() {
    let s = server(&["--mode", "aggregated"]);
    rt().block_on(async {
        let c = reqwest::Client::new();
        let mut resp = c
            .post(format!("{}/v1/completions", s.base))
            .json(
                &json!({"prompt": prompt(1), "max_tokens": 900, "stream": true,
                          "ignore_eos": true}),
            )
            .send()
            .await
            .expect("send");
        resp.chunk().await.expect("first chunk");
        drop(resp);
        let mut freed = false;
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(25)).await;
            if metric(&c, &s.base, "goodput_lab:request_aborted_total").await == 1.0 {
                freed = metric(&c, &s.base, "vllm:kv_cache_usage_perc").await == 0.0
                    && metric(&c, &s.base, "vllm:num_requests_running").await == 0.0;
                break;
            }
        }
        assert!(freed, "the hung-up request was not aborted and freed");
    });
}

#[test]
fn a_thousand_concurrent_streams_lose_no_token() {
    let s = server(&["--mode", "disaggregated", "--gpus", "2"]);
    rt().block_on(async {
        let c = reqwest::Client::new();
        let tasks: Vec<_> = (0..1000u64)
            .map(|k| {
                let (c, base) = (c.clone(), s.base.clone());
                tokio::spawn(async move {
                    let body = json!({"prompt": prompt(k), "max_tokens": 6, "temperature": 0.7,
                        "top_p": 0.95, "seed": k, "ignore_eos": true, "stream": true,
                        "stream_options": {"include_usage": true}});
                    (k, stream(&c, &base, body).await)
                })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.expect("task"));
        }
        assert_eq!(results.len(), 1000);
        for (k, (text, n)) in &results {
            assert_eq!(*n, 6, "request {k}");
            // Every 50th is checked token for token against generate (each costs a load).
            if k % 50 == 0 {
                assert_eq!(text, &expected_text(&prompt(*k), 6, *k), "request {k}");
            }
        }
        assert_eq!(
            metric(&c, &s.base, "vllm:request_success_total").await,
            1000.0
        );
        assert_eq!(
            metric(&c, &s.base, "vllm:generation_tokens_total").await,
            6000.0
        );
        assert_eq!(metric(&c, &s.base, "vllm:num_requests_running").await, 0.0);
        assert_eq!(metric(&c, &s.base, "vllm:num_requests_waiting").await, 0.0);
        assert_eq!(metric(&c, &s.base, "vllm:kv_cache_usage_perc").await, 0.0);
    });
}

#[test]
fn a_full_server_answers_429() {
    let s = server(&["--mode", "chunked", "--max-queued", "2"]);
    rt().block_on(async {
        let c = reqwest::Client::new();
        let long =
            json!({"prompt": prompt(2), "max_tokens": 1000, "stream": true, "ignore_eos": true});
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut r = c
                .post(format!("{}/v1/completions", s.base))
                .json(&long)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.chunk().await.unwrap();
            held.push(r);
        }
        let r = c
            .post(format!("{}/v1/completions", s.base))
            .json(&long)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["type"], "rate_limit_error");
        drop(held);
    });
}

#[test]
fn bench_target_against_serve_gets_every_request() {
    let s = server(&["--mode", "chunked"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let out = Command::new(env!("CARGO_BIN_EXE_goodput-lab"))
        .args([
            "bench",
            "--target",
            &s.base,
            "--num-requests",
            "40",
            "--request-rate",
            "200",
        ])
        .args([
            "--prompt-len",
            "uniform:8-40",
            "--output-len",
            "uniform:2-12",
            "--seed",
            "7",
        ])
        .args(["--max-concurrency", "8", "--tokenizer", "tiny"])
        .arg("--json")
        .arg(&json)
        .output()
        .expect("bench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["completed"], 40, "{v}");
    assert_eq!(v["failed"], 0);
    // Exact lengths: the prompts were built with the server's tokenizer, outputs with ignore_eos.
    let (ins, outs) = (
        v["input_lens"].as_array().unwrap(),
        v["output_lens"].as_array().unwrap(),
    );
    assert!(
        ins.iter().all(|n| (8..=40).contains(&n.as_u64().unwrap())),
        "{ins:?}"
    );
    assert!(
        outs.iter().all(|n| (2..=12).contains(&n.as_u64().unwrap())),
        "{outs:?}"
    );
    assert!(v["mean_ttft_ms"].as_f64().unwrap() > 0.0);
}
