//! Text <-> token ids: a byte-level BPE rebuilt from GGUF metadata, or a synthetic
//! byte tokenizer for shape-only cards (random weights make nonsense text anyway).
//!
//! The BPE is built by hand because candle's GGUF tokenizer adds a prefix space and
//! ignores SmolLM's digit splitting, which shifts every id.
use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::AddedToken;

use crate::error::{EngineError, Result};

/// Special ids shared by the synthetic tokenizer (they match SmolLM2's).
const SYN_UNK: u32 = 0;
const SYN_START: u32 = 1;
const SYN_END: u32 = 2;
/// Synthetic ids 3..259 are the bytes 0..=255.
const SYN_BYTE0: u32 = 3;
const SYN_MIN_VOCAB: usize = 259;

const IM_START: &str = "<|im_start|>";
const IM_END: &str = "<|im_end|>";
/// GGUF `tokenizer.ggml.token_type` value of control (special) tokens.
const TOKEN_TYPE_CONTROL: i64 = 3;

#[derive(Clone)]
enum Kind {
    Bpe(Box<tokenizers::Tokenizer>),
    Bytes,
}

/// How `chat_prompt` wraps a user message.
#[derive(Debug, Clone, PartialEq)]
enum ChatStyle {
    ChatMl { default_system: Option<String> },
    Plain,
}

#[derive(Clone)]
pub struct Tokenizer {
    kind: Kind,
    vocab_size: usize,
    eos_id: u32,
    im_end_id: Option<u32>,
    chat: ChatStyle,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Bpe(_) => "bpe",
            Kind::Bytes => "synthetic bytes",
        };
        f.debug_struct("Tokenizer")
            .field("kind", &kind)
            .field("vocab_size", &self.vocab_size)
            .field("eos_id", &self.eos_id)
            .field("chat", &self.chat)
            .finish()
    }
}

fn tok_err(reason: impl std::fmt::Display) -> EngineError {
    EngineError::Tokenizer(reason.to_string())
}

