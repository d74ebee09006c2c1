//! The interconnect a KV transfer crosses in disaggregated serving: time = latency + bytes ÷
//! bandwidth. Presets are nominal per-direction figures (NVLink 4 on H100: 450 GB/s; PCIe 5
//! x16: ~64 GB/s; 100 Gb/s Ethernet/InfiniBand: 12.5 GB/s).
use crate::error::{EngineError, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkModel {
    pub name: String,
    pub gb_per_s: f64,
    pub latency_us: f64,
}

impl LinkModel {
    fn named(name: &str, gb_per_s: f64, latency_us: f64) -> Self {
        LinkModel {
            name: name.into(),
            gb_per_s,
            latency_us,
        }
    }

    pub fn pcie() -> Self {
        Self::named("pcie", 64.0, 10.0)
    }

    /// `nvlink`, `pcie`, `ib`, or `<GB/s>,<µs>`.
    pub fn parse(s: &str) -> Result<LinkModel> {
        match s {
            "nvlink" => return Ok(Self::named("nvlink", 450.0, 5.0)),
            "pcie" => return Ok(Self::pcie()),
            "ib" | "infiniband" | "ethernet" => return Ok(Self::named("ib", 12.5, 20.0)),
            _ => {}
        }
        let bad = || {
            EngineError::field(
                "link",
                format!("{s:?}: expected nvlink, pcie, ib or <GB/s>,<µs> with GB/s > 0 and µs ≥ 0"),
            )
        };
        let (a, b) = s.split_once(',').ok_or_else(bad)?;
        let gb_per_s: f64 = a.trim().parse().map_err(|_| bad())?;
        let latency_us: f64 = b.trim().parse().map_err(|_| bad())?;
        if !(gb_per_s > 0.0 && gb_per_s.is_finite() && latency_us >= 0.0 && latency_us.is_finite())
        {
            return Err(bad());
        }
        Ok(Self::named("custom", gb_per_s, latency_us))
    }

    pub fn transfer_s(&self, bytes: usize) -> f64 {
        self.latency_us * 1e-6 + bytes as f64 / (self.gb_per_s * 1e9)
    }
}
