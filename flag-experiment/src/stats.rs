//! The statistics of a treatment against control: intervals, differences, p-values, Holm's
//! adjustment and the sample-ratio check, on `statrs` distributions.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

/// The two-sided 95 % normal quantile.
fn z95() -> f64 {
    Normal::new(0.0, 1.0)
        .expect("the standard normal")
        .inverse_cdf(0.975)
}

/// A per-entity sample summarised: size, mean and sample variance (n - 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Entities.
    pub n: usize,
    /// Mean of their values.
    pub mean: f64,
    /// Sample variance (`n - 1` in the denominator; 0 for fewer than two).
    pub variance: f64,
}

impl Summary {
    /// The summary of `values`, by Welford's method (stable for large sums).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Summary {
        let (mut n, mut mean, mut m2) = (0usize, 0.0, 0.0);
        for x in values {
            n += 1;
            let delta = x - mean;
            mean += delta / n as f64;
            m2 += delta * (x - mean);
        }
        Summary {
            n,
            mean: if n == 0 { f64::NAN } else { mean },
            variance: if n > 1 { m2 / (n - 1) as f64 } else { 0.0 },
        }
    }
}

/// A difference to control: the estimate, its 95 % interval and the two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Difference {
    /// Treatment minus control.
    pub diff: f64,
    /// 95 % interval of the difference.
    pub ci95: (f64, f64),
    /// Two-sided p-value of "no difference".
    pub p_value: f64,
}

/// The Wilson score 95 % interval of `successes` out of `n`.
pub fn wilson(successes: usize, n: usize) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (z, n, p) = (z95(), n as f64, successes as f64 / n as f64);
    let denominator = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denominator;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// The t 95 % interval of a mean, with `n - 1` degrees of freedom.
pub fn t_interval(s: &Summary) -> Option<(f64, f64)> {
    if s.n < 2 {
        return None;
    }
    let df = (s.n - 1) as f64;
    let t = StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf(0.975);
    let half = t * (s.variance / s.n as f64).sqrt();
    Some((s.mean - half, s.mean + half))
}

/// Proportions: the difference `x1/n1 - x0/n0` with its unpooled Wald interval, and the pooled
/// two-proportion z-test.
pub fn proportions(x1: usize, n1: usize, x0: usize, n0: usize) -> Option<Difference> {
    if n1 == 0 || n0 == 0 {
        return None;
    }
    let (p1, p0) = (x1 as f64 / n1 as f64, x0 as f64 / n0 as f64);
    let diff = p1 - p0;
    let se = (p1 * (1.0 - p1) / n1 as f64 + p0 * (1.0 - p0) / n0 as f64).sqrt();
    let z = z95();
    let pooled = (x1 + x0) as f64 / (n1 + n0) as f64;
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n0 as f64)).sqrt();
    let p_value = if se_pooled == 0.0 {
        // Every entity converted, or none did, in both: no evidence of a difference.
        1.0
    } else {
        2.0 * (1.0 - standard_normal_cdf((diff / se_pooled).abs()))
    };
    Some(Difference {
        diff,
        ci95: (diff - z * se, diff + z * se),
        p_value,
    })
}

/// Means: the difference with its Welch-Satterthwaite interval, and Welch's t-test.
pub fn welch(treatment: &Summary, control: &Summary) -> Option<Difference> {
    if treatment.n < 2 || control.n < 2 {
        return None;
    }
    let diff = treatment.mean - control.mean;
    let (a, b) = (
        treatment.variance / treatment.n as f64,
        control.variance / control.n as f64,
    );
    let se = (a + b).sqrt();
    if se == 0.0 {
        // No variance on either side: the difference is exact.
        let p_value = if diff == 0.0 { 1.0 } else { 0.0 };
        return Some(Difference {
            diff,
            ci95: (diff, diff),
            p_value,
        });
    }
    let df = (a + b).powi(2) / (a * a / (treatment.n - 1) as f64 + b * b / (control.n - 1) as f64);
    let t = StudentsT::new(0.0, 1.0, df).ok()?;
    let half = t.inverse_cdf(0.975) * se;
    let p_value = 2.0 * (1.0 - t.cdf((diff / se).abs()));
    Some(Difference {
        diff,
        ci95: (diff - half, diff + half),
        p_value,
    })
}

/// Holm's step-down adjustment of `p_values` (`None`s are left out and stay `None`).
pub fn holm(p_values: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut order: Vec<(usize, f64)> = p_values
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| (i, p)))
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let m = order.len();
    let mut adjusted = vec![None; p_values.len()];
    let mut running = 0.0f64;
    for (rank, (index, p)) in order.into_iter().enumerate() {
        running = running.max(((m - rank) as f64 * p).min(1.0));
        adjusted[index] = Some(running);
    }
    adjusted
}

