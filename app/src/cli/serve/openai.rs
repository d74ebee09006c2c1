//! The OpenAI API's request and error shapes, as far as `serve` honours them. Unknown fields
//! are ignored (clients send many); wrong types and impossible values are 400s in OpenAI's
//! error shape, never a panic.
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

/// An error as OpenAI's API returns it: a status and `{"error": {message, type, param, code}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub param: Option<&'static str>,
    pub code: Option<&'static str>,
}

impl ApiError {
    pub fn bad(message: impl Into<String>, param: Option<&'static str>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            param,
            code: None,
        }
    }
    pub fn with(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            param: None,
            code: Some(code),
        }
    }
    fn kind(&self) -> &'static str {
        match self.status.as_u16() {
            429 => "rate_limit_error",
            404 => "not_found_error",
            400..=499 => "invalid_request_error",
            _ => "server_error",
        }
    }
    pub fn body(&self) -> Value {
        json!({"error": {"message": self.message, "type": self.kind(),
                         "param": self.param, "code": self.code}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// `prompt`: a string, a list of one string, or token ids.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Prompt {
    Text(String),
    Texts(Vec<String>),
    Ids(Vec<u32>),
}

/// `stop`: one string or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub role: String,
    /// A string, or a list of `{type: "text", text}` parts.
    pub content: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

/// The fields `/v1/completions` and `/v1/chat/completions` share, plus each one's input.
#[derive(Debug, Clone, Deserialize)]
pub struct GenRequest {
    pub model: Option<String>,
    pub prompt: Option<Prompt>,
    pub messages: Option<Vec<Message>>,
    pub max_tokens: Option<usize>,
    pub max_completion_tokens: Option<usize>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub seed: Option<u64>,
    pub stop: Option<Stop>,
    #[serde(default)]
    pub ignore_eos: bool,
    #[serde(default)]
    pub stream: bool,
    pub stream_options: Option<StreamOptions>,
    pub n: Option<usize>,
}

impl GenRequest {
    /// Parses a body; a malformed one is a 400 that says where it broke.
    pub fn parse(body: &[u8]) -> Result<GenRequest, ApiError> {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad(format!("invalid JSON body: {e}"), None))
    }

    pub fn stops(&self) -> Vec<String> {
        match &self.stop {
            None => vec![],
            Some(Stop::One(s)) => vec![s.clone()],
            Some(Stop::Many(v)) => v.clone(),
        }
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
    }

    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage)
    }

    /// The chat messages as (role, text) pairs; content parts other than text are refused.
    pub fn chat(&self) -> Result<Vec<(String, String)>, ApiError> {
        let msgs = self
            .messages
            .as_ref()
            .filter(|m| !m.is_empty())
            .ok_or_else(|| {
                ApiError::bad("messages: required, a non-empty list", Some("messages"))
            })?;
        msgs.iter()
            .map(|m| {
                let text = match &m.content {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    Value::Array(parts) => parts
                        .iter()
                        .map(|p| match (p.get("type"), p.get("text")) {
                            (Some(t), Some(Value::String(s))) if t == "text" => Ok(s.as_str()),
                            _ => Err(ApiError::bad(
                                "messages: only text content parts are supported",
                                Some("messages"),
                            )),
                        })
                        .collect::<Result<Vec<_>, _>>()?
                        .join(""),
                    _ => {
                        return Err(ApiError::bad(
                            "messages: content must be a string or a list of parts",
                            Some("messages"),
                        ))
                    }
                };
                match m.role.as_str() {
                    "system" | "user" | "assistant" | "developer" | "tool" => {}
                    r => {
                        return Err(ApiError::bad(
                            format!("messages: unknown role {r:?}"),
                            Some("messages"),
                        ))
                    }
                }
                Ok((m.role.clone(), text))
            })
            .collect()
    }
}

/// `usage` as OpenAI reports it.
pub fn usage(prompt: usize, completion: usize) -> Value {
    json!({"prompt_tokens": prompt, "completion_tokens": completion,
           "total_tokens": prompt + completion})
}
