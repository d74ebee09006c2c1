//! What the window tests share: a small seeded experiment on `tiny`, a harness that draws one
//! view (so a view's snapshot does not change with the panels around it), and waiting.
#![allow(dead_code)]
use egui_kittest::Harness;
use engine::serve::cluster::ClockKind;
use engine::serve::experiment::Experiment;
use engine::serve::workload::LenDist;
use goodput_lab::gui::app::{View, Workbench};
use goodput_lab::gui::worker::Status;
use goodput_lab::gui::{compare, curves, inspector, interference, plan_view};
use std::time::{Duration, Instant};

/// A plan search that takes seconds: a 7B model on 4 A100s, two TP degrees, one budget, one
/// seed.
pub fn small_plan_spec() -> engine::plan::PlanSpec {
    engine::plan::PlanSpec {
        model: "llama-2-7b".into(),
        hardware: "a100-80".into(),
        gpus: 4,
        num_requests: Some(200),
        tp: Some(vec![1, 2]),
        token_budgets: vec![512],
        seeds: 1,
        error_bar_top: 1,
        ..engine::plan::PlanSpec::default()
    }
}

pub fn tiny(clock: ClockKind, n: usize) -> Experiment {
    let mut e = Experiment {
        name: "test".into(),
        model: "tiny".into(),
        synthetic: true,
        threads: Some(1),
        clock,
        ..Experiment::default()
    };
    e.workload.rate = 400.0;
    e.workload.num_requests = n;
    e.workload.seed = 5;
    e.workload.prompt_len = Some(LenDist::Uniform { lo: 16, hi: 200 });
    e.workload.output_len = Some(LenDist::Uniform { lo: 2, hi: 24 });
    e.sched.token_budget = 32;
    e.sched.kv_tokens = 4096;
    e.slo.ttft_ms = 50.0;
    e.slo.tpot_ms = 5.0;
    e
}

/// The whole window.
pub fn window(e: Experiment) -> Harness<'static, Workbench> {
    Harness::builder()
        .with_size([1600.0, 1000.0])
        .build_ui_state(|ui, wb: &mut Workbench| wb.frame_ui(ui), Workbench::new(e))
}

/// One view alone, fed by the worker as the window feeds it.
pub fn view(e: Experiment, size: [f32; 2]) -> Harness<'static, Workbench> {
    let mut wb = Workbench::new(e);
    wb.hover_lines = false;
    Harness::builder().with_size(size).build_ui_state(
        |ui, wb: &mut Workbench| {
            wb.worker.drain(Duration::from_millis(50));
            if let Some(e) = wb.worker.store.prepared.take() {
                wb.experiment = e;
            }
            egui::CentralPanel::default().show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| match wb.view {
                    View::Compare => compare::compare_ui(ui, wb),
                    View::Curves => curves::curves_ui(ui, wb),
                    View::Interference => interference::interference_ui(ui, wb),
                    View::Inspector => inspector::inspector_ui(ui, wb),
                    View::Plan => plan_view::plan_view_ui(ui, wb),
                });
            });
        },
        wb,
    )
}

/// Steps the harness until `done` holds, failing after `secs`.
pub fn wait_for(
    h: &mut Harness<'static, Workbench>,
    secs: u64,
    what: &str,
    done: impl Fn(&Workbench) -> bool,
) {
    let t0 = Instant::now();
    while !done(h.state()) {
        if let Status::Failed(e) = &h.state().worker.status {
            panic!("run failed while waiting for {what}: {e}");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{what}: not after {secs} s ({:?})",
            h.state().worker.status
        );
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.run_steps(2);
}

/// Steps the window until the run is done (the engine works on its own thread).
pub fn run_to_end(h: &mut Harness<'static, Workbench>) {
    wait_for(h, 120, "the run's end", |w| w.worker.status == Status::Done);
}

/// Runs the `goodput-lab` binary with `args` and asserts it succeeded (stderr shown if not).
pub fn cli<I, S>(args: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_goodput-lab"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
