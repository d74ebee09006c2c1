//! Guided lessons: every file in `lessons/` parses and its checks hold on the seeded modeled
//! run; the check language reports columns, unknown functions and wrong arguments; malformed
//! files name their file, line and field; a failing check shows the learner's numbers.
use engine::lesson::*;
use engine::measure::interference::InterferenceRow;
use std::path::{Path, PathBuf};

fn lessons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons")
}

#[test]
fn every_lesson_parses_plays_and_its_checks_hold() {
    let loaded = load_dir(&lessons_dir());
    assert_eq!(loaded.len(), 8);
    let mut questions = 0;
    for (n, l) in loaded.iter().enumerate() {
        let f = l.as_ref().unwrap_or_else(|p| panic!("{p:?}"));
        let name = f.path.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.starts_with(&format!("{:02}-", n + 1)),
            "{name} out of order"
        );
        let steps = f.lesson.steps.len();
        assert!((3..=6).contains(&steps), "{name}: {steps} steps");
        assert!(
            f.checks.iter().any(Option::is_some),
            "{name} checks nothing"
        );
        questions += usize::from(f.lesson.steps.iter().any(|s| s.question.is_some()));
    }
    assert!(questions >= 6, "only {questions} lessons ask a question");
    let problems = check_all(&[lessons_dir()]);
    let lines: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert!(problems.is_empty(), "{}", lines.join("\n"));
}

fn parse_err(text: &str) -> ExprError {
    Check::parse(text).expect_err(text)
}

#[test]
fn check_errors_carry_the_column() {
    let cases: &[(&str, usize, &str)] = &[
        ("goodput(chunked) >", 19, "expected a number"),
        ("godput(chunked) > 1", 1, "unknown function `godput`"),
        ("p90(tpot) < 1", 1, "p90(metric, mode) needs `mode`"),
        (
            "p90(tpot, chunked, aggregated) < 1",
            20,
            "takes 2 argument(s), got 3",
        ),
        (
            "slowdown(decode_batch = 8, prefil_len = 512) > 2",
            28,
            "`prefil_len` is not a parameter of slowdown(decode_batch, prefill_len)",
        ),
        (
            "slowdown(decode_batch = 8, 512) > 2",
            28,
            "positional argument after a named",
        ),
        (
            "p90(tbt, chunked) < 1",
            5,
            "`metric` must be one of ttft, tpot",
        ),
        (
            "p90(tpot, fast) < 1",
            11,
            "`mode` must be aggregated, chunked or disaggregated",
        ),
        ("goodput(chunked)", 1, "must be a comparison"),
        ("1 < 2 < 3", 7, "do not chain"),
        ("goodput(chunked) & 1", 18, "write && for and"),
        ("chunked > 1", 1, "`chunked` is not a number"),
        (
            "goodput(chunked) > 1 && 2",
            25,
            "right side of `&&` is a number",
        ),
        ("(1 < 2", 7, "expected `)`"),
        ("goodput(chunked) > 1 )", 22, "unexpected `)`"),
        ("", 1, "empty"),
    ];
    for &(text, column, message) in cases {
        let e = parse_err(text);
        assert!(e.message.contains(message), "{text:?}: {e}");
        assert_eq!(e.column, column, "{text:?}: {e}");
    }
    // Hostile nesting is an error, not a stack overflow.
    let deep = format!("{}1 < 2", "(".repeat(100));
    assert!(parse_err(&deep).message.contains("nested too deeply"));
    let long = format!("1 < 2{}", " + 1".repeat(10_000));
    assert!(parse_err(&long).message.contains("too long"));
}

fn rows(batch: usize, points: &[(usize, f64)]) -> Vec<InterferenceRow> {
    points
        .iter()
        .map(|&(prefill_len, slowdown)| InterferenceRow {
            decode_batch: batch,
            prefill_len,
            context: 256,
            step_ms: 2.0 * slowdown,
            slowdown,
        })
        .collect()
}

