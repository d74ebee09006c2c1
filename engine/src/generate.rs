//! Single-request text generation: prefill the prompt in one step, then decode token by token.
use crate::backend::cpu::llama::Llama;
use crate::backend::cpu::session::Session;
use crate::backend::step::StepPart;
use crate::backend::step::StepSession;
use crate::backend::DeviceModel;
use crate::error::{EngineError, Result};
use crate::sampler::{Sampler, SamplingParams};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct GenerateRequest {
    pub prompt_ids: Vec<u32>,
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    /// Generation ends early at any of these ids (empty: always `max_tokens`).
    pub stop_ids: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct GenerateOutput {
    pub output_ids: Vec<u32>,
    pub prefill_ms: f64,
    pub decode_ms: f64,
}

/// Generates on the CPU engine.
pub fn generate(
    model: &Llama,
    req: &GenerateRequest,
    on_token: impl FnMut(u32),
) -> Result<GenerateOutput> {
    let max_ctx = model.weights.spec.max_context;
    check(req, max_ctx)?;
    let mut session = Session::with_capacity(model, req.prompt_ids.len() + req.max_tokens)?;
    generate_in(&mut session, max_ctx, req, on_token)
}

/// Generates on whichever device the model is loaded on.
pub fn generate_on(
    model: &DeviceModel,
    req: &GenerateRequest,
    on_token: impl FnMut(u32),
) -> Result<GenerateOutput> {
    let max_ctx = model.spec().max_context;
    check(req, max_ctx)?;
    let mut session = model.session_for(req.prompt_ids.len() + req.max_tokens)?;
    generate_in(session.as_mut(), max_ctx, req, on_token)
}

/// The request's own checks, before any session is made for it.
pub fn check(req: &GenerateRequest, max_ctx: usize) -> Result<()> {
    req.sampling.validate()?;
    if req.prompt_ids.is_empty() {
        return Err(EngineError::field("prompt", "is empty"));
    }
    let total = req.prompt_ids.len() + req.max_tokens;
    if total > max_ctx {
        return Err(EngineError::PromptTooLong {
            len: total,
            max: max_ctx,
        });
    }
    Ok(())
}

/// `generate` in a session the caller made (CPU or GPU) with room for the whole request.
pub fn generate_in(
    session: &mut dyn StepSession,
    max_ctx: usize,
    req: &GenerateRequest,
    mut on_token: impl FnMut(u32),
) -> Result<GenerateOutput> {
    check(req, max_ctx)?;
    let mut sampler = Sampler::new(req.sampling);
    let mut out = Vec::with_capacity(req.max_tokens);
    let t0 = Instant::now();
    let mut logits = session.step(&[StepPart {
        seq: 0,
        tokens: &req.prompt_ids,
        want_logits: true,
    }])?;
    let prefill_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    while out.len() < req.max_tokens {
        let next = sampler.sample(&logits[0]);
        out.push(next);
        on_token(next);
        if req.stop_ids.contains(&next) || out.len() == req.max_tokens {
            break;
        }
        logits = session.step(&[StepPart {
            seq: 0,
            tokens: &[next],
            want_logits: true,
        }])?;
    }
    Ok(GenerateOutput {
        output_ids: out,
        prefill_ms,
        decode_ms: t1.elapsed().as_secs_f64() * 1e3,
    })
}
