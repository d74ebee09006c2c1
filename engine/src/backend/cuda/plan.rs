//! Host side of one packed step on the GPU: everything the kernels need about the step's
//! sequences, flattened into one `i32` buffer (one upload per step), plus the launch shapes.
//! Pure host code, unit-tested on the CPU.
use crate::backend::step::SeqStep;

/// New tokens of one sequence per attention block (must equal `ATT_QT` in attention.cu).
pub const ATT_QUERY_TILE: usize = 16;
/// The same for the tensor-core prefill kernel (`FP_QT` in flash_prefill.cu).
pub const FLASH_QUERY_TILE: usize = 64;
/// Threads per attention block (`ATT_WARPS * 32` in attention.cu).
pub const ATT_THREADS: u32 = 128;
/// Largest head size the attention kernel holds in shared memory (`ATT_HD_MAX`).
pub const ATT_MAX_HEAD_DIM: usize = 128;
/// Head sizes with a tensor-core prefill entry point (`flash_prefill_hd{N}`).
pub const FLASH_HEAD_DIMS: [usize; 3] = [16, 64, 128];

/// The tensor-core prefill kernel for a head size, if one is compiled.
pub fn flash_kernel(head_dim: usize) -> Option<&'static str> {
    match head_dim {
        16 => Some("flash_prefill_hd16"),
        64 => Some("flash_prefill_hd64"),
        128 => Some("flash_prefill_hd128"),
        _ => None,
    }
}

/// Where each array starts in the packed buffer, and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub off: usize,
    pub len: usize,
}

/// The step's metadata. Arrays (all `i32` in `data`):
/// - per token row: `tokens`, `positions`, `slots` (block * block_size + offset in block);
/// - per attention tile: `tile_seq`, `tile_q0` (first new token of the tile in its sequence);
///   with `split_decode`, only sequences with several new tokens are tiled;
/// - `dec_seq`: with `split_decode`, the sequences with one new token (the flash-decoding
///   kernel's rows);
/// - per sequence: `seq_row0`, `seq_start`, `seq_n_new`, `seq_table_off`;
/// - `tables`: every sequence's block table, concatenated;
/// - `logit_rows`: the rows whose logits were asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepPlan {
    pub n_tokens: usize,
    pub data: Vec<i32>,
    pub tokens: Span,
    pub positions: Span,
    pub slots: Span,
    pub tile_seq: Span,
    pub tile_q0: Span,
    pub dec_seq: Span,
    /// Longest context among `dec_seq` (keys its last query sees).
    pub dec_max_ctx: usize,
    pub seq_row0: Span,
    pub seq_start: Span,
    pub seq_n_new: Span,
    pub seq_table_off: Span,
    pub tables: Span,
    pub logit_rows: Span,
}

