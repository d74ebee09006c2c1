//! A missing, unknown or damaged model fails with a clear message, never a panic.
use e2e_tests::{real_model_ready, run_err, REAL_GGUF};
use std::path::Path;

fn generate_with(model: &str, envs: &[(&str, &str)]) -> String {
    run_err(
        &[
            "generate",
            "--model",
            model,
            "--prompt",
            "hello",
            "--max-tokens",
            "2",
            "--threads",
            "2",
        ],
        envs,
    )
}

fn tokenize_with(model: &str, envs: &[(&str, &str)]) -> String {
    run_err(&["tokenize", "--model", model, "--text", "hello"], envs)
}

/// Deterministic pseudo-random bytes (xorshift), so no extra crate is needed.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

fn utf8(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

#[test]
fn missing_weights_say_how_to_fetch() {
    let empty = tempfile::tempdir().unwrap();
    let envs = [("GOODPUT_LAB_MODELS", utf8(empty.path()))];
    for err in [
        generate_with("smollm2-135m", &envs),
        tokenize_with("smollm2-135m", &envs),
    ] {
        assert!(
            err.contains("goodput-lab models fetch smollm2-135m"),
            "{err}"
        );
        assert!(err.contains(REAL_GGUF), "{err}");
    }
}

#[test]
fn wrong_checksum_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(REAL_GGUF), noise(4096, 1)).unwrap();
    let err = generate_with("smollm2-135m", &[("GOODPUT_LAB_MODELS", utf8(dir.path()))]);
    assert!(err.contains("sha256"), "{err}");
    assert!(err.contains(REAL_GGUF), "{err}");
}

#[test]
fn random_bytes_are_not_a_gguf() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.gguf");
    std::fs::write(&path, noise(1 << 16, 42)).unwrap();
    for err in [
        generate_with(utf8(&path), &[]),
        tokenize_with(utf8(&path), &[]),
    ] {
        assert!(err.contains(utf8(&path)), "{err}");
        assert!(err.contains("GGUF"), "{err}");
    }
}

#[test]
fn truncated_gguf_is_named_and_called_truncated() {
    let real = real_model_ready();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.gguf");
    let mut bytes = std::fs::read(&real).unwrap();
    bytes.truncate(2 << 20);
    std::fs::write(&path, bytes).unwrap();
    let err = generate_with(utf8(&path), &[]);
    assert!(err.contains(utf8(&path)), "{err}");
    assert!(err.to_lowercase().contains("truncated"), "{err}");
}

#[test]
fn nonexistent_gguf_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.gguf");
    for err in [
        generate_with(utf8(&path), &[]),
        tokenize_with(utf8(&path), &[]),
    ] {
        assert!(err.contains(utf8(&path)), "{err}");
    }
}

#[test]
fn unknown_card_lists_the_known_ones() {
    for err in [generate_with("nosuch", &[]), tokenize_with("nosuch", &[])] {
        assert!(err.contains("nosuch"), "{err}");
        assert!(
            err.contains("smollm2-135m") && err.contains("tiny"),
            "{err}"
        );
    }
}
