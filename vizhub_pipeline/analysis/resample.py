"""Percentile bootstrap intervals, the one resampling helper of the analysis.

Every interval the aggregate stage bootstraps (Krippendorff's alpha, the leaderboard's
scores) goes through :func:`percentile_interval`, which leaves the resampling to
``scipy.stats.bootstrap``: each sample is resampled with replacement on its own (so
several samples make a stratified bootstrap), in batches that bound the memory used.
The interval is the percentile interval of the bootstrap distribution; a resample whose
statistic is undefined (NaN, e.g. alpha when a resample holds one value only) is left out
of that statistic's percentiles, which otherwise equal scipy's own ``method="percentile"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

# resampled observations held in memory at once (per batch of resamples): 32 MB of indices;
# larger batches mean fewer, larger matrix products in the statistics
OBSERVATIONS_PER_BATCH = 4_000_000


def percentile_interval(
    samples: Sequence[Any],
    statistic: Callable[..., Any],
    *,
    n_resamples: int,
    confidence: float,
    rng: Any,
) -> tuple[Any, Any]:
    """``(low, high)`` arrays shaped like one value of ``statistic``; NaN where no resample defines it.

    ``samples``: arrays whose last axis holds the observations (two or more each).
    ``statistic(*resamples, axis=-1)``: receives each sample resampled, with a resample axis
    before the observation axis, and returns its value(s) with the resamples on the last axis.
    """
    import warnings

    import numpy as np
    from scipy import stats

    samples = tuple(np.asarray(sample) for sample in samples)
    observations = sum(sample.size for sample in samples)
    batch = max(1, OBSERVATIONS_PER_BATCH // max(observations, 1))
    with warnings.catch_warnings():
        # NaN resamples make scipy's own interval NaN and warn; they are left out below instead
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        result = stats.bootstrap(
            samples,
            statistic,
            n_resamples=n_resamples,
            batch=batch,
            vectorized=True,
            axis=-1,
            confidence_level=confidence,
            method="percentile",
            rng=rng,
        )
    distribution = np.asarray(result.bootstrap_distribution, dtype=np.float64)
    tail = (1 - confidence) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a statistic undefined in every resample
        low, high = np.nanpercentile(distribution, [tail, 100 - tail], axis=-1)
    return low, high


def count_draws(draws: Any, n_units: int) -> Any:
    """``(resamples, n_units)`` counts of how often each unit index occurs in each row of ``draws``.

    Lets a statistic that is a sum over units (coincidence matrices, weighted means) take a
    resample of unit indices as one matrix product.
    """
    import numpy as np

    draws = np.asarray(draws, dtype=np.int64)
    rows = draws.shape[0]
    offsets = (np.arange(rows, dtype=np.int64) * n_units)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=rows * n_units).reshape(rows, n_units)