impl Tokenizer {
    /// Builds the tokenizer a GGUF file describes (`tokenizer.ggml.*` metadata).
    pub fn from_gguf(content: &Content) -> Result<Self> {
        let meta = |key: &str| content.metadata.get(key);
        let required = |key: &str| meta(key).ok_or_else(|| tok_err(format!("GGUF has no {key}")));

        let model = as_str(required("tokenizer.ggml.model")?, "tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(tok_err(format!(
                "tokenizer model '{model}' is not supported (only byte-level BPE, 'gpt2')"
            )));
        }
        // llama.cpp treats a missing pre-tokenizer name as "default".
        let pre = match meta("tokenizer.ggml.pre") {
            Some(v) => as_str(v, "tokenizer.ggml.pre")?,
            None => "default",
        };
        let byte_level = ByteLevel::new(false, true, true);
        let pre_tokenizer: PreTokenizerWrapper = match pre {
            "smollm" => Sequence::new(vec![Digits::new(true).into(), byte_level.into()]).into(),
            "gpt2" | "default" => byte_level.into(),
            other => {
                return Err(tok_err(format!(
                    "pre-tokenizer '{other}' is not supported (known: smollm, gpt2, default)"
                )))
            }
        };

        let tokens = str_array(required("tokenizer.ggml.tokens")?, "tokenizer.ggml.tokens")?;
        let merges = str_array(required("tokenizer.ggml.merges")?, "tokenizer.ggml.merges")?;
        let mut vocab = Vocab::with_capacity(tokens.len());
        for (id, token) in tokens.iter().enumerate() {
            // Keep the first id of a duplicated token, as llama.cpp does.
            vocab.entry(token.to_string()).or_insert(id as u32);
        }
        let merges = merges
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| tok_err(format!("malformed merge '{m}'")))
            })
            .collect::<Result<Vec<_>>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(tok_err)?;

        let mut inner = tokenizers::Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(pre_tokenizer));
        inner.with_decoder(Some(byte_level));
        if let Some(types) = meta("tokenizer.ggml.token_type") {
            let types = types.to_vec().map_err(tok_err)?;
            // Control tokens become special added tokens, so "<|im_start|>" in the text
            // encodes to its own id instead of being split into bytes.
            let specials: Vec<AddedToken> = tokens
                .iter()
                .zip(types)
                .filter(|(_, t)| as_int(t) == Some(TOKEN_TYPE_CONTROL))
                .map(|(tok, _)| AddedToken::from(tok.to_string(), true))
                .collect();
            inner.add_special_tokens(&specials);
        }

        let id_of = |key: &str| -> Result<Option<u32>> {
            match meta(key) {
                None => Ok(None),
                Some(v) => as_int(v)
                    .and_then(|i| u32::try_from(i).ok())
                    .filter(|&i| (i as usize) < tokens.len())
                    .map(Some)
                    .ok_or_else(|| tok_err(format!("{key} is not a valid token id"))),
            }
        };
        let eos_id = id_of("tokenizer.ggml.eos_token_id")?
            .ok_or_else(|| tok_err("GGUF has no tokenizer.ggml.eos_token_id"))?;
        let im_end_id = inner.token_to_id(IM_END);
        let template = match meta("tokenizer.chat_template") {
            Some(v) => Some(as_str(v, "tokenizer.chat_template")?),
            None => None,
        };
        let chat = if inner.token_to_id(IM_START).is_some() && im_end_id.is_some() {
            ChatStyle::ChatMl {
                default_system: template.and_then(default_system_prompt),
            }
        } else {
            ChatStyle::Plain
        };
        Ok(Self {
            kind: Kind::Bpe(Box::new(inner)),
            vocab_size: tokens.len(),
            eos_id,
            im_end_id,
            chat,
        })
    }

    /// A byte-level tokenizer for models without real weights: id = byte + 3,
    /// 1 = `<|im_start|>`, 2 = `<|im_end|>` (also EOS), 0 = unknown.
    pub fn synthetic(vocab_size: usize) -> Result<Self> {
        if vocab_size < SYN_MIN_VOCAB {
            return Err(tok_err(format!(
                "the synthetic tokenizer needs a vocabulary of at least {SYN_MIN_VOCAB}, \
                 the card has {vocab_size}"
            )));
        }
        Ok(Self {
            kind: Kind::Bytes,
            vocab_size,
            eos_id: SYN_END,
            im_end_id: Some(SYN_END),
            chat: ChatStyle::ChatMl {
                default_system: None,
            },
        })
    }

    /// Token ids of `text`, as-is: no BOS, no prefix space; special markers are recognized.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        match &self.kind {
            Kind::Bpe(inner) => Ok(inner
                .encode_fast(text, false)
                .map_err(tok_err)?
                .get_ids()
                .to_vec()),
            Kind::Bytes => Ok(synthetic_encode(text)),
        }
    }

    /// Text of `ids`, special markers included (lossy where ids split a character).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        match &self.kind {
            Kind::Bpe(inner) => inner.decode(ids, false).map_err(tok_err),
            Kind::Bytes => Ok(synthetic_decode(ids)),
        }
    }

    pub fn eos_id(&self) -> u32 {
        self.eos_id
    }

    /// Ids that end a generation: EOS and, for chat models, `<|im_end|>`.
    pub fn stop_ids(&self) -> Vec<u32> {
        let mut ids = vec![self.eos_id];
        ids.extend(self.im_end_id.filter(|&id| id != self.eos_id));
        ids
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// Id of one exact token string, if the vocabulary has it.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        match &self.kind {
            Kind::Bpe(inner) => inner.token_to_id(token),
            Kind::Bytes => match token {
                IM_START => Some(SYN_START),
                IM_END => Some(SYN_END),
                _ => None,
            },
        }
    }

    /// The prompt for one user message, as the model's chat template renders it with
    /// `add_generation_prompt` (ChatML, with the template's default system prompt).
    pub fn chat_prompt(&self, user: &str) -> String {
        self.chat_messages(&[("user", user)])
    }

    /// The prompt for a conversation of `(role, content)` messages with the assistant's turn
    /// opened: ChatML, the template's default system prompt first when no message is a
    /// system one; a model without a chat template gets the contents one per line.
    pub fn chat_messages(&self, messages: &[(&str, &str)]) -> String {
        match &self.chat {
            ChatStyle::Plain => messages
                .iter()
                .map(|(_, c)| *c)
                .collect::<Vec<_>>()
                .join("\n"),
            ChatStyle::ChatMl { default_system } => {
                let mut out = String::new();
                let has_system = messages.iter().any(|(r, _)| *r == "system");
                if let (Some(system), false) = (default_system, has_system) {
                    out.push_str(&format!("{IM_START}system\n{system}{IM_END}\n"));
                }
                for (role, content) in messages {
                    out.push_str(&format!("{IM_START}{role}\n{content}{IM_END}\n"));
                }
                out.push_str(&format!("{IM_START}assistant\n"));
                out
            }
        }
    }
}

