//! Weight and activation formats for the integer matmul.
//!
//! Every weight matrix is stored as rows of 32-element blocks of unsigned codes `u` with a
//! per-block affine map `w = d*u + m`. GGUF Q4_1 maps onto this exactly (4-bit codes), and
//! Q8_0 does too with `u = q + 128`, `m = -128 d` (8-bit codes). Activations are quantized per
//! token and block to i8 (`x ≈ da*q`), so one u8×i8 dot product kernel serves both formats.
use half::f16;

pub const QK: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codes {
    /// Two codes per byte: byte j holds element j (low nibble) and element j+16 (high nibble).
    U4,
    /// One code per byte.
    U8,
}

impl Codes {
    pub fn bytes_per_block(self) -> usize {
        match self {
            Codes::U4 => QK / 2,
            Codes::U8 => QK,
        }
    }
}

/// A `rows × cols` weight matrix in blocked affine form.
#[derive(Debug, Clone)]
pub struct QMatrix {
    pub rows: usize,
    pub cols: usize,
    pub codes: Codes,
    pub qs: Vec<u8>,
    pub d: Vec<f32>,
    pub m: Vec<f32>,
}

impl QMatrix {
    pub fn blocks_per_row(&self) -> usize {
        self.cols / QK
    }

    /// Bytes a matmul reads from memory for this matrix.
    pub fn size_bytes(&self) -> usize {
        self.qs.len() + 4 * (self.d.len() + self.m.len())
    }

    /// From raw GGUF Q4_1 blocks (f16 d, f16 m, 16 bytes of nibbles).
    pub fn from_q4_1(rows: usize, cols: usize, raw: &[u8]) -> Self {
        let nb = rows * cols / QK;
        debug_assert_eq!(raw.len(), nb * 20);
        let mut out = Self::with_capacity(rows, cols, Codes::U4);
        for blk in raw.chunks_exact(20) {
            out.d.push(f16::from_le_bytes([blk[0], blk[1]]).to_f32());
            out.m.push(f16::from_le_bytes([blk[2], blk[3]]).to_f32());
            out.qs.extend_from_slice(&blk[4..20]);
        }
        out
    }

    /// From raw GGUF Q8_0 blocks (f16 d, 32 signed bytes).
    pub fn from_q8_0(rows: usize, cols: usize, raw: &[u8]) -> Self {
        let nb = rows * cols / QK;
        debug_assert_eq!(raw.len(), nb * 34);
        let mut out = Self::with_capacity(rows, cols, Codes::U8);
        for blk in raw.chunks_exact(34) {
            let d = f16::from_le_bytes([blk[0], blk[1]]).to_f32();
            out.d.push(d);
            out.m.push(-128.0 * d);
            out.qs
                .extend(blk[2..34].iter().map(|&q| (q as i8 as i16 + 128) as u8));
        }
        out
    }

    /// Symmetric 8-bit quantization of f32 rows (used for any GGUF type without a direct map).
    pub fn quantize_u8(rows: usize, cols: usize, w: &[f32]) -> Self {
        let mut out = Self::with_capacity(rows, cols, Codes::U8);
        for blk in w.chunks_exact(QK) {
            let amax = blk.iter().fold(0f32, |a, &v| a.max(v.abs()));
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            out.d.push(d);
            out.m.push(-128.0 * d);
            out.qs.extend(
                blk.iter()
                    .map(|&v| ((v * id).round() as i32 + 128).clamp(0, 255) as u8),
            );
        }
        out
    }

    fn with_capacity(rows: usize, cols: usize, codes: Codes) -> Self {
        let nb = rows * cols / QK;
        QMatrix {
            rows,
            cols,
            codes,
            qs: Vec::with_capacity(nb * codes.bytes_per_block()),
            d: Vec::with_capacity(nb),
            m: Vec::with_capacity(nb),
        }
    }

    /// Code `i` (0..32) of block `b` (global block index).
    #[inline]
    pub fn code(&self, b: usize, i: usize) -> u8 {
        match self.codes {
            Codes::U8 => self.qs[b * QK + i],
            Codes::U4 => {
                let byte = self.qs[b * 16 + (i % 16)];
                if i < 16 {
                    byte & 0x0F
                } else {
                    byte >> 4
                }
            }
        }
    }

    /// Dequantize one row into `out` (embedding lookup, tests).
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
        let nb = self.blocks_per_row();
        for (j, chunk) in out[..self.cols].chunks_exact_mut(QK).enumerate() {
            let b = row * nb + j;
            let (d, m) = (self.d[b], self.m[b]);
            for (i, o) in chunk.iter_mut().enumerate() {
                *o = d * self.code(b, i) as f32 + m;
            }
        }
    }

    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.rows * self.cols];
        for (r, row) in out.chunks_exact_mut(self.cols).enumerate() {
            self.dequantize_row(r, row);
        }
        out
    }

    /// Stack matrices with the same column count (fused QKV and gate/up projections).
    pub fn concat_rows(parts: &[QMatrix]) -> Self {
        let cols = parts[0].cols;
        assert!(parts.iter().all(|p| p.cols == cols));
        let rows = parts.iter().map(|p| p.rows).sum();
        if parts.iter().all(|p| p.codes == parts[0].codes) {
            let mut out = Self::with_capacity(rows, cols, parts[0].codes);
            for p in parts {
                out.qs.extend_from_slice(&p.qs);
                out.d.extend_from_slice(&p.d);
                out.m.extend_from_slice(&p.m);
            }
            out
        } else {
            let w: Vec<f32> = parts.iter().flat_map(|p| p.dequantize()).collect();
            Self::quantize_u8(rows, cols, &w)
        }
    }
}

/// Activations of `n` tokens quantized per 32-block: `x ≈ d*q`, with `s = d*Σq` kept for the
/// affine offset term of the weights.
#[derive(Debug, Default, Clone)]
pub struct QActs {
    pub n: usize,
    pub cols: usize,
    pub q: Vec<i8>,
    pub d: Vec<f32>,
    pub s: Vec<f32>,
}

impl QActs {
    /// Quantize `x` (`n × cols`, row-major) in place of the previous contents (buffers reused).
    pub fn quantize(&mut self, x: &[f32], n: usize, cols: usize) {
        debug_assert_eq!(x.len(), n * cols);
        let nb = n * cols / QK;
        self.n = n;
        self.cols = cols;
        self.q.resize(n * cols, 0);
        self.d.resize(nb, 0.0);
        self.s.resize(nb, 0.0);
        for (b, (xb, qb)) in x
            .chunks_exact(QK)
            .zip(self.q.chunks_exact_mut(QK))
            .enumerate()
        {
            let amax = xb.iter().fold(0f32, |a, &v| a.max(v.abs()));
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut sum = 0i32;
            for (q, &v) in qb.iter_mut().zip(xb) {
                // round-half-away like f32::round, without the libm call
                let r = (v * id + 0.5f32.copysign(v)) as i32;
                *q = r as i8;
                sum += r;
            }
            self.d[b] = d;
            self.s[b] = d * sum as f32;
        }
    }
}
