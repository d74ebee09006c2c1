//! Flash-decoding's host side: how many blocks share one decode row's context, and a CPU
//! emulation of what `paged_decode_attention` + `merge_decode_splits` compute (same grouping,
//! same `KEYS_PER_ROUND`-keys-per-round online softmax, same merges), tested against a one-pass softmax.
//! Pure host code: runs without a GPU.

/// Threads per `paged_decode_attention` block (`DEC_THREADS` in decode_attention.cu).
pub const DECODE_THREADS: usize = 128;
/// Keys a lane group loads per round (`DEC_KPR`).
pub const KEYS_PER_ROUND: usize = 4;
/// A split shorter than this spends more on its partial's write and merge than it saves.
pub const MIN_SPLIT_KEYS: usize = 64;
/// Upper bound on splits per row (sizes the partials buffer).
pub const MAX_SPLITS: usize = 64;
/// Blocks per SM to aim for: enough loads in flight to cover memory latency.
const BLOCKS_PER_SM: usize = 4;

/// Whether the split kernel handles this head size (a lane holds 8 of its dimensions and a
/// power-of-two group of lanes holds one key).
pub fn supports(head_dim: usize) -> bool {
    head_dim.is_power_of_two() && (8..=256).contains(&head_dim)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeSplit {
    pub n_splits: usize,
    /// Keys per split; split `s` covers keys `s·split_len ..`.
    pub split_len: usize,
}

/// Splits for `rows` decode rows × `heads` heads whose longest context is `max_ctx` keys, on a
/// GPU with `sms` multiprocessors: as many as fill the GPU, none shorter than `MIN_SPLIT_KEYS`.
pub fn decode_split(rows: usize, heads: usize, max_ctx: usize, sms: usize) -> DecodeSplit {
    let base = (rows * heads).max(1);
    let want = (BLOCKS_PER_SM * sms.max(1)).div_ceil(base);
    let n = want
        .min(max_ctx.div_ceil(MIN_SPLIT_KEYS))
        .clamp(1, MAX_SPLITS);
    let split_len = max_ctx.div_ceil(n).max(1);
    DecodeSplit {
        // Recount so the longest row has no empty trailing split.
        n_splits: max_ctx.div_ceil(split_len).max(1),
        split_len,
    }
}

/// A softmax partial: running maximum, sum of exp(s − m), and Σ exp(s − m)·v.
#[derive(Debug, Clone)]
struct Partial {
    m: f32,
    l: f32,
    acc: Vec<f32>,
}

impl Partial {
    fn empty(hd: usize) -> Self {
        Partial {
            m: f32::NEG_INFINITY,
            l: 0.0,
            acc: vec![0.0; hd],
        }
    }
}

/// Rescales partials to their common maximum and sums them (the kernel's group merge and the
/// split merge are both this).
fn merge(parts: &[Partial], hd: usize) -> Partial {
    let m = parts.iter().map(|p| p.m).fold(f32::NEG_INFINITY, f32::max);
    let mut out = Partial::empty(hd);
    out.m = m;
    if m == f32::NEG_INFINITY {
        return out;
    }
    for p in parts {
        let w = (p.m - m).exp();
        out.l += p.l * w;
        for (o, a) in out.acc.iter_mut().zip(&p.acc) {
            *o += a * w;
        }
    }
    out
}

/// What the kernels compute for one (row, head): `q` (already scaled), `keys` and `values` of
/// the `ctx` visible positions, each `hd` long.
pub fn emulate(q: &[f32], keys: &[Vec<f32>], values: &[Vec<f32>], split: DecodeSplit) -> Vec<f32> {
    let hd = q.len();
    let ctx = keys.len();
    let groups = DECODE_THREADS / (hd / 8);
    let mut splits = Vec::new();
    for s in 0..split.n_splits {
        let (begin, end) = (s * split.split_len, ctx.min((s + 1) * split.split_len));
        let mut per_group = vec![Partial::empty(hd); groups];
        for (g, p) in per_group.iter_mut().enumerate() {
            let mut base = begin;
            while base < end {
                let js: Vec<usize> = (0..KEYS_PER_ROUND)
                    .map(|r| base + r * groups + g)
                    .filter(|&j| j < end)
                    .collect();
                base += KEYS_PER_ROUND * groups;
                if js.is_empty() {
                    continue;
                }
                let dot = |j: usize| q.iter().zip(&keys[j]).map(|(a, b)| a * b).sum::<f32>();
                let sc: Vec<f32> = js.iter().map(|&j| dot(j)).collect();
                let m_new = sc.iter().fold(p.m, |m, &s| m.max(s));
                let corr = (p.m - m_new).exp();
                p.l *= corr;
                p.acc.iter_mut().for_each(|a| *a *= corr);
                for (&j, &s) in js.iter().zip(&sc) {
                    let w = (s - m_new).exp();
                    p.l += w;
                    for (a, v) in p.acc.iter_mut().zip(&values[j]) {
                        *a += w * v;
                    }
                }
                p.m = m_new;
            }
        }
        splits.push(merge(&per_group, hd));
    }
    let all = merge(&splits, hd);
    all.acc.iter().map(|a| a / all.l).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Softmax(q·K)·V in one pass with f64 sums: the reference.
    fn one_pass(q: &[f32], keys: &[Vec<f32>], values: &[Vec<f32>]) -> Vec<f32> {
        let s: Vec<f64> = keys
            .iter()
            .map(|k| {
                q.iter()
                    .zip(k)
                    .map(|(a, b)| (*a as f64) * (*b as f64))
                    .sum()
            })
            .collect();
        let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
        let total: f64 = w.iter().sum();
        (0..q.len())
            .map(|d| {
                (w.iter()
                    .zip(values)
                    .map(|(w, v)| w * v[d] as f64)
                    .sum::<f64>()
                    / total) as f32
            })
            .collect()
    }

    fn rand_vecs(n: usize, hd: usize, seed: &mut u64, spread: f32) -> Vec<Vec<f32>> {
        (0..n)
            .map(|_| {
                (0..hd)
                    .map(|_| {
                        *seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        ((*seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * spread
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn split_reduction_equals_one_pass_softmax() {
        let mut seed = 7u64;
        // Contexts: one key, fewer keys than groups, odd lengths, exact multiples, long.
        for hd in [64, 128] {
            for ctx in [1, 3, 15, 64, 65, 200, 512, 1031] {
                let q = &rand_vecs(1, hd, &mut seed, 2.0)[0];
                let keys = rand_vecs(ctx, hd, &mut seed, 2.0);
                let values = rand_vecs(ctx, hd, &mut seed, 1.0);
                let want = one_pass(q, &keys, &values);
                for split in [
                    decode_split(1, 40, ctx, 132),
                    DecodeSplit {
                        n_splits: 1,
                        split_len: ctx,
                    },
                    // more splits than the row needs: trailing splits are empty
                    DecodeSplit {
                        n_splits: 5,
                        split_len: ctx.div_ceil(2),
                    },
                ] {
                    let got = emulate(q, &keys, &values, split);
                    let err = got
                        .iter()
                        .zip(&want)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0, f32::max);
                    assert!(err < 1e-5, "hd {hd} ctx {ctx} {split:?}: max error {err}");
                }
            }
        }
    }

    #[test]
    fn large_scores_do_not_overflow() {
        // Scores far above exp's range: only differences may be exponentiated.
        let hd = 64;
        let q = vec![10.0; hd];
        let keys: Vec<Vec<f32>> = (0..300).map(|j| vec![(j % 7) as f32; hd]).collect();
        let values: Vec<Vec<f32>> = (0..300).map(|j| vec![j as f32; hd]).collect();
        let got = emulate(&q, &keys, &values, decode_split(1, 9, 300, 132));
        let want = one_pass(&q, &keys, &values);
        assert!(got.iter().all(|x| x.is_finite()));
        assert!(
            (got[0] - want[0]).abs() < 1e-3 * want[0].abs(),
            "{} vs {}",
            got[0],
            want[0]
        );
    }

    #[test]
    fn split_policy_fills_the_gpu_without_tiny_splits() {
        // 13B at batch 1, context 512, H100: 40 rows of blocks need splitting.
        let s = decode_split(1, 40, 512, 132);
        assert_eq!(
            s,
            DecodeSplit {
                n_splits: 8,
                split_len: 64
            }
        );
        // Long context: capped by the GPU's appetite, not by the minimum split.
        let s = decode_split(1, 40, 4096, 132);
        assert_eq!(s.n_splits, 14);
        assert!(s.n_splits * s.split_len >= 4096);
        // Batch 32 already fills the GPU.
        assert_eq!(decode_split(32, 40, 512, 132).n_splits, 1);
        // Short contexts are never split below the minimum.
        assert_eq!(decode_split(1, 40, 100, 132).n_splits, 2);
        assert_eq!(
            decode_split(1, 1, 1, 132),
            DecodeSplit {
                n_splits: 1,
                split_len: 1
            }
        );
        assert!(decode_split(1, 1, 1 << 20, 100_000).n_splits <= MAX_SPLITS);
        assert!(supports(64) && supports(128) && !supports(96) && !supports(4));
    }
}
