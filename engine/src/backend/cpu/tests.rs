//! Kernel tests: every instruction-set path against an f32 reference, and tiling invariance.
use super::matmul::matmul;
use super::qdot::Isa;
use super::quant::{Codes, QActs, QMatrix, QK};
use rand::{Rng, SeedableRng};

fn random_f32(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

fn q4_1_matrix(rows: usize, cols: usize, seed: u64) -> QMatrix {
    // Build raw Q4_1 blocks as a GGUF file would hold them.
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut raw = Vec::new();
    for _ in 0..rows * cols / QK {
        raw.extend_from_slice(&half::f16::from_f32(rng.random_range(0.001..0.05)).to_le_bytes());
        raw.extend_from_slice(&half::f16::from_f32(rng.random_range(-0.3..0.0)).to_le_bytes());
        raw.extend((0..16).map(|_| rng.random::<u8>()));
    }
    QMatrix::from_q4_1(rows, cols, &raw)
}

fn reference(w: &QMatrix, x: &[f32], n: usize) -> Vec<f32> {
    let wf = w.dequantize();
    let mut y = vec![0f32; n * w.rows];
    for t in 0..n {
        for r in 0..w.rows {
            let xr = &x[t * w.cols..(t + 1) * w.cols];
            let wr = &wf[r * w.cols..(r + 1) * w.cols];
            y[t * w.rows + r] = xr.iter().zip(wr).map(|(a, b)| a * b).sum();
        }
    }
    y
}

fn isas() -> Vec<Isa> {
    let mut v = vec![Isa::Portable];
    match Isa::detect() {
        Isa::Vnni => v.extend([Isa::Avx2, Isa::Vnni]),
        Isa::Avx2 => v.push(Isa::Avx2),
        Isa::Portable => {}
    }
    v
}

#[test]
fn q4_1_decoding_matches_ggml_layout() {
    let mut raw = Vec::new();
    raw.extend_from_slice(&half::f16::from_f32(0.5).to_le_bytes());
    raw.extend_from_slice(&half::f16::from_f32(-1.0).to_le_bytes());
    raw.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
    let w = QMatrix::from_q4_1(1, 32, &raw);
    let v = w.dequantize();
    assert_eq!(v[0], -1.0);
    assert_eq!(v[3], 0.5 * 3.0 - 1.0);
    assert_eq!(v[16], 0.5 * 15.0 - 1.0);
    assert_eq!(v[31], -1.0);
}

#[test]
fn q8_0_maps_to_offset_codes() {
    let mut raw = half::f16::from_f32(0.25).to_le_bytes().to_vec();
    raw.extend((0..32).map(|i| (i as i8 - 16) as u8));
    let v = QMatrix::from_q8_0(1, 32, &raw).dequantize();
    assert!(v
        .iter()
        .enumerate()
        .all(|(i, &x)| x == 0.25 * (i as f32 - 16.0)));
}

#[test]
fn every_isa_matches_f32_reference() {
    let (rows, cols) = (44, 96);
    for codes in [Codes::U4, Codes::U8] {
        let w = match codes {
            Codes::U4 => q4_1_matrix(rows, cols, 1),
            Codes::U8 => QMatrix::quantize_u8(rows, cols, &random_f32(rows * cols, 2)),
        };
        for n in [1, 3, 4, 9] {
            let x = random_f32(n * cols, 3 + n as u64);
            let mut a = QActs::default();
            a.quantize(&x, n, cols);
            let want = reference(&w, &x, n);
            let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            for isa in isas() {
                let mut y = vec![0f32; n * rows];
                matmul(isa, &w, &a, &mut y);
                let err = y
                    .iter()
                    .zip(&want)
                    .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
                // int8 activations: ~1% of the output range
                assert!(
                    err < 0.02 * scale,
                    "{isa:?} {codes:?} n={n}: err {err} scale {scale}"
                );
            }
        }
    }
}

#[test]
fn simd_paths_agree_with_portable_closely() {
    let w = q4_1_matrix(64, 576, 7);
    let x = random_f32(5 * 576, 8);
    let mut a = QActs::default();
    a.quantize(&x, 5, 576);
    let mut base = vec![0f32; 5 * 64];
    matmul(Isa::Portable, &w, &a, &mut base);
    for isa in isas() {
        let mut y = vec![0f32; 5 * 64];
        matmul(isa, &w, &a, &mut y);
        for (u, v) in y.iter().zip(&base) {
            assert!(
                (u - v).abs() <= 1e-4 * (1.0 + v.abs()),
                "{isa:?}: {u} vs {v}"
            );
        }
    }
}

#[test]
fn result_of_a_token_does_not_depend_on_its_batch() {
    // Bit-for-bit: the same row of x alone or inside a batch of 7 gives identical outputs.
    let w = q4_1_matrix(40, 64, 11);
    let x = random_f32(7 * 64, 12);
    for isa in isas() {
        let mut a = QActs::default();
        a.quantize(&x, 7, 64);
        let mut all = vec![0f32; 7 * 40];
        matmul(isa, &w, &a, &mut all);
        for t in 0..7 {
            let mut one = QActs::default();
            one.quantize(&x[t * 64..(t + 1) * 64], 1, 64);
            let mut y = vec![0f32; 40];
            matmul(isa, &w, &one, &mut y);
            assert_eq!(y, all[t * 40..(t + 1) * 40], "{isa:?} token {t}");
        }
    }
}
