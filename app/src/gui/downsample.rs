//! egui_plot draws every point it is given, so long series are reduced to what a screen can
//! show first: the min and max of each pixel column (the shape of spikes survives).
/// Reduces `(x, y)` points sorted by x to at most ~2 per bucket over `buckets` columns.
pub fn min_max(points: &[[f64; 2]], buckets: usize) -> Vec<[f64; 2]> {
    if points.len() <= 2 * buckets.max(1) {
        return points.to_vec();
    }
    let (x0, x1) = (points[0][0], points[points.len() - 1][0]);
    let width = (x1 - x0).max(f64::MIN_POSITIVE) / buckets as f64;
    let mut out = Vec::with_capacity(2 * buckets);
    let mut i = 0;
    while i < points.len() {
        let b = ((points[i][0] - x0) / width).floor();
        let (mut lo, mut hi) = (points[i], points[i]);
        while i < points.len() && ((points[i][0] - x0) / width).floor() == b {
            if points[i][1] < lo[1] {
                lo = points[i];
            }
            if points[i][1] > hi[1] {
                hi = points[i];
            }
            i += 1;
        }
        if lo[0] <= hi[0] {
            out.extend([lo, hi]);
        } else {
            out.extend([hi, lo]);
        }
    }
    out
}

/// Per bucket of `[x0, x1)`, the maximum of `value` over the items falling in it.
pub fn bucket_max<T>(
    items: &[T],
    x0: f64,
    x1: f64,
    buckets: usize,
    x: impl Fn(&T) -> f64,
    value: impl Fn(&T) -> f64,
) -> Vec<f64> {
    let mut out = vec![0.0f64; buckets.max(1)];
    let width = (x1 - x0).max(f64::MIN_POSITIVE) / out.len() as f64;
    for it in items {
        let b = (((x(it) - x0) / width) as usize).min(out.len() - 1);
        out[b] = out[b].max(value(it));
    }
    out
}

/// Keeps one point per cell of a `cols` × `rows` grid over `[0, max]`: a scatter of 10 000
/// requests draws as many markers as the screen has room for, with the same outline.
pub fn thin_scatter(points: &[[f64; 2]], max: [f64; 2], cols: usize, rows: usize) -> Vec<[f64; 2]> {
    let mut seen = std::collections::HashSet::new();
    let cell =
        |v: f64, m: f64, n: usize| ((v / m.max(f64::MIN_POSITIVE)) * n as f64).floor() as i64;
    points
        .iter()
        .filter(|p| seen.insert((cell(p[0], max[0], cols), cell(p[1], max[1], rows))))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_spikes_and_bounds_the_count() {
        let mut pts: Vec<[f64; 2]> = (0..100_000).map(|i| [i as f64, 1.0]).collect();
        pts[54_321][1] = 50.0;
        let d = min_max(&pts, 500);
        assert!(d.len() <= 1002, "{}", d.len());
        assert!(d.iter().any(|p| p[1] == 50.0));
        assert!(d.windows(2).all(|w| w[0][0] <= w[1][0]));
        assert_eq!(min_max(&pts[..10], 500).len(), 10);
        let m = bucket_max(&pts, 0.0, 100_000.0, 10, |p| p[0], |p| p[1]);
        assert_eq!(m.len(), 10);
        assert_eq!(m[5], 50.0);
        assert_eq!(m[0], 1.0);
    }

    #[test]
    fn thinning_keeps_one_point_per_cell_and_every_outlier() {
        let mut pts: Vec<[f64; 2]> = (0..10_000)
            .map(|i| [(i % 100) as f64 * 0.01, 0.5])
            .collect();
        pts.push([0.99, 0.99]);
        let t = thin_scatter(&pts, [1.0, 1.0], 50, 50);
        assert_eq!(t.len(), 51);
        assert!(t.contains(&[0.99, 0.99]));
    }
}
