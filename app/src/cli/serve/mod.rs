//! `serve`: the engine behind an OpenAI-compatible HTTP API. One mode (aggregated, chunked,
//! or disaggregated with its P and D instances in this process) runs on the wall clock and
//! takes requests as they arrive over HTTP; curl, the `openai` client and `vllm bench serve`
//! work against it unchanged.
mod link;
mod openai;
mod prom;
mod respond;
mod routes;

use super::serve_args::ServeArgs;
use clap::Args;
use engine::serve::cluster::{ClockKind, Mode};
use engine::serve::events::Emitter;
use engine::serve::events::RunEvent;
use engine::serve::experiment::{prepare, Experiment};
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct ServeCmdArgs {
    /// aggregated, chunked or disaggregated (P:D from --pd, GPUs from --gpus).
    #[arg(long, default_value = "chunked")]
    pub mode: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The model name clients send [default: the model card's name].
    #[arg(long)]
    pub served_model_name: Option<String>,
    /// Requests held at once (running and queued); beyond it a request gets 429.
    #[arg(long, default_value_t = 1024)]
    pub max_queued: usize,
    /// Append each finished request's engine-side record (TTFT, token times, …) to this
    /// JSONL file: set beside a client's own figures it shows what the HTTP layer adds.
    #[arg(long)]
    pub request_log: Option<std::path::PathBuf>,
    /// Model, device and scheduler flags (workload and SLO flags have no effect here).
    #[command(flatten)]
    pub engine: ServeArgs,
}

/// A lock that a panicked holder did not spoil: the data behind it stays usable.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How the server listens and bounds its work (the flags beside the engine's).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub host: String,
    pub port: u16,
    pub served_model_name: Option<String>,
    pub max_queued: usize,
    pub request_log: Option<std::path::PathBuf>,
}

/// A running server: the engine's loop, its dispatcher and the HTTP listener on a runtime of
/// its own. The CLI waits on it for Ctrl-C; the workbench keeps one and reads its events.
pub struct Server {
    pub addr: std::net::SocketAddr,
    pub model: String,
    pub mode: Mode,
    pub gpus: usize,
    link: Arc<link::Link>,
    rt: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Loads the model of `exp` (its first mode, on the wall clock), starts the engine and
/// listens; returns once requests are accepted. Every engine event is also sent to `tap`.
pub fn start(
    mut exp: Experiment,
    o: &ServerOptions,
    tap: Option<crossbeam_channel::Sender<RunEvent>>,
) -> anyhow::Result<Server> {
    let mode = *exp.modes.first().unwrap_or(&Mode::Chunked);
    exp.modes = vec![mode];
    exp.clock = ClockKind::Wall;
    exp.fit = None;
    let p = prepare(&exp, None, &Emitter::none())?;
    let inputs = p.inputs(0, Vec::new().into());
    let config = inputs.config.clone();
    let model = o
        .served_model_name
        .clone()
        .unwrap_or_else(|| p.model_name.clone());
    let log = match &o.request_log {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("--request-log {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let metrics = Arc::new(prom::Metrics::new(&model, log));
    // Listening first: a port in use fails here, before an engine thread exists to leak.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let addr = format!("{}:{}", o.host, o.port);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(&addr))
        .map_err(|e| anyhow::anyhow!("--host/--port {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let handle = engine::serve::live::spawn_serving(inputs)?;
    let max_context = p.spec.max_context;
    let link = link::Link::new(
        handle,
        config,
        max_context,
        o.max_queued.max(1),
        metrics,
        tap,
    )?;
    let state = Arc::new(routes::AppState {
        link: link.clone(),
        tokenizer: Arc::new(p.tokenizer().clone()),
        model: model.clone(),
        max_context,
        eos: p.stop_ids.to_vec(),
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = rt.spawn(async move {
        use axum::serve::ListenerExt;
        // Streams send one small chunk per token: without TCP_NODELAY Nagle's algorithm
        // holds them back (axum leaves it off).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, routes::router(state))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Server {
        addr: local,
        model,
        mode,
        gpus: exp.gpus,
        link,
        rt,
        stop: Some(stop),
        task: Some(task),
    })
}

impl Server {
    /// Stops taking connections, lets the streams in flight finish, then stops the engine.
    pub fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = self.rt.block_on(t);
        }
        self.link.shutdown();
    }

    /// Serves until Ctrl-C, then stops as `stop` does.
    pub fn run_until_ctrl_c(self) {
        let _ = self.rt.block_on(tokio::signal::ctrl_c());
        eprintln!("Ctrl-C: finishing the streams in flight, then stopping");
        self.stop();
    }
}

pub fn run(a: ServeCmdArgs) -> anyhow::Result<()> {
    let mode = Mode::parse(&a.mode).map_err(|e| anyhow::anyhow!("--mode: {e}"))?;
    let mut exp = a.engine.experiment()?;
    exp.modes = vec![mode];
    eprintln!("loading {}…", exp.model);
    let opts = ServerOptions {
        host: a.host.clone(),
        port: a.port,
        served_model_name: a.served_model_name.clone(),
        max_queued: a.max_queued,
        request_log: a.request_log.clone(),
    };
    let server = start(exp, &opts, None)?;
    println!(
        "serving {} ({} mode, {} GPUs) at http://{}/v1",
        server.model,
        server.mode.name(),
        server.gpus,
        server.addr
    );
    server.run_until_ctrl_c();
    Ok(())
}
