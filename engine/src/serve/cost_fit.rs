//! Fitting the modeled clock's correction `a + max(b_c·C, b_m·M) + s·min(b_c·C, b_m·M) + b_a·A`
//! (GEMM compute and memory times C and M, attention time A) to measured steps by least
//! squares. The max makes it piecewise linear: a sample is compute-bound exactly when its
//! intensity C/M exceeds b_m/b_c, so the possible regime assignments are the n + 1 cuts of the
//! samples sorted by intensity; for a fixed overlap share s each cut is a linear fit. Every
//! cut at every s on a 1/20 grid is fitted and the best model by its own error is kept (the
//! profile's own ridge need not be this device's: tiny steps on a CPU fitted to an H100's
//! roofline are all memory-bound at b_c = b_m, yet their prompts cost by compute).

/// One measured step in roofline terms (seconds at the profile's rates) and its duration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    pub gemm_compute: f64,
    pub gemm_memory: f64,
    pub attention: f64,
    pub t: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fitted {
    pub a: f64,
    pub b_compute: f64,
    pub b_memory: f64,
    pub b_attention: f64,
    pub serial: f64,
}

/// Steps of the overlap share s tried: 0, 0.05, …, 1.
const SERIAL_STEPS: usize = 20;

pub(crate) fn fit(xs: &[Point]) -> Fitted {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let intensity = |p: &Point| p.gemm_compute / p.gemm_memory.max(1e-300);
    order.sort_by(|&i, &j| intensity(&xs[i]).total_cmp(&intensity(&xs[j])));
    let mut best: Option<(f64, Fitted)> = None;
    // Ascending s and a strict improvement: the plain roofline (s = 0) wins ties.
    for k in 0..=SERIAL_STEPS {
        let serial = k as f64 / SERIAL_STEPS as f64;
        for cut in 0..=xs.len() {
            let mut cb = vec![false; xs.len()];
            for &i in &order[cut..] {
                cb[i] = true;
            }
            let Some(f) = fit_regimes(xs, &cb, serial) else {
                continue;
            };
            let loss = relative_sse(xs, &f);
            if best.is_none_or(|(l, _)| loss < l * (1.0 - 1e-9) - 1e-18) {
                best = Some((loss, f));
            }
        }
    }
    best.map_or(
        Fitted {
            a: 0.0,
            b_compute: 1.0,
            b_memory: 1.0,
            b_attention: 1.0,
            serial: 0.0,
        },
        |(_, f)| f,
    )
}

/// The corrected GEMM time: the larger of the scaled compute and memory times, plus the share
/// `serial` of the smaller that does not overlap it. The modeled clock predicts with it too.
pub(crate) fn gemm_time(compute: f64, memory: f64, b_c: f64, b_m: f64, serial: f64) -> f64 {
    let (c, m) = (b_c * compute, b_m * memory);
    c.max(m) + serial * c.min(m)
}

/// The model's seconds for a sample's terms.
fn predict(p: &Point, f: &Fitted) -> f64 {
    let gemm = gemm_time(
        p.gemm_compute,
        p.gemm_memory,
        f.b_compute,
        f.b_memory,
        f.serial,
    );
    f.a + gemm + f.b_attention * p.attention
}

/// Σ ((predicted − t) / t)² of the max-model: what the linear fits approximate.
fn relative_sse(xs: &[Point], f: &Fitted) -> f64 {
    xs.iter()
        .map(|p| ((predict(p, f) - p.t) / p.t.max(1e-12)).powi(2))
        .sum()
}

