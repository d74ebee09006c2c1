//! The cluster planner's job behind its `RunHandle`: the Plan view sends it a spec and reads the
//! progress and the latest report from here; the search runs on the engine's threads.
use engine::plan::{spawn_plan, PlanReport, PlanSpec};
use engine::serve::events::Event;
use engine::serve::handle::RunHandle;

#[derive(Default)]
pub struct PlanJob {
    handle: Option<RunHandle<PlanReport>>,
    /// The last finished search.
    pub report: Option<PlanReport>,
    /// Candidates evaluated of the total, and the last progress line.
    pub progress: (usize, usize),
    pub line: String,
    pub error: Option<String>,
    /// The user cancelled the search in flight (its ending error is then no failure).
    cancelled: bool,
    /// Counts finished searches, so the view notices a new report (and resets its selection).
    pub generation: u64,
}

impl PlanJob {
    /// Starts a search; a running one is cancelled and left to end on its own thread.
    pub fn start(&mut self, spec: &PlanSpec) {
        self.cancel();
        self.handle = None;
        self.report = None;
        self.progress = (0, 0);
        self.line.clear();
        self.error = None;
        self.cancelled = false;
        match spawn_plan(spec.clone()) {
            Ok(h) => self.handle = Some(h),
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Asks the search to stop; it ends with a "plan cancelled" error once the candidates in
    /// flight finish.
    pub fn cancel(&mut self) {
        if let Some(h) = &self.handle {
            h.cancel();
            self.cancelled = true;
        }
    }

    /// Cancel was pressed and the search has not ended yet.
    pub fn is_cancelling(&self) -> bool {
        self.cancelled && self.handle.is_some()
    }

    pub fn is_running(&self) -> bool {
        self.handle.is_some()
    }

    /// Moves progress events into the job's fields and collects the finished search.
    pub fn drain(&mut self) {
        let Some(h) = &self.handle else { return };
        for ev in h.events.try_iter() {
            if let Event::Progress { done, total, line } = ev.event {
                self.progress = (done, total);
                self.line = line;
            }
        }
        if h.is_finished() {
            if let Some(h) = self.handle.take() {
                match h.join() {
                    Ok(r) => {
                        // The last line named whichever candidate finished last: say what ended.
                        self.line = format!(
                            "{} candidates, {} simulations",
                            r.plans.len(),
                            r.simulations
                        );
                        self.report = Some(r);
                    }
                    Err(_) if self.cancelled => {
                        let (done, total) = self.progress;
                        self.line = format!("cancelled after {done} of {total} candidates");
                    }
                    Err(e) => self.error = Some(e.to_string()),
                }
                self.generation += 1;
            }
        }
    }
}
