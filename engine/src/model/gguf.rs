//! Reading a llama-family GGUF: header through candle-core's reader, tensor bytes ourselves so
//! Q4_1 / Q8_0 blocks map onto our formats without a detour through f32.
use super::spec::ModelSpec;
use crate::backend::cpu::quant::{QMatrix, QK};
use crate::error::{EngineError, Result};
use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::GgmlDType;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// What a GGUF is read from: the file, or bytes in memory (`from_reader`).
trait Source: Read + Seek + Send + Sync {}
impl<T: Read + Seek + Send + Sync> Source for T {}

pub struct GgufFile {
    pub path: PathBuf,
    pub content: Content,
    file: Box<dyn Source>,
    file_len: u64,
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| EngineError::BadGguf {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_reader(path, file)
    }

    /// Reads a GGUF from any seekable reader (`std::io::Cursor` over bytes, a file); `path`
    /// only names it in errors.
    pub fn from_reader<R: Read + Seek + Send + Sync + 'static>(
        path: &Path,
        mut file: R,
    ) -> Result<Self> {
        let bad = |reason: String| EngineError::BadGguf {
            path: path.to_path_buf(),
            reason,
        };
        let io = |e: std::io::Error| bad(e.to_string());
        let file_len = file.seek(SeekFrom::End(0)).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        // candle divides by `general.alignment` unchecked: a 0 there must be an error.
        if let Ok(Some(0)) = scan_alignment(&mut BufReader::new(&mut file)) {
            return Err(bad("header: general.alignment is 0".into()));
        }
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let content =
            Content::read(&mut file).map_err(|e| bad(format!("header: {}", first_line(&e))))?;
        // A truncated download must fail here, before any tensor is read.
        for (name, info) in &content.tensor_infos {
            let end = tensor_bytes(info.ggml_dtype, info.shape.dims())
                .and_then(|bytes| content.tensor_data_offset.checked_add(bytes as u64))
                .and_then(|end| end.checked_add(info.offset));
            match end {
                Some(end) if end <= file_len => {}
                Some(end) => {
                    return Err(bad(format!(
                        "truncated: tensor {name} ends at byte {end} but the file has {file_len}"
                    )))
                }
                None => return Err(bad(format!("tensor {name}: its size or offset overflows"))),
            }
        }
        Ok(GgufFile {
            path: path.to_path_buf(),
            content,
            file: Box::new(file),
            file_len,
        })
    }

    fn bad(&self, reason: String) -> EngineError {
        EngineError::BadGguf {
            path: self.path.clone(),
            reason,
        }
    }

    fn meta(&self, key: &str) -> Result<&Value> {
        self.content
            .metadata
            .get(key)
            .ok_or_else(|| self.bad(format!("missing metadata {key}")))
    }

    fn meta_usize(&self, key: &str) -> Result<usize> {
        let v = self.meta(key)?;
        v.to_u32()
            .map(|x| x as usize)
            .or_else(|_| v.to_u64().map(|x| x as usize))
            .map_err(|e| self.bad(format!("{key}: {e}")))
    }

    pub fn meta_str(&self, key: &str) -> Result<&str> {
        self.meta(key)?
            .to_string()
            .map(|s| s.as_str())
            .map_err(|e| self.bad(format!("{key}: {e}")))
    }

    /// The model shape, from `llama.*` metadata.
    pub fn spec(&self) -> Result<ModelSpec> {
        let arch = self.meta_str("general.architecture")?;
        if arch != "llama" {
            return Err(self.bad(format!(
                "architecture '{arch}' is not supported (llama only)"
            )));
        }
        let d_model = self.meta_usize("llama.embedding_length")?;
        let n_heads = self.meta_usize("llama.attention.head_count")?;
        let vocab_size = match self.meta_usize("llama.vocab_size") {
            Ok(v) => v,
            Err(_) => self
                .meta("tokenizer.ggml.tokens")?
                .to_vec()
                .map_or(0, |v| v.len()),
        };
        let spec = ModelSpec {
            n_layers: self.meta_usize("llama.block_count")?,
            d_model,
            n_heads,
            n_kv_heads: self
                .meta_usize("llama.attention.head_count_kv")
                .unwrap_or(n_heads),
            d_ffn: self.meta_usize("llama.feed_forward_length")?,
            vocab_size,
            rope_theta: self
                .meta("llama.rope.freq_base")
                .and_then(|v| v.to_f32().map_err(|e| self.bad(e.to_string())))
                .unwrap_or(10_000.0),
            rms_eps: self
                .meta("llama.attention.layer_norm_rms_epsilon")?
                .to_f32()
                .map_err(|e| self.bad(e.to_string()))?,
            max_context: self.meta_usize("llama.context_length")?,
            tied_embeddings: !self.content.tensor_infos.contains_key("output.weight"),
        };
        spec.validate().map_err(|e| self.bad(e))?;
        Ok(spec)
    }

    fn raw(&mut self, name: &str) -> Result<(GgmlDType, Vec<usize>, Vec<u8>)> {
        let info = self
            .content
            .tensor_infos
            .get(name)
            .ok_or_else(|| EngineError::BadGguf {
                path: self.path.clone(),
                reason: format!("missing tensor {name}"),
            })?;
        let (dtype, dims) = (info.ggml_dtype, info.shape.dims().to_vec());
        let n = tensor_bytes(dtype, &dims).unwrap_or(0); // checked in `from_reader`
        let start = self.content.tensor_data_offset + info.offset;
        let mut buf = vec![0u8; n];
        let res = self
            .file
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.file.read_exact(&mut buf));
        res.map_err(|e| {
            self.bad(format!(
                "reading tensor {name}: {e} (file is {} bytes)",
                self.file_len
            ))
        })?;
        Ok((dtype, dims, buf))
    }

    /// A 2-D weight `[rows, cols]` as a `QMatrix`; types without a direct map are requantized
    /// to 8-bit blocks from their f32 values.
    pub fn matrix(&mut self, name: &str, rows: usize, cols: usize) -> Result<QMatrix> {
        let (dtype, dims, raw) = self.raw(name)?;
        if dims != [rows, cols] {
            return Err(self.bad(format!(
                "tensor {name} has shape {dims:?}, expected [{rows}, {cols}]"
            )));
        }
        if !cols.is_multiple_of(QK) {
            return Err(self.bad(format!(
                "tensor {name}: {cols} columns is not a multiple of {QK}"
            )));
        }
        Ok(match dtype {
            GgmlDType::Q4_1 => QMatrix::from_q4_1(rows, cols, &raw),
            GgmlDType::Q8_0 => QMatrix::from_q8_0(rows, cols, &raw),
            _ => QMatrix::quantize_u8(rows, cols, &self.to_f32(name, dtype, dims, &raw)?),
        })
    }

    /// A 1-D f32 vector (norm weights).
    pub fn vector(&mut self, name: &str, len: usize) -> Result<Vec<f32>> {
        let (dtype, dims, raw) = self.raw(name)?;
        if dims.iter().product::<usize>() != len {
            return Err(self.bad(format!(
                "tensor {name} has shape {dims:?}, expected [{len}]"
            )));
        }
        self.to_f32(name, dtype, dims, &raw)
    }

    fn to_f32(
        &self,
        name: &str,
        dtype: GgmlDType,
        dims: Vec<usize>,
        raw: &[u8],
    ) -> Result<Vec<f32>> {
        use candle_core::quantized::ggml_file::qtensor_from_ggml;
        let dev = candle_core::Device::Cpu;
        let t = qtensor_from_ggml(dtype, raw, dims, &dev)
            .and_then(|q| q.dequantize(&dev))
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| self.bad(format!("tensor {name}: {}", first_line(&e))))?;
        Ok(t)
    }
}

