"""The one resampling helper against scipy.stats.bootstrap itself."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vizhub_pipeline.analysis.resample import count_draws, percentile_interval


def mean_of_each(*samples, axis=-1):
    return np.stack([sample.mean(axis=axis) for sample in samples])


def test_one_sample_gives_scipys_percentile_interval():
    data = np.array([2.0, 3.5, 4.0, 1.0, 5.0, 3.0, 2.5])
    low, high = percentile_interval(
        (data,), mean_of_each, n_resamples=400, confidence=0.9, rng=np.random.default_rng(3)
    )
    reference = stats.bootstrap(
        (data,), np.mean, n_resamples=400, confidence_level=0.9, method="percentile", rng=np.random.default_rng(3)
    ).confidence_interval
    assert (low[0], high[0]) == (pytest.approx(reference.low, abs=1e-12), pytest.approx(reference.high, abs=1e-12))


def test_several_samples_are_resampled_each_on_its_own():
    # a stratified bootstrap: the statistic of two strata, against scipy with the same draws
    first, second = np.array([1.0, 2.0, 4.0]), np.array([3.0, 3.0, 5.0, 0.0])

    def difference(a, b, axis=-1):
        return a.mean(axis=axis) - b.mean(axis=axis)

    low, high = percentile_interval(
        (first, second), difference, n_resamples=500, confidence=0.95, rng=np.random.default_rng(8)
    )
    reference = stats.bootstrap(
        (first, second), difference, n_resamples=500, method="percentile", rng=np.random.default_rng(8)
    ).confidence_interval
    assert (low, high) == (pytest.approx(reference.low, abs=1e-12), pytest.approx(reference.high, abs=1e-12))


@pytest.mark.filterwarnings("ignore::scipy.stats.DegenerateDataWarning")  # scipy's own NaN interval, below
def test_resamples_where_the_statistic_is_undefined_are_left_out():
    data = np.array([0.0, 1.0, 2.0, 3.0])

    def mean_unless_zero_drawn(sample, axis=-1):
        values = sample.mean(axis=axis)
        return np.where((sample == 0).any(axis=axis), np.nan, values)

    low, high = percentile_interval(
        (data,), mean_unless_zero_drawn, n_resamples=300, confidence=0.9, rng=np.random.default_rng(1)
    )
    result = stats.bootstrap(
        (data,), mean_unless_zero_drawn, n_resamples=300, method="percentile", rng=np.random.default_rng(1)
    )
    distribution = result.bootstrap_distribution
    defined = distribution[~np.isnan(distribution)]
    assert 0 < len(defined) < len(distribution)
    assert (low, high) == (pytest.approx(np.percentile(defined, 5)), pytest.approx(np.percentile(defined, 95)))
    assert low >= 1.0  # every resample holding the 0 is out


def test_a_statistic_never_defined_gives_nan():
    low, high = percentile_interval(
        (np.array([1.0, 2.0]),),
        lambda sample, axis=-1: np.full(sample.shape[0], np.nan),
        n_resamples=50,
        confidence=0.95,
        rng=np.random.default_rng(0),
    )
    assert np.isnan(low) and np.isnan(high)


def test_count_draws():
    counts = count_draws(np.array([[0, 0, 2], [1, 2, 2]]), 4)
    assert counts.tolist() == [[2, 0, 1, 0], [0, 1, 2, 0]]
