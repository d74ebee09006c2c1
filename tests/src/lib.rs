//! Helpers for the end-to-end tests: build the real `goodput-lab` binary once per test
//! process, run it, and make sure the real model's weights are present.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// File name of the real model's weights (the `smollm2-135m` card).
pub const REAL_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent folder")
        .to_path_buf()
}

/// Builds `goodput-lab` (debug profile, like the tests) once per process and returns its path.
pub fn bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(&cargo)
            .args(["build", "-p", "app", "--bin", "goodput-lab"])
            .current_dir(workspace_root())
            .output()
            .unwrap_or_else(|e| panic!("could not run {cargo:?}: {e}"));
        assert!(
            out.status.success(),
            "building goodput-lab failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|t| {
                if t.is_relative() {
                    workspace_root().join(t)
                } else {
                    t
                }
            })
            .unwrap_or_else(|| workspace_root().join("target"));
        let path = target
            .join("debug")
            .join(format!("goodput-lab{}", std::env::consts::EXE_SUFFIX));
        assert!(path.is_file(), "{} was not built", path.display());
        path
    })
    .clone()
}

/// Runs `goodput-lab ARGS` from the workspace root with extra environment variables.
pub fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(bin())
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(workspace_root())
        .output()
        .expect("goodput-lab runs")
}

fn describe(args: &[&str], out: &Output) -> String {
    format!(
        "goodput-lab {args:?} -> {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs and asserts success; returns stdout.
pub fn run_ok(args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = run(args, envs);
    assert!(out.status.success(), "{}", describe(args, &out));
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Runs, asserts success and parses stdout as one JSON value.
pub fn run_json(args: &[&str], envs: &[(&str, &str)]) -> serde_json::Value {
    let stdout = run_ok(args, envs);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("goodput-lab {args:?}: stdout is not JSON ({e}):\n{stdout}"))
}

/// Runs and asserts a clean failure: a non-zero exit, an `error:` message and no panic.
/// Returns stderr.
pub fn run_err(args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = run(args, envs);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let msg = describe(args, &out);
    assert!(!out.status.success(), "expected a failure: {msg}");
    // 1: the app's own errors, 2: clap's usage errors; a panic exits 101, a crash has no code.
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "exit code 1 or 2 (not a crash): {msg}"
    );
    assert!(!stderr.contains("panicked"), "panicked: {msg}");
    assert!(stderr.contains("error"), "no error message: {msg}");
    stderr
}

/// Where the binary looks for weights: `$GOODPUT_LAB_MODELS`, else the workspace's `models/`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("GOODPUT_LAB_MODELS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("models"))
}

/// Makes sure the real model is present and verified (`models fetch smollm2-135m`, once per
/// process: a quick sha256 check when present, a download when not) and returns its path.
pub fn real_model_ready() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY
        .get_or_init(|| {
            run_ok(&["models", "fetch", "smollm2-135m"], &[]);
            let path = models_dir().join(REAL_GGUF);
            assert!(path.is_file(), "{} missing after fetch", path.display());
            path
        })
        .clone()
}

/// Token ids of "The capital of France is" in SmolLM2's vocabulary.
pub const FRANCE_IDS: [u64; 5] = [504, 3575, 282, 4649, 314];

/// The ids in a JSON array, as numbers.
pub fn ids(v: &serde_json::Value) -> Vec<u64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_u64().unwrap_or_else(|| panic!("not an id: {x}")))
        .collect()
}
