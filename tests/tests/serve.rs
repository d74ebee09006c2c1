//! `bench`, `sweep` and `interference` through the binary, on the tiny synthetic model.
use e2e_tests::{run_err, run_ok};
use serde_json::Value;
use std::path::Path;

const TINY: [&str; 4] = ["--model", "tiny", "--synthetic", "--threads"];

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("json written")).expect("valid json")
}

fn bench_args<'a>(json: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["bench"];
    a.extend(TINY);
    a.extend([
        "2",
        "--modes",
        "aggregated,chunked,disaggregated",
        "--gpus",
        "2",
        "--request-rate",
        "200",
    ]);
    a.extend([
        "--num-requests",
        "16",
        "--prompt-len",
        "uniform:8-120",
        "--output-len",
        "uniform:1-12",
    ]);
    a.extend([
        "--slo-ttft-ms",
        "50",
        "--slo-tpot-ms",
        "5",
        "--token-budget",
        "32",
        "--json",
        json,
    ]);
    a.extend(extra);
    a
}

#[test]
fn bench_runs_every_mode_on_the_same_arrivals() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("b.json");
    let csv = dir.path().join("csv");
    let out = run_ok(
        &bench_args(json.to_str().unwrap(), &["--csv", csv.to_str().unwrap()]),
        &[],
    );
    assert!(
        out.contains("Goodput (req/s)") && out.contains("disaggregated"),
        "{out}"
    );
    let j = read_json(&json);
    let modes = j["modes"].as_array().unwrap();
    assert_eq!(modes.len(), 3);
    let arrivals = |m: &Value| -> Vec<(f64, u64)> {
        m["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["arrival_s"].as_f64().unwrap(),
                    r["prompt_tokens"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    for (m, name) in modes.iter().zip(["aggregated", "chunked", "disaggregated"]) {
        assert_eq!(m["mode"], name);
        assert_eq!(m["gpus"], 2);
        let s = &m["summary"];
        for k in ["goodput_rps", "throughput_rps", "output_tps"] {
            assert!(s[k].as_f64().unwrap() > 0.0, "{name} {k}");
        }
        for k in ["ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"] {
            for p in ["mean", "median", "p90", "p99"] {
                assert!(s[k][p].is_number(), "{name} {k}.{p}");
            }
        }
        for k in ["joint", "ttft", "tpot"] {
            let a = s["attainment"][k].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&a));
        }
        let reqs = m["requests"].as_array().unwrap();
        assert_eq!(reqs.len(), 16);
        for r in reqs {
            let n = r["output_tokens"].as_u64().unwrap() as usize;
            let t = r["token_times_s"].as_array().unwrap();
            assert_eq!(t.len(), n);
            assert!(t.windows(2).all(|w| w[1].as_f64() >= w[0].as_f64()));
            for k in [
                "prefill_queue",
                "prefill_exec",
                "kv_transfer",
                "decode_queue",
                "decode_exec",
            ] {
                assert!(r["breakdown_ms"][k].is_number());
            }
        }
        let steps = m["steps"].as_array().unwrap();
        assert!(!steps.is_empty());
        for k in [
            "instance",
            "role",
            "start_s",
            "end_s",
            "prefill_tokens",
            "decode_tokens",
            "seqs",
            "kv_blocks",
        ] {
            assert!(!steps[0][k].is_null(), "step field {k}");
        }
        assert_eq!(arrivals(m), arrivals(&modes[0]));
    }
    assert_eq!(modes[2]["pd"], serde_json::json!([1, 1]));
    for f in ["summary.csv", "requests.csv", "tokens.csv", "steps.csv"] {
        let text = std::fs::read_to_string(csv.join(f)).unwrap();
        assert!(text.lines().count() > 3, "{f}");
    }
}

#[test]
fn seeded_modeled_runs_are_bit_for_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    let extra = ["--clock", "modeled", "--seed", "7", "--burstiness", "0.5"];
    run_ok(&bench_args(a.to_str().unwrap(), &extra), &[]);
    run_ok(&bench_args(b.to_str().unwrap(), &extra), &[]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let c = dir.path().join("c.json");
    run_ok(
        &bench_args(c.to_str().unwrap(), &["--clock", "modeled", "--seed", "8"]),
        &[],
    );
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
}

