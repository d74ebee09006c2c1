//! The device list: the CPU and every CUDA GPU the driver reports. Opening a CUDA context per
//! device takes long enough to drop frames, so the list is asked for once, on its own thread,
//! and kept for the life of the process.
use super::labelled::combo;
use egui::Ui;
use engine::backend::Device;
use std::sync::{Once, OnceLock};

/// Each GPU as `(device, "cuda:N name (cc X.Y, N GiB)")`, or why there are none.
pub type GpuList = Result<Vec<(Device, String)>, String>;

static GPUS: OnceLock<GpuList> = OnceLock::new();

/// The GPUs once known (`None` while the query runs). The first call starts the query.
pub fn gpus() -> Option<&'static GpuList> {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("gpu-list".into())
            .spawn(|| {
                let _ = GPUS.set(query());
            });
        if let Err(e) = spawned {
            let _ = GPUS.set(Err(format!("could not start the GPU query: {e}")));
        }
    });
    GPUS.get()
}

/// Asks the driver; a missing or broken driver (even one that panics in a binding) is an
/// answer, not a crash.
fn query() -> GpuList {
    let listed = std::panic::catch_unwind(engine::backend::cuda::gpu::list_devices)
        .map_err(|_| "the CUDA driver query panicked".to_string())?;
    let names = listed.map_err(|e| e.to_string())?;
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(i, name)| (Device::Cuda(i), name))
        .collect())
}

/// Why the list shows no GPU, for the hover text.
pub fn no_gpu_reason(list: Option<&GpuList>) -> Option<String> {
    match list {
        None => Some("Looking for CUDA GPUs…".into()),
        Some(Err(e)) => Some(format!("No GPU listed: {e}")),
        Some(Ok(v)) if v.is_empty() => Some("No GPU listed: the CUDA driver reports none.".into()),
        Some(Ok(_)) => None,
    }
}

/// The label of `device` in the list: the GPU's name and memory when known.
pub fn device_text(device: Device, list: Option<&GpuList>) -> String {
    if let (Device::Cuda(_), Some(Ok(v))) = (device, list) {
        if let Some((_, name)) = v.iter().find(|(d, _)| *d == device) {
            return name.clone();
        }
    }
    device.to_string()
}

/// The device picker: CPU first, then each GPU; a device from a loaded file that is not
/// present stays shown (the run says why it cannot open it).
pub fn device_ui(ui: &mut Ui, device: &mut Device) {
    let list = gpus();
    let mut tip = "Where the model's steps run (measured and wall clocks, interference): this \
                   CPU or a CUDA GPU."
        .to_string();
    if let Some(why) = no_gpu_reason(list) {
        tip = format!("{tip}\n{why}");
    }
    combo(ui, "Device", &device_text(*device, list), &tip, |ui| {
        ui.selectable_value(device, Device::Cpu, "cpu");
        if let Some(Ok(v)) = list {
            for (d, name) in v {
                ui.selectable_value(device, *d, name);
            }
        }
    });
}
