//! Parallel driver of the integer matmul: `y[n × rows] = x[n × cols] · Wᵀ`.
//!
//! Rows are split into chunks that threads take in turn; inside a chunk, tiles of 4 tokens ×
//! 4 rows keep a weight chunk hot in L1 while activations stream. Every output element is
//! accumulated in the same order whatever the tiling, so a token's result does not depend on
//! which other tokens share the step (batch invariance: tests rely on it).
use super::qdot::{tile_portable, Isa, Tile};
use super::quant::{QActs, QMatrix};
use rayon::prelude::*;

const TR: usize = 4;
const TT: usize = 4;

#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// Safety: each task writes a disjoint set of (token, row) elements.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

#[inline]
fn tile<const R: usize, const T: usize>(
    isa: Isa,
    w: &QMatrix,
    r0: usize,
    a: &QActs,
    t0: usize,
) -> Tile<R, T> {
    #[cfg(target_arch = "x86_64")]
    {
        // Safety: `isa` was detected on this CPU; callers keep tiles in bounds.
        match isa {
            Isa::Vnni => return unsafe { super::qdot::tile_vnni::<R, T>(w, r0, a, t0) },
            Isa::Avx2 => return unsafe { super::qdot::tile_avx2::<R, T>(w, r0, a, t0) },
            Isa::Portable => {}
        }
    }
    tile_portable::<R, T>(w, r0, a, t0)
}

fn store<const R: usize, const T: usize>(
    out: OutPtr,
    rows: usize,
    r0: usize,
    t0: usize,
    v: Tile<R, T>,
) {
    for (r, row) in v.iter().enumerate() {
        for (t, &x) in row.iter().enumerate() {
            // Safety: in bounds, and no other task owns row r0+r.
            unsafe { *out.0.add((t0 + t) * rows + r0 + r) = x };
        }
    }
}

fn chunk_rows<const R: usize>(isa: Isa, w: &QMatrix, a: &QActs, out: OutPtr, lo: usize, hi: usize) {
    let mut t0 = 0;
    while t0 < a.n {
        let full_t = a.n - t0 >= TT;
        let mut r0 = lo;
        while r0 < hi {
            if hi - r0 >= R {
                if full_t {
                    store(out, w.rows, r0, t0, tile::<R, TT>(isa, w, r0, a, t0));
                } else {
                    for t in t0..a.n {
                        store(out, w.rows, r0, t, tile::<R, 1>(isa, w, r0, a, t));
                    }
                }
                r0 += R;
            } else {
                for t in t0..(t0 + TT).min(a.n) {
                    store(out, w.rows, r0, t, tile::<1, 1>(isa, w, r0, a, t));
                }
                r0 += 1;
            }
        }
        t0 += TT;
    }
}

/// `y` gets `a.n × w.rows` values, row-major by token.
pub fn matmul(isa: Isa, w: &QMatrix, a: &QActs, y: &mut [f32]) {
    assert_eq!(w.cols, a.cols, "matmul: inner dimensions differ");
    assert_eq!(y.len(), a.n * w.rows, "matmul: output size");
    let threads = rayon::current_num_threads().max(1);
    let chunk = (w.rows / (threads * 8)).max(16).next_multiple_of(TR);
    let n_chunks = w.rows.div_ceil(chunk);
    let out = OutPtr(y.as_mut_ptr());
    let work = |c: usize| {
        let lo = c * chunk;
        let hi = (lo + chunk).min(w.rows);
        chunk_rows::<TR>(isa, w, a, out, lo, hi);
    };
    if n_chunks == 1 || threads == 1 {
        (0..n_chunks).for_each(work);
    } else {
        (0..n_chunks).into_par_iter().for_each(work);
    }
}
