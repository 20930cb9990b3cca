//! How well predictions match targets: accuracy for classes, R², MAE and the largest
//! error for real values. One definition for the importer's report and `verdict model eval`.

/// Fit of real-valued predictions to targets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegressionScore {
    /// Coefficient of determination, `1 - SS_res / SS_tot` (as scikit-learn's `r2_score`;
    /// 1.0 for a perfect fit, 0.0 when the targets are constant and matched exactly, and
    /// 0.0 for an imperfect fit of constant targets).
    pub r2: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Largest absolute error.
    pub max_abs_error: f64,
}

/// Scores `predicted` against `actual` (same length; an empty input scores 0 everywhere).
pub fn regression_score(predicted: &[f64], actual: &[f64]) -> RegressionScore {
    let n = predicted.len().min(actual.len());
    if n == 0 {
        return RegressionScore {
            r2: 0.0,
            mae: 0.0,
            max_abs_error: 0.0,
        };
    }
    let mean = actual[..n].iter().sum::<f64>() / n as f64;
    let (mut ss_res, mut ss_tot, mut abs_sum, mut max_abs) = (0.0, 0.0, 0.0, 0.0f64);
    for (&p, &a) in predicted.iter().zip(actual) {
        let e = p - a;
        ss_res += e * e;
        ss_tot += (a - mean) * (a - mean);
        abs_sum += e.abs();
        max_abs = max_abs.max(e.abs());
    }
    let r2 = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else if ss_res == 0.0 {
        1.0
    } else {
        0.0
    };
    RegressionScore {
        r2,
        mae: abs_sum / n as f64,
        max_abs_error: max_abs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_mean_predictions() {
        let y = [1.0, 2.0, 3.0, 4.0];
        let s = regression_score(&y, &y);
        assert_eq!((s.r2, s.mae, s.max_abs_error), (1.0, 0.0, 0.0));
        // Predicting the mean everywhere explains nothing: r2 = 0.
        let s = regression_score(&[2.5; 4], &y);
        assert_eq!(s.r2, 0.0);
        assert_eq!(s.mae, 1.0);
        assert_eq!(s.max_abs_error, 1.5);
    }

    #[test]
    fn matches_a_hand_computed_case() {
        // y = [3, -0.5, 2, 7], p = [2.5, 0, 2, 8]: scikit-learn's r2_score gives 0.9486081370449679.
        let s = regression_score(&[2.5, 0.0, 2.0, 8.0], &[3.0, -0.5, 2.0, 7.0]);
        assert!((s.r2 - 0.948_608_137_044_967_9).abs() < 1e-12, "{}", s.r2);
        assert!((s.mae - 0.5).abs() < 1e-12);
        assert_eq!(s.max_abs_error, 1.0);
    }
}