#[test]
fn bad_serving_input_names_the_flag_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("x.json");
    let j = json.to_str().unwrap();
    let trace = dir.path().join("t.jsonl");
    std::fs::write(&trace, "{\"arrival_s\": 0, \"prompt_tokens\": 5, \"output_tokens\": 2}\n{\"arrival_s\": 1, \"output_tokens\": 2}\n").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--request-rate", "0"], "--request-rate"),
        (vec!["--request-rate", "-2"], "--request-rate"),
        (vec!["--slo-ttft-ms", "0"], "--slo-ttft-ms"),
        (vec!["--slo-tpot-ms", "-5"], "--slo-tpot-ms"),
        (vec!["--token-budget", "4"], "--token-budget"),
        (vec!["--pd", "0:2"], "--pd"),
        (vec!["--pd", "2:1"], "--pd 2:1"),
        (vec!["--modes", "aggregated,fast"], "--modes"),
        (vec!["--kv-tokens", "32"], "KV cache too small"),
        (vec!["--link", "fast"], "--link"),
        (vec!["--trace", trace.to_str().unwrap()], "trace line 2"),
    ];
    for (extra, needle) in cases {
        let mut a = bench_args(j, &[]);
        // Later flags win in clap only for repeated options we do not repeat: drop the defaults.
        if let Some(i) = a.iter().position(|x| *x == extra[0]) {
            a.drain(i..i + 2);
        }
        a.extend(extra.iter().copied());
        let err = run_err(&a, &[]);
        assert!(err.contains(needle), "{extra:?}: {err}");
        assert!(!json.exists(), "{extra:?} wrote a result");
    }
}

#[test]
fn interference_table_starts_at_one() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("i.json");
    let mut a = vec!["interference"];
    a.extend(TINY);
    a.extend([
        "1",
        "--decode-batch",
        "1,4",
        "--prefill-len",
        "0,64,256",
        "--context",
        "32",
        "--repeats",
        "1",
    ]);
    a.extend(["--json", json.to_str().unwrap()]);
    let out = run_ok(&a, &[]);
    assert!(out.contains("slowdown"), "{out}");
    let rows = read_json(&json)["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 6);
    for r in &rows {
        assert!(r["step_ms"].as_f64().unwrap() > 0.0);
        if r["prefill_len"] == 0 {
            assert_eq!(r["slowdown"].as_f64(), Some(1.0));
        }
    }
    // A 256-token prefill costs far more than a 4-token decode batch alone.
    let last = rows
        .iter()
        .find(|r| r["decode_batch"] == 4 && r["prefill_len"] == 256)
        .unwrap();
    assert!(last["slowdown"].as_f64().unwrap() > 2.0, "{last}");
}

#[test]
fn sweep_reports_per_gpu_goodput_and_the_slo_scale_curve() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("s.json");
    let mut a = vec!["sweep"];
    a.extend(TINY);
    a.extend([
        "1",
        "--clock",
        "modeled",
        "--modes",
        "aggregated,disaggregated",
        "--rates",
        "1,4,16,64",
    ]);
    a.extend([
        "--num-requests",
        "30",
        "--prompt-len",
        "200",
        "--output-len",
        "20",
        "--slo-ttft-ms",
        "400",
    ]);
    a.extend([
        "--slo-tpot-ms",
        "40",
        "--request-rate",
        "4",
        "--json",
        json.to_str().unwrap(),
    ]);
    let out = run_ok(&a, &[]);
    assert!(out.contains("per-GPU goodput"), "{out}");
    let j = read_json(&json);
    for m in j["modes"].as_array().unwrap() {
        assert_eq!(m["points"].as_array().unwrap().len(), 4);
        let scales = m["slo_scale"].as_array().unwrap();
        let att: Vec<f64> = scales
            .iter()
            .map(|s| s["attainment"].as_f64().unwrap())
            .collect();
        // Looser SLOs never lower attainment.
        assert!(att.windows(2).all(|w| w[1] >= w[0]), "{att:?}");
        assert!(m["per_gpu_goodput_rps"].is_number() || m["per_gpu_goodput_rps"].is_null());
    }
}
