//! Everything about serving a workload: requests, schedulers, clusters of logical GPUs under
//! three clocks, workloads and traces, metrics, events, the KV link, the cost model, named
//! scenarios, sweeps and the experiment that ties them together.
pub mod cluster;
pub mod control;
pub mod cost_fit;
pub mod cost_model;
pub mod events;
pub mod experiment;
pub mod handle;
pub mod hardware;
pub mod link;
pub mod live;
pub mod metrics;
pub mod prompt;
pub mod request;
pub mod sched;
pub mod sweep;
pub mod trace;
pub mod workload;
