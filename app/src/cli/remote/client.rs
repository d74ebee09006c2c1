//! One streamed request to an OpenAI-compatible server, timed as `vllm bench serve` times it:
//! every timestamp is taken when the bytes arrive, before any JSON is parsed.
use super::sse::{body_error, clip, interpret, Payload, SseLines};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::Instant;

/// Which OpenAI API the requests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v1/completions`: a raw prompt.
    Completions,
    /// `/v1/chat/completions`: the prompt as one user message (the server adds its template).
    Chat,
}

impl Endpoint {
    pub fn parse(s: &str) -> anyhow::Result<Endpoint> {
        match s.trim_end_matches('/') {
            "/v1/completions" | "completions" => Ok(Endpoint::Completions),
            "/v1/chat/completions" | "chat" => Ok(Endpoint::Chat),
            _ => {
                anyhow::bail!("--endpoint {s:?}: expected /v1/completions or /v1/chat/completions")
            }
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Completions => "/v1/completions",
            Endpoint::Chat => "/v1/chat/completions",
        }
    }

    /// vLLM's name for this endpoint type (its `backend` key).
    pub fn backend(self) -> &'static str {
        match self {
            Endpoint::Completions => "openai",
            Endpoint::Chat => "openai-chat",
        }
    }
}

/// Everything a request needs besides its prompt.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `http://host:port` (a trailing `/` or `/v1` is dropped).
    pub base_url: String,
    pub endpoint: Endpoint,
    pub model: String,
    /// Extra headers, e.g. `Authorization: Bearer ...`.
    pub headers: Vec<(String, String)>,
    /// Bounds a whole request, a stalled stream included.
    pub timeout: Duration,
    pub temperature: f32,
    pub top_p: Option<f32>,
    /// Send `ignore_eos: true` so outputs have their set length.
    pub ignore_eos: bool,
}

impl ClientConfig {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", normalize_base(&self.base_url))
    }

    /// The HTTP client: default headers, plain HTTP.
    pub fn http(&self) -> anyhow::Result<reqwest::Client> {
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in &self.headers {
            let name = reqwest::header::HeaderName::from_bytes(k.trim().as_bytes())
                .map_err(|e| anyhow::anyhow!("--header {k:?}: {e}"))?;
            let value = reqwest::header::HeaderValue::from_str(v.trim())
                .map_err(|e| anyhow::anyhow!("--header {k}: {e}"))?;
            map.insert(name, value);
        }
        Ok(reqwest::Client::builder()
            .default_headers(map)
            .connect_timeout(self.timeout)
            .build()?)
    }

    fn body(&self, prompt: &str, max_tokens: usize) -> Value {
        let mut b = json!({
            "model": self.model,
            "max_tokens": max_tokens,
            "temperature": self.temperature,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        match self.endpoint {
            Endpoint::Completions => b["prompt"] = json!(prompt),
            Endpoint::Chat => {
                b["messages"] = json!([{"role": "user", "content": prompt}]);
                // Newer OpenAI servers read this one; older ones read `max_tokens`.
                b["max_completion_tokens"] = json!(max_tokens);
            }
        }
        if let Some(p) = self.top_p {
            b["top_p"] = json!(p);
        }
        if self.ignore_eos {
            b["ignore_eos"] = json!(true);
        }
        b
    }
}

/// `http://h:p/`, `http://h:p/v1` → `http://h:p`, so the endpoint path can be appended.
pub fn normalize_base(url: &str) -> &str {
    let u = url.trim_end_matches('/');
    u.strip_suffix("/v1").unwrap_or(u)
}

/// What a stream that ended with `[DONE]` delivered. Times are instants, turned into seconds
/// from the run's start by the caller.
#[derive(Debug, Clone)]
pub struct Streamed {
    /// Arrival of every chunk that carried generated text.
    pub chunks: Vec<Instant>,
    /// The cumulative `usage.completion_tokens` seen on each content chunk, when every one
    /// carried it (vLLM's `continuous_usage_stats`): gives tokens per chunk.
    pub chunk_usage: Option<Vec<usize>>,
    /// Arrival of `data: [DONE]`.
    pub done: Instant,
    pub prompt_tokens: Option<usize>,
    pub completion_tokens: Option<usize>,
}

/// The text of an error and its causes: reqwest's own message alone hides the reason.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// Sends one request and reads its stream to `[DONE]`. Errors are text for the results
/// (a benchmark records failures; it never stops at one). The caller bounds it with a timeout.
pub async fn send_one(
    http: &reqwest::Client,
    cfg: &ClientConfig,
    prompt: &str,
    max_tokens: usize,
) -> Result<Streamed, String> {
    let mut resp = http
        .post(cfg.url(cfg.endpoint.path()))
        .json(&cfg.body(prompt, max_tokens))
        .send()
        .await
        .map_err(|e| format!("request failed: {}", error_chain(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err(format!("HTTP {status}: {}", body_error(&body)));
    }
    let mut lines = SseLines::default();
    let mut data = Vec::new();
    let mut chunks = Vec::new();
    let mut cumulative: Vec<Option<usize>> = Vec::new();
    let (mut prompt_tokens, mut completion_tokens) = (None, None);
    let done = 'read: loop {
        let next = resp
            .chunk()
            .await
            .map_err(|e| format!("stream broke: {}", error_chain(&e)))?;
        // One timestamp for everything in this read: the moment its bytes arrived.
        let now = Instant::now();
        match &next {
            Some(bytes) => lines.feed(bytes, &mut data),
            None => lines.finish(&mut data),
        }
        for d in data.drain(..) {
            match interpret(&d)? {
                Payload::Done => break 'read now,
                Payload::Chunk { content, usage } => {
                    let total = usage.and_then(|u| u.completion_tokens);
                    if content {
                        chunks.push(now);
                        cumulative.push(total);
                    }
                    if let Some(u) = usage {
                        prompt_tokens = u.prompt_tokens.or(prompt_tokens);
                        completion_tokens = u.completion_tokens.or(completion_tokens);
                    }
                }
            }
        }
        if next.is_none() {
            return Err(if chunks.is_empty() {
                "the stream ended without [DONE] and without any text".into()
            } else {
                format!(
                    "the stream ended without [DONE] after {} chunks",
                    chunks.len()
                )
            });
        }
    };
    if chunks.is_empty() {
        return Err("the stream carried no generated text".into());
    }
    Ok(Streamed {
        chunks,
        chunk_usage: cumulative.into_iter().collect(),
        done,
        prompt_tokens,
        completion_tokens,
    })
}

/// The first model the server lists (`GET /v1/models`), for when `--api-model` is not given.
pub async fn first_model(http: &reqwest::Client, cfg: &ClientConfig) -> anyhow::Result<String> {
    let url = cfg.url("/v1/models");
    let ask = async {
        let r = http.get(&url).send().await.map_err(|e| error_chain(&e))?;
        let status = r.status();
        let body = r.text().await.map_err(|e| error_chain(&e))?;
        if !status.is_success() {
            return Err(format!("HTTP {status}: {}", body_error(&body)));
        }
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| format!("not JSON ({e}): {}", clip(&body, 200)))?;
        v.get("data")
            .and_then(|d| d.get(0))
            .and_then(|m| m.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| "it lists no models".to_string())
    };
    match tokio::time::timeout(cfg.timeout.min(Duration::from_secs(30)), ask).await {
        Ok(Ok(id)) => Ok(id),
        Ok(Err(e)) => {
            anyhow::bail!("could not ask {url} for the model name ({e}); give --api-model")
        }
        Err(_) => anyhow::bail!("{url} did not answer in time; give --api-model"),
    }
}