#[test]
fn evaluation_lists_every_call_and_names_missing_data() {
    let table = rows(8, &[(0, 1.0), (512, 2.0), (1024, 5.0)]);
    let r = Results::default().with_interference(&table);
    let c = Check::parse(
        "slowdown(decode_batch = 8, prefill_len = 256) == 1.5 && step_ms(8, 1024) / 2 > 4 && !(1 > 2) && -1 < 0",
    )
    .unwrap();
    let o = c.evaluate(&r).unwrap();
    assert!(o.passed, "{o:?}");
    assert_eq!(
        o.values,
        vec![
            (
                "slowdown(decode_batch = 8, prefill_len = 256)".to_string(),
                1.5
            ),
            ("step_ms(8, 1024)".to_string(), 10.0),
        ]
    );
    assert_eq!(
        o.describe(),
        "slowdown(decode_batch = 8, prefill_len = 256) = 1.50×, step_ms(8, 1024) = 10.0 ms"
    );
    let err = |text: &str, r: &Results| Check::parse(text).unwrap().evaluate(r).unwrap_err();
    assert!(
        err("slowdown(decode_batch = 8, prefill_len = 2048) > 1", &r)
            .message
            .contains("outside the measured lengths [0, 512, 1024]")
    );
    assert!(err("slowdown(decode_batch = 4, prefill_len = 512) > 1", &r)
        .message
        .contains("no decode batch 4"));
    let none = Results::default();
    assert!(
        err("slowdown(decode_batch = 8, prefill_len = 512) > 2", &none)
            .message
            .contains("needs the interference table")
    );
    let e = err("p90(tpot, chunked) < 5", &none);
    assert!(
        e.message.contains("no run of chunked") && e.column == 1,
        "{e}"
    );
    assert!(err("rate_at_90(aggregated) > 1", &none)
        .message
        .contains("needs a sweep"));
}

/// The lesson 5 workload with a 512-token budget: chunked behaves like aggregated, so a claim
/// that chunking cut TPOT fails, and says by how much it did not.
#[test]
fn a_failing_check_shows_the_learners_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("01-fails.ron");
    let text = r#"(
    title: "t", goal: "g", finding: "f", citation: "c",
    steps: [
        (
            text: "run",
            patch: (modes: [aggregated, chunked], sched: (token_budget: 512),
                workload: (rate: 100.0, num_requests: 100,
                    prompt_len: LogNormal(mean: 768.0, sigma: 0.2), output_len: Fixed(24)),
                slo: (ttft_ms: 30.0, tpot_ms: 1.4)),
            action: Run,
            check: "p90(tpot, chunked) < 0.8 * p90(tpot, aggregated)",
        ),
    ],
)"#;
    std::fs::write(&path, text).unwrap();
    let f = load_file(&path).unwrap();
    let exp = f.lesson.steps[0].patch.applied_to(&base_experiment());
    let results = run_action(&exp, Action::Run, Results::default()).unwrap();
    let o = f.checks[0].as_ref().unwrap().evaluate(&results).unwrap();
    assert!(!o.passed);
    let labels: Vec<&str> = o.values.iter().map(|v| v.0.as_str()).collect();
    assert_eq!(labels, ["p90(tpot, chunked)", "p90(tpot, aggregated)"]);
    assert!(o.values.iter().all(|v| v.1 > 0.5 && v.1 < 10.0), "{o:?}");
    let problems = check_all(std::slice::from_ref(&path));
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert_eq!(
        (p.file.as_path(), p.line, p.field.as_str()),
        (path.as_path(), 11, "steps[0].check")
    );
    assert!(
        p.message.contains("does not hold") && p.message.contains(&o.describe()),
        "{p}"
    );
}

fn problems_of(text: &str) -> Vec<Problem> {
    parse(Path::new("lessons/09-bad.ron"), text).expect_err("should not parse")
}

const HEAD: &str = "(\n  title: \"t\",\n  goal: \"g\",\n  finding: \"f\",\n  citation: \"c\",\n  steps: [\n    (text: \"ok\"),\n";

#[test]
fn a_malformed_lesson_names_file_line_and_field() {
    let cases: &[(&str, usize, &str, &str)] = &[
        (
            "    (text: \"x\",\n     patch: (workload: (rtae: 3.0))),\n  ],\n)",
            9,
            "steps[1].patch.workload.rtae",
            "Unexpected field named `rtae` in `Workload`",
        ),
        (
            "    (text: \"x\",\n     patch: (slo: (tpot_ms: \"fast\"))),\n  ],\n)",
            9,
            "steps[1].patch.slo.tpot_ms",
            "Expected float",
        ),
        ("    (patch: (gpus: 3)),\n  ],\n)", 8, "steps[1].text", "missing field named `text`"),
        ("    (text: \"x\", action: Jump),\n  ],\n)", 8, "steps[1].action", "`Jump`"),
        (
            "    (text: \"x\",\n     check: \"goodput(chunked) > godput(aggregated)\"),\n  ],\n)",
            9,
            "steps[1].check",
            "unknown function `godput`",
        ),
        (
            "    (text: \"x\", highlight: (view: Compare, chart: Cdf)),\n  ],\n)",
            8,
            "steps[1].highlight.chart",
            "Cdf is on the Curves view",
        ),
        (
            "    (text: \"x\", question: (prompt: \"?\", choices: [(text: \"a\", explanation: \"b\"), (text: \"c\", explanation: \"d\")])),\n  ],\n)",
            8,
            "steps[1].question.choices",
            "no choice is marked correct",
        ),
    ];
    for &(tail, line, field, message) in cases {
        let ps = problems_of(&format!("{HEAD}{tail}"));
        let p = &ps[0];
        let shown = p.to_string();
        assert!(
            shown.starts_with(&format!("lessons/09-bad.ron:{line}:")),
            "{shown}"
        );
        assert_eq!(p.field, field, "{shown}");
        assert!(p.message.contains(message), "{shown}");
    }
    // The check's column is mapped to the file: `godput` starts 30 characters into line 9.
    let ps = problems_of(&format!(
        "{HEAD}    (text: \"x\",\n     check: \"goodput(chunked) > godput(aggregated)\"),\n  ],\n)"
    ));
    assert_eq!((ps[0].line, ps[0].column), (9, 33));
    let ps = problems_of("(title: \"t\", goal: \"g\", finding: \"f\", steps: [])");
    assert!(ps[0].field == "citation" && ps[0].line == 1, "{:?}", ps[0]);
}

