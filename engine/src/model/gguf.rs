//! Reading a llama-family GGUF: header through candle-core's reader, tensor bytes ourselves so
//! Q4_1 / Q8_0 blocks map onto our formats without a detour through f32.
use super::spec::ModelSpec;
use crate::backend::cpu::quant::{QMatrix, QK};
use crate::error::{EngineError, Result};
use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::GgmlDType;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

pub struct GgufFile {
    pub path: PathBuf,
    pub content: Content,
    file: File,
    file_len: u64,
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self> {
        let bad = |reason: String| EngineError::BadGguf {
            path: path.to_path_buf(),
            reason,
        };
        let mut file = File::open(path).map_err(|e| bad(e.to_string()))?;
        let file_len = file.metadata().map_err(|e| bad(e.to_string()))?.len();
        let content =
            Content::read(&mut file).map_err(|e| bad(format!("header: {}", first_line(&e))))?;
        // A truncated download must fail here, before any tensor is read.
        for (name, info) in &content.tensor_infos {
            let bytes = tensor_bytes(info.ggml_dtype, info.shape.elem_count());
            let end = content.tensor_data_offset + info.offset + bytes as u64;
            if end > file_len {
                return Err(bad(format!(
                    "truncated: tensor {name} ends at byte {end} but the file has {file_len}"
                )));
            }
        }
        Ok(GgufFile {
            path: path.to_path_buf(),
            content,
            file,
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
        let n = tensor_bytes(dtype, info.shape.elem_count());
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

fn tensor_bytes(dtype: GgmlDType, elems: usize) -> usize {
    elems / dtype.block_size() * dtype.type_size()
}

/// candle appends a captured backtrace to its errors when RUST_BACKTRACE is set; users need
/// only the message.
fn first_line(e: &candle_core::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}
