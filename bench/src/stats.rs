//! Percentiles of measured samples, and min/median/max across repeated runs.

use serde::{Deserialize, Serialize};

/// The distribution of one run's samples (milliseconds, or whatever unit the caller measured).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of samples.
    pub count: usize,
    /// Smallest sample.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

impl Summary {
    /// Summarises `samples`; `None` when there are none.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Summary {
            count: sorted.len(),
            min: sorted[0],
            p50: percentile(&sorted, 50.0),
            p95: percentile(&sorted, 95.0),
            p99: percentile(&sorted, 99.0),
            max: sorted[sorted.len() - 1],
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
        })
    }
}

/// Nearest-rank percentile of an ascending, non-empty slice: the smallest sample with at least `p` percent
/// of the samples at or below it (so p99 of 1,000 samples is the 990th).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Min, median and max of one figure across repeated runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Lowest run.
    pub min: f64,
    /// Median run (the lower middle for an even count).
    pub median: f64,
    /// Highest run.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Spread {
            min: sorted[0],
            median: sorted[(sorted.len() - 1) / 2],
            max: sorted[sorted.len() - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<f64> = (1..=1000).map(f64::from).collect();
        let s = Summary::of(&samples).expect("samples");
        assert_eq!(
            (s.min, s.p50, s.p95, s.p99, s.max),
            (1.0, 500.0, 950.0, 990.0, 1000.0)
        );
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[3.0]).map(|s| s.p99), Some(3.0));
    }

    #[test]
    fn spread_of_runs() {
        let s = Spread::of(&[5.0, 1.0, 3.0]).expect("runs");
        assert_eq!((s.min, s.median, s.max), (1.0, 3.0, 5.0));
        assert_eq!(Spread::of(&[2.0, 1.0]).map(|s| s.median), Some(1.0));
    }
}
