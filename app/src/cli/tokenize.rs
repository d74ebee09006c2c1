//! `tokenize`: token ids of a text, as the engine sees them.
use super::ModelArgs;
use clap::Args;

#[derive(Args, Debug)]
pub struct TokenizeArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long)]
    pub text: String,
    /// Print `{"ids": [...]}`.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: TokenizeArgs) -> anyhow::Result<()> {
    let tok = a.model.load_tokenizer()?;
    let ids = tok.encode(&a.text)?;
    if a.json {
        println!("{}", serde_json::json!({ "ids": ids }));
    } else {
        println!("{} tokens", ids.len());
        for id in ids {
            let piece = tok.decode(&[id]).unwrap_or_default();
            println!("{id:>6}  {piece:?}");
        }
    }
    Ok(())
}
