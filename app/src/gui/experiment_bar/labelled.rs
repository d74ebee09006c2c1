//! Controls written label first, then the widget, as every field of the bar reads; the label
//! names the widget for screen readers and tests (AccessKit `labelled_by`).
use egui::{ComboBox, Response, Ui};

/// `label [selected ▾]`: a combo box whose popup `add` fills.
pub fn combo(
    ui: &mut Ui,
    label: &str,
    selected: &str,
    tip: &str,
    add: impl FnOnce(&mut Ui),
) -> Response {
    let l = ui.label(label).on_hover_text(tip);
    ComboBox::from_id_salt(("combo", label))
        .selected_text(selected)
        .show_ui(ui, add)
        .response
        .labelled_by(l.id)
        .on_hover_text(tip)
}