/// The sample-ratio check: the chi-square goodness-of-fit p-value of `observed` counts against
/// the expected shares `weights` (relative). `None` with fewer than two groups or no entity.
pub fn sample_ratio(observed: &[u64], weights: &[f64]) -> Option<f64> {
    let total: u64 = observed.iter().sum();
    let weight: f64 = weights.iter().sum();
    if observed.len() < 2 || observed.len() != weights.len() || total == 0 || weight <= 0.0 {
        return None;
    }
    let mut statistic = 0.0;
    let mut groups = 0;
    for (&o, &w) in observed.iter().zip(weights) {
        let expected = total as f64 * w / weight;
        if expected > 0.0 {
            statistic += (o as f64 - expected).powi(2) / expected;
            groups += 1;
        } else if o > 0 {
            // Entities in a treatment of weight 0: as mismatched as it gets.
            return Some(0.0);
        }
    }
    if groups < 2 {
        return None;
    }
    let chi = ChiSquared::new((groups - 1) as f64).ok()?;
    Some(1.0 - chi.cdf(statistic))
}

fn standard_normal_cdf(x: f64) -> f64 {
    Normal::new(0.0, 1.0).expect("the standard normal").cdf(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    /// Welch's t-test on fixed data, against SciPy 1.17.1:
    /// `scipy.stats.ttest_ind(a, b, equal_var=False)` and its `confidence_interval(0.95)`.
    #[test]
    fn welch_matches_scipy() {
        let a = [
            27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7,
            21.4,
        ];
        let b = [
            27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5,
            24.4,
        ];
        let d = welch(&Summary::of(a), &Summary::of(b)).unwrap();
        assert!(close(d.diff, -2.166_666_7, 1e-6), "{d:?}");
        assert!(close(d.p_value, 0.021_378_0, 1e-6), "{d:?}");
        assert!(close(d.ci95.0, -3.984_096, 1e-5), "{d:?}");
        assert!(close(d.ci95.1, -0.349_237, 1e-5), "{d:?}");
    }

    /// The pooled two-proportion z-test, the unpooled Wald interval and the Wilson interval,
    /// against SciPy 1.17.1 (`norm.cdf` of the pooled z; `binomtest(120, 1000)
    /// .proportion_ci(method="wilson")`).
    #[test]
    fn proportions_match_known_values() {
        let d = proportions(120, 1000, 100, 1000).unwrap();
        assert!(close(d.diff, 0.02, 1e-12));
        assert!(close(d.p_value, 0.152_917_8, 1e-6), "{d:?}");
        assert!(
            close(d.ci95.0, -0.007_411_5, 1e-6) && close(d.ci95.1, 0.047_411_5, 1e-6),
            "{d:?}"
        );
        let (lo, hi) = wilson(120, 1000).unwrap();
        assert!(
            close(lo, 0.101_299_3, 1e-6) && close(hi, 0.141_609_1, 1e-6),
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 0), None);
        let (lo, hi) = wilson(0, 10).unwrap();
        assert!(
            lo.abs() < 1e-12 && close(hi, 0.277_532_3, 1e-6),
            "{lo} {hi}"
        );
    }

    #[test]
    fn holm_steps_down_and_keeps_order() {
        let adjusted = holm(&[Some(0.01), Some(0.04), None, Some(0.03)]);
        assert_eq!(adjusted[2], None);
        assert!(close(adjusted[0].unwrap(), 0.03, 1e-12));
        assert!(close(adjusted[3].unwrap(), 0.06, 1e-12));
        assert!(
            close(adjusted[1].unwrap(), 0.06, 1e-12),
            "monotone: {adjusted:?}"
        );
    }

    /// A classic SRM case: 50/50 expected, 5,000 against 5,200 observed (SciPy 1.17.1
    /// `chisquare`: p = 0.0476704); 5,000 against 5,600 is a mismatch (p = 5.6e-9).
    #[test]
    fn sample_ratio() {
        let p = super::sample_ratio(&[5000, 5200], &[1.0, 1.0]).unwrap();
        assert!(close(p, 0.047_670_4, 1e-6), "{p}");
        assert!(super::sample_ratio(&[5000, 5600], &[1.0, 1.0]).unwrap() < 0.001);
        assert_eq!(super::sample_ratio(&[10], &[1.0]), None);
        assert_eq!(super::sample_ratio(&[0, 0], &[1.0, 1.0]), None);
        assert_eq!(super::sample_ratio(&[5, 1], &[1.0, 0.0]), Some(0.0));
    }

    #[test]
    fn degenerate_samples_give_no_invented_numbers() {
        assert_eq!(t_interval(&Summary::of([1.0])), None);
        assert_eq!(welch(&Summary::of([1.0]), &Summary::of([1.0, 2.0])), None);
        let flat = welch(&Summary::of([2.0, 2.0]), &Summary::of([1.0, 1.0])).unwrap();
        assert_eq!((flat.diff, flat.ci95, flat.p_value), (1.0, (1.0, 1.0), 0.0));
        assert_eq!(proportions(0, 0, 1, 2), None);
        assert_eq!(proportions(5, 5, 5, 5).unwrap().p_value, 1.0);
    }
}