impl StepPlan {
    /// Packs `seqs` (already checked like the CPU forward checks them) into tiles of
    /// `query_tile` new tokens. `split_decode` sends one-token sequences to the flash-decoding
    /// kernel instead of the tiled one.
    pub fn new(seqs: &[SeqStep], block_size: usize, query_tile: usize, split_decode: bool) -> Self {
        let mut p = StepPlan::default();
        let push = |data: &mut Vec<i32>, vals: &mut dyn Iterator<Item = usize>| {
            let off = data.len();
            data.extend(vals.map(|v| v as i32));
            Span {
                off,
                len: data.len() - off,
            }
        };
        let d = &mut p.data;
        p.tokens = push(
            d,
            &mut seqs
                .iter()
                .flat_map(|s| s.tokens.iter().map(|&t| t as usize)),
        );
        p.positions = push(
            d,
            &mut seqs
                .iter()
                .flat_map(|s| (0..s.tokens.len()).map(move |i| s.start_pos + i)),
        );
        p.slots = push(
            d,
            &mut seqs.iter().flat_map(|s| {
                (0..s.tokens.len()).map(move |i| {
                    let pos = s.start_pos + i;
                    s.table[pos / block_size] as usize * block_size + pos % block_size
                })
            }),
        );
        let is_dec = |s: &SeqStep| split_decode && s.tokens.len() == 1;
        let tiles: Vec<(usize, usize)> = seqs
            .iter()
            .enumerate()
            .filter(|(_, s)| !is_dec(s))
            .flat_map(|(si, s)| {
                (0..s.tokens.len())
                    .step_by(query_tile)
                    .map(move |q| (si, q))
            })
            .collect();
        p.tile_seq = push(d, &mut tiles.iter().map(|t| t.0));
        p.tile_q0 = push(d, &mut tiles.iter().map(|t| t.1));
        let dec: Vec<usize> = (0..seqs.len()).filter(|&i| is_dec(&seqs[i])).collect();
        p.dec_seq = push(d, &mut dec.iter().copied());
        p.dec_max_ctx = dec
            .iter()
            .map(|&i| seqs[i].start_pos + 1)
            .max()
            .unwrap_or(0);
        let row0: Vec<usize> = seqs
            .iter()
            .scan(0, |r, s| {
                let here = *r;
                *r += s.tokens.len();
                Some(here)
            })
            .collect();
        p.seq_row0 = push(d, &mut row0.iter().copied());
        p.seq_start = push(d, &mut seqs.iter().map(|s| s.start_pos));
        p.seq_n_new = push(d, &mut seqs.iter().map(|s| s.tokens.len()));
        p.seq_table_off = push(
            d,
            &mut seqs.iter().scan(0, |o, s| {
                let here = *o;
                *o += s.table.len();
                Some(here)
            }),
        );
        p.tables = push(
            d,
            &mut seqs
                .iter()
                .flat_map(|s| s.table.iter().map(|&b| b as usize)),
        );
        p.logit_rows = push(
            d,
            &mut seqs
                .iter()
                .zip(&row0)
                .filter(|(s, _)| s.want_logits)
                .map(|(s, r)| r + s.tokens.len() - 1),
        );
        p.n_tokens = p.tokens.len;
        p
    }

    pub fn n_tiles(&self) -> usize {
        self.tile_seq.len
    }

    pub fn n_decode(&self) -> usize {
        self.dec_seq.len
    }

    pub fn n_logits(&self) -> usize {
        self.logit_rows.len
    }

    pub fn get(&self, s: Span) -> &[i32] {
        &self.data[s.off..s.off + s.len]
    }
}

/// Launch shape `(grid, block)` for kernels that loop over `n` elements with a grid stride.
pub fn elementwise_shape(n: usize) -> (u32, u32) {
    const THREADS: usize = 256;
    // Enough blocks to fill any current GPU; the grid-stride loop covers the rest.
    let blocks = n.div_ceil(THREADS).clamp(1, 65_535);
    (blocks as u32, THREADS as u32)
}

/// Threads for a one-block-per-row kernel over rows of `dim` values: a multiple of 32, ≤ 1024.
pub fn row_threads(dim: usize) -> u32 {
    dim.next_multiple_of(32).clamp(32, 1024) as u32
}