/// Bytes of a tensor of shape `dims`; None when that overflows.
fn tensor_bytes(dtype: GgmlDType, dims: &[usize]) -> Option<usize> {
    let elems = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d))?;
    (elems / dtype.block_size()).checked_mul(dtype.type_size())
}

fn read_le(r: &mut dyn Read, n: usize) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b[..n])?;
    Ok(u64::from_le_bytes(b))
}

/// The last `general.alignment` among the metadata as candle reads it (8-, 16- or 32-bit
/// integers), walking the header the same way; Err where the walk fails.
fn scan_alignment(r: &mut dyn Read) -> std::io::Result<Option<u64>> {
    let len = if read_le(r, 8)? >> 32 == 1 { 4 } else { 8 }; // v1 has 32-bit lengths
    read_le(r, len)?;
    let mut alignment = None;
    for _ in 0..read_le(r, len)? {
        let key_len = read_le(r, len)?;
        let is_alignment = key_is(r, key_len, b"general.alignment")?;
        let ty = read_le(r, 4)?;
        let value = skip_value(r, ty, len, 0)?;
        if is_alignment {
            alignment = value.filter(|_| ty <= 5);
        }
    }
    Ok(alignment)
}

/// Reads a key of `len` bytes: is it `want` (candle drops trailing NULs)?
fn key_is(r: &mut dyn Read, len: u64, want: &[u8]) -> std::io::Result<bool> {
    let (mut buf, mut at, mut same) = ([0u8; 256], 0usize, len >= want.len() as u64);
    let mut key = r.take(len);
    loop {
        let n = key.read(&mut buf)?;
        if n == 0 {
            return Ok(same);
        }
        for &b in &buf[..n] {
            same &= want.get(at).map_or(b == 0, |&w| w == b);
            at += 1;
        }
    }
}

/// Reads past one metadata value (candle's depth limit), returning it when it is an integer.
fn skip_value(r: &mut dyn Read, ty: u64, len: usize, depth: usize) -> std::io::Result<Option<u64>> {
    let size = match ty {
        _ if depth > 64 => return Err(std::io::ErrorKind::InvalidData.into()),
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        10..=12 => 8,
        8 => {
            let n = read_le(r, len)?;
            std::io::copy(&mut r.take(n), &mut std::io::sink())?;
            return Ok(None);
        }
        9 => {
            let (ty, n) = (read_le(r, 4)?, read_le(r, len)?);
            for _ in 0..n {
                skip_value(r, ty, len, depth + 1)?;
            }
            return Ok(None);
        }
        _ => return Err(std::io::ErrorKind::InvalidData.into()),
    };
    read_le(r, size).map(Some)
}

/// candle appends a captured backtrace to its errors when RUST_BACKTRACE is set; users need
/// only the message.
fn first_line(e: &candle_core::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}
