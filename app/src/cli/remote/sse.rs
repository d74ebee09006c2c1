//! The server-sent-event stream of an OpenAI streaming response, split into `data:` lines and
//! read one chunk at a time. Line-based like vLLM's client (servers send one JSON per line),
//! so a chunk is seen the moment its line is complete.
use serde_json::Value;

/// Splits incoming bytes into complete `data:` payloads; keeps a partial line for later.
#[derive(Default)]
pub(crate) struct SseLines {
    partial: Vec<u8>,
}

impl SseLines {
    /// Appends `bytes` and pushes the payload of every `data:` line now complete.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<String>) {
        self.partial.extend_from_slice(bytes);
        while let Some(nl) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=nl).collect();
            push_data(&line[..nl], out);
        }
    }

    /// The stream ended: a last line without its newline still counts.
    pub fn finish(&mut self, out: &mut Vec<String>) {
        let line = std::mem::take(&mut self.partial);
        push_data(&line, out);
    }
}

fn push_data(line: &[u8], out: &mut Vec<String>) {
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end_matches('\r');
    // Comments (":"), `event:`, `id:` and blank separators carry no chunk.
    if let Some(rest) = line.strip_prefix("data:") {
        out.push(rest.strip_prefix(' ').unwrap_or(rest).to_string());
    }
}

/// What one `data:` payload says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Payload {
    Done,
    Chunk {
        /// Generated text in this chunk (not a role-only or usage-only chunk).
        content: bool,
        /// `usage` of this chunk, when the server sent one (the final chunk, or every chunk
        /// with vLLM's `continuous_usage_stats`).
        usage: Option<Usage>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Usage {
    pub prompt_tokens: Option<usize>,
    pub completion_tokens: Option<usize>,
}

fn non_empty(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}

/// Reads a payload; malformed JSON or an error object in the stream is an error.
pub(crate) fn interpret(data: &str) -> Result<Payload, String> {
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(Payload::Done);
    }
    let v: Value = serde_json::from_str(data)
        .map_err(|e| format!("malformed JSON in the stream ({e}): {}", clip(data, 200)))?;
    if let Some(err) = v.get("error") {
        return Err(format!("error in the stream: {}", error_message(err)));
    }
    let choice = v.get("choices").and_then(|c| c.get(0));
    // Completions carry `text`; chat carries `delta.content`. A chat stream's first chunk
    // holds only the role: that is not the first token (vllm-project/vllm#15106). Reasoning
    // models stream their thinking as `reasoning_content`/`reasoning`: output tokens too.
    let content = choice.is_some_and(|c| {
        let d = c.get("delta");
        non_empty(c.get("text"))
            || ["content", "reasoning_content", "reasoning"]
                .iter()
                .any(|k| non_empty(d.and_then(|d| d.get(*k))))
    });
    let usage = v.get("usage").filter(|u| u.is_object()).map(|u| {
        let n = |k: &str| u.get(k).and_then(Value::as_u64).map(|x| x as usize);
        Usage {
            prompt_tokens: n("prompt_tokens"),
            completion_tokens: n("completion_tokens"),
        }
    });
    Ok(Payload::Chunk { content, usage })
}

/// The message of an OpenAI error object (`{"error": {"message": ...}}`), or the value as text.
pub(crate) fn error_message(err: &Value) -> String {
    match err {
        Value::String(s) => s.clone(),
        _ => err
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| clip(&err.to_string(), 300)),
    }
}

/// The error text of a non-2xx response body: its OpenAI error message when it has one.
pub(crate) fn body_error(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(v) => match v.get("error") {
            Some(e) => error_message(e),
            None => v
                .get("message")
                .or_else(|| v.get("detail"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| clip(body, 300)),
        },
        Err(_) => clip(body.trim(), 300),
    }
}

/// At most `n` characters of `s`, marked when cut.
pub(crate) fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_reads() {
        let mut p = SseLines::default();
        let mut out = Vec::new();
        p.feed(b"data: {\"a\"", &mut out);
        assert!(out.is_empty());
        p.feed(b":1}\r\n\r\n: keep-alive\nevent: x\ndata:[DONE]", &mut out);
        assert_eq!(out, vec!["{\"a\":1}".to_string()]);
        p.finish(&mut out);
        assert_eq!(out[1], "[DONE]");
    }

    #[test]
    fn role_chunk_is_not_content() {
        let role = r#"{"choices":[{"delta":{"role":"assistant","content":""}}]}"#;
        let text = r#"{"choices":[{"delta":{"content":"hi"}}]}"#;
        let usage = r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3}}"#;
        assert_eq!(
            interpret(role),
            Ok(Payload::Chunk {
                content: false,
                usage: None
            })
        );
        assert!(matches!(
            interpret(text),
            Ok(Payload::Chunk { content: true, .. })
        ));
        let Ok(Payload::Chunk { usage: Some(u), .. }) = interpret(usage) else {
            panic!("usage chunk")
        };
        assert_eq!(u.completion_tokens, Some(3));
        assert_eq!(interpret(" [DONE] "), Ok(Payload::Done));
        assert!(interpret("{oops").unwrap_err().contains("malformed JSON"));
        let e = interpret(r#"{"error":{"message":"boom","code":500}}"#).unwrap_err();
        assert!(e.contains("boom"));
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            body_error(r#"{"error":{"message":"bad model"}}"#),
            "bad model"
        );
        assert_eq!(body_error(r#"{"detail":"nope"}"#), "nope");
        assert_eq!(body_error("plain text\n"), "plain text");
        assert_eq!(clip("abcdef", 3), "abc…");
    }
}
