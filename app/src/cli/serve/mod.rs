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
use engine::serve::experiment::prepare;
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

pub fn run(a: ServeCmdArgs) -> anyhow::Result<()> {
    let mode = Mode::parse(&a.mode).map_err(|e| anyhow::anyhow!("--mode: {e}"))?;
    let mut exp = a.engine.experiment()?;
    exp.modes = vec![mode];
    exp.clock = ClockKind::Wall;
    exp.fit = None;
    eprintln!("loading {}…", exp.model);
    let p = prepare(&exp, None, &Emitter::none())?;
    let inputs = p.inputs(0, Vec::new().into());
    let config = inputs.config.clone();
    let model = a
        .served_model_name
        .clone()
        .unwrap_or_else(|| p.model_name.clone());
    let log = match &a.request_log {
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
    let handle = engine::serve::live::spawn_serving(inputs)?;
    let link = link::Link::new(
        handle,
        config,
        p.spec.max_context,
        a.max_queued.max(1),
        metrics,
    );
    let state = Arc::new(routes::AppState {
        link: link.clone(),
        tokenizer: Arc::new(p.tokenizer().clone()),
        model: model.clone(),
        max_context: p.spec.max_context,
        eos: p.stop_ids.to_vec(),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        use axum::serve::ListenerExt;
        let addr = format!("{}:{}", a.host, a.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|e| anyhow::anyhow!("--host/--port {addr}: {e}"))?;
        let local = listener.local_addr()?;
        // Streams send one small chunk per token: without TCP_NODELAY Nagle's algorithm
        // holds them back (axum leaves it off).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        println!(
            "serving {model} ({} mode, {} GPUs) at http://{local}/v1",
            mode.name(),
            exp.gpus
        );
        axum::serve(listener, routes::router(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
                eprintln!("Ctrl-C: finishing the streams in flight, then stopping");
            })
            .await?;
        anyhow::Ok(())
    })?;
    link.shutdown();
    Ok(())
}
