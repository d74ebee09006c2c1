//! Replays the kept fuzz corpus (`engine/fuzz/corpus/<target>/`) through the same checks as
//! the cargo-fuzz targets (`engine::fuzz_checks`), so a stable `cargo test` catches a parser
//! that panics again on an input the fuzzer once reached. Fuzzing itself needs nightly:
//! `cd engine/fuzz && cargo +nightly fuzz run <target>`.
use engine::fuzz_checks::TARGETS;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Runs `check` on every file of the target's corpus and prints how many it replayed.
fn replay(target: &str, check: fn(&[u8]) -> bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no corpus files", dir.display());
    let (mut accepted, mut failed) = (0, Vec::new());
    for path in &files {
        let data = std::fs::read(path).unwrap();
        match catch_unwind(AssertUnwindSafe(|| check(&data))) {
            Ok(ok) => accepted += usize::from(ok),
            Err(_) => failed.push(path.display().to_string()),
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} corpus files fail (the panics are printed above): {failed:#?}",
        failed.len(),
        files.len()
    );
    // The corpus reaches past the parsers' first error: some inputs parse.
    assert!(accepted > 0, "{target}: no corpus file parses");
    println!(
        "{target}: replayed {} files, {accepted} accepted",
        files.len()
    );
}

#[test]
fn every_fuzz_target_has_a_corpus_dir() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut dirs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut targets: Vec<String> = TARGETS.iter().map(|(t, _)| t.to_string()).collect();
    targets.sort();
    assert_eq!(
        dirs, targets,
        "corpus folders and fuzz_checks::TARGETS differ"
    );
}

#[test]
fn gguf_header_corpus() {
    replay("gguf_header", engine::fuzz_checks::gguf_header);
}

#[test]
fn model_card_corpus() {
    replay("model_card", engine::fuzz_checks::model_card);
}

#[test]
fn experiment_corpus() {
    replay("experiment", engine::fuzz_checks::experiment);
}

#[test]
fn trace_line_corpus() {
    replay("trace_line", engine::fuzz_checks::trace_line);
}
