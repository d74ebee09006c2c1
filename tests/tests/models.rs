//! `goodput-lab models`.
use e2e_tests::run_ok;

#[test]
fn models_list_shows_every_card() {
    let out = run_ok(&["models", "list"], &[]);
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for card in [
        "tiny",
        "smollm2-135m",
        "smollm2-360m",
        "llama-2-7b",
        "llama-2-13b",
        "llama-3-8b",
    ] {
        assert!(names.contains(&card), "{card} missing from:\n{out}");
    }
    assert!(out.contains("models folder:"), "{out}");
}
