//! The request inspector: one request's timeline — prefill queue, prefill, KV transfer,
//! decode queue, decode — with a tick per token, and its prompt and output: text when a real
//! model produced them, token ids otherwise.
use super::app::Workbench;
use super::compare::{DECODE, PREFILL};
use super::worker::run_info::SMALL_RUN;
use egui::{Color32, Ui};
use egui_plot::{Bar, BarChart, Plot, Points};
use engine::serve::cluster::{ClockKind, Mode};

pub fn inspector_ui(ui: &mut Ui, w: &mut Workbench) {
    super::export::export_bar_ui(ui, w);
    // Until a point is clicked: the request that waited longest for its first token in the
    // last mode (disaggregated when it runs), where the stages before decoding show.
    let Some((mode, id)) = w.selected.or_else(|| {
        let d = w.worker.store.modes.last()?;
        let r = d
            .requests
            .iter()
            .max_by(|a, b| a.ttft_ms.total_cmp(&b.ttft_ms))?;
        Some((d.mode, r.id))
    }) else {
        ui.label(
            "No finished request yet: run an experiment, then click a point in the compare view.",
        );
        return;
    };
    let Some(r) = w
        .worker
        .store
        .modes
        .iter()
        .find(|d| d.mode == mode)
        .and_then(|d| d.requests.iter().find(|r| r.id == id))
    else {
        return;
    };
    ui.heading(format!("request {} ({})", r.id, mode.name()));
    ui.label(format!(
        "arrived {:.3} s · {} prompt tokens · {} output tokens · TTFT {:.1} ms · TPOT {:.2} ms · E2E {:.1} ms",
        r.arrival_s, r.prompt_tokens, r.output_tokens, r.ttft_ms, r.tpot_ms, r.e2el_ms
    ));
    let b = r.breakdown_ms;
    let stages = [
        ("prefill queue", b.prefill_queue, Color32::from_gray(150)),
        ("prefill", b.prefill_exec, PREFILL),
        (
            "KV transfer",
            b.kv_transfer,
            Color32::from_rgb(160, 90, 200),
        ),
        ("decode queue", b.decode_queue, Color32::from_gray(110)),
        ("decode", b.decode_exec, DECODE),
    ];
    let mut at = r.arrival_s * 1e3;
    let ticks: Vec<[f64; 2]> = r.token_times_s.iter().map(|t| [t * 1e3, 0.5]).collect();
    let rect = Plot::new("inspector").height(160.0).x_axis_label("time (ms from the run's start)").show_axes([true, false]).show(ui, |p| {
        for (name, ms, c) in stages {
            p.bar_chart(BarChart::new(name, vec![Bar::new(0.5, ms).base_offset(at).width(0.4).horizontal().fill(c)]).color(c));
            at += ms;
        }
        p.points(Points::new("tokens", ticks).radius(3.0).color(Color32::WHITE));
    }).response.on_hover_text("The request's life: waiting for prefill, prefill, KV transfer (disaggregated), waiting for a decode slot, decoding; each dot is a token.").rect;
    request_text_ui(ui, w, mode, id);
    super::highlight::mark_named(ui, w.highlight, "request timeline", rect);
    w.worker.exports.note("request timeline", rect);
}

/// The request's prompt and output: text from a real model, token ids from synthetic weights
/// (their text means nothing), and why there is neither otherwise.
fn request_text_ui(ui: &mut Ui, w: &Workbench, mode: Mode, id: u64) {
    let Some(info) = &w.worker.info else {
        ui.weak("The prompt and output show once the run has finished.");
        return;
    };
    let output = w
        .worker
        .store
        .modes
        .iter()
        .find(|d| d.mode == mode)
        .and_then(|d| d.output_ids.get(&id));
    let prompt = info.prompt(id);
    if prompt.is_none() && output.is_none() {
        ui.weak(format!(
            "No token ids kept: a modeled run of more than {SMALL_RUN} requests keeps none, to \
             save memory."
        ));
        return;
    }
    let real = info.tokenizer.is_some() && !info.synthetic;
    if info.clock == ClockKind::Modeled {
        ui.weak("Modeled clock: nothing was computed, so there is no output; the prompt is shown as token ids.");
    } else if !real {
        ui.weak("Synthetic weights: token ids only; the text they make is meaningless.");
    }
    if !info.traced {
        ui.weak("The workload's prompts are random tokens (a trace file gives real prompts).")
            .on_hover_text("Prompts are drawn as random token ids of the drawn length unless the workload replays a trace with prompt text.");
    }
    egui::ScrollArea::vertical()
        .id_salt("request_text")
        .max_height(260.0)
        .show(ui, |ui| {
            let output = output.map(|v| std::borrow::Cow::Borrowed(v.as_slice()));
            for (name, ids) in [("Prompt", prompt), ("Output", output)] {
                let Some(ids) = ids else { continue };
                let ids: &[u32] = &ids;
                ui.strong(format!("{name} ({} tokens)", ids.len()));
                // Text only from real weights: synthetic weights' text means nothing.
                match info.decode(ids).filter(|_| real) {
                    Some(text) => {
                        ui.add(egui::Label::new(format!("{name} text: {text}")).wrap());
                    }
                    None => {
                        let list: Vec<String> = ids.iter().map(u32::to_string).collect();
                        ui.add(
                            egui::Label::new(format!("{name} token ids: {}", list.join(" ")))
                                .wrap(),
                        );
                    }
                }
            }
        });
}
