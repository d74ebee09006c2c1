//! Per-kernel GPU times of one step, from CUDA events recorded around every launch (gpu-check
//! prints them before and after a kernel change without needing Nsight). The sum of kernel
//! times against the whole step's time bounds what launch gaps cost.
use super::gpu::{ctx_err, Gpu};
use crate::error::Result;
use cudarc::driver::{sys::CUevent_flags, CudaEvent};
use serde::Serialize;

/// Events of the launches of the step being recorded.
#[derive(Default)]
pub struct Recorder {
    marks: Vec<(&'static str, CudaEvent, CudaEvent)>,
}

impl Recorder {
    /// An event recorded on the stream now (before a launch).
    pub fn begin(gpu: &Gpu) -> Result<CudaEvent> {
        let e = gpu
            .ctx
            .new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
            .map_err(ctx_err!("profiling event"))?;
        e.record(&gpu.stream).map_err(ctx_err!("profiling event"))?;
        Ok(e)
    }

    /// Closes the launch `name` begun with `start`.
    pub fn end(&mut self, gpu: &Gpu, name: &'static str, start: CudaEvent) -> Result<()> {
        let end = Self::begin(gpu)?;
        self.marks.push((name, start, end));
        Ok(())
    }

    /// Waits for the step and sums its kernels by name, in first-launch order.
    pub fn finish(self) -> Result<Vec<KernelTime>> {
        let mut rows: Vec<KernelTime> = Vec::new();
        for (name, a, b) in &self.marks {
            b.synchronize().map_err(ctx_err!("profiling"))?;
            let ms = a.elapsed_ms(b).map_err(ctx_err!("profiling"))? as f64;
            match rows.iter_mut().find(|r| r.kernel == *name) {
                Some(r) => {
                    r.launches += 1;
                    r.ms += ms;
                }
                None => rows.push(KernelTime {
                    kernel: name.to_string(),
                    launches: 1,
                    ms,
                }),
            }
        }
        Ok(rows)
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KernelTime {
    pub kernel: String,
    pub launches: usize,
    /// Summed over the step's launches.
    pub ms: f64,
}

/// Share of `step_ms` not covered by kernels: launch gaps and host work between launches.
pub fn gap_share(rows: &[KernelTime], step_ms: f64) -> f64 {
    let busy: f64 = rows.iter().map(|r| r.ms).sum();
    ((step_ms - busy) / step_ms).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_share_is_the_uncovered_time() {
        let k = |ms| KernelTime {
            kernel: "k".into(),
            launches: 1,
            ms,
        };
        assert!((gap_share(&[k(7.0), k(2.0)], 10.0) - 0.1).abs() < 1e-12);
        // events add a little of their own: never below zero
        assert_eq!(gap_share(&[k(10.5)], 10.0), 0.0);
    }
}
