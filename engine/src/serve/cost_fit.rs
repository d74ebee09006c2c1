//! Fitting the modeled clock's correction `a + max(b_c·C, b_m·M) + b_a·A` (GEMM compute and
//! memory times C and M, attention time A) to measured steps by least squares. The max makes
//! it piecewise linear: each sample is assigned to the GEMM regime that bounds it, the linear
//! fit is solved, and the assignment is redone with the fitted multipliers until it settles.

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
}

pub(crate) fn fit(xs: &[Point]) -> Fitted {
    let mut f = Fitted {
        a: 0.0,
        b_compute: 1.0,
        b_memory: 1.0,
        b_attention: 1.0,
    };
    for _ in 0..8 {
        let cb: Vec<bool> = xs
            .iter()
            .map(|p| f.b_compute * p.gemm_compute > f.b_memory * p.gemm_memory)
            .collect();
        let next = fit_regimes(xs, &cb);
        let settled = next == f;
        f = next;
        if settled {
            break;
        }
    }
    f
}

/// The linear fit for one regime assignment. Rows are weighted by 1/t, so the fit minimises
/// relative error: a 10 ms decode step counts as much as a 1 s prefill (TPOT is made of the
/// small ones). Designs are tried from the richest down until the coefficients make sense:
/// a regime without samples shares the other's multiplier; attention that fits a negative
/// multiplier shares the memory one; a negative overhead refits through the origin.
fn fit_regimes(xs: &[Point], cb: &[bool]) -> Fitted {
    let n_c = cb.iter().filter(|&&c| c).count();
    let both = n_c > 0 && n_c < cb.len();
    for own_attention in [true, false] {
        for intercept in [true, false] {
            let mut design = Vec::with_capacity(xs.len());
            let mut target = Vec::with_capacity(xs.len());
            for (p, &c) in xs.iter().zip(cb) {
                let w = 1.0 / p.t.max(1e-12);
                let (gc, gm) = if c {
                    (p.gemm_compute, 0.0)
                } else {
                    (0.0, p.gemm_memory)
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
                return Fitted {
                    a,
                    b_compute: bc,
                    b_memory: bm,
                    b_attention: ba,
                };
            }
        }
    }
    Fitted {
        a: 0.0,
        b_compute: 1.0,
        b_memory: 1.0,
        b_attention: 1.0,
    }
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
