//! Exporting from the window: the finished run as CSV and JSON, byte for byte what
//! `goodput-lab bench` writes for the same seeded modeled experiment, and one chart as PNG.
mod common;
use common::{cli, run_to_end, tiny, view};
use egui_kittest::kittest::Queryable;
use engine::serve::cluster::ClockKind;
use goodput_lab::gui::app::View;
use std::path::Path;

fn cli_bench(exp: &Path, json: &Path, csv: &Path) {
    let flag = |f: &str| std::ffi::OsString::from(f);
    cli([
        flag("bench"),
        flag("--experiment"),
        exp.into(),
        flag("--json"),
        json.into(),
        flag("--csv"),
        csv.into(),
    ]);
}

#[test]
fn the_window_exports_the_run_as_the_cli_writes_it() {
    let e = tiny(ClockKind::Modeled, 30);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("e.ron");
    std::fs::write(&file, e.to_ron().unwrap()).unwrap();
    let mut h = view(e, [1400.0, 900.0]);
    h.state_mut().file = file.to_string_lossy().into();
    // Before a run has finished there is nothing to export: the buttons are disabled.
    h.run_steps(2);
    h.get_by_label("Export JSON").click();
    h.run_steps(2);
    assert!(!dir.path().join("e-run.json").exists());
    h.state_mut().start();
    run_to_end(&mut h);
    h.get_by_label("Export JSON").click();
    h.run_steps(2);
    h.get_by_label("Export CSV").click();
    h.run_steps(2);
    let shown = format!("wrote {}", dir.path().join("e-run-csv").display());
    assert!(h.query_by_label(&shown).is_some(), "{shown} is not shown");

    let (cli_json, cli_csv) = (dir.path().join("cli.json"), dir.path().join("cli_csv"));
    cli_bench(&file, &cli_json, &cli_csv);
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    assert_eq!(read(&dir.path().join("e-run.json")), read(&cli_json));
    for t in ["summary.csv", "requests.csv", "tokens.csv", "steps.csv"] {
        let ours = std::fs::read_to_string(dir.path().join("e-run-csv").join(t)).unwrap();
        let theirs = std::fs::read_to_string(cli_csv.join(t)).unwrap();
        assert_eq!(ours, theirs, "{t}");
        assert!(ours.lines().count() > 1, "{t} is empty");
    }
}

#[test]
fn an_export_into_a_missing_folder_shows_the_error() {
    let mut h = view(tiny(ClockKind::Modeled, 10), [1400.0, 900.0]);
    h.state_mut().file = "/nonexistent-folder/e.ron".into();
    h.state_mut().start();
    run_to_end(&mut h);
    h.get_by_label("Export JSON").click();
    h.run_steps(2);
    assert!(h
        .query_by_label_contains("/nonexistent-folder/e-run.json")
        .is_some());
    assert!(h.state().worker.exports.outcome().unwrap().is_err());
}

#[test]
fn save_chart_png_writes_the_picked_chart_cropped_from_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = view(tiny(ClockKind::Modeled, 40), [1400.0, 900.0]);
    h.state_mut().file = dir.path().join("e.ron").to_string_lossy().into();
    h.state_mut().start();
    run_to_end(&mut h);
    // The first chart offered is the first mode's scatter.
    let rect = h.state().worker.exports.charts[0].1;
    h.get_by_label("Save chart PNG").click();
    h.run_steps(3);
    let png = dir.path().join("e-ttft-vs-tpot-aggregated.png");
    let outcome = h.state().worker.exports.outcome();
    assert_eq!(
        outcome,
        Some(Ok(format!("wrote {}", png.display()))),
        "{outcome:?}"
    );
    let img = image::open(&png).unwrap().to_rgba8();
    assert_eq!(img.width(), rect.width().round() as u32);
    assert_eq!(img.height(), rect.height().round() as u32);
    // A chart, not a blank: many colours (the met and missed points, the axes, the text).
    let mut colours: Vec<[u8; 4]> = img.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() > 20, "{} colours", colours.len());

    // The whole window, picked in the Chart menu.
    h.get_by_label("Chart").click();
    h.run_steps(2);
    h.get_by_label("whole window").click_accesskit();
    h.run_steps(2);
    h.get_by_label("Save chart PNG").click();
    h.run_steps(3);
    let img = image::open(dir.path().join("e-whole-window.png")).unwrap();
    assert_eq!((img.width(), img.height()), (1400, 900));
    h.state_mut().view = View::Interference;
    h.run_steps(2);
}
