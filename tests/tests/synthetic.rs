//! Commands on the `tiny` card's synthetic weights: no download needed.
use e2e_tests::{ids, run_json, run_ok};
use serde_json::Value;

#[test]
fn tiny_synthetic_generates_without_weights() {
    let empty = tempfile::tempdir().unwrap();
    let v = run_json(
        &[
            "generate",
            "--model",
            "tiny",
            "--synthetic",
            "--prompt",
            "hello",
            "--max-tokens",
            "5",
            "--json",
        ],
        // An empty models folder proves nothing is downloaded or read.
        &[("GOODPUT_LAB_MODELS", empty.path().to_str().unwrap())],
    );
    assert_eq!(ids(&v["output_ids"]).len(), 5, "{v}");
    assert!(!ids(&v["prompt_ids"]).is_empty(), "{v}");
    assert!(v["text"].is_string(), "{v}");
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}

fn positive(row: &Value, key: &str) {
    let x = row[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {row}"));
    assert!(x > 0.0 && x.is_finite(), "{key} = {x} in {row}");
}

#[test]
fn bench_model_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.json");
    let stdout = run_ok(
        &[
            "bench-model",
            "--model",
            "tiny",
            "--synthetic",
            "--batch",
            "1,4",
            "--prompt-len",
            "16,32",
            "--context",
            "16",
            "--decode-steps",
            "2",
            "--repeats",
            "1",
            "--json",
            file.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        stdout.contains("prefill") && stdout.contains("decode"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();

    let prefill = v["prefill"].as_array().expect("prefill rows");
    let lens: Vec<u64> = prefill
        .iter()
        .map(|r| r["prompt_len"].as_u64().unwrap())
        .collect();
    assert_eq!(lens, [16, 32], "{text}");
    for row in prefill {
        for key in ["prompt_len", "tokens_per_s", "step_ms"] {
            positive(row, key);
        }
    }

    let decode = v["decode"].as_array().expect("decode rows");
    let batches: Vec<u64> = decode
        .iter()
        .map(|r| r["batch"].as_u64().unwrap())
        .collect();
    assert_eq!(batches, [1, 4], "{text}");
    for row in decode {
        assert_eq!(row["context"].as_u64(), Some(16), "{row}");
        for key in [
            "batch",
            "context",
            "tokens_per_s",
            "step_ms",
            "bookkeeping_share",
        ] {
            positive(row, key);
        }
        assert!(row["bookkeeping_share"].as_f64().unwrap() < 1.0, "{row}");
    }
    // Only the JSON: the temp file was renamed into place.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
