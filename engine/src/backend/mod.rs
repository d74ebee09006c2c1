//! Where a model runs: the CPU engine (`cpu/`) or an NVIDIA GPU (`cuda/`), sibling folders
//! behind one device enum and one loaded-model type; `step.rs` holds what both share.
pub mod cpu;
pub mod cuda;
pub mod step;

use crate::model::spec::ModelSpec;

use crate::error::{EngineError, Result};
use std::fmt;
use std::str::FromStr;

/// Where steps run. Written `cpu`, `cuda` or `cuda:N` (also in RON files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Device {
    #[default]
    Cpu,
    /// A CUDA device by ordinal (`cuda` means `cuda:0`).
    Cuda(usize),
}

impl Device {
    pub fn is_cuda(self) -> bool {
        matches!(self, Device::Cuda(_))
    }
}

impl FromStr for Device {
    type Err = EngineError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            EngineError::field(
                "device",
                format!("unknown device '{s}': expected cpu, cuda or cuda:N"),
            )
        };
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            other => {
                let n = other.strip_prefix("cuda:").ok_or_else(bad)?;
                n.parse().map(Device::Cuda).map_err(|_| bad())
            }
        }
    }
}

impl TryFrom<String> for Device {
    type Error = EngineError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Device> for String {
    fn from(d: Device) -> String {
        d.to_string()
    }
}

/// A model's weights on the device that runs them: the one "loaded model" type every caller
/// (CLI, cluster, benchmarks, GUI) holds, usually behind an `Arc`.
pub enum DeviceModel {
    Cpu(Box<cpu::llama::Llama>),
    Cuda(Box<cuda::llama::CudaLlama>),
}

impl DeviceModel {
    pub fn spec(&self) -> &ModelSpec {
        match self {
            DeviceModel::Cpu(m) => &m.weights.spec,
            DeviceModel::Cuda(m) => &m.weights.spec,
        }
    }

    pub fn device(&self) -> Device {
        match self {
            DeviceModel::Cpu(_) => Device::Cpu,
            DeviceModel::Cuda(m) => Device::Cuda(m.gpu.ordinal),
        }
    }

    /// The hardware profile (`serve::cost_model::Hardware::named`) closest to this device:
    /// `cpu`, or a GPU's family from its name; `None` for a GPU without a profile.
    pub fn hardware_profile(&self) -> Option<&'static str> {
        match self {
            DeviceModel::Cpu(_) => Some("cpu"),
            DeviceModel::Cuda(m) => {
                let name = m.gpu.name.to_ascii_uppercase();
                if ["H100", "H200", "H800", "GH200"]
                    .iter()
                    .any(|g| name.contains(g))
                {
                    Some("h100")
                } else if ["A100", "A800"].iter().any(|g| name.contains(g)) {
                    Some("a100")
                } else {
                    None
                }
            }
        }
    }

    /// Bytes of one cached K or V value (f32 on the CPU, bf16 on GPUs).
    pub fn kv_value_bytes(&self) -> usize {
        match self {
            DeviceModel::Cpu(_) => std::mem::size_of::<f32>(),
            DeviceModel::Cuda(_) => 2,
        }
    }

    /// CPU worker threads (1 on a GPU: the host only launches kernels).
    pub fn threads(&self) -> usize {
        match self {
            DeviceModel::Cpu(m) => m.threads(),
            DeviceModel::Cuda(_) => 1,
        }
    }

    /// Which kernels run: the CPU's instruction-set path, or the GPU's name.
    pub fn kernels(&self) -> String {
        match self {
            DeviceModel::Cpu(m) => format!("{:?}", m.isa()),
            DeviceModel::Cuda(m) => format!("cuda ({})", m.gpu.name),
        }
    }

    /// Bytes of matmul weights one step reads.
    pub fn weight_bytes(&self) -> usize {
        match self {
            DeviceModel::Cpu(m) => m.weights.matmul_bytes(),
            DeviceModel::Cuda(m) => m.weights.matmul_bytes(),
        }
    }

    /// The CPU engine, for what only it can do (calibration on this machine's cores).
    pub fn cpu(&self) -> Result<&cpu::llama::Llama> {
        match self {
            DeviceModel::Cpu(m) => Ok(m),
            DeviceModel::Cuda(_) => Err(EngineError::Field {
                field: "device".into(),
                reason: "this needs the CPU engine (device cpu)".into(),
            }),
        }
    }

    /// A session with its own KV pool of `n_blocks` blocks, boxed so callers need not know
    /// the device.
    pub fn session(
        &self,
        n_blocks: usize,
        block_size: usize,
    ) -> Result<Box<dyn step::StepSession + '_>> {
        Ok(match self {
            DeviceModel::Cpu(m) => Box::new(cpu::session::Session::new(m, n_blocks, block_size)?),
            DeviceModel::Cuda(m) => {
                Box::new(cuda::session::CudaSession::new(m, n_blocks, block_size)?)
            }
        })
    }

    /// A session with room for `tokens` tokens in blocks of the default size.
    pub fn session_for(&self, tokens: usize) -> Result<Box<dyn step::StepSession + '_>> {
        let b = step::DEFAULT_BLOCK_SIZE;
        self.session(tokens.div_ceil(b).max(1), b)
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_devices() {
        assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
        assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda(0));
        assert_eq!("CUDA:3".parse::<Device>().unwrap(), Device::Cuda(3));
        assert_eq!(Device::Cuda(2).to_string(), "cuda:2");
        assert_eq!(Device::default(), Device::Cpu);
        for bad in ["", "tpu", "cuda:", "cuda:x", "cuda:-1", "cuda1"] {
            let e = bad.parse::<Device>().unwrap_err().to_string();
            assert!(e.contains("cpu, cuda or cuda:N"), "{bad}: {e}");
        }
    }
}
