//! `--model` and `--synthetic` on a GPU: a real model is read and dequantized on the host then
//! uploaded in bf16; synthetic weights of any card are made on the device, so a 13B shape
//! needs neither a download nor host memory for its weights.
use super::gpu::Gpu;
use super::llama::CudaLlama;
use super::weights::DeviceWeights;
use crate::backend::DeviceModel;
use crate::error::Result;
use crate::loader::{load_cpu, load_tokenizer, LoadOptions, LoadedModel};
use crate::model::cards;
use crate::model::gguf::GgufFile;
use std::path::Path;

/// Opens `cuda:ordinal` first (so a machine without CUDA fails before any loading), then
/// loads the model onto it.
pub fn load_cuda(opts: &LoadOptions, ordinal: usize) -> Result<LoadedModel> {
    let gpu = Gpu::open(ordinal)?;
    let is_path = opts.model.ends_with(".gguf") || opts.model.contains('/');
    let card = (!is_path).then(|| cards::card(&opts.model)).transpose()?;
    let real = card.as_ref().is_some_and(|c| c.weights.is_some()) || is_path;
    if real && !opts.synthetic {
        let m = load_cpu(opts)?;
        let weights = DeviceWeights::upload(&gpu, &m.model.cpu()?.weights)?;
        return Ok(LoadedModel {
            name: m.name,
            model: DeviceModel::Cuda(Box::new(CudaLlama::new(gpu, weights)?)),
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
    Ok(LoadedModel {
        name,
        model: DeviceModel::Cuda(Box::new(CudaLlama::new(gpu, weights)?)),
        tokenizer,
        synthetic: true,
    })
}
