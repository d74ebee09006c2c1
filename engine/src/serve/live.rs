//! One mode as a server's engine: it starts with no workload, takes requests as they come
//! (`RunControl::inject`, with their own prompt ids and sampling), lets callers take them back
//! (`RunControl::abort`) and runs until cancelled. Its events are the batch run's, plus `Load`.
use crate::error::Result;
use crate::serve::cluster::{run, RunInputs, RunReport};
use crate::serve::handle::{spawn_job, RunHandle};

/// Starts the serving loop of `inputs`' mode (its workload is ignored: requests are injected).
pub fn spawn_serving(mut inputs: RunInputs) -> Result<RunHandle<RunReport>> {
    inputs.requests = Vec::new().into();
    spawn_job("serve", move |emitter, control| {
        control.set_serving(true);
        run(&inputs, emitter, control)
    })
}
