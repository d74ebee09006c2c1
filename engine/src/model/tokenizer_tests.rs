//! Tokenizer tests. Expected ids come from the Python `tokenizers` package built from
//! the same GGUF vocab/merges with SmolLM2's HF config (Digits + ByteLevel, no prefix space).
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Instant;

use candle_core::quantized::gguf_file::{Content, Value, VersionedMagic};

use super::*;
use crate::model::{cards, fetch};

/// The real SmolLM2 tokenizer, loaded once; fetched first if the GGUF is missing.
fn smollm() -> &'static Tokenizer {
    static TOKENIZER: OnceLock<Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        let card = cards::card("smollm2-135m").unwrap();
        let path = fetch::ensure(&card).unwrap();
        let mut file = std::fs::File::open(path).unwrap();
        let content = Content::read(&mut file).unwrap();
        let start = Instant::now();
        let tokenizer = Tokenizer::from_gguf(&content).unwrap();
        let secs = start.elapsed().as_secs_f64();
        eprintln!("SmolLM2 tokenizer built in {secs:.3}s");
        // Well under a second optimized; the bound is loose for loaded CI machines.
        assert!(secs < 3.0, "building the tokenizer took {secs:.2}s");
        tokenizer
    })
}

const PINNED: &[(&str, &[u32])] = &[
    (
        "héllo wörld 👋🏽 日本語",
        &[
            88, 2756, 31394, 267, 29989, 400, 15107, 235, 229, 10813, 233, 138, 17097, 241, 115,
            40993, 179, 120, 248,
        ],
    ),
    (
        "def f(x):\n    return x  # hi\n\tpass",
        &[
            1604, 275, 24, 104, 727, 472, 1003, 1792, 216, 907, 15876, 198, 197, 5467,
        ],
    ),
    (
        "12345 and 3.14159",
        &[33, 34, 35, 36, 37, 284, 216, 35, 30, 33, 36, 33, 37, 41],
    ),
    ("a   b\n\n\n  c", &[81, 256, 278, 1116, 3805, 265]),
    ("<|im_start|>user\nhi<|im_end|>", &[1, 4093, 198, 6004, 2]),
    ("The capital of France is", &[504, 3575, 282, 4649, 314]),
];

#[test]
fn smollm_pinned_ids() {
    let tok = smollm();
    for (text, ids) in PINNED {
        assert_eq!(tok.encode(text).unwrap(), *ids, "{text:?}");
    }
}

#[test]
fn smollm_round_trips_exactly() {
    let tok = smollm();
    let mut texts: Vec<&str> = PINNED.iter().map(|(t, _)| *t).collect();
    texts.extend([
        "",
        " leading space",
        "trailing  ",
        "tabs\t\tand\r\nCRLF",
        "ﬁ ligature",
    ]);
    for text in texts {
        let ids = tok.encode(text).unwrap();
        assert_eq!(tok.decode(&ids).unwrap(), text, "{ids:?}");
    }
}

#[test]
fn smollm_has_no_prefix_space_and_splits_digits() {
    let tok = smollm();
    let ids = tok.encode("The capital of France is").unwrap();
    assert_eq!(tok.decode(&ids[..1]).unwrap(), "The");
    assert_eq!(tok.token_id("Ġ"), Some(216));
    assert_ne!(ids[0], 216);
    // One id per digit: "2024" must not become a single token.
    assert_eq!(tok.encode("2024").unwrap().len(), 4);
}

#[test]
fn smollm_specials_and_chat_prompt() {
    let tok = smollm();
    assert_eq!(tok.vocab_size(), 49152);
    assert_eq!(tok.eos_id(), 2);
    assert_eq!(tok.stop_ids(), vec![2]);
    assert_eq!(tok.token_id("<|im_start|>"), Some(1));
    let prompt = tok.chat_prompt("What is 2+2?");
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging \
         Face<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
    );
    let ids = tok.encode(&prompt).unwrap();
    assert_eq!(ids[0], 1);
    assert_eq!(ids.iter().filter(|&&i| i == 1).count(), 3);
    assert_eq!(ids.iter().filter(|&&i| i == 2).count(), 2);
}