/// The linear fit for one regime assignment at overlap share `serial`. Rows are weighted by 1/t, so the fit minimises
/// relative error: a 10 ms decode step counts as much as a 1 s prefill (TPOT is made of the
/// small ones). Designs are tried from the richest down until the coefficients make sense:
/// a regime without samples shares the other's multiplier; attention that fits a negative
/// multiplier shares the memory one; a negative overhead refits through the origin. None when
/// no design gives positive multipliers.
fn fit_regimes(xs: &[Point], cb: &[bool], serial: f64) -> Option<Fitted> {
    let n_c = cb.iter().filter(|&&c| c).count();
    let both = n_c > 0 && n_c < cb.len();
    for own_attention in [true, false] {
        for intercept in [true, false] {
            let mut design = Vec::with_capacity(xs.len());
            let mut target = Vec::with_capacity(xs.len());
            for (p, &c) in xs.iter().zip(cb) {
                let w = 1.0 / p.t.max(1e-12);
                let (gc, gm) = if c {
                    (p.gemm_compute, serial * p.gemm_memory)
                } else {
                    (serial * p.gemm_compute, p.gemm_memory)
                };
                let shared_attn = if own_attention { 0.0 } else { p.attention };
                let mut row = Vec::new();
                if intercept {
                    row.push(1.0);
                }
                if both {
                    row.push(gc);
                    row.push(gm + shared_attn);
                } else {
                    row.push(gc + gm + shared_attn);
                }
                if own_attention {
                    row.push(p.attention);
                }
                design.push(row.iter().map(|x| x * w).collect::<Vec<f64>>());
                target.push(p.t * w);
            }
            let mut beta = least_squares(&design, &target).into_iter();
            let a = if intercept {
                beta.next().unwrap_or(0.0)
            } else {
                0.0
            };
            let (bc, bm) = if both {
                (beta.next().unwrap_or(0.0), beta.next().unwrap_or(0.0))
            } else {
                let b = beta.next().unwrap_or(0.0);
                (b, b)
            };
            let ba = if own_attention {
                beta.next().unwrap_or(0.0)
            } else {
                bm
            };
            let ok = |x: f64| x.is_finite() && x > 0.0;
            if a.is_finite() && a >= 0.0 && ok(bc) && ok(bm) && ok(ba) {
                return Some(Fitted {
                    a,
                    b_compute: bc,
                    b_memory: bm,
                    b_attention: ba,
                    serial,
                });
            }
        }
    }
    None
}

/// Solves the normal equations `XᵀX β = Xᵀt` by Gaussian elimination with partial pivoting.
/// A singular system leaves the dependent coefficients at 0.
pub(crate) fn least_squares(x: &[Vec<f64>], t: &[f64]) -> Vec<f64> {
    let k = x.first().map_or(0, |r| r.len());
    let mut m = vec![vec![0.0; k + 1]; k];
    for (row, &ti) in x.iter().zip(t) {
        for i in 0..k {
            for j in 0..k {
                m[i][j] += row[i] * row[j];
            }
            m[i][k] += row[i] * ti;
        }
    }
    for col in 0..k {
        let Some(piv) = (col..k).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))
        else {
            continue;
        };
        m.swap(col, piv);
        let p = m[col][col];
        if p.abs() < 1e-300 {
            continue;
        }
        let pivot_row = m[col].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / p;
                for (x, &y) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *x -= f * y;
                }
            }
        }
    }
    (0..k)
        .map(|i| {
            if m[i][i].abs() < 1e-300 {
                0.0
            } else {
                m[i][k] / m[i][i]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sample is memory-bound at the profile's own b_c = b_m = 1 (C < M), yet the
    /// planted device is 50× slower at compute, so its larger steps are compute-bound: the
    /// fit must find that cut, not stay in the regime the datasheet suggests; with and without
    /// an imperfect overlap of the two GEMM times.
    #[test]
    fn a_fit_finds_compute_bound_steps_the_datasheet_calls_memory_bound() {
        for serial in [0.0, 0.35] {
            let planted = Fitted {
                a: 1e-3,
                b_compute: 50.0,
                b_memory: 1.2,
                b_attention: 2.0,
                serial,
            };
            let xs: Vec<Point> = [1.0, 8.0, 32.0, 64.0, 256.0, 512.0]
                .iter()
                .flat_map(|&tokens: &f64| {
                    [0.5, 2.0].map(|ctx| {
                        let (c, m) = (tokens * 2e-7, 1e-3 + tokens * 1e-7);
                        let mut p = Point {
                            gemm_compute: c,
                            gemm_memory: m,
                            attention: tokens * ctx * 1e-6,
                            t: 0.0,
                        };
                        p.t = predict(&p, &planted);
                        p
                    })
                })
                .collect();
            assert!(xs.iter().all(|p| p.gemm_compute < p.gemm_memory));
            assert!(xs
                .iter()
                .any(|p| 50.0 * p.gemm_compute > 1.2 * p.gemm_memory));
            let f = fit(&xs);
            for (got, want) in [
                (f.a, planted.a),
                (f.b_compute, planted.b_compute),
                (f.b_memory, planted.b_memory),
                (f.b_attention, planted.b_attention),
            ] {
                assert!((got / want - 1.0).abs() < 1e-6, "{f:?}");
            }
            assert!((f.serial - serial).abs() < 1e-12, "{f:?}");
            assert!(relative_sse(&xs, &f) < 1e-12);
        }
    }
}
