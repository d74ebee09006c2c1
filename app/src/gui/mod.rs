//! The workbench window (egui/eframe, glow renderer): an experiment bar, then the compare,
//! curves, interference, inspector and plan views over a store filled from the engine's events.
pub mod app;
pub mod compare;
pub mod compare_geometry;
pub mod curves;
pub mod downsample;
pub mod experiment_bar;
pub mod export;
pub mod highlight;
pub mod inspector;
pub mod interference;
pub mod lesson_panel;
pub mod lesson_state;
pub mod plan_view;
pub mod presenter;
pub mod presenter_charts;
pub mod presenter_stream;
pub mod store;
pub mod worker;

use app::{Shot, View, Workbench};
use clap::Args;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Default)]
pub struct GuiArgs {
    /// Open with this experiment (RON) instead of the last one.
    #[arg(long)]
    pub experiment: Option<PathBuf>,
    /// Open with a named scenario.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Render the real window to this PNG and exit (starts the run itself).
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// The view to show: compare, curves, interference, inspector or plan (with --screenshot,
    /// plan searches the default spec first).
    #[arg(long, default_value = "compare")]
    pub view: String,
    /// Take the screenshot after this long (or when the run ends, if sooner).
    #[arg(long, default_value_t = 60.0)]
    pub after_secs: f64,
    /// Time this many frames once the run has ended, print the figures and exit.
    #[arg(long)]
    pub bench_frames: Option<usize>,
    /// Window size in points, WxH.
    #[arg(long, default_value = "1600x1000")]
    pub size: String,
    /// Open at lesson N (1-based), at the step last reached (see `--lesson-step`).
    #[arg(long)]
    pub lesson: Option<usize>,
    /// With --lesson: open at this step (1-based) instead of the one last reached.
    #[arg(long, requires = "lesson")]
    pub lesson_step: Option<usize>,
    /// Open in presenter mode (big type, live token stream, inject a long prompt).
    #[arg(long)]
    pub presenter: bool,
    /// Serve the experiment's model and first mode on this port (OpenAI API) and show the
    /// requests any client sends, as they come (0: any free port; the address is shown).
    #[arg(long)]
    pub serve: Option<u16>,
}

impl GuiArgs {
    /// What `goodput-lab` with no command opens: the clap defaults.
    pub fn default_args() -> Self {
        GuiArgs {
            view: "compare".into(),
            after_secs: 60.0,
            size: "1600x1000".into(),
            ..Default::default()
        }
    }
}

fn egui_glow_config() -> eframe::egui_glow::GlowConfiguration {
    eframe::egui_glow::GlowConfiguration {
        vsync: false,
        ..Default::default()
    }
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

pub fn run(a: GuiArgs) -> anyhow::Result<()> {
    if !has_display() {
        anyhow::bail!(
            "no display (DISPLAY and WAYLAND_DISPLAY are unset): the workbench needs a desktop session. \
             The command line runs the same experiments: goodput-lab bench --synthetic --scenario cpu-chat"
        );
    }
    let view = View::parse(&a.view).ok_or_else(|| {
        anyhow::anyhow!(
            "--view {:?}: expected compare, curves, interference, inspector or plan",
            a.view
        )
    })?;
    let (w, h) = a
        .size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<f32>().ok()?, h.parse::<f32>().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("--size {:?}: expected WxH", a.size))?;
    let given = match (&a.experiment, &a.scenario) {
        (Some(p), _) => Some(engine::serve::experiment::Experiment::load(p)?),
        (None, Some(s)) => Some(engine::serve::experiment::scenario(s)?),
        _ => None,
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size([w, h])
            .with_title("Goodput Lab"),
        renderer: eframe::Renderer::Glow,
        // No vsync: the frame benchmark measures the work of a frame, not the display's pace.
        glow_options: egui_glow_config(),
        ..Default::default()
    };
    if let Some(n) = a.lesson {
        let count = engine::lesson::embedded_names().len();
        if n == 0 || n > count {
            anyhow::bail!("--lesson {n}: there are lessons 1 to {count}");
        }
    }
    let (lesson, lesson_step, presenter) = (a.lesson, a.lesson_step, a.presenter);
    let screenshot = a.screenshot.clone();
    let bench_frames = a.bench_frames;
    let serve = a.serve;
    let after = Duration::from_secs_f64(a.after_secs.max(0.0));
    let result = std::sync::Arc::new(std::sync::Mutex::new(None));
    let shot_result = result.clone();
    eframe::run_native(
        "Goodput Lab",
        options,
        Box::new(move |cc| {
            let exp = given.unwrap_or_else(|| Workbench::restore(cc.storage));
            let mut wb = Workbench::new(exp);
            wb.window_clears = true;
            wb.restore_lessons(cc.storage);
            wb.view = view;
            if presenter {
                let mut p = presenter::Presenter::new(&wb.experiment);
                if screenshot.is_some() {
                    // The screenshot shows a stall: inject once the streams are going.
                    p.auto_inject = Some(Duration::from_secs(6));
                }
                wb.presenter = Some(p);
            }
            if let Some(frames) = bench_frames {
                wb.hover_lines = false;
                wb.frame_bench = Some(app::FrameBench {
                    frames: frames.max(1),
                    times_ms: Vec::new(),
                    last: None,
                });
            }
            if let Some(path) = screenshot {
                wb.hover_lines = false;
                wb.shot = Some(Shot {
                    path,
                    after,
                    started: Instant::now(),
                    requested: false,
                    result: shot_result,
                });
                if let Some(n) = lesson {
                    lesson_state::open(&mut wb, n - 1, lesson_step.map(|s| s.saturating_sub(1)));
                } else if let Some(port) = serve {
                    wb.start_server(port);
                } else if wb.presenter.is_some() {
                } else if view == View::Interference {
                    wb.start_interference();
                } else if view == View::Plan {
                    wb.start_plan();
                } else {
                    wb.start();
                    if view == View::Curves {
                        wb.start_sweep();
                    }
                }
            } else if let Some(n) = lesson {
                lesson_state::open(&mut wb, n - 1, lesson_step.map(|s| s.saturating_sub(1)));
            } else if let Some(port) = serve {
                wb.start_server(port);
            } else if wb.presenter.is_none() {
                wb.start();
            }
            Ok(Box::new(wb))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window failed: {e}"))?;
    if let Ok(g) = result.lock() {
        if let Some(Err(e)) = &*g {
            anyhow::bail!("screenshot: {e}");
        }
    }
    Ok(())
}
