//! Writing what the window shows: a screenshot as PNG, and the run in the CLI's JSON schema.
use egui::ColorImage;
use std::path::Path;

pub fn write_png(path: &Path, img: &ColorImage) -> Result<(), String> {
    let [w, h] = img.size;
    let bytes: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
    image::save_buffer(
        path,
        &bytes,
        w as u32,
        h as u32,
        image::ExtendedColorType::Rgba8,
    )
    .map_err(|e| format!("{}: {e}", path.display()))
}
