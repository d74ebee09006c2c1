//! A model loaded on the device `--device` names, for the commands that run on either.
use super::ModelArgs;
use engine::backend::cuda::load::{load_cuda, CudaModel};
use engine::backend::cuda::session::CudaSession;
use engine::backend::Device;
use engine::generate::{generate, generate_in, GenerateOutput, GenerateRequest};
use engine::loader::LoadedModel;
use engine::model::tokenizer::Tokenizer;

pub enum AnyModel {
    Cpu(LoadedModel),
    Cuda(CudaModel),
}

impl AnyModel {
    /// Loads on `--device`; with `cuda` on a machine without CUDA this is the error that
    /// names the missing library.
    pub fn load(args: &ModelArgs) -> anyhow::Result<Self> {
        Ok(match args.device {
            Device::Cpu => AnyModel::Cpu(args.load()?),
            Device::Cuda(n) => AnyModel::Cuda(load_cuda(&args.options(), n)?),
        })
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        match self {
            AnyModel::Cpu(m) => &m.tokenizer,
            AnyModel::Cuda(m) => &m.tokenizer,
        }
    }

    pub fn generate(
        &self,
        req: &GenerateRequest,
        on_token: impl FnMut(u32),
    ) -> anyhow::Result<GenerateOutput> {
        Ok(match self {
            AnyModel::Cpu(m) => generate(&m.llama, req, on_token)?,
            AnyModel::Cuda(m) => {
                let max_ctx = m.llama.weights.spec.max_context;
                engine::generate::check(req, max_ctx)?;
                let tokens = req.prompt_ids.len() + req.max_tokens;
                let mut s = CudaSession::with_capacity(&m.llama, tokens)?;
                generate_in(&mut s, max_ctx, req, on_token)?
            }
        })
    }
}
