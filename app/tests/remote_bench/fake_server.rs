//! A fake OpenAI server for `remote_bench`: hand-made HTTP/1.1 over a TcpListener, so every
//! stream shape and failure (bad JSON, stall, reset, HTTP 500) is under the test's control.
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Good,
    /// One content chunk, then a data line that is not JSON.
    Malformed,
    /// One content chunk, then nothing, forever.
    Stall,
    /// One content chunk, then a TCP reset.
    Reset,
    /// Every chunk and the usage, then a clean close without `[DONE]`.
    NoDone,
    /// HTTP 500 with an OpenAI error body.
    Http500,
}

#[derive(Clone, Copy, Debug)]
pub struct Script {
    pub mode: Mode,
    /// Before the first content chunk (a chat stream's role chunk goes out at once).
    pub first_ms: u64,
    pub gap_ms: u64,
    pub tokens_per_chunk: usize,
    /// `usage` on every chunk (vLLM's continuous_usage_stats).
    pub continuous_usage: bool,
    /// Extra delay for prompts starting with "Warmup".
    pub warmup_ms: u64,
}

pub const GOOD: Script = Script {
    mode: Mode::Good,
    first_ms: 20,
    gap_ms: 10,
    tokens_per_chunk: 1,
    continuous_usage: false,
    warmup_ms: 0,
};

#[derive(Default)]
pub struct Seen {
    pub requests: AtomicUsize,
    pub warmups: AtomicUsize,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

pub struct InFlight(Arc<Seen>);
impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, SeqCst);
    }
}

pub async fn start(script: Script) -> (String, Arc<Seen>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = l.accept().await {
            tokio::spawn(handle(sock, script, s.clone()));
        }
    });
    (url, seen)
}

// tokio's io-util (AsyncReadExt/AsyncWriteExt) is not enabled: read and write by readiness.
pub async fn read_some(s: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        s.readable().await?;
        match s.try_read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            r => return r,
        }
    }
}

pub async fn send(s: &mut TcpStream, text: &str) {
    let mut rest = text.as_bytes();
    while !rest.is_empty() {
        if s.writable().await.is_err() {
            return;
        }
        match s.try_write(rest) {
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        }
    }
}

/// Method, path and JSON body of one request.
pub async fn read_request(s: &mut TcpStream) -> Option<(String, String, Value)> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = read_some(s, &mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let len = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < end + len {
        let n = read_some(s, &mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let mut first = head.lines().next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let body = serde_json::from_slice(&buf[end..end + len]).unwrap_or(Value::Null);
    Some((method, path, body))
}

pub async fn event(s: &mut TcpStream, v: &Value) {
    send(s, &format!("data: {v}\n\n")).await;
}

pub async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

pub async fn handle(mut s: TcpStream, sc: Script, seen: Arc<Seen>) {
    let _ = s.set_nodelay(true);
    let Some((method, path, body)) = read_request(&mut s).await else {
        return;
    };
    if method == "GET" && path == "/v1/models" {
        let b = json!({"object": "list", "data": [{"id": "fake-model", "object": "model"}]});
        let b = b.to_string();
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close";
        send(
            &mut s,
            &format!("{head}\r\ncontent-length: {}\r\n\r\n{b}", b.len()),
        )
        .await;
        return;
    }
    let chat = path == "/v1/chat/completions";
    let prompt = if chat {
        &body["messages"][0]["content"]
    } else {
        &body["prompt"]
    };
    let prompt = prompt.as_str().unwrap_or_default().to_string();
    let max_tokens = body["max_tokens"].as_u64().unwrap_or(1) as usize;
    // The fake "tokenizer": a word per token, plus a BOS the client cannot know about.
    let prompt_tokens = prompt.split_whitespace().count() + 1;
    let warmup = prompt.starts_with("Warmup");
    seen.requests.fetch_add(1, SeqCst);
    seen.warmups.fetch_add(warmup as usize, SeqCst);
    let now = seen.in_flight.fetch_add(1, SeqCst) + 1;
    seen.max_in_flight.fetch_max(now, SeqCst);
    let _guard = InFlight(seen.clone());
    if sc.mode == Mode::Http500 {
        let b = r#"{"error":{"message":"the engine fell over","type":"InternalServerError","code":500}}"#;
        let head = "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json";
        let head = format!("{head}\r\nconnection: close\r\ncontent-length: {}", b.len());
        send(&mut s, &format!("{head}\r\n\r\n{b}")).await;
        return;
    }
    send(
        &mut s,
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
    )
    .await;
    if chat {
        let role =
            json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]});
        event(&mut s, &role).await;
    }
    sleep_ms(sc.first_ms + if warmup { sc.warmup_ms } else { 0 }).await;
    let usage = |n: usize| {
        json!({"prompt_tokens": prompt_tokens, "completion_tokens": n,
               "total_tokens": prompt_tokens + n})
    };
    let mut sent = 0;
    while sent < max_tokens {
        if sent > 0 {
            sleep_ms(sc.gap_ms).await;
        }
        let k = sc.tokens_per_chunk.min(max_tokens - sent);
        sent += k;
        let text = "tok ".repeat(k);
        let mut c = if chat {
            json!({"choices": [{"index": 0, "delta": {"content": text}}]})
        } else {
            json!({"choices": [{"index": 0, "text": text}]})
        };
        if sc.continuous_usage {
            c["usage"] = usage(sent);
        }
        event(&mut s, &c).await;
        match sc.mode {
            Mode::Malformed => return send(&mut s, "data: {\"choices\": [oops\n\n").await,
            Mode::Stall => return sleep_ms(3_600_000).await,
            Mode::Reset => {
                #[allow(deprecated)] // SO_LINGER 0 makes the close a reset, which is the point.
                let _ = s.set_linger(Some(Duration::ZERO));
                return;
            }
            _ => {}
        }
    }
    event(&mut s, &json!({"choices": [], "usage": usage(max_tokens)})).await;
    if sc.mode != Mode::NoDone {
        send(&mut s, "data: [DONE]\n\n").await;
    }
    // Dropping the socket closes it: the end of a close-delimited body.
}
