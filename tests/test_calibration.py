"""mcdrop.calibration against simulated calibrated and over-confident predictions."""

import numpy as np
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


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="std must be > 0"):
        calibration.interval_coverage([0.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="levels"):
        calibration.interval_coverage([0.0], [1.0], [0.0], [1.5])
    with pytest.raises(ValueError, match="mean has 2 rows but y has 1"):
        calibration.gaussian_log_likelihood([0.0, 1.0], [1.0, 1.0], [0.0])
