//! Out-of-range arguments fail with a clear message, never a panic.
use e2e_tests::run_err;

/// `generate` on the tiny synthetic model with `extra` arguments; returns stderr.
fn tiny_generate_err(prompt: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "generate",
        "--model",
        "tiny",
        "--synthetic",
        "--prompt",
        prompt,
    ];
    args.extend_from_slice(extra);
    run_err(&args, &[])
}

#[test]
fn prompt_longer_than_the_context() {
    let prompt = vec!["word"; 1500].join(" ");
    let err = tiny_generate_err(&prompt, &["--max-tokens", "4"]);
    assert!(err.contains("context"), "{err}");
    assert!(err.contains("1024"), "{err}");
}

#[test]
fn zero_threads() {
    let err = tiny_generate_err("hello", &["--threads", "0"]);
    assert!(err.contains("--threads"), "{err}");
}

#[test]
fn zero_max_tokens() {
    let err = tiny_generate_err("hello", &["--max-tokens", "0"]);
    assert!(err.contains("--max-tokens"), "{err}");
}

#[test]
fn zero_top_p() {
    let err = tiny_generate_err("hello", &["--top-p", "0", "--temperature", "0.8"]);
    assert!(err.contains("--top-p"), "{err}");
    // Also when sampling greedily: the value is still out of range.
    let err = tiny_generate_err("hello", &["--top-p", "0"]);
    assert!(err.contains("--top-p"), "{err}");
}

#[test]
fn bench_json_into_a_missing_folder_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no").join("such");
    let file = missing.join("bench.json");
    let err = run_err(
        &[
            "bench-model",
            "--model",
            "tiny",
            "--synthetic",
            "--batch",
            "1",
            "--prompt-len",
            "8",
            "--context",
            "8",
            "--decode-steps",
            "1",
            "--repeats",
            "1",
            "--json",
            file.to_str().unwrap(),
        ],
        &[],
    );
    assert!(err.contains("bench.json"), "{err}");
    assert!(!file.exists() && !missing.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn without_a_display_the_window_points_to_the_command_line() {
    // Empty values count as unset: CI and this test have no display.
    let err = e2e_tests::run_err(&[], &[("DISPLAY", ""), ("WAYLAND_DISPLAY", "")]);
    assert!(err.contains("no display"), "{err}");
    assert!(err.contains("goodput-lab bench"), "{err}");
}
