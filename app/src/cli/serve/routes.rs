//! The HTTP routes of `serve`: completions and chat completions (streamed as server-sent
//! events or whole), models, health and metrics. Every failure is an OpenAI-shaped error.
use super::link::{Link, Out, Submission, Ticket};
use super::openai::{ApiError, GenRequest, Prompt};
use super::respond::{Api, Gen};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use engine::model::tokenizer::Tokenizer;
use engine::sampler::SamplingParams;
use serde_json::json;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

pub struct AppState {
    pub link: Arc<Link>,
    pub tokenizer: Arc<Tokenizer>,
    /// The name clients address the model by.
    pub model: String,
    pub max_context: usize,
    pub eos: Vec<u32>,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/completions", post(completions))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .route("/health", get(|| async { StatusCode::OK }))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::with(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .with_state(state)
}

async fn completions(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    generate(st, &body, Api::Completions).await
}

async fn chat(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    generate(st, &body, Api::Chat).await
}

async fn models(State(st): State<Arc<AppState>>) -> Response {
    Json(json!({"object": "list", "data": [{
        "id": st.model, "object": "model", "created": 0, "owned_by": "goodput-lab",
        "max_model_len": st.max_context}]}))
    .into_response()
}

async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.link.metrics.render(),
    )
        .into_response()
}

/// The prompt's token ids: a chat rendered with the model's template, or the prompt field.
fn prompt_ids(st: &AppState, req: &GenRequest, api: Api) -> Result<Vec<u32>, ApiError> {
    let encode = |text: &str| {
        st.tokenizer
            .encode(text)
            .map_err(|e| ApiError::bad(format!("prompt: {e}"), Some("prompt")))
    };
    let ids = match api {
        Api::Chat => {
            let msgs = req.chat()?;
            let pairs: Vec<(&str, &str)> =
                msgs.iter().map(|(r, c)| (r.as_str(), c.as_str())).collect();
            encode(&st.tokenizer.chat_messages(&pairs))?
        }
        Api::Completions => match &req.prompt {
            Some(Prompt::Text(t)) => encode(t)?,
            Some(Prompt::Texts(v)) if v.len() == 1 => encode(&v[0])?,
            Some(Prompt::Texts(_)) => {
                return Err(ApiError::bad(
                    "prompt: one prompt per request",
                    Some("prompt"),
                ))
            }
            Some(Prompt::Ids(ids)) => {
                let vocab = st.tokenizer.vocab_size() as u32;
                if let Some(bad) = ids.iter().find(|&&i| i >= vocab) {
                    return Err(ApiError::bad(
                        format!("prompt: token id {bad} is outside the vocabulary ({vocab})"),
                        Some("prompt"),
                    ));
                }
                ids.clone()
            }
            None => return Err(ApiError::bad("prompt: required", Some("prompt"))),
        },
    };
    if ids.is_empty() {
        return Err(ApiError::bad("prompt: is empty", Some("prompt")));
    }
    Ok(ids)
}

/// Checks the request and hands it to the engine.
fn start(
    st: &AppState,
    req: &GenRequest,
    api: Api,
    arrived: std::time::Instant,
) -> Result<(Ticket, Gen), ApiError> {
    if let Some(m) = req.model.as_deref().filter(|m| *m != st.model) {
        return Err(ApiError {
            param: Some("model"),
            ..ApiError::with(
                StatusCode::NOT_FOUND,
                "model_not_found",
                format!("The model `{m}` does not exist."),
            )
        });
    }
    if req.n.is_some_and(|n| n != 1) {
        return Err(ApiError::bad("n: only 1 is supported", Some("n")));
    }
    let prompt = prompt_ids(st, req, api)?;
    let room = st.max_context.saturating_sub(prompt.len());
    let max_tokens = match api {
        Api::Chat => req.max_completion_tokens.or(req.max_tokens),
        Api::Completions => req.max_tokens,
    }
    .unwrap_or(match api {
        // OpenAI's default for completions; chat runs to the end of the context.
        Api::Completions => 16,
        Api::Chat => room,
    });
    if max_tokens == 0 {
        return Err(ApiError::bad("max_tokens: must be ≥ 1", Some("max_tokens")));
    }
    let sampling = SamplingParams {
        temperature: req.temperature.unwrap_or(1.0),
        top_p: req.top_p.unwrap_or(1.0),
        seed: req.seed.unwrap_or_else(fresh_seed),
    };
    sampling
        .validate()
        .map_err(|e| ApiError::bad(e.to_string(), Some("temperature")))?;
    let eos = if req.ignore_eos {
        vec![]
    } else {
        st.eos.clone()
    };
    let ticket = st.link.submit(Submission {
        prompt,
        max_tokens,
        sampling,
        stop_at_eos: !req.ignore_eos,
        arrived,
    })?;
    let gen = Gen::new(
        api,
        ticket.id,
        &st.model,
        st.tokenizer.clone(),
        req.stops(),
        eos,
    );
    Ok((ticket, gen))
}

