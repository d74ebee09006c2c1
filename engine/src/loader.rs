//! Turning a model name (a card name or a `.gguf` path) and the synthetic choice into a ready
//! model on its device.
use crate::backend::cpu::llama::Llama;
use crate::backend::cpu::weights::Weights;
use crate::backend::{Device, DeviceModel};
use crate::error::{EngineError, Result};
use crate::model::cards;
use crate::model::fetch::verify_sha256;
use crate::model::gguf::GgufFile;
use crate::model::tokenizer::Tokenizer;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Card name or path to a `.gguf` file.
    pub model: String,
    /// Seeded random weights of the card's shape instead of the real file.
    pub synthetic: bool,
    pub threads: usize,
    pub seed: u64,
    pub device: Device,
}

/// `threads`, or every core the machine offers.
pub fn threads_or_all(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A model ready to run: its weights on their device, its tokenizer, and what it is.
pub struct LoadedModel {
    /// Card name or file name, for reports.
    pub name: String,
    pub model: DeviceModel,
    pub tokenizer: Tokenizer,
    pub synthetic: bool,
}

impl LoadedModel {
    pub fn spec(&self) -> &crate::model::spec::ModelSpec {
        self.model.spec()
    }
}

fn looks_like_path(model: &str) -> bool {
    model.ends_with(".gguf") || model.contains('/') || model.contains(std::path::MAIN_SEPARATOR)
}

/// Loads on `opts.device`; on a machine without CUDA a `cuda` device fails naming the
/// missing library before anything is read.
pub fn load(opts: &LoadOptions) -> Result<LoadedModel> {
    match opts.device {
        Device::Cpu => load_cpu(opts),
        Device::Cuda(n) => crate::backend::cuda::load::load_cuda(opts, n),
    }
}

/// Loads the CPU engine's weights (the CUDA loader starts from these for real files).
pub fn load_cpu(opts: &LoadOptions) -> Result<LoadedModel> {
    if opts.threads == 0 {
        return Err(EngineError::field("threads", "must be at least 1"));
    }
    if looks_like_path(&opts.model) {
        let path = Path::new(&opts.model);
        if !path.is_file() {
            return Err(EngineError::BadGguf {
                path: path.to_path_buf(),
                reason: "no such file".into(),
            });
        }
        let mut g = GgufFile::open(path)?;
        let tokenizer = Tokenizer::from_gguf(&g.content)?;
        let weights = if opts.synthetic {
            Weights::synthetic(&g.spec()?, opts.seed)?
        } else {
            Weights::from_gguf(&mut g)?
        };
        let name = path
            .file_name()
            .map_or(opts.model.clone(), |n| n.to_string_lossy().into());
        return finish(name, weights, tokenizer, opts);
    }
    let card = cards::card(&opts.model)?;
    let real = cards::weights_path(&card).filter(|p| p.is_file());
    match (&card.weights, opts.synthetic) {
        (Some(src), false) => {
            let path = real.ok_or_else(|| EngineError::MissingModel {
                path: cards::models_dir().join(&src.gguf_file),
                card: card.name.clone(),
            })?;
            verify_sha256(&path, &src.sha256, &mut |_| {})?;
            let mut g = GgufFile::open(&path)?;
            let tokenizer = Tokenizer::from_gguf(&g.content)?;
            let weights = Weights::from_gguf(&mut g)?;
            if weights.spec != card.spec {
                return Err(EngineError::BadCard {
                    path: path.clone(),
                    reason: format!(
                        "GGUF shape {:?} differs from card {:?}",
                        weights.spec, card.spec
                    ),
                });
            }
            finish(card.name, weights, tokenizer, opts)
        }
        _ => {
            // The real vocabulary makes synthetic text readable tokens even if it is nonsense.
            let tokenizer = match real {
                Some(p) => Tokenizer::from_gguf(&GgufFile::open(&p)?.content)?,
                None => Tokenizer::synthetic(card.spec.vocab_size)?,
            };
            let weights = Weights::synthetic(&card.spec, opts.seed)?;
            let mut m = finish(card.name, weights, tokenizer, opts)?;
            m.synthetic = true;
            Ok(m)
        }
    }
}

fn finish(
    name: String,
    weights: Weights,
    tokenizer: Tokenizer,
    opts: &LoadOptions,
) -> Result<LoadedModel> {
    Ok(LoadedModel {
        name,
        model: DeviceModel::Cpu(Box::new(Llama::new(weights, opts.threads)?)),
        tokenizer,
        synthetic: opts.synthetic,
    })
}

/// Just the tokenizer of `--model`, without loading weights.
pub fn load_tokenizer(model: &str, synthetic: bool) -> Result<Tokenizer> {
    if looks_like_path(model) {
        return Tokenizer::from_gguf(&GgufFile::open(Path::new(model))?.content);
    }
    let card = cards::card(model)?;
    match (
        cards::weights_path(&card).filter(|p| p.is_file()),
        &card.weights,
    ) {
        (Some(p), Some(_)) => Tokenizer::from_gguf(&GgufFile::open(&p)?.content),
        (None, Some(src)) if !synthetic => Err(EngineError::MissingModel {
            path: cards::models_dir().join(&src.gguf_file),
            card: card.name.clone(),
        }),
        _ => Tokenizer::synthetic(card.spec.vocab_size),
    }
}

/// The model's shape only (the modeled clock needs no weights).
pub fn load_spec(model: &str) -> Result<crate::model::spec::ModelSpec> {
    if looks_like_path(model) {
        let path = Path::new(model);
        if !path.is_file() {
            return Err(EngineError::BadGguf {
                path: path.to_path_buf(),
                reason: "no such file".into(),
            });
        }
        return GgufFile::open(path)?.spec();
    }
    Ok(cards::card(model)?.spec)
}
