"""Intervals of a proportion, shared by the leaderboards and the report."""

from __future__ import annotations


def wilson_interval(successes: int, trials: int, confidence: float) -> tuple[float | None, float | None]:
    """The Wilson score interval of ``successes`` out of ``trials`` (scipy); ``(None, None)`` for no trials."""
    if trials <= 0:
        return None, None
    from scipy.stats import binomtest

    interval = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)
