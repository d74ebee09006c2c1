//! Tile kernels: a tile of `R` weight rows × `T` tokens of the integer matmul.
//!
//! dot(row, token) = Σ_b d_w·d_a·Σ_i u_i q_i + Σ_b m_w·s_a  (see `quant.rs`).
//! The inner Σ u·q is one u8×i8 instruction per block: `vpdpbusd` with AVX-512 VNNI, or
//! `vpmaddubsw`+`vpmaddwd` with plain AVX2. The portable version is the reference for tests.
use super::quant::{Codes, QActs, QMatrix, QK};

/// Which instruction set the kernels use; picked once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Vnni,
    Avx2,
    Portable,
}

impl Isa {
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512vnni")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma")
            {
                return Isa::Vnni;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }
}

/// Output of one tile: `out[r][t]`.
pub type Tile<const R: usize, const T: usize> = [[f32; T]; R];

/// Portable reference: exact integer inner sums, f32 scaling in block order.
pub fn tile_portable<const R: usize, const T: usize>(
    w: &QMatrix,
    r0: usize,
    a: &QActs,
    t0: usize,
) -> Tile<R, T> {
    let nb = w.blocks_per_row();
    let mut out = [[0f32; T]; R];
    for (r, row_out) in out.iter_mut().enumerate() {
        for (t, o) in row_out.iter_mut().enumerate() {
            let (mut acc, mut off) = (0f32, 0f32);
            for b in 0..nb {
                let wb = (r0 + r) * nb + b;
                let ab = (t0 + t) * nb + b;
                let q = &a.q[ab * QK..ab * QK + QK];
                let dot: i32 = (0..QK).map(|i| w.code(wb, i) as i32 * q[i] as i32).sum();
                acc += dot as f32 * (w.d[wb] * a.d[ab]);
                off += w.m[wb] * a.s[ab];
            }
            *o = acc + off;
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
pub use x86::{tile_avx2, tile_vnni};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;
    use std::arch::x86_64::*;

    macro_rules! tile_kernel {
        ($name:ident, $features:literal, $dot:ident) => {
            /// # Safety
            /// The CPU must support the enabled features; `r0+R <= rows`, `t0+T <= a.n`.
            #[target_feature(enable = $features)]
            pub unsafe fn $name<const R: usize, const T: usize>(
                w: &QMatrix,
                r0: usize,
                a: &QActs,
                t0: usize,
            ) -> Tile<R, T> {
                let nb = w.blocks_per_row();
                let bpb = w.codes.bytes_per_block();
                let mut acc = [[_mm256_setzero_ps(); T]; R];
                let mut off = [[0f32; T]; R];
                for b in 0..nb {
                    let mut wv = [_mm256_setzero_si256(); R];
                    for (r, v) in wv.iter_mut().enumerate() {
                        let p = w.qs.as_ptr().add(((r0 + r) * nb + b) * bpb);
                        *v = load_codes(p, w.codes);
                    }
                    for t in 0..T {
                        let ab = (t0 + t) * nb + b;
                        let av = _mm256_loadu_si256(a.q.as_ptr().add(ab * QK) as *const __m256i);
                        let (da, sa) = (*a.d.get_unchecked(ab), *a.s.get_unchecked(ab));
                        for r in 0..R {
                            let wb = (r0 + r) * nb + b;
                            let p = $dot(wv[r], av, w.codes);
                            let s = _mm256_set1_ps(*w.d.get_unchecked(wb) * da);
                            acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), s, acc[r][t]);
                            off[r][t] += *w.m.get_unchecked(wb) * sa;
                        }
                    }
                }
                let mut out = [[0f32; T]; R];
                for r in 0..R {
                    for t in 0..T {
                        out[r][t] = hsum(acc[r][t]) + off[r][t];
                    }
                }
                out
            }
        };
    }

    tile_kernel!(tile_vnni, "avx2,fma,avx512f,avx512vl,avx512vnni", dot_vnni);
    tile_kernel!(tile_avx2, "avx2,fma", dot_avx2);

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load_codes(p: *const u8, codes: Codes) -> __m256i {
        match codes {
            Codes::U8 => _mm256_loadu_si256(p as *const __m256i),
            Codes::U4 => {
                let raw = _mm_loadu_si128(p as *const __m128i);
                let m4 = _mm_set1_epi8(0x0F);
                let lo = _mm_and_si128(raw, m4);
                let hi = _mm_and_si128(_mm_srli_epi16(raw, 4), m4);
                _mm256_set_m128i(hi, lo)
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512vnni")]
    unsafe fn dot_vnni(u: __m256i, q: __m256i, _codes: Codes) -> __m256i {
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, q)
    }

    /// `vpmaddubsw` saturates at i16: safe for 4-bit codes (15·127·2); 8-bit codes are split
    /// into two nibbles first.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_avx2(u: __m256i, q: __m256i, codes: Codes) -> __m256i {
        let ones = _mm256_set1_epi16(1);
        match codes {
            Codes::U4 => _mm256_madd_epi16(_mm256_maddubs_epi16(u, q), ones),
            Codes::U8 => {
                let m4 = _mm256_set1_epi8(0x0F);
                let lo = _mm256_and_si256(u, m4);
                let hi = _mm256_and_si256(_mm256_srli_epi16(u, 4), m4);
                let plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, q), ones);
                let phi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, q), ones);
                _mm256_add_epi32(plo, _mm256_slli_epi32(phi, 4))
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }
}
