//! DistServe's summaries of a sweep: per-GPU goodput (the highest request rate per GPU at which
//! SLO attainment stays at or above a target, interpolated between the measured rates) and the
//! SLO-scale curve (attainment as both SLOs are scaled at a fixed rate).
use crate::metrics::{attainment, RequestRecord, Slo};
use serde::{Deserialize, Serialize};

/// Attainment target of DistServe's per-GPU goodput.
pub const TARGET: f64 = 0.9;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatePoint {
    pub rate: f64,
    pub attainment: f64,
}

/// Highest rate whose attainment is ≥ `target`, interpolated linearly to where the curve
/// crosses the target after it; `None` if even the lowest rate misses. When every measured
/// rate meets the target the highest one is returned (a lower bound). Divide by the GPU count
/// for per-GPU goodput.
pub fn max_rate_at(points: &[RatePoint], target: f64) -> Option<f64> {
    let mut p: Vec<RatePoint> = points.to_vec();
    p.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    if p.first()?.attainment < target {
        return None;
    }
    for w in p.windows(2) {
        let (a, b) = (w[0], w[1]);
        if b.attainment < target {
            let f = (a.attainment - target) / (a.attainment - b.attainment);
            return Some(a.rate + f * (b.rate - a.rate));
        }
    }
    p.last().map(|x| x.rate)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScalePoint {
    pub scale: f64,
    pub attainment: f64,
}

/// Joint attainment of one run's requests with both SLOs multiplied by each scale (scheduling
/// does not depend on the SLOs, so one run serves every scale).
pub fn slo_scale_curve(reqs: &[RequestRecord], slo: &Slo, scales: &[f64]) -> Vec<ScalePoint> {
    scales
        .iter()
        .map(|&k| ScalePoint {
            scale: k,
            attainment: attainment(reqs, &slo.scaled(k)).joint,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(f64, f64)]) -> Vec<RatePoint> {
        v.iter()
            .map(|&(rate, attainment)| RatePoint { rate, attainment })
            .collect()
    }

    #[test]
    fn interpolates_the_crossing() {
        // 1.0 at rate 2, 0.8 at rate 4: crosses 0.9 half-way, at 3.
        let r = max_rate_at(&pts(&[(1.0, 1.0), (2.0, 1.0), (4.0, 0.8), (8.0, 0.1)]), 0.9);
        assert!((r.unwrap() - 3.0).abs() < 1e-12);
        assert_eq!(max_rate_at(&pts(&[(1.0, 0.5), (2.0, 0.2)]), 0.9), None);
        assert_eq!(
            max_rate_at(&pts(&[(2.0, 0.95), (1.0, 1.0)]), 0.9),
            Some(2.0)
        );
    }
}
