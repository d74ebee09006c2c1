//! The built-in model cards and where their weight files live on disk.
//!
//! Cards are embedded with `include_str!` so the binary works from any directory;
//! only the (large, git-ignored) GGUF files are looked up at run time.
use std::path::{Path, PathBuf};

use super::spec::ModelCard;
use crate::error::{EngineError, Result};

/// Environment variable that overrides where weight files are looked up and fetched to.
pub const MODELS_DIR_ENV: &str = "GOODPUT_LAB_MODELS";

/// (file name, contents) of every card under `models/`.
const EMBEDDED: &[(&str, &str)] = &[
    ("tiny.ron", include_str!("../../../models/tiny.ron")),
    (
        "smollm2-135m.ron",
        include_str!("../../../models/smollm2-135m.ron"),
    ),
    (
        "smollm2-360m.ron",
        include_str!("../../../models/smollm2-360m.ron"),
    ),
    (
        "llama-2-7b.ron",
        include_str!("../../../models/llama-2-7b.ron"),
    ),
    (
        "llama-2-13b.ron",
        include_str!("../../../models/llama-2-13b.ron"),
    ),
    (
        "llama-3-8b.ron",
        include_str!("../../../models/llama-3-8b.ron"),
    ),
    (
        "llama-3.1-8b.ron",
        include_str!("../../../models/llama-3.1-8b.ron"),
    ),
    (
        "qwen2.5-7b.ron",
        include_str!("../../../models/qwen2.5-7b.ron"),
    ),
    (
        "qwen2.5-32b.ron",
        include_str!("../../../models/qwen2.5-32b.ron"),
    ),
    (
        "llama-2-70b.ron",
        include_str!("../../../models/llama-2-70b.ron"),
    ),
    (
        "llama-3-70b.ron",
        include_str!("../../../models/llama-3-70b.ron"),
    ),
];

/// Parses one card's text; `file` only names it in errors.
pub fn parse_card(file: &str, text: &str) -> Result<ModelCard> {
    let bad = |reason: String| EngineError::BadCard {
        path: PathBuf::from(file),
        reason,
    };
    let card: ModelCard = ron::from_str(text).map_err(|e| bad(e.to_string()))?;
    card.spec.validate().map_err(bad)?;
    Ok(card)
}

/// Every built-in card, in a stable order (smallest first).
pub fn all_cards() -> Vec<ModelCard> {
    EMBEDDED
        .iter()
        .map(|(file, text)| {
            // Embedded at compile time and checked by `every_embedded_card_parses`.
            parse_card(file, text).unwrap_or_else(|e| panic!("built-in card: {e}"))
        })
        .collect()
}

/// Names of the built-in cards, for help texts and error messages.
pub fn card_names() -> Vec<String> {
    all_cards().into_iter().map(|c| c.name).collect()
}

/// The built-in card called `name`.
pub fn card(name: &str) -> Result<ModelCard> {
    let cards = all_cards();
    let known = cards
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    cards
        .iter()
        .find(|c| c.name == name)
        .cloned()
        .ok_or_else(|| EngineError::UnknownCard {
            name: name.to_string(),
            known,
        })
}

/// Where weight files are looked up: `$GOODPUT_LAB_MODELS`, else the workspace's
/// `models/` (found by walking up from the current directory), else `./models`.
pub fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(MODELS_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    std::env::current_dir()
        .ok()
        .and_then(|cwd| workspace_models_dir(&cwd))
        .unwrap_or_else(|| PathBuf::from("models"))
}

/// The first ancestor of `start` that is a workspace root with a `models/` folder.
fn workspace_models_dir(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let models = dir.join("models");
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        (models.is_dir() && manifest.lines().any(|l| l.trim() == "[workspace]")).then_some(models)
    })
}

/// Where the card's GGUF file belongs; None for shape-only cards.
pub fn weights_path(card: &ModelCard) -> Option<PathBuf> {
    let weights = card.weights.as_ref()?;
    Some(models_dir().join(&weights.gguf_file))
}

/// True when the card's GGUF file is present with the expected size (a cheap check;
/// `fetch::verify_sha256` is the thorough one).
pub fn has_weights(card: &ModelCard) -> bool {
    let (Some(path), Some(weights)) = (weights_path(card), card.weights.as_ref()) else {
        return false;
    };
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == weights.size_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_card_parses() {
        for (file, text) in EMBEDDED {
            let card = parse_card(file, text).unwrap();
            assert_eq!(
                format!("{}.ron", card.name),
                *file,
                "card name matches file"
            );
            assert!(!card.description.is_empty(), "{file} has a description");
            card.spec.validate().unwrap();
        }
        assert_eq!(all_cards().len(), EMBEDDED.len());
    }

    #[test]
    fn every_card_file_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".ron") {
                assert!(
                    EMBEDDED.iter().any(|(f, _)| *f == name),
                    "{name} not embedded"
                );
            }
        }
    }

    #[test]
    fn smollm2_card_has_real_weights() {
        let smol = card("smollm2-135m").unwrap();
        let w = smol.weights.as_ref().unwrap();
        assert_eq!(w.size_bytes, 98_362_432);
        assert_eq!(smol.spec.head_dim(), 64);
        assert!(weights_path(&smol)
            .unwrap()
            .ends_with("SmolLM2-135M-Instruct.Q4_1.gguf"));
        assert!(card("tiny").unwrap().weights.is_none());
        assert!(weights_path(&card("tiny").unwrap()).is_none());
    }

    #[test]
    fn unknown_card_lists_known_names() {
        let err = card("gpt-5").unwrap_err().to_string();
        assert!(
            err.contains("gpt-5") && err.contains("smollm2-135m"),
            "{err}"
        );
    }

    #[test]
    fn finds_workspace_models_dir_from_a_subfolder() {
        let engine_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let found = workspace_models_dir(&engine_dir.join("src")).unwrap();
        assert_eq!(found, engine_dir.parent().unwrap().join("models"));
    }
}
