//! A sequence's logits inside a mixed step (beside other sequences' prefill chunks and
//! decodes, its own prompt split into chunks) equal its logits computed alone.
mod common;
use engine::backend::cpu::session::{prompt_logits, Session};
use engine::backend::step::StepPart;
use engine::loader::LoadedModel;
use rand::{Rng, SeedableRng};

/// Logits after each token of `prompt`, fed to a fresh session in one prefill.
fn alone(m: &LoadedModel, prompt: &[u32]) -> Vec<f32> {
    prompt_logits(m.model.cpu().unwrap(), prompt).unwrap()
}

/// The same prompt fed as chunks `splits`, each step shared with noise sequences: another
/// prompt's chunk and several single-token decodes.
fn mixed(m: &LoadedModel, prompt: &[u32], splits: &[usize], seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let vocab = m.spec().vocab_size as u32;
    let mut s = Session::with_capacity(m.model.cpu().unwrap(), 4096).unwrap();
    // Decoding neighbours with some context already computed.
    for d in 10..14u64 {
        let ctx: Vec<u32> = (0..rng.random_range(3..20))
            .map(|_| rng.random_range(0..vocab))
            .collect();
        s.step(&[StepPart {
            seq: d,
            tokens: &ctx,
            want_logits: false,
        }])
        .unwrap();
    }
    let mut last = Vec::new();
    let mut start = 0;
    for (k, &end) in splits
        .iter()
        .chain(std::iter::once(&prompt.len()))
        .enumerate()
    {
        let noise: Vec<u32> = (0..rng.random_range(1..40))
            .map(|_| rng.random_range(0..vocab))
            .collect();
        let decodes: Vec<[u32; 1]> = (0..4).map(|_| [rng.random_range(0..vocab)]).collect();
        let mut parts = vec![StepPart {
            seq: 20 + k as u64,
            tokens: &noise,
            want_logits: true,
        }];
        parts.extend(decodes.iter().enumerate().map(|(i, t)| StepPart {
            seq: 10 + i as u64,
            tokens: t,
            want_logits: true,
        }));
        // Put the sequence under test in the middle of the packed batch.
        parts.insert(
            2,
            StepPart {
                seq: 0,
                tokens: &prompt[start..end],
                want_logits: true,
            },
        );
        last = s.step(&parts).unwrap().remove(2);
        start = end;
    }
    last
}

fn check(m: &LoadedModel, prompt: &[u32]) {
    let want = alone(m, prompt);
    for (splits, seed) in [
        (vec![], 1),
        (vec![1], 2),
        (vec![5, 6, 17], 3),
        (vec![prompt.len() - 1], 4),
    ] {
        let got = mixed(m, prompt, &splits, seed);
        let diff = common::max_abs_diff(&got, &want);
        // Linear layers are batch-invariant bit for bit; attention only changes with the
        // chunk boundaries through f32 summation order.
        assert!(diff < 1e-4, "splits {splits:?}: max |Δlogit| = {diff}");
    }
}

#[test]
fn tiny_mixed_step_equals_alone() {
    let m = common::tiny(2);
    let prompt: Vec<u32> = (0..37).map(|i| (i * 13 % 500) as u32).collect();
    check(&m, &prompt);
}

#[test]
fn smollm_mixed_step_equals_alone() {
    let m = common::smollm(2);
    let prompt = m
        .tokenizer
        .encode("In a hole in the ground there lived a hobbit. Not a nasty, dirty, wet hole")
        .unwrap();
    assert!(prompt.len() > 18);
    check(&m, &prompt);
}

#[test]
fn decode_steps_equal_a_longer_prefill() {
    // Feeding tokens one at a time (decode) must give the logits of prefilling them at once.
    let m = common::tiny(1);
    let prompt: Vec<u32> = (0..20).map(|i| (i * 7 % 500) as u32).collect();
    let want = alone(&m, &prompt);
    let mut s = Session::with_capacity(m.model.cpu().unwrap(), 64).unwrap();
    let mut got = Vec::new();
    for t in &prompt {
        got = s
            .step(&[StepPart {
                seq: 3,
                tokens: std::slice::from_ref(t),
                want_logits: true,
            }])
            .unwrap()
            .remove(0);
    }
    assert!(common::max_abs_diff(&got, &want) < 1e-4);
}
