//! `--model` and `--synthetic` on a GPU: a real model is read and dequantized on the host then
//! uploaded in bf16; synthetic weights of any card are made on the device, so a 13B shape
//! needs neither a download nor host memory for its weights.
use super::gpu::Gpu;
use super::llama::CudaLlama;
use super::weights::DeviceWeights;
use crate::error::Result;
use crate::loader::{load, load_tokenizer, LoadOptions};
use crate::model::cards;
use crate::model::gguf::GgufFile;
use crate::model::tokenizer::Tokenizer;
use std::path::Path;

pub struct CudaModel {
    pub name: String,
    pub llama: CudaLlama,
    pub tokenizer: Tokenizer,
    pub synthetic: bool,
}

/// Opens `cuda:ordinal` first (so a machine without CUDA fails before any loading), then
/// loads the model onto it.
pub fn load_cuda(opts: &LoadOptions, ordinal: usize) -> Result<CudaModel> {
    let gpu = Gpu::open(ordinal)?;
    let is_path = opts.model.ends_with(".gguf") || opts.model.contains('/');
    let card = (!is_path).then(|| cards::card(&opts.model)).transpose()?;
    let real = card.as_ref().is_some_and(|c| c.weights.is_some()) || is_path;
    if real && !opts.synthetic {
        let m = load(opts)?;
        let weights = DeviceWeights::upload(&gpu, &m.llama.weights)?;
        return Ok(CudaModel {
            name: m.name,
            llama: CudaLlama::new(gpu, weights)?,
            tokenizer: m.tokenizer,
            synthetic: false,
        });
    }
    let (name, spec) = match card {
        Some(c) => (c.name, c.spec),
        None => (
            opts.model.clone(),
            GgufFile::open(Path::new(&opts.model))?.spec()?,
        ),
    };
    let tokenizer = load_tokenizer(&opts.model, true)?;
    let weights = DeviceWeights::synthetic(&gpu, &spec, opts.seed)?;
    Ok(CudaModel {
        name,
        llama: CudaLlama::new(gpu, weights)?,
        tokenizer,
        synthetic: true,
    })
}
