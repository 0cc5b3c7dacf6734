//! Order statistics of a sample: min, median, p99 (nearest rank), max and mean.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The summary of one sample, in the unit of its entry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Summary {
    /// Sample size.
    pub(crate) n: usize,
    /// Smallest value.
    pub(crate) min: f64,
    /// Median (mean of the two middle values for an even sample).
    pub(crate) median: f64,
    /// 99th percentile, nearest-rank: the smallest value with at least 99 % of the sample at or below it.
    pub(crate) p99: f64,
    /// Largest value.
    pub(crate) max: f64,
    /// Arithmetic mean.
    pub(crate) mean: f64,
}

impl Summary {
    /// Summarises `values`; `None` for an empty sample or one holding a NaN.
    pub(crate) fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() || values.iter().any(|v| v.is_nan()) {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Self {
            n,
            min: sorted[0],
            median,
            p99: sorted[nearest_rank(n, 99)],
            max: sorted[n - 1],
            mean: sorted.iter().sum::<f64>() / n as f64,
        })
    }

    /// Summarises durations in milliseconds.
    pub(crate) fn of_millis(durations: &[Duration]) -> Option<Self> {
        let millis: Vec<f64> = durations.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        Self::of(&millis)
    }
}

/// The 0-based index of the `percent`-th percentile of a sorted sample of `n > 0` values (nearest rank:
/// `ceil(percent / 100 * n)`, 1-based).
fn nearest_rank(n: usize, percent: usize) -> usize {
    (percent * n).div_ceil(100).clamp(1, n) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_sample_has_no_summary() {
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn a_sample_with_nan_has_no_summary() {
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn a_single_value_is_every_statistic() {
        let s = Summary::of(&[4.5]).unwrap();
        assert_eq!(
            (s.n, s.min, s.median, s.p99, s.max, s.mean),
            (1, 4.5, 4.5, 4.5, 4.5, 4.5)
        );
    }

    #[test]
    fn the_median_of_an_odd_sample_is_its_middle_value_whatever_the_input_order() {
        let s = Summary::of(&[9.0, 1.0, 5.0, 3.0, 7.0]).unwrap();
        assert_eq!(s.median, 5.0);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 9.0);
        assert_eq!(s.mean, 5.0);
    }

    #[test]
    fn the_median_of_an_even_sample_is_the_mean_of_the_two_middle_values() {
        let s = Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.median, 2.5);
    }

    #[test]
    fn p99_of_a_hundred_values_is_the_ninety_ninth_smallest() {
        let values: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(Summary::of(&values).unwrap().p99, 99.0);
    }

    #[test]
    fn p99_of_a_small_sample_is_its_maximum() {
        let values: Vec<f64> = (1..=50).map(f64::from).collect();
        assert_eq!(Summary::of(&values).unwrap().p99, 50.0);
    }

    #[test]
    fn p99_of_two_hundred_values_skips_only_the_two_largest() {
        let values: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(Summary::of(&values).unwrap().p99, 198.0);
    }

    #[test]
    fn p99_lands_on_a_single_outlier_once_it_is_more_than_one_percent_of_the_sample() {
        let mut values = vec![1.0; 99];
        values.push(1000.0);
        assert_eq!(Summary::of(&values).unwrap().p99, 1.0);
        values.truncate(98);
        values.push(1000.0);
        assert_eq!(Summary::of(&values).unwrap().p99, 1000.0);
    }

    #[test]
    fn durations_are_summarised_in_milliseconds() {
        let s =
            Summary::of_millis(&[Duration::from_micros(1500), Duration::from_millis(3)]).unwrap();
        assert_eq!(s.min, 1.5);
        assert_eq!(s.max, 3.0);
        assert_eq!(s.median, 2.25);
    }
}
