//! The functions a check may call, and their values over `Results`: each maps to a field the
//! engine's outputs hold (`Summary`, the mean KV transfer of the requests, the sweep's per-GPU
//! goodput, the interference table). Times are in ms, as the engine's records hold them;
//! attainments are fractions from 0 to 1.
use super::expr::{error, ExprError};
use super::results::{ModeResult, Results};
use crate::measure::interference::InterferenceRow;
use crate::serve::cluster::Mode;
use crate::serve::metrics::Stats;

/// What a function's argument must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `ttft`, `tpot`, `itl` or `e2el`.
    Metric,
    /// `aggregated`, `chunked` or `disaggregated` (or `agg`, `disagg`).
    Mode,
    /// A whole number, e.g. a batch size or a prompt length.
    Count,
}

pub struct Function {
    pub name: &'static str,
    pub params: &'static [(&'static str, Param)],
    pub unit: &'static str,
    pub about: &'static str,
}

const STAT: &[(&str, Param)] = &[("metric", Param::Metric), ("mode", Param::Mode)];
const MODE: &[(&str, Param)] = &[("mode", Param::Mode)];
const CELL: &[(&str, Param)] = &[
    ("decode_batch", Param::Count),
    ("prefill_len", Param::Count),
];

const fn f(
    name: &'static str,
    params: &'static [(&'static str, Param)],
    unit: &'static str,
    about: &'static str,
) -> Function {
    Function {
        name,
        params,
        unit,
        about,
    }
}

/// Every function a check may call.
pub const FUNCTIONS: &[Function] = &[
    f(
        "p50",
        STAT,
        "ms",
        "median of a latency metric over the mode's requests",
    ),
    f("p90", STAT, "ms", "90th percentile of a latency metric"),
    f("p99", STAT, "ms", "99th percentile of a latency metric"),
    f("mean", STAT, "ms", "mean of a latency metric"),
    f(
        "max",
        STAT,
        "ms",
        "largest value of a latency metric (the worst request or gap)",
    ),
    f(
        "goodput",
        MODE,
        "req/s",
        "requests per second meeting both SLOs",
    ),
    f(
        "goodput_per_gpu",
        MODE,
        "req/s/GPU",
        "goodput divided by the mode's GPUs",
    ),
    f(
        "attainment",
        MODE,
        "",
        "fraction of requests meeting both SLOs (0 to 1)",
    ),
    f("ttft_attainment", MODE, "", "fraction meeting the TTFT SLO"),
    f("tpot_attainment", MODE, "", "fraction meeting the TPOT SLO"),
    f(
        "throughput",
        MODE,
        "req/s",
        "completed requests per second, SLOs or not",
    ),
    f(
        "preemptions",
        MODE,
        "",
        "requests evicted from the KV cache, summed",
    ),
    f("kv_transfer_ms", MODE, "ms", "mean KV transfer per request"),
    f(
        "rate_at_90",
        MODE,
        "req/s/GPU",
        "sweep: highest rate per GPU with ≥ 90 % attainment (0 if none)",
    ),
    f(
        "slowdown",
        CELL,
        "×",
        "interference: decode step time with a prefill ÷ without",
    ),
    f(
        "step_ms",
        CELL,
        "ms",
        "interference: step time of a decode batch and a prefill",
    ),
];

pub(crate) const METRICS: [&str; 4] = ["ttft", "tpot", "itl", "e2el"];

pub fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// The unit of a value labelled by its call (`p90(tpot, chunked)` → `ms`).
pub fn unit_of(label: &str) -> &'static str {
    let name = label.split('(').next().unwrap_or("");
    function(name).map_or("", |f| f.unit)
}

/// The call as the docs write it: `p90(metric, mode)`.
pub fn signature(f: &Function) -> String {
    let p: Vec<&str> = f.params.iter().map(|p| p.0).collect();
    format!("{}({})", f.name, p.join(", "))
}

/// An argument, evaluated: a name (metric or mode, already checked) or a number.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ArgVal<'a> {
    Word(&'a str),
    Num(f64),
}

impl<'a> ArgVal<'a> {
    fn word(self) -> &'a str {
        match self {
            ArgVal::Word(w) => w,
            ArgVal::Num(_) => "",
        }
    }

    fn num(self) -> f64 {
        match self {
            ArgVal::Num(x) => x,
            ArgVal::Word(_) => f64::NAN,
        }
    }
}

fn mode_result<'r>(r: &'r Results, a: ArgVal, column: usize) -> Result<&'r ModeResult, ExprError> {
    let mode = Mode::parse(a.word()).map_err(|err| error(column, err.to_string()))?;
    r.mode(mode).ok_or_else(|| {
        error(
            column,
            format!(
                "no run of {} yet: this check needs a run with {0} among the modes",
                mode.name()
            ),
        )
    })
}

