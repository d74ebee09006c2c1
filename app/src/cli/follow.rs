//! Following a spawned engine job from the terminal: a progress bar of finished requests on a
//! terminal, and one line per finished unit (a mode, a rate, a table row) on stderr, so a log
//! of a long run shows its progress too.
use engine::serve::events::Event;
use engine::serve::handle::RunHandle;
use indicatif::{ProgressBar, ProgressStyle};

/// Drains the job's events until it ends, then returns its result. `requests` sizes the bar
/// (requests per mode); without it the bar counts the job's own units.
pub fn follow<T>(h: RunHandle<T>, requests: Option<usize>) -> anyhow::Result<T> {
    let bar = ProgressBar::new(requests.unwrap_or(0) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>16} {bar:30} {pos}/{len}  {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut mode = None;
    for ev in h.events.iter() {
        if ev.mode.is_some() && ev.mode != mode {
            mode = ev.mode;
            bar.set_position(0);
            bar.set_message(mode.map_or("", |m| m.name()).to_string());
        }
        match ev.event {
            Event::Finished(_) if requests.is_some() => bar.inc(1),
            Event::Progress { done, total, line } => {
                if requests.is_none() {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                }
                if bar.is_hidden() {
                    eprintln!("{line}");
                } else {
                    bar.println(line);
                }
            }
            _ => {}
        }
    }
    bar.finish_and_clear();
    Ok(h.join()?)
}
