//! `goodput-lab tokenize` on the real model's vocabulary.
use e2e_tests::{real_model_ready, run_json, FRANCE_IDS};

#[test]
fn tokenize_json_gives_the_known_ids() {
    real_model_ready();
    let v = run_json(
        &[
            "tokenize",
            "--model",
            "smollm2-135m",
            "--text",
            "The capital of France is",
            "--json",
        ],
        &[],
    );
    assert_eq!(v, serde_json::json!({ "ids": FRANCE_IDS }));
}