/// The value of `f` on `args` (in parameter order); missing data is an error at `column`.
pub(crate) fn value(
    f: &Function,
    args: &[ArgVal],
    column: usize,
    r: &Results,
) -> Result<f64, ExprError> {
    let name = f.name;
    if f.params == CELL {
        let rows = r.interference.as_deref().ok_or_else(|| {
            error(
                column,
                format!(
                    "{name} needs the interference table: run the step's Interference action first"
                ),
            )
        })?;
        return cell(rows, args[0].num(), args[1].num(), name == "slowdown")
            .map_err(|m| error(column, m));
    }
    if name == "rate_at_90" {
        let mode = Mode::parse(args[0].word()).map_err(|err| error(column, err.to_string()))?;
        let sweep = r.sweep.as_ref().ok_or_else(|| {
            error(
                column,
                "rate_at_90 needs a sweep: run the step's Sweep action first",
            )
        })?;
        let m = sweep
            .modes
            .iter()
            .find(|m| m.mode == mode)
            .ok_or_else(|| error(column, format!("the sweep did not run {}", mode.name())))?;
        // No rate met the target: no goodput at this SLO, whatever the load.
        return Ok(m.per_gpu_goodput_rps.unwrap_or(0.0));
    }
    if f.params == STAT {
        let m = mode_result(r, args[1], column)?;
        if name == "max" {
            let x = &m.max;
            return Ok(match args[0].word() {
                "ttft" => x.ttft_ms,
                "tpot" => x.tpot_ms,
                "itl" => x.itl_ms,
                _ => x.e2el_ms,
            });
        }
        let s = &m.summary;
        let stats: &Stats = match args[0].word() {
            "ttft" => &s.ttft_ms,
            "tpot" => &s.tpot_ms,
            "itl" => &s.itl_ms,
            _ => &s.e2el_ms,
        };
        return Ok(match name {
            "p50" => stats.median,
            "p90" => stats.p90,
            "p99" => stats.p99,
            _ => stats.mean,
        });
    }
    let m = mode_result(r, args[0], column)?;
    let s = &m.summary;
    Ok(match name {
        "goodput" => s.goodput_rps,
        "goodput_per_gpu" => s.goodput_per_gpu_rps,
        "attainment" => s.attainment.joint,
        "ttft_attainment" => s.attainment.ttft,
        "tpot_attainment" => s.attainment.tpot,
        "throughput" => s.throughput_rps,
        "preemptions" => s.preemptions as f64,
        "kv_transfer_ms" => m.kv_transfer_ms,
        _ => {
            return Err(error(
                column,
                format!("`{name}` has no value (a bug in the lesson module)"),
            ))
        }
    })
}

/// A cell of the interference table: the exact decode batch, and the prefill length measured
/// or linearly interpolated between the two measured lengths around it (grids differ between
/// the GUI and the checker; interpolating inside the measured range stays honest).
fn cell(rows: &[InterferenceRow], batch: f64, len: f64, slowdown: bool) -> Result<f64, String> {
    let whole = |x: f64| x >= 0.0 && x.fract() == 0.0 && x.is_finite();
    if !whole(batch) || !whole(len) {
        return Err(format!(
            "decode_batch and prefill_len must be whole numbers, got {batch} and {len}"
        ));
    }
    let mut row: Vec<&InterferenceRow> = rows
        .iter()
        .filter(|x| x.decode_batch as f64 == batch)
        .collect();
    if row.is_empty() {
        let mut b: Vec<usize> = rows.iter().map(|x| x.decode_batch).collect();
        b.dedup();
        return Err(format!(
            "no decode batch {batch} in the interference table (measured: {b:?})"
        ));
    }
    row.sort_by_key(|x| x.prefill_len);
    let pick = |x: &InterferenceRow| if slowdown { x.slowdown } else { x.step_ms };
    for w in row.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a.prefill_len as f64..=b.prefill_len as f64).contains(&len)
            && b.prefill_len > a.prefill_len
        {
            let t = (len - a.prefill_len as f64) / (b.prefill_len - a.prefill_len) as f64;
            return Ok(pick(a) + t * (pick(b) - pick(a)));
        }
    }
    match row.iter().find(|x| x.prefill_len as f64 == len) {
        Some(x) => Ok(pick(x)),
        None => {
            let lens: Vec<usize> = row.iter().map(|x| x.prefill_len).collect();
            Err(format!(
                "prefill_len {len} is outside the measured lengths {lens:?}"
            ))
        }
    }
}
