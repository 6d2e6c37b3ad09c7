"""mcdrop.calibration against simulated calibrated and over-confident predictions."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mcdrop import calibration

LEVELS = np.array([0.5, 0.8, 0.95])


def test_calibrated_gaussian_predictions_cover_their_levels():
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=50_000), rng.uniform(0.5, 2.0, 50_000)
    y = mean + std * rng.standard_normal(50_000)
    coverage = calibration.interval_coverage(mean, std, y, LEVELS)
    assert np.all(np.abs(coverage - LEVELS) < 4 * np.sqrt(LEVELS * (1 - LEVELS) / 50_000))
    over_confident = calibration.interval_coverage(mean, std / 2, y, LEVELS)
    assert np.all(over_confident < LEVELS - 0.1)


def test_hand_computed_coverage_and_log_likelihood():
    coverage = calibration.interval_coverage([0.0, 0.0], [1.0, 1.0], [0.5, 1.0], [0.5])
    assert coverage.tolist() == [0.5]  # |0.5| ≤ 0.674 but |1.0| > 0.674
    ll = calibration.gaussian_log_likelihood([1.0], [2.0], [0.0])
    assert ll[0] == pytest.approx(stats.norm(1.0, 2.0).logpdf(0.0))


@pytest.mark.parametrize("n_bins", [1, 4, 5, 10])
def test_quantile_bins_match_pandas_qcut(n_bins):
    values = np.random.default_rng(n_bins).lognormal(size=1_003)
    bins = calibration.quantile_bins(values, n_bins)
    assert bins.tolist() == pd.qcut(values, n_bins, labels=False).tolist()
    assert np.all(np.diff(bins[np.argsort(values)]) >= 0)
    assert np.bincount(bins).max() - np.bincount(bins).min() <= 1


def test_quantile_bins_of_a_permutation_are_integer_division():
    values = np.random.default_rng(0).permutation(100)
    assert calibration.quantile_bins(values, 10).tolist() == (values // 10).tolist()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="std must be > 0"):
        calibration.interval_coverage([0.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="levels"):
        calibration.interval_coverage([0.0], [1.0], [0.0], [1.5])
    with pytest.raises(ValueError, match="mean has 2 rows but y has 1"):
        calibration.gaussian_log_likelihood([0.0, 1.0], [1.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="n_bins must be at most the 2 values"):
        calibration.quantile_bins([0.0, 1.0], 3)
