//! The lesson side panel: the list of lessons with the learner's progress, then one lesson at a
//! time — its finding, the step's text, what runs, where to look, the check on the learner's
//! own numbers in green or red, the question with an explanation per answer, back and next.
use super::app::Workbench;
use super::lesson_state::{self as state, chart_name, key};
use egui::{Color32, RichText, Ui};
use engine::lesson::Action;

pub const PASS: Color32 = Color32::from_rgb(60, 170, 90);
pub const FAIL: Color32 = Color32::from_rgb(215, 70, 60);

pub fn lesson_panel(ui: &mut Ui, w: &mut Workbench) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.heading("Lessons");
            if ui
                .button("Hide")
                .on_hover_text("Hide the lesson panel (the Lessons button brings it back).")
                .clicked()
            {
                w.lessons.open = false;
            }
        });
        if w.lessons.current.is_some() {
            lesson_ui(ui, w);
        } else {
            list_ui(ui, w);
        }
    });
}

fn list_ui(ui: &mut Ui, w: &mut Workbench) {
    ui.label("Each lesson sets up the workbench, runs it on this machine and checks what your own run shows.");
    ui.separator();
    let mut chosen = None;
    for (i, f) in w.lessons.files.iter().enumerate() {
        match f {
            Ok(f) => {
                let n = f.lesson.steps.len();
                let reached = w.lessons.progress.get(&key(f)).copied();
                let status = reached.map_or("not started".to_string(), |s| {
                    format!("step {} of {n}", s + 1)
                });
                let title = format!("{}. {}", i + 1, f.lesson.title);
                if ui.button(title).on_hover_text(&f.lesson.goal).clicked() {
                    chosen = Some(i);
                }
                ui.weak(status);
            }
            Err(problems) => {
                ui.colored_label(FAIL, format!("{}. this lesson file has problems:", i + 1));
                for p in problems {
                    ui.colored_label(FAIL, p.to_string());
                }
            }
        }
        ui.add_space(4.0);
    }
    if let Some(i) = chosen {
        state::open(w, i, None);
    }
}

fn lesson_ui(ui: &mut Ui, w: &mut Workbench) {
    let Some(f) = w.lessons.lesson().cloned() else {
        state::close(w);
        return;
    };
    let (step, n) = (w.lessons.step, f.lesson.steps.len());
    let Some(s) = f.lesson.steps.get(step).cloned() else {
        state::close(w);
        return;
    };
    if ui
        .button("All lessons")
        .on_hover_text("Back to the list; your progress in this lesson is kept.")
        .clicked()
    {
        state::close(w);
        return;
    }
    ui.heading(&f.lesson.title);
    ui.add(
        egui::ProgressBar::new((step + 1) as f32 / n as f32)
            .text(format!("step {} of {n}", step + 1)),
    );
    egui::CollapsingHeader::new("The published finding")
        .default_open(step == 0)
        .show(ui, |ui| {
            ui.label(&f.lesson.finding);
            ui.weak(&f.lesson.citation);
        });
    ui.separator();
    ui.label(RichText::new(&s.text).size(15.0));
    if let Some(note) = &s.device_note {
        ui.add_space(4.0);
        ui.label(RichText::new(format!("Note: {note}")).italics());
    }
    if let Some(c) = w.highlight {
        ui.add_space(4.0);
        ui.label(RichText::new(format!("Look at {} (outlined).", chart_name(c))).strong());
    }
    action_ui(ui, w, s.action);
    check_ui(ui, w, s.check.as_deref(), s.hint.as_deref());
    if let Some(q) = &s.question {
        ui.separator();
        ui.label(RichText::new(&q.prompt).strong());
        for (i, c) in q.choices.iter().enumerate() {
            let picked = w.lessons.answer == Some(i);
            if ui.radio(picked, &c.text).clicked() {
                w.lessons.answer = Some(i);
            }
            if picked {
                let (mark, color) = if c.correct {
                    ("Right:", PASS)
                } else {
                    ("Not quite:", FAIL)
                };
                ui.colored_label(color, format!("{mark} {}", c.explanation));
            }
        }
    }
    ui.separator();
    ui.horizontal(|ui| {
        if ui
            .add_enabled(step > 0, egui::Button::new("Back"))
            .on_hover_text("The previous step (its setup is restored and its action runs again).")
            .clicked()
        {
            state::go_to(w, step - 1);
        }
        let next = if step + 1 < n { "Next" } else { "Finish" };
        if ui
            .button(next)
            .on_hover_text("The next step: its setup is applied and its action starts.")
            .clicked()
        {
            if step + 1 < n {
                state::go_to(w, step + 1);
            } else {
                state::close(w);
            }
        }
    });
}

fn action_ui(ui: &mut Ui, w: &mut Workbench, action: Action) {
    let label = match action {
        Action::None => return,
        Action::Run => "Run again",
        Action::Sweep => "Sweep again",
        Action::Interference => "Measure again",
        Action::InjectLongPrompt { .. } => "Run again with the long prompt",
    };
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        if w.lessons.waiting.is_some() {
            ui.spinner();
            ui.label("running on this machine…");
        } else if ui
            .button(label)
            .on_hover_text("Run this step's action again (runs differ on a noisy machine; the modeled clock does not).")
            .clicked()
        {
            state::start_action(w, action);
        }
    });
}

fn check_ui(ui: &mut Ui, w: &Workbench, check: Option<&str>, hint: Option<&str>) {
    let Some(text) = check else { return };
    ui.add_space(6.0);
    ui.label(RichText::new("What your run should show:").strong())
        .on_hover_text("A claim about your own results, checked whenever a run, sweep or measurement finishes.");
    ui.monospace(text);
    match &w.lessons.outcome {
        None => {
            ui.weak("waiting for your data…");
        }
        Some(Ok(o)) if o.passed => {
            ui.colored_label(PASS, "Holds on your run:");
            ui.colored_label(PASS, o.describe());
        }
        Some(Ok(o)) => {
            ui.colored_label(FAIL, "Does not hold on your run:");
            ui.colored_label(FAIL, o.describe());
            ui.label(hint.unwrap_or(
                "Try running again (a busy machine is noisy), or check the knobs this step set: \
                 a changed rate, SLO or mode changes what the run can show.",
            ));
        }
        Some(Err(e)) => {
            ui.colored_label(FAIL, format!("not yet checkable: {e}"));
        }
    }
}
