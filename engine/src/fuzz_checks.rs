//! The checks of the fuzz targets in `engine/fuzz/` (cargo-fuzz, nightly), kept here so that
//! `tests/fuzz_corpus.rs` replays the kept corpus through the very same code under a stable
//! `cargo test`. Each takes arbitrary bytes and must not panic on any input: a parser answers
//! malformed input with an error. The asserts are properties of what a parser accepted. Each
//! returns whether the parser accepted the input (the replay counts those).
use crate::error::{EngineError, Result};
use crate::model::cards::parse_card;
use crate::model::gguf::GgufFile;
use crate::serve::experiment::Experiment;
use crate::serve::trace::parse_trace;
use std::io::Cursor;
use std::path::Path;

/// Vocabulary, first ordinary token id and context of the model the trace target assumes.
pub const TRACE_VOCAB: usize = 49152;
pub const TRACE_FIRST_ID: u32 = 17;
pub const TRACE_MAX_CONTEXT: usize = 2048;

/// A target's check: arbitrary bytes in, whether the parser accepted them out.
pub type Check = fn(&[u8]) -> bool;

/// The names of the fuzz targets, each with its check (the corpus folders have these names).
pub const TARGETS: &[(&str, Check)] = &[
    ("gguf_header", gguf_header),
    ("model_card", model_card),
    ("experiment", experiment),
    ("trace_line", trace_line),
];

/// A GGUF read from memory; where the header parses, the model shape read from it.
pub fn gguf_header(data: &[u8]) -> bool {
    let Ok(g) = GgufFile::from_reader(Path::new("fuzz.gguf"), Cursor::new(data.to_vec())) else {
        return false;
    };
    if let Ok(spec) = g.spec() {
        assert_eq!(spec.validate(), Ok(()), "spec() returned an invalid shape");
    }
    true
}

/// A model card (RON); a card that parses has a valid shape.
pub fn model_card(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(card) = parse_card("fuzz.ron", text) else {
        return false;
    };
    assert_eq!(
        card.spec.validate(),
        Ok(()),
        "parse_card kept an invalid shape"
    );
    true
}

/// An experiment (RON): where it parses, `check` answers, and `to_ron` writes text that reads
/// back as the same experiment (NaN, which is not equal to itself, aside).
pub fn experiment(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(exp) = Experiment::from_ron("fuzz.ron", text) else {
        return false;
    };
    let _ = exp.check();
    let ron = exp
        .to_ron()
        .unwrap_or_else(|e| panic!("to_ron failed on a parsed experiment: {e}\n{exp:?}"));
    let back = Experiment::from_ron("round-trip.ron", &ron)
        .unwrap_or_else(|e| panic!("to_ron wrote text that does not parse: {e}\n{ron}"));
    if back != exp {
        // Debug prints every float exactly and every NaN as `NaN`: the texts differ unless
        // NaN is the only difference.
        assert_eq!(
            format!("{back:#?}"),
            format!("{exp:#?}"),
            "the experiment does not round-trip through to_ron:\n{ron}"
        );
    }
    true
}

/// Prompt text as token ids: one per byte, or an error for text starting with `!`.
fn fuzz_encode(text: &str) -> Result<Vec<u32>> {
    if text.starts_with('!') {
        return Err(EngineError::Invalid(
            "the fuzz tokenizer rejects '!'".into(),
        ));
    }
    Ok(text
        .bytes()
        .map(|b| TRACE_FIRST_ID + u32::from(b))
        .collect())
}

/// A JSONL trace; what parses keeps the rules the parser promises.
pub fn trace_line(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(reqs) = parse_trace(
        text,
        &fuzz_encode,
        TRACE_VOCAB,
        TRACE_FIRST_ID,
        TRACE_MAX_CONTEXT,
        0,
    ) else {
        return false;
    };
    assert!(!reqs.is_empty(), "an accepted trace has requests");
    let mut last = 0.0;
    for (i, r) in reqs.iter().enumerate() {
        assert_eq!(r.id, i as u64, "ids count from 0");
        assert!(r.arrival_s.is_finite() && r.arrival_s >= last, "{r:?}");
        last = r.arrival_s;
        assert!(r.output_tokens >= 1 && !r.prompt.is_empty(), "{r:?}");
        assert!(
            r.prompt.len() + r.output_tokens <= TRACE_MAX_CONTEXT,
            "{r:?}"
        );
        assert!(
            r.prompt.ids().iter().all(|&t| t < TRACE_VOCAB as u32),
            "{r:?}"
        );
    }
    true
}
