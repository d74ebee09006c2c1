//! `goodput-lab lessons check`: the shipped lessons pass; a broken one fails with one line per
//! problem naming its file, line and field.
use e2e_tests::{run, run_ok};

#[test]
fn the_shipped_lessons_check_out() {
    let out = run_ok(&["lessons", "check"], &[]);
    assert!(out.contains("every lesson in lessons checks out"), "{out}");
}

#[test]
fn a_broken_lesson_fails_with_one_line_per_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("01-broken.ron");
    let text = "(\n  title: \"t\", goal: \"g\", finding: \"f\", citation: \"c\",\n  steps: [\n    (text: \"x\", check: \"p90(tpot) < 1\"),\n    (text: \"y\", patch: (workload: (rtae: 1.0))),\n  ],\n)";
    std::fs::write(&file, text).unwrap();
    let path = file.display().to_string();
    let out = run(&["lessons", "check", &path], &[]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(lines[0].starts_with(&format!("{path}:5:")), "{stdout}");
    assert!(
        lines[0].contains("steps[1].patch.workload.rtae"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 problem(s)"), "{stderr}");
}