#[test]
fn one_bad_file_does_not_hide_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let good =
        "(title: \"t\", goal: \"g\", finding: \"f\", citation: \"c\", steps: [(text: \"x\")])";
    std::fs::write(dir.path().join("02-good.ron"), good).unwrap();
    std::fs::write(dir.path().join("01-bad.ron"), "(title: 3)").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a lesson").unwrap();
    let loaded = load_dir(dir.path());
    assert_eq!(loaded.len(), 2);
    let bad = loaded[0].as_ref().unwrap_err();
    assert!(
        bad[0].file.ends_with("01-bad.ron") && bad[0].field == "title",
        "{bad:?}"
    );
    assert!(loaded[1].is_ok());
    let empty = tempfile::tempdir().unwrap();
    let problems = check_all(&[empty.path().to_path_buf(), dir.path().join("nope.ron")]);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].message.contains("no lessons"));
}

#[test]
fn a_patch_the_engine_refuses_names_its_field() {
    let text = "(title: \"t\", goal: \"g\", finding: \"f\", citation: \"c\", steps: [\n  (text: \"x\",\n   patch: (gpus: 2, pd: (2, 1)),\n   action: Run)])";
    let f = parse(Path::new("pd.ron"), text).unwrap();
    let ps = play(&f);
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!((ps[0].line, ps[0].field.as_str()), (3, "steps[0].patch.pd"));
    assert!(ps[0].message.contains("equal GPU count"), "{}", ps[0]);
}

/// The interference table on the modeled clock comes from the cost model: the batch alone is
/// the baseline, a longer prefill never shortens the step, and a prefill longer than the
/// model's context is refused.
#[test]
fn modeled_interference_follows_the_cost_model() {
    use engine::measure::interference::modeled;
    use engine::serve::cost_model::{CostModel, Hardware};
    let spec = engine::model::cards::card("tiny").unwrap().spec;
    let cost = CostModel::roofline_only(spec.clone(), Hardware::named("cpu").unwrap());
    let cfg = interference_config(&spec);
    assert!(cfg.prefill_lens.iter().all(|&l| l <= spec.max_context));
    let rows = modeled(&cost, &cfg).unwrap();
    assert_eq!(
        rows.len(),
        cfg.decode_batches.len() * cfg.prefill_lens.len()
    );
    for w in rows.windows(2) {
        if w[0].decode_batch == w[1].decode_batch {
            assert!(w[1].step_ms >= w[0].step_ms, "{w:?}");
        } else {
            assert_eq!(w[1].slowdown, 1.0);
        }
    }
    let mut too_long = cfg.clone();
    too_long.prefill_lens.push(spec.max_context + 1);
    assert!(modeled(&cost, &too_long).is_err());
}

/// Every truncation of a real lesson is a located error (or, rarely, a valid prefix), never a
/// panic: the locator must cope with unterminated strings, comments and brackets.
#[test]
fn truncated_lessons_are_errors_not_panics() {
    let path = lessons_dir().join("04-interference.ron");
    let text = std::fs::read_to_string(&path).unwrap();
    let chars: Vec<char> = text.chars().collect();
    for n in (0..chars.len()).step_by(7) {
        let prefix: String = chars[..n].iter().collect();
        if let Err(ps) = parse(&path, &prefix) {
            assert!(ps.iter().all(|p| p.line >= 1 && p.column >= 1), "{ps:?}");
        }
    }
}

/// The lessons compiled into the binary are exactly the files in `lessons/`, same text.
#[test]
fn the_embedded_lessons_are_the_lesson_files() {
    let mut on_disk: Vec<String> = std::fs::read_dir(lessons_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".ron"))
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, embedded_names());
    for (e, d) in embedded().iter().zip(load_dir(&lessons_dir())) {
        let (e, d) = (e.as_ref().unwrap(), d.unwrap());
        assert_eq!(e.lesson, d.lesson);
    }
}
