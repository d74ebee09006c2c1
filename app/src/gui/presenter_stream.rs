//! What presenter mode shows, built from its run's events: the text of each stream as its
//! tokens arrive, every gap between consecutive tokens (a stall is one long gap), the recent
//! TPOT and an SLO fitted to this machine (2.5× the steady gap), and where prompts were injected.
use egui::{Color32, RichText, Ui};
use engine::model::tokenizer::Tokenizer;
use engine::serve::events::Event;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Seconds of run time the gauge averages over.
pub const WINDOW_S: f64 = 2.0;
/// Gaps measured before the SLO is fitted.
const STEADY_GAPS: usize = 100;
/// Streams shown at once.
const SHOWN: usize = 6;

#[derive(Debug, Clone, Default)]
pub struct Stream {
    pub text: String,
    pub tokens: usize,
    pub last_t: Option<f64>,
    pub first_t: Option<f64>,
    pub done: bool,
    pub injected: bool,
}

#[derive(Default)]
pub struct Streams {
    tokenizer: Option<Arc<Tokenizer>>,
    pub streams: BTreeMap<u64, Stream>,
    /// (run time of the token, gap since the stream's previous token in ms, stream).
    pub gaps: Vec<(f64, f64, u64)>,
    /// Run times at which long prompts arrived.
    pub injections: Vec<f64>,
    latest_t: f64,
    steady_ms: Option<f64>,
    /// Prompt lengths of injections not yet seen arriving.
    pending: Vec<usize>,
}

impl Streams {
    pub fn new(tokenizer: Option<Arc<Tokenizer>>) -> Self {
        Streams {
            tokenizer,
            ..Streams::default()
        }
    }

    /// An injection was asked for: the next arrival of that length is it.
    pub fn mark_injection(&mut self, prompt_tokens: usize) {
        self.pending.push(prompt_tokens);
    }

    pub fn apply(&mut self, ev: &Event) {
        match ev {
            Event::Arrived {
                req,
                t_s,
                prompt_tokens,
                ..
            } => {
                self.latest_t = self.latest_t.max(*t_s);
                let injected = match self.pending.iter().position(|&n| n == *prompt_tokens) {
                    Some(i) => {
                        self.pending.remove(i);
                        self.injections.push(*t_s);
                        true
                    }
                    None => false,
                };
                self.streams.insert(
                    *req,
                    Stream {
                        injected,
                        ..Stream::default()
                    },
                );
            }
            Event::Token {
                req, token, t_s, ..
            } => {
                self.latest_t = self.latest_t.max(*t_s);
                let mut piece = match &self.tokenizer {
                    Some(t) => t.decode(&[*token]).unwrap_or_default(),
                    None => format!(" {token}"),
                };
                // Control tokens (<|im_end|> …) are not text.
                if piece.starts_with("<|") && piece.ends_with("|>") {
                    piece.clear();
                }
                let piece = printable(&piece);
                let s = self.streams.entry(*req).or_default();
                if let Some(prev) = s.last_t {
                    self.gaps.push((*t_s, (t_s - prev) * 1e3, *req));
                }
                s.last_t = Some(*t_s);
                s.first_t.get_or_insert(*t_s);
                s.tokens += 1;
                s.text.push_str(&piece);
                if self.steady_ms.is_none() && self.gaps.len() >= STEADY_GAPS {
                    let mut g: Vec<f64> = self.gaps.iter().map(|x| x.1).collect();
                    g.sort_by(f64::total_cmp);
                    self.steady_ms = Some(g[g.len() / 2]);
                }
            }
            Event::Finished(r) => {
                if let Some(s) = self.streams.get_mut(&r.id) {
                    s.done = true;
                }
                // Keep a bounded number of finished streams.
                let finished: Vec<u64> = self
                    .streams
                    .iter()
                    .filter(|(_, s)| s.done)
                    .map(|(&id, _)| id)
                    .collect();
                for id in finished.iter().take(finished.len().saturating_sub(SHOWN)) {
                    self.streams.remove(id);
                }
            }
            _ => {}
        }
    }

    /// Run time of the first token of the first injected prompt.
    pub fn injected_first_token(&self) -> Option<f64> {
        self.streams
            .values()
            .filter(|s| s.injected)
            .find_map(|s| s.first_t)
    }

    /// Run time of the latest event seen.
    pub fn latest_t(&self) -> f64 {
        self.latest_t
    }

    /// The worst stream's TPOT over the last `WINDOW_S` of run time: per stream, the mean gap
    /// between its tokens there, so a stream stalled behind a long prefill shows its stall
    /// (an average over every stream would dilute one stalled GPU into the others).
    pub fn recent_tpot_ms(&self) -> Option<f64> {
        let from = self.latest_t - WINDOW_S;
        let mut per: BTreeMap<u64, (f64, usize)> = BTreeMap::new();
        for g in self.gaps.iter().rev().take_while(|g| g.0 >= from) {
            let e = per.entry(g.2).or_insert((0.0, 0));
            e.0 += g.1;
            e.1 += 1;
        }
        per.values()
            .map(|(sum, n)| sum / *n as f64)
            .max_by(f64::total_cmp)
    }

    /// 2.5× the median gap of the first tokens: an SLO this machine meets when undisturbed.
    pub fn slo_tpot_ms(&self) -> Option<f64> {
        self.steady_ms.map(|s| 2.5 * s)
    }

    /// The gaps of the last minute of run time, at most ~2000 points (max per bucket).
    pub fn gap_points(&self) -> Vec<[f64; 2]> {
        let from = self.latest_t - 60.0;
        let pts: Vec<[f64; 2]> = self
            .gaps
            .iter()
            .filter(|g| g.0 >= from)
            .map(|g| [g.0, g.1])
            .collect();
        super::downsample::min_max(&pts, 1000)
    }
}

/// What the default font can draw: Latin text as is; other characters (a partial UTF-8
/// sequence decodes to U+FFFD, random ids to anything) as a middle dot.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' '..='~' | '\u{a0}'..='\u{24f}' => c,
            '\n' | '\t' => ' ',
            _ => '·',
        })
        .collect()
}

/// The newest streams, each with its text as it grows.
pub fn streams_ui(ui: &mut Ui, s: &Streams) {
    ui.label(
        RichText::new("Live streams")
            .size(22.0)
            .color(Color32::LIGHT_GRAY),
    );
    let newest: Vec<(&u64, &Stream)> = s.streams.iter().rev().take(SHOWN).collect();
    for (id, st) in newest.into_iter().rev() {
        let color = if st.injected {
            Color32::from_rgb(255, 190, 40)
        } else if st.done {
            Color32::GRAY
        } else {
            Color32::WHITE
        };
        let label = if st.injected {
            format!("request {id}: THE LONG PROMPT ({} tokens out)", st.tokens)
        } else {
            format!(
                "request {id}, {} tokens{}",
                st.tokens,
                if st.done { ", done" } else { "" }
            )
        };
        egui::Frame::new()
            .stroke(egui::Stroke::new(2.0, color))
            .inner_margin(8.0)
            .corner_radius(6.0)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new(label).size(16.0).color(color));
                let tail: String = {
                    let chars: Vec<char> = st.text.chars().collect();
                    chars[chars.len().saturating_sub(160)..].iter().collect()
                };
                ui.label(
                    RichText::new(tail.replace('\n', " "))
                        .size(20.0)
                        .color(Color32::WHITE),
                );
            });
        ui.add_space(6.0);
    }
}
