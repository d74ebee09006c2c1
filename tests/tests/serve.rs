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
fn a_saved_experiment_repeats_the_run_exactly_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.json"),
        dir.path().join("b.json"),
        dir.path().join("c.json"),
    );
    let ron = dir.path().join("exp.ron");
    let extra = [
        "--clock",
        "modeled",
        "--seed",
        "3",
        "--save-experiment",
        ron.to_str().unwrap(),
    ];
    let first = run_ok(&bench_args(a.to_str().unwrap(), &extra), &[]);
    let text = std::fs::read_to_string(&ron).unwrap();
    assert!(
        text.contains("token_budget: 32") && text.contains("modeled"),
        "{text}"
    );
    // The file alone gives the same table and byte-identical JSON.
    let exp = [
        "bench",
        "--experiment",
        ron.to_str().unwrap(),
        "--json",
        b.to_str().unwrap(),
    ];
    let again = run_ok(&exp, &[]);
    assert_eq!(first, again);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // A flag beside the file replaces one field.
    let over = [
        "bench",
        "--experiment",
        ron.to_str().unwrap(),
        "--seed",
        "4",
        "--json",
        c.to_str().unwrap(),
    ];
    run_ok(&over, &[]);
    let (ja, jc) = (read_json(&a), read_json(&c));
    assert_eq!(jc["seed"], 4);
    assert_ne!(ja["modes"][0]["requests"], jc["modes"][0]["requests"]);
    // A broken file names itself and the line.
    std::fs::write(&ron, "(\n  gpus: 2,\n  bogus: 1,\n)").unwrap();
    let err = run_err(&["bench", "--experiment", ron.to_str().unwrap()], &[]);
    assert!(
        err.contains("exp.ron: 3:") && err.contains("bogus"),
        "{err}"
    );
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
        (vec!["--pd", "2:1"], "--pd (pd): 2:1 uses 3 GPUs"),
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
    let f = |r: &Value, k: &str| r[k].as_f64().unwrap();
    for r in &rows {
        // Each slowdown is relative to its own decode batch's step alone.
        let alone = rows
            .iter()
            .find(|a| a["decode_batch"] == r["decode_batch"] && a["prefill_len"] == 0)
            .unwrap();
        assert!(
            (f(r, "slowdown") - f(r, "step_ms") / f(alone, "step_ms")).abs() < 1e-9,
            "{r}"
        );
        if r["prefill_len"] == 256 {
            assert!(f(r, "step_ms") > f(alone, "step_ms"), "{r} vs {alone}");
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
        // The curve reuses the sweep's own run at 4 req/s (no extra run): at scale ×1 it is
        // that point's attainment.
        assert_eq!(m["slo_scale_rate"].as_f64(), Some(4.0));
        let at4 = m["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["rate"] == 4.0)
            .unwrap();
        let one = scales.iter().position(|s| s["scale"] == 1.0).unwrap();
        assert_eq!(att[one], at4["attainment"].as_f64().unwrap());
        // Per-GPU goodput is the crossing rate ÷ GPUs, inside the swept range.
        let max = m["max_rate_at_target"]
            .as_f64()
            .expect("a crossing at these loose SLOs");
        assert!((1.0..=64.0).contains(&max), "{max}");
        let per_gpu = m["per_gpu_goodput_rps"].as_f64().unwrap();
        assert!((per_gpu - max / m["gpus"].as_f64().unwrap()).abs() < 1e-12);
    }
    assert!(
        j["slo_scale_source"]
            .as_str()
            .unwrap()
            .contains("sweep's runs at 4"),
        "{j}"
    );
}