/// The literal system message a ChatML template inserts when none is given, if any.
fn default_system_prompt(template: &str) -> Option<String> {
    let marker = format!("{IM_START}system");
    let rest = &template[template.find(&marker)? + marker.len()..];
    // Templates write the newline either raw or as a Jinja "\n" escape.
    let rest = rest
        .strip_prefix('\n')
        .or_else(|| rest.strip_prefix("\\n"))?;
    let text = &rest[..rest.find(IM_END)?];
    // A Jinja expression here means the system text comes from the messages.
    let literal = !text.contains("{{") && !text.contains("{%") && !text.contains('\'');
    (literal && !text.is_empty()).then(|| text.to_string())
}

fn synthetic_encode(text: &str) -> Vec<u32> {
    let mut ids = Vec::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(IM_START) {
            ids.push(SYN_START);
            rest = r;
        } else if let Some(r) = rest.strip_prefix(IM_END) {
            ids.push(SYN_END);
            rest = r;
        } else {
            // Copy bytes up to the next possible marker.
            let first = rest.chars().next().map_or(1, char::len_utf8);
            let n = rest[first..].find('<').map_or(rest.len(), |i| i + first);
            ids.extend(rest[..n].bytes().map(|b| SYN_BYTE0 + b as u32));
            rest = &rest[n..];
        }
    }
    ids
}

fn synthetic_decode(ids: &[u32]) -> String {
    let mut bytes = Vec::with_capacity(ids.len());
    for &id in ids {
        match id {
            SYN_UNK => {}
            SYN_START => bytes.extend_from_slice(IM_START.as_bytes()),
            SYN_END => bytes.extend_from_slice(IM_END.as_bytes()),
            b if b < SYN_MIN_VOCAB as u32 => bytes.push((b - SYN_BYTE0) as u8),
            // Ids a random model may sample beyond the bytes: a letter keeps streams readable.
            other => bytes.push(b'a' + ((other - SYN_MIN_VOCAB as u32) % 26) as u8),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Turns a stream of generated ids into text pieces, holding back a piece while
/// it ends in an incomplete UTF-8 character (byte-level BPE splits emoji).
#[derive(Debug, Default, Clone)]
pub struct TokenStream {
    ids: Vec<u32>,
    /// `ids[..read]` has been emitted; `ids[..prefix]` is kept only as decode context.
    prefix: usize,
    read: usize,
}

impl TokenStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one id; returns the new text it completes, if any.
    pub fn push(&mut self, tokenizer: &Tokenizer, id: u32) -> Result<Option<String>> {
        self.ids.push(id);
        let before = tokenizer.decode(&self.ids[self.prefix..self.read])?;
        let now = tokenizer.decode(&self.ids[self.prefix..])?;
        if now.len() <= before.len() || now.ends_with('\u{FFFD}') {
            return Ok(None);
        }
        let piece = now.get(before.len()..).unwrap_or_default().to_string();
        // Drop ids no longer needed as context so the stream stays O(1) per token.
        self.ids.drain(..self.prefix);
        self.prefix = self.read - self.prefix;
        self.read = self.ids.len();
        Ok(Some(piece))
    }

    /// The end of a stream: the ids still held back (an incomplete character that nothing
    /// will complete now), decoded lossily.
    pub fn flush(&mut self, tokenizer: &Tokenizer) -> Result<String> {
        let before = tokenizer.decode(&self.ids[self.prefix..self.read])?;
        let now = tokenizer.decode(&self.ids[self.prefix..])?;
        self.read = self.ids.len();
        Ok(now.get(before.len()..).unwrap_or_default().to_string())
    }
}

fn as_str<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    match v {
        Value::String(s) => Ok(s),
        _ => Err(tok_err(format!("{key} is not a string"))),
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match *v {
        Value::U8(x) => Some(x.into()),
        Value::I8(x) => Some(x.into()),
        Value::U16(x) => Some(x.into()),
        Value::I16(x) => Some(x.into()),
        Value::U32(x) => Some(x.into()),
        Value::I32(x) => Some(x.into()),
        Value::U64(x) => i64::try_from(x).ok(),
        Value::I64(x) => Some(x),
        _ => None,
    }
}

fn str_array<'a>(v: &'a Value, key: &str) -> Result<Vec<&'a str>> {
    let items = v
        .to_vec()
        .map_err(|_| tok_err(format!("{key} is not an array")))?;
    items.iter().map(|item| as_str(item, key)).collect()
}

#[cfg(test)]
#[path = "tokenizer_tests.rs"]
mod tests;