/// Attention grid: one block per (tile, query head).
pub fn attention_grid(plan: &StepPlan, n_heads: usize) -> (u32, u32, u32) {
    (plan.n_tiles() as u32, n_heads as u32, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step<'a>(tokens: &'a [u32], start_pos: usize, table: &'a [u32], want: bool) -> SeqStep<'a> {
        SeqStep {
            tokens,
            start_pos,
            table,
            want_logits: want,
        }
    }

    #[test]
    fn packs_a_mixed_prefill_and_decode_step() {
        let prefill: Vec<u32> = (100..120).collect(); // 20 new tokens: 2 tiles
        let seqs = [
            step(&prefill, 0, &[5, 2], true),
            step(&[7], 33, &[9, 4, 1], true),
            step(&[8, 9], 14, &[3], false),
        ];
        let p = StepPlan::new(&seqs, 16, ATT_QUERY_TILE, false);
        assert_eq!(p.n_tokens, 23);
        assert_eq!((p.n_decode(), p.dec_max_ctx), (0, 0));
        assert_eq!(p.get(p.tokens)[19..], [119, 7, 8, 9]);
        assert_eq!(p.get(p.positions)[18..], [18, 19, 33, 14, 15]);
        // token 17 of seq 0 is slot 1 of its second block (2); seq 1's pos 33 is in block 1
        assert_eq!(p.get(p.slots)[17], 2 * 16 + 1);
        assert_eq!(p.get(p.slots)[20], 16 + 1);
        assert_eq!(p.get(p.slots)[21..], [3 * 16 + 14, 3 * 16 + 15]);
        assert_eq!(p.get(p.tile_seq), [0, 0, 1, 2]);
        assert_eq!(p.get(p.tile_q0), [0, 16, 0, 0]);
        assert_eq!(p.get(p.seq_row0), [0, 20, 21]);
        assert_eq!(p.get(p.seq_start), [0, 33, 14]);
        assert_eq!(p.get(p.seq_n_new), [20, 1, 2]);
        assert_eq!(p.get(p.seq_table_off), [0, 2, 5]);
        assert_eq!(p.get(p.tables), [5, 2, 9, 4, 1, 3]);
        assert_eq!(p.get(p.logit_rows), [19, 20]);
        assert_eq!(attention_grid(&p, 9), (4, 9, 1));
        // the spans tile the buffer exactly
        assert_eq!(p.logit_rows.off + p.logit_rows.len, p.data.len());

        // Split decoding: seq 1 (one new token at position 33) leaves the tiles.
        let q = StepPlan::new(&seqs, 16, ATT_QUERY_TILE, true);
        assert_eq!(q.get(q.tile_seq), [0, 0, 2]);
        assert_eq!(q.get(q.tile_q0), [0, 16, 0]);
        assert_eq!(q.get(q.dec_seq), [1]);
        assert_eq!(q.dec_max_ctx, 34);
        assert_eq!(q.get(q.seq_row0), p.get(p.seq_row0));
        assert_eq!(q.get(q.slots), p.get(p.slots));
        // Tensor-core tiles: seq 0's 20 tokens fit one tile.
        let f = StepPlan::new(&seqs, 16, FLASH_QUERY_TILE, true);
        assert_eq!(f.get(f.tile_seq), [0, 2]);
        assert_eq!(f.get(f.tile_q0), [0, 0]);
    }

    #[test]
    fn launch_shapes() {
        assert_eq!(elementwise_shape(1), (1, 256));
        assert_eq!(elementwise_shape(257), (2, 256));
        assert_eq!(elementwise_shape(usize::MAX / 2).0, 65_535);
        assert_eq!(row_threads(576), 576);
        assert_eq!(row_threads(5), 32);
        assert_eq!(row_threads(5120), 1024);
    }

    /// The host constants must agree with the kernel's compile-time ones.
    #[test]
    fn constants_match_attention_cu() {
        let src = include_str!("attention.cu");
        assert!(src.contains(&format!("#define ATT_QT {ATT_QUERY_TILE}")));
        assert!(src.contains(&format!("#define ATT_WARPS {}", ATT_THREADS / 32)));
        assert!(src.contains(&format!("#define ATT_HD_MAX {ATT_MAX_HEAD_DIM}")));
        let fp = include_str!("flash_prefill.cu");
        assert!(fp.contains(&format!("#define FP_QT {FLASH_QUERY_TILE}")));
        for hd in FLASH_HEAD_DIMS {
            assert!(fp.contains(&format!("flash_prefill_hd{hd}(")));
        }
        let dec = include_str!("decode_attention.cu");
        let t = super::super::split::DECODE_THREADS;
        assert!(dec.contains(&format!("#define DEC_THREADS {t}")));
        let kpr = super::super::split::KEYS_PER_ROUND;
        assert!(dec.contains(&format!("#define DEC_KPR {kpr}")));
    }
}
