//! `generate`: text from a prompt on the real engine, streamed as it is produced.
use super::ModelArgs;
use clap::Args;
use engine::generate::{generate_on, GenerateRequest};
use engine::model::tokenizer::TokenStream;
use engine::sampler::SamplingParams;
use std::io::Write;

#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long)]
    pub prompt: String,
    #[arg(long, default_value_t = 64)]
    pub max_tokens: usize,
    /// Sampling temperature; greedy when not given.
    #[arg(long, allow_negative_numbers = true)]
    pub temperature: Option<f32>,
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub top_p: f32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Wrap the prompt in the model's ChatML template and stop at the end of the turn.
    #[arg(long)]
    pub chat: bool,
    /// Print exactly `{"prompt_ids": [...], "output_ids": [...], "text": "..."}`.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: GenerateArgs) -> anyhow::Result<()> {
    if a.max_tokens == 0 {
        anyhow::bail!("--max-tokens must be at least 1");
    }
    let m = a.model.load()?;
    let prompt = if a.chat {
        m.tokenizer.chat_prompt(&a.prompt)
    } else {
        a.prompt.clone()
    };
    let prompt_ids = m.tokenizer.encode(&prompt)?;
    let req = GenerateRequest {
        prompt_ids: prompt_ids.clone(),
        max_tokens: a.max_tokens,
        sampling: SamplingParams {
            temperature: a.temperature.unwrap_or(0.0),
            top_p: a.top_p,
            seed: a.seed,
        },
        stop_ids: if a.chat {
            m.tokenizer.stop_ids()
        } else {
            Vec::new()
        },
    };
    let mut stream = TokenStream::new();
    let mut stdout = std::io::stdout();
    let out = generate_on(&m.model, &req, |id| {
        if !a.json {
            if let Ok(Some(piece)) = stream.push(&m.tokenizer, id) {
                let _ = write!(stdout, "{piece}");
                let _ = stdout.flush();
            }
        }
    })?;
    let text = m.tokenizer.decode(&out.output_ids)?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "prompt_ids": prompt_ids, "output_ids": out.output_ids, "text": text })
        );
    } else {
        let n = out.output_ids.len();
        println!();
        eprintln!(
            "[{} prompt tokens in {:.0} ms; {} tokens in {:.0} ms, {:.1} tok/s]",
            prompt_ids.len(),
            out.prefill_ms,
            n,
            out.prefill_ms + out.decode_ms,
            if n > 1 {
                (n - 1) as f64 / (out.decode_ms / 1e3)
            } else {
                0.0
            }
        );
    }
    Ok(())
}