#[test]
fn smollm_stream_holds_back_split_characters() {
    let tok = smollm();
    let text = "héllo wörld 👋🏽 日本語 and more";
    let mut stream = TokenStream::new();
    let mut out = String::new();
    for id in tok.encode(text).unwrap() {
        if let Some(piece) = stream.push(tok, id).unwrap() {
            assert!(!piece.contains('\u{FFFD}'), "{piece:?}");
            out.push_str(&piece);
        }
    }
    assert_eq!(out, text);
}

#[test]
fn synthetic_round_trips_and_knows_markers() {
    let tok = Tokenizer::synthetic(512).unwrap();
    let text = "<|im_start|>user\nhé 👋 <b> <|im_end|>";
    let ids = tok.encode(text).unwrap();
    assert_eq!(ids[0], 1);
    assert_eq!(*ids.last().unwrap(), 2);
    assert_eq!(ids[1], b'u' as u32 + 3);
    assert!(ids.iter().all(|&i| (i as usize) < tok.vocab_size()));
    assert_eq!(tok.decode(&ids).unwrap(), text);
    assert_eq!(tok.stop_ids(), vec![2]);
    assert_eq!(
        tok.chat_prompt("hi"),
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    );
    // Ids above the bytes decode to placeholder letters, never fail.
    assert_eq!(tok.decode(&[259, 260, 511]).unwrap(), "abs");
    assert!(Tokenizer::synthetic(258).is_err());
}

/// A toy GGUF header: vocab {a, b, ab, <|im_start|>, <|im_end|>}, one merge.
fn toy_content(model: &str, pre: &str) -> Content {
    let strings =
        |items: &[&str]| Value::Array(items.iter().map(|s| Value::String(s.to_string())).collect());
    let mut metadata = HashMap::new();
    metadata.insert("tokenizer.ggml.model".into(), Value::String(model.into()));
    metadata.insert("tokenizer.ggml.pre".into(), Value::String(pre.into()));
    metadata.insert(
        "tokenizer.ggml.tokens".into(),
        strings(&["<|im_start|>", "<|im_end|>", "a", "b", "ab"]),
    );
    metadata.insert("tokenizer.ggml.merges".into(), strings(&["a b"]));
    let types = [3, 3, 1, 1, 1].map(Value::I32).to_vec();
    metadata.insert("tokenizer.ggml.token_type".into(), Value::Array(types));
    metadata.insert("tokenizer.ggml.eos_token_id".into(), Value::U32(1));
    Content {
        magic: VersionedMagic::GgufV3,
        metadata,
        tensor_infos: HashMap::new(),
        tensor_data_offset: 0,
    }
}

#[test]
fn toy_gguf_builds_and_unsupported_kinds_are_named() {
    let tok = Tokenizer::from_gguf(&toy_content("gpt2", "gpt2")).unwrap();
    assert_eq!(tok.encode("ab<|im_end|>a").unwrap(), vec![4, 1, 2]);
    assert_eq!(tok.stop_ids(), vec![1]);
    // No chat template: ChatML without a system message.
    assert!(tok.chat_prompt("x").starts_with("<|im_start|>user\nx"));

    let err = Tokenizer::from_gguf(&toy_content("llama", "default")).unwrap_err();
    assert!(err.to_string().contains("'llama'"), "{err}");
    let err = Tokenizer::from_gguf(&toy_content("gpt2", "qwen2")).unwrap_err();
    assert!(err.to_string().contains("'qwen2'"), "{err}");
}

#[test]
fn default_system_prompt_is_read_from_the_template() {
    let raw = "{{ '<|im_start|>system\nBe brief.<|im_end|>\n' }}";
    assert_eq!(default_system_prompt(raw).as_deref(), Some("Be brief."));
    let escaped = "{{ '<|im_start|>system\\nBe brief.<|im_end|>\\n' }}";
    assert_eq!(default_system_prompt(escaped).as_deref(), Some("Be brief."));
    let from_messages = "{{ '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>' }}";
    assert_eq!(default_system_prompt(from_messages), None);
}