/// A seed for a request that gave none: differs between requests and runs.
fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

async fn generate(st: Arc<AppState>, body: &[u8], api: Api) -> Response {
    let arrived = std::time::Instant::now();
    let req = match GenRequest::parse(body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let (ticket, gen) = match start(&st, &req, api, arrived) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    if req.stream {
        stream(ticket, gen, req.include_usage()).into_response()
    } else {
        whole(ticket, gen).await
    }
}

/// Waits for the whole output; a client that hangs up drops this future and the ticket
/// with it, which aborts the request in the engine.
async fn whole(mut ticket: Ticket, mut gen: Gen) -> Response {
    let mut text = String::new();
    while gen.finish.is_none() {
        match ticket.next().await {
            Some(Out::Token(t)) => text += &gen.token(t),
            Some(Out::Done) => text += &gen.end(),
            None => return engine_gone(),
        }
    }
    Json(gen.full(&text, ticket.prompt_tokens)).into_response()
}

fn engine_gone() -> Response {
    ApiError::with(
        StatusCode::SERVICE_UNAVAILABLE,
        "engine_stopped",
        "the engine stopped before the request finished",
    )
    .into_response()
}

struct Streaming {
    ticket: Ticket,
    gen: Gen,
    usage: bool,
    queue: VecDeque<Event>,
    ended: bool,
}

fn data(v: serde_json::Value) -> Event {
    Event::default().data(v.to_string())
}

/// Server-sent events, one chunk per piece of text, then usage (if asked) and `[DONE]`.
/// Dropping the stream (the client went away) drops the ticket: the engine aborts it.
fn stream(ticket: Ticket, gen: Gen, usage: bool) -> impl IntoResponse {
    let mut queue = VecDeque::new();
    if gen.api == Api::Chat {
        queue.push_back(data(gen.role_chunk()));
    }
    let s = Streaming {
        ticket,
        gen,
        usage,
        queue,
        ended: false,
    };
    let events = futures_util::stream::unfold(s, |mut s| async move {
        loop {
            if let Some(e) = s.queue.pop_front() {
                return Some((Ok::<_, Infallible>(e), s));
            }
            if s.ended {
                return None;
            }
            let text = match s.ticket.next().await {
                Some(Out::Token(t)) => s.gen.token(t),
                Some(Out::Done) => s.gen.end(),
                None => {
                    let err = ApiError::with(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "engine_stopped",
                        "the engine stopped before the request finished",
                    );
                    s.queue.push_back(data(err.body()));
                    s.ended = true;
                    continue;
                }
            };
            if !text.is_empty() {
                s.queue.push_back(data(s.gen.chunk(&text, None)));
            }
            if let Some(f) = s.gen.finish {
                s.queue.push_back(data(s.gen.chunk("", Some(f))));
                if s.usage {
                    s.queue
                        .push_back(data(s.gen.usage_chunk(s.ticket.prompt_tokens)));
                }
                s.queue.push_back(Event::default().data("[DONE]"));
                s.ended = true;
            }
        }
    });
    Sse::new(events)
}
