//! Turning one request's generated ids into OpenAI responses: incremental detokenisation,
//! `stop` strings (text after one is never sent; a suffix that may start one is held back),
//! end-of-sequence handling, and the completion and chat chunk shapes.
use super::openai::usage;
use engine::model::tokenizer::{TokenStream, Tokenizer};
use serde_json::{json, Value};
use std::sync::Arc;

/// Which endpoint's shapes to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Completions,
    Chat,
}

pub struct Gen {
    pub api: Api,
    pub id: String,
    pub model: String,
    pub created: u64,
    tokenizer: Arc<Tokenizer>,
    stream: TokenStream,
    stops: Vec<String>,
    /// End-of-sequence ids that end the request (empty with `ignore_eos`).
    eos: Vec<u32>,
    /// Text decoded but not yet sent (it may be the start of a stop string).
    held: String,
    pub completion_tokens: usize,
    /// Set once the request ended: "stop" or "length".
    pub finish: Option<&'static str>,
}

impl Gen {
    pub fn new(
        api: Api,
        id: u64,
        model: &str,
        tokenizer: Arc<Tokenizer>,
        stops: Vec<String>,
        eos: Vec<u32>,
    ) -> Self {
        let prefix = match api {
            Api::Completions => "cmpl",
            Api::Chat => "chatcmpl",
        };
        Gen {
            api,
            id: format!("{prefix}-{id}"),
            model: model.to_string(),
            created: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            tokenizer,
            stream: TokenStream::new(),
            stops,
            eos,
            held: String::new(),
            completion_tokens: 0,
            finish: None,
        }
    }

    /// Takes one generated id; returns the text that may be sent now (possibly empty).
    pub fn token(&mut self, id: u32) -> String {
        if self.finish.is_some() {
            return String::new();
        }
        self.completion_tokens += 1;
        if self.eos.contains(&id) {
            self.finish = Some("stop");
            return std::mem::take(&mut self.held);
        }
        if let Ok(Some(piece)) = self.stream.push(&self.tokenizer, id) {
            self.held.push_str(&piece);
        }
        if let Some(at) = self
            .stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min()
        {
            self.held.truncate(at);
            self.finish = Some("stop");
            return std::mem::take(&mut self.held);
        }
        let keep = self.partial_stop_len();
        let send = self.held.len() - keep;
        let rest = self.held.split_off(send);
        std::mem::replace(&mut self.held, rest)
    }

    /// The request ran to its token limit: what is still held is sent, an unfinished
    /// character included (lossily: nothing will complete it now).
    pub fn end(&mut self) -> String {
        if self.finish.is_none() {
            self.finish = Some("length");
            if let Ok(rest) = self.stream.flush(&self.tokenizer) {
                self.held.push_str(&rest);
            }
        }
        std::mem::take(&mut self.held)
    }

    /// Bytes at the end of `held` that could begin a stop string.
    fn partial_stop_len(&self) -> usize {
        let h = &self.held;
        self.stops
            .iter()
            .flat_map(|s| {
                (1..s.len().min(h.len() + 1))
                    .rev()
                    .filter(|&k| s.is_char_boundary(k) && h.ends_with(&s[..k]))
                    .take(1)
            })
            .max()
            .unwrap_or(0)
    }

    fn head(&self, object: &str) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("object".into(), json!(object));
        m.insert("created".into(), json!(self.created));
        m.insert("model".into(), json!(self.model));
        m
    }

    /// One streamed chunk carrying `text` (and the finish reason once set).
    pub fn chunk(&self, text: &str, finish: Option<&str>) -> Value {
        let choice = match self.api {
            Api::Completions => {
                json!({"index": 0, "text": text, "logprobs": null, "finish_reason": finish})
            }
            Api::Chat => json!({"index": 0, "delta": {"content": text}, "logprobs": null,
                                "finish_reason": finish}),
        };
        self.with_choices(vec![choice])
    }

    /// The chat stream's first chunk: the assistant role, no content yet.
    pub fn role_chunk(&self) -> Value {
        self.with_choices(vec![json!({"index": 0,
            "delta": {"role": "assistant", "content": ""}, "logprobs": null, "finish_reason": null})])
    }

    fn with_choices(&self, choices: Vec<Value>) -> Value {
        let object = match self.api {
            Api::Completions => "text_completion",
            Api::Chat => "chat.completion.chunk",
        };
        let mut m = self.head(object);
        m.insert("choices".into(), Value::Array(choices));
        Value::Object(m)
    }

    /// The last streamed chunk when `stream_options.include_usage` asks for it.
    pub fn usage_chunk(&self, prompt_tokens: usize) -> Value {
        let mut v = self.with_choices(vec![]);
        v["usage"] = usage(prompt_tokens, self.completion_tokens);
        v
    }

    /// The whole response of a request that did not stream.
    pub fn full(&self, text: &str, prompt_tokens: usize) -> Value {
        let (object, choice) = match self.api {
            Api::Completions => (
                "text_completion",
                json!({"index": 0, "text": text, "logprobs": null, "finish_reason": self.finish}),
            ),
            Api::Chat => (
                "chat.completion",
                json!({"index": 0, "message": {"role": "assistant", "content": text},
                       "logprobs": null, "finish_reason": self.finish}),
            ),
        };
        let mut m = self.head(object);
        m.insert("choices".into(), json!([choice]));
        m.insert("usage".into(), usage(prompt_tokens, self.completion_tokens));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen(stops: &[&str], eos: Vec<u32>) -> Gen {
        let tok = Arc::new(Tokenizer::synthetic(512).expect("tokenizer"));
        let stops = stops.iter().map(|s| s.to_string()).collect();
        Gen::new(Api::Completions, 1, "m", tok, stops, eos)
    }

    /// The synthetic tokenizer's id of one ASCII byte.
    fn id(tok: &Tokenizer, c: char) -> u32 {
        tok.encode(&c.to_string()).expect("encode")[0]
    }

    #[test]
    fn stop_strings_cut_the_text_and_hold_back_a_possible_start() {
        let mut g = gen(&["END"], vec![]);
        let t = g.tokenizer.clone();
        let mut sent = String::new();
        for c in "abcEN".chars() {
            sent += &g.token(id(&t, c));
        }
        // "EN" may begin "END": held back.
        assert_eq!(sent, "abc");
        sent += &g.token(id(&t, 'x'));
        assert_eq!(sent, "abcENx");
        for c in "yEND".chars() {
            sent += &g.token(id(&t, c));
        }
        assert_eq!(sent, "abcENxy");
        assert_eq!(g.finish, Some("stop"));
        assert_eq!(g.completion_tokens, 10);
        assert_eq!(g.token(id(&t, 'z')), "", "nothing after the stop");
    }

    #[test]
    fn eos_ends_with_stop_and_the_limit_with_length() {
        let mut g = gen(&[], vec![2]);
        let t = g.tokenizer.clone();
        assert_eq!(g.token(id(&t, 'h')), "h");
        assert_eq!(g.token(2), "");
        assert_eq!(g.finish, Some("stop"));
        let mut g = gen(&[], vec![]);
        assert_eq!(g.token(id(&t, 'h')), "h");
        assert_eq!(g.end(), "");
        assert_eq!(g.finish, Some("length"));
        let full = g.full("h", 3);
        assert_eq!(full["usage"]["total_tokens"], 4);
        assert_eq!(full["choices"][0]["finish_reason"], "length");
    }
}
