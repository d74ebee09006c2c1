//! JSONL trace replay: one request per line,
//! `{"arrival_s": 0.5, "prompt_tokens": 120, "output_tokens": 64}` or with `"prompt": "text"`
//! instead of `prompt_tokens` (tokenized with the model's tokenizer).
use crate::error::{EngineError, Result};
use crate::serve::request::RequestSpec;
use crate::serve::workload::random_prompt;
use rand::SeedableRng;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    arrival_s: f64,
    prompt_tokens: Option<usize>,
    prompt: Option<String>,
    output_tokens: usize,
}

/// Parses a trace. `encode` turns prompt text into token ids; random ids in
/// `[first_id, vocab)` stand in for `prompt_tokens`. Errors name the line.
pub fn parse_trace(
    text: &str,
    encode: &dyn Fn(&str) -> Result<Vec<u32>>,
    vocab: usize,
    first_id: u32,
    max_context: usize,
    seed: u64,
) -> Result<Vec<RequestSpec>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out: Vec<RequestSpec> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let bad = |why: String| EngineError::Invalid(format!("trace line {n}: {why}"));
        if raw.trim().is_empty() {
            continue;
        }
        let l: Line = serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
        if !(l.arrival_s >= 0.0 && l.arrival_s.is_finite()) {
            return Err(bad(format!("arrival_s must be ≥ 0, got {}", l.arrival_s)));
        }
        if let Some(prev) = out.last() {
            if l.arrival_s < prev.arrival_s {
                return Err(bad("arrival_s must not decrease".into()));
            }
        }
        if l.output_tokens == 0 {
            return Err(bad("output_tokens must be ≥ 1".into()));
        }
        // Checked before the prompt is drawn: a huge `prompt_tokens` must not allocate.
        let fits = |prompt_len: usize| {
            if prompt_len.saturating_add(l.output_tokens) > max_context {
                return Err(bad(format!(
                    "prompt ({prompt_len}) + output ({}) tokens exceed the model's context of \
                     {max_context}",
                    l.output_tokens
                )));
            }
            Ok(())
        };
        let prompt = match (l.prompt_tokens, l.prompt) {
            (Some(k), None) if k >= 1 => {
                fits(k)?;
                random_prompt(&mut rng, k, vocab, first_id)
            }
            (None, Some(p)) => encode(&p).map_err(|e| bad(e.to_string()))?,
            (Some(_), None) => return Err(bad("prompt_tokens must be ≥ 1".into())),
            _ => return Err(bad("give exactly one of prompt_tokens and prompt".into())),
        };
        if prompt.is_empty() {
            return Err(bad("the prompt has no tokens".into()));
        }
        fits(prompt.len())?;
        out.push(RequestSpec {
            id: out.len() as u64,
            arrival_s: l.arrival_s,
            prompt: prompt.into(),
            output_tokens: l.output_tokens,
        });
    }
    if out.is_empty() {
        return Err(EngineError::Invalid("the trace has no requests".into()));
    }
    Ok(out)
}
