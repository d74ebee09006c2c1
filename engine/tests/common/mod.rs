//! Shared by the engine's integration tests: the real model (fetched when absent) and tiny.
#![allow(dead_code)]
use engine::loader::{load, LoadOptions, LoadedModel};
use engine::model::{cards, fetch};
use std::path::PathBuf;

pub fn smollm_path() -> PathBuf {
    fetch::ensure(&cards::card("smollm2-135m").unwrap()).expect("fetching SmolLM2")
}

pub fn smollm(threads: usize) -> LoadedModel {
    smollm_path();
    load(&LoadOptions {
        model: "smollm2-135m".into(),
        synthetic: false,
        threads,
        seed: 0,
        device: Default::default(),
    })
    .unwrap()
}

pub fn tiny(threads: usize) -> LoadedModel {
    load(&LoadOptions {
        model: "tiny".into(),
        synthetic: true,
        threads,
        seed: 42,
        device: Default::default(),
    })
    .unwrap()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}
