//! `GET /metrics` in Prometheus' text format under vLLM's metric names, so dashboards and
//! scrapers made for vLLM read `goodput-lab serve` unchanged. Bucket bounds are in the range
//! of vLLM's; the latencies are the engine's own per-request records.
use engine::serve::metrics::RequestRecord;
use std::fmt::Write;
use std::sync::Mutex;

const TTFT_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
];
const ITL_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
    40.0, 80.0,
];
const E2E_BUCKETS: &[f64] = &[
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
    480.0, 960.0, 1920.0, 7680.0,
];

#[derive(Debug, Clone)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }
    fn observe(&mut self, v: f64) {
        for (c, &b) in self.counts.iter_mut().zip(self.bounds) {
            if v <= b {
                *c += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
    fn write(&self, out: &mut String, name: &str, help: &str, labels: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (c, b) in self.counts.iter().zip(self.bounds) {
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b}\"}} {c}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Debug, Clone)]
struct State {
    ttft: Histogram,
    itl: Histogram,
    e2e: Histogram,
    succeeded: u64,
    aborted: u64,
    prompt_tokens: u64,
    generation_tokens: u64,
    /// Per instance: waiting, running, KV blocks used, KV blocks in all.
    load: Vec<[usize; 4]>,
}

#[derive(Debug)]
pub struct Metrics {
    model: String,
    state: Mutex<State>,
    /// `serve --request-log`: one JSON line per finished request.
    log: Option<Mutex<std::fs::File>>,
}

impl Metrics {
    pub fn new(model: &str, log: Option<std::fs::File>) -> Self {
        Metrics {
            log: log.map(Mutex::new),
            model: model.replace(['"', '\\', '\n'], "_"),
            state: Mutex::new(State {
                ttft: Histogram::new(TTFT_BUCKETS),
                itl: Histogram::new(ITL_BUCKETS),
                e2e: Histogram::new(E2E_BUCKETS),
                succeeded: 0,
                aborted: 0,
                prompt_tokens: 0,
                generation_tokens: 0,
                load: Vec::new(),
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut super::lock(&self.state))
    }

    pub fn finished(&self, r: &RequestRecord) {
        if let (Some(f), Ok(line)) = (&self.log, serde_json::to_string(r)) {
            use std::io::Write as _;
            let mut f = super::lock(f);
            if let Err(e) = writeln!(f, "{line}") {
                eprintln!("--request-log: {e}");
            }
        }
        self.with(|s| {
            s.ttft.observe(r.ttft_ms / 1e3);
            for &g in &r.itl_ms {
                s.itl.observe(g / 1e3);
            }
            s.e2e.observe(r.e2el_ms / 1e3);
            s.succeeded += 1;
            s.prompt_tokens += r.prompt_tokens as u64;
            s.generation_tokens += r.output_tokens as u64;
        })
    }

    pub fn aborted(&self) {
        self.with(|s| s.aborted += 1)
    }

    pub fn load(&self, i: usize, waiting: usize, running: usize, used: usize, total: usize) {
        self.with(|s| {
            if s.load.len() <= i {
                s.load.resize(i + 1, [0; 4]);
            }
            s.load[i] = [waiting, running, used, total];
        })
    }

    /// (waiting, running, KV blocks used, KV blocks in all) over every instance.
    pub fn totals(&self) -> [usize; 4] {
        self.with(|s| {
            s.load.iter().fold([0; 4], |a, l| {
                [a[0] + l[0], a[1] + l[1], a[2] + l[2], a[3] + l[3]]
            })
        })
    }

    pub fn render(&self) -> String {
        let s = self.with(|s| s.clone());
        let t = self.totals();
        let labels = format!("model_name=\"{}\"", self.model);
        let mut out = String::new();
        let mut gauge = |name: &str, help: &str, v: f64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{{labels}}} {v}"
            );
        };
        gauge(
            "vllm:num_requests_running",
            "Number of requests in model execution batches.",
            t[1] as f64,
        );
        gauge(
            "vllm:num_requests_waiting",
            "Number of requests waiting to be processed.",
            t[0] as f64,
        );
        let usage = if t[3] > 0 {
            t[2] as f64 / t[3] as f64
        } else {
            0.0
        };
        gauge(
            "vllm:kv_cache_usage_perc",
            "KV-cache usage. 1 means 100 percent usage.",
            usage,
        );
        let mut counter = |name: &str, help: &str, v: u64, extra: &str| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{{labels}{extra}}} {v}"
            );
        };
        counter(
            "vllm:request_success_total",
            "Count of successfully processed requests.",
            s.succeeded,
            "",
        );
        counter(
            "vllm:prompt_tokens_total",
            "Number of prefill tokens processed.",
            s.prompt_tokens,
            "",
        );
        counter(
            "vllm:generation_tokens_total",
            "Number of generation tokens processed.",
            s.generation_tokens,
            "",
        );
        counter(
            "goodput_lab:request_aborted_total",
            "Requests taken back before they finished (client went away).",
            s.aborted,
            "",
        );
        s.ttft.write(
            &mut out,
            "vllm:time_to_first_token_seconds",
            "Histogram of time to first token in seconds.",
            &labels,
        );
        s.itl.write(
            &mut out,
            "vllm:inter_token_latency_seconds",
            "Histogram of inter-token latency in seconds.",
            &labels,
        );
        s.e2e.write(
            &mut out,
            "vllm:e2e_request_latency_seconds",
            "Histogram of e2e request latency in seconds.",
            &labels,
        );
        out
    }
}
