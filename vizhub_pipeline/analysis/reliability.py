"""Inter-grader reliability: Krippendorff's alpha, ICC, pairwise kappa, per-grader statistics.

Everything works on integer score codes in long form (one entry per counted grade: the
item index, the grader index and the code), so a million grades stay a few numpy arrays.
A dimension is coded 0..V-1: functionality and aesthetics are their score (V = 6); the
overall score (the mean of both, in half steps) is coded as their sum (V = 11).

Methods (also written into ``reliability.json``):

- Krippendorff's alpha, ordinal level, over the full value domain, from the
  ``krippendorff`` package; its interval is a percentile bootstrap over items (units) by
  ``scipy.stats.bootstrap``, each resample's alpha computed from the drawn items'
  coincidence matrices so that one matrix product serves a batch of resamples; resamples
  in which alpha is undefined (one value throughout) are left out.
- ICC(2,1) and ICC(2,k) (Shrout & Fleiss 1979: two-way random effects, absolute
  agreement), computed with numpy from the two-way ANOVA mean squares, only on a fully
  crossed block of items and graders (every grader of the block graded every item).
- Pairwise agreement: quadratic-weighted Cohen's kappa between two graders on the items
  both graded: every pair at once from a few matrix products, equal to scikit-learn's
  ``cohen_kappa_score(weights="quadratic")`` over the full value domain (the tests hold
  them equal; one scikit-learn call per pair costs milliseconds: about a minute for the
  4,950 pairs of 100 graders).
- Per grader: leniency is the mean of (the grader's score - the mean of the other graders
  of that item); agreement is the Spearman correlation (scipy) with that mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ALPHA_METHOD = (
    "Krippendorff's alpha, ordinal level (krippendorff package), value domain 0..5 "
    "(overall: 0, 0.5, ..., 5); interval: percentile bootstrap over items"
)
ICC_METHOD = (
    "ICC(2,1) and ICC(2,k), two-way random effects, absolute agreement (Shrout & Fleiss 1979), "
    "computed with numpy on the largest fully crossed block of items x graders found"
)
KAPPA_METHOD = "quadratic-weighted Cohen's kappa on the items both graders graded"
GRADER_METHOD = (
    "leniency: mean of (grader's overall - mean overall of the other graders of the item); "
    "agreement: Spearman correlation (scipy) with that mean; both over items with another grader"
)


@dataclass(frozen=True)
class Alpha:
    value: float | None
    ci_low: float | None
    ci_high: float | None
    units: int  # items with two or more grades (pairable)
    values: int  # pairable grades

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "units": self.units,
            "values": self.values,
        }


def value_counts(items, codes, n_items: int, n_values: int):
    """``(n_items, n_values)`` matrix: how many graders gave item i the code v."""
    import numpy as np

    flat = np.bincount(
        np.asarray(items, dtype=np.int64) * n_values + np.asarray(codes, dtype=np.int64), minlength=n_items * n_values
    )
    return flat.reshape(n_items, n_values)


def krippendorff_alpha(counts, domain) -> float | None:
    """Ordinal alpha of a value-count matrix with the ``krippendorff`` package; ``None`` when
    undefined (fewer than two pairable grades, or a single value used throughout)."""
    import krippendorff
    import numpy as np

    counts = np.asarray(counts)
    pairable = counts[counts.sum(axis=1) > 1]
    if pairable.sum() < 2 or np.count_nonzero(pairable.sum(axis=0)) < 2:
        return None
    value = krippendorff.alpha(value_counts=pairable, value_domain=list(domain), level_of_measurement="ordinal")
    return float(value)


def _unit_coincidences(counts):
    """Per pairable unit, its flattened coincidence matrix: ``(n_c n_k - [c=k] n_c) / (m - 1)``."""
    import numpy as np

    counts = np.asarray(counts, dtype=np.float64)
    m = counts.sum(axis=1)
    counts = counts[m > 1]
    m = m[m > 1]
    n_values = counts.shape[1]
    outer = counts[:, :, None] * counts[:, None, :]
    outer[:, np.arange(n_values), np.arange(n_values)] -= counts
    return (outer / (m - 1)[:, None, None]).reshape(len(counts), n_values * n_values)


def _ordinal_alpha_from_coincidences(coincidences):
    """Alpha for each of a stack of ``(B, V, V)`` coincidence matrices (ordinal metric,
    Krippendorff 2011); NaN where undefined."""
    import numpy as np

    coincidences = np.asarray(coincidences, dtype=np.float64)
    n_v = coincidences.sum(axis=2)  # (B, V) marginals
    n = n_v.sum(axis=1)  # (B,)
    cum = np.cumsum(n_v, axis=1)
    n_values = n_v.shape[1]
    low, high = np.triu_indices(n_values, k=1)
    # delta(c, k) = (sum_{g=c..k} n_g - (n_c + n_k) / 2) ** 2 for c < k
    between = cum[:, high] - cum[:, low] + n_v[:, low]
    delta = (between - (n_v[:, low] + n_v[:, high]) / 2) ** 2  # (B, pairs)
    observed = 2 * (coincidences[:, low, high] * delta).sum(axis=1)
    expected = 2 * (n_v[:, low] * n_v[:, high] * delta).sum(axis=1) / np.maximum(n - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1 - observed / expected
    alpha[(expected <= 0) | (n < 2)] = np.nan
    return alpha


def alpha_with_interval(counts, domain, *, n_boot: int, confidence: float, rng) -> Alpha:
    """Ordinal alpha of ``counts`` (items x values) with a percentile bootstrap over items."""
    import numpy as np

    everything = {"all": np.arange(len(counts))}
    found = alphas_with_intervals(
        {"x": counts}, {"x": domain}, everything, n_boot=n_boot, confidence=confidence, rng=rng
    )
    return found["all"]["x"]


def alphas_with_intervals(
    counts: dict[str, Any], domains: dict[str, Any], groups: dict[str, Any], *, n_boot: int, confidence: float, rng
) -> dict[str, dict[str, Alpha]]:
    """Ordinal alpha per group of items and per dimension, each with a percentile bootstrap over items.

    ``counts``: per dimension, an items x values count matrix (:func:`value_counts`); every
    dimension has the same grades, so the same items are pairable in each. ``groups``: name ->
    item indices. The point values come from the ``krippendorff`` package. A resample draws a
    group's pairable items with replacement (scipy.stats.bootstrap, each group on its own, the
    dimensions with the same draws); its alpha is computed from the sum of the drawn items'
    coincidence matrices, the same formula as the package (the tests hold them equal), so that
    one matrix product serves a batch of resamples, and one bootstrap serves every group.
    """
    import numpy as np

    from vizhub_pipeline.analysis.resample import count_draws, percentile_interval

    dims = list(counts)
    counts = {dim: np.asarray(counts[dim]) for dim in dims}
    result: dict[str, dict[str, Alpha]] = {}
    samples, matrices, resampled = [], [], []  # per group that gets an interval
    for name, members in groups.items():
        members = np.asarray(members, dtype=np.int64)
        per_unit = counts[dims[0]][members].sum(axis=1)
        pairable = members[per_unit > 1]
        values = int(per_unit[per_unit > 1].sum())
        result[name] = {
            dim: Alpha(krippendorff_alpha(counts[dim][pairable], domains[dim]), None, None, len(pairable), values)
            for dim in dims
        }
        if len(pairable) >= 2 and n_boot > 0 and any(alpha.value is not None for alpha in result[name].values()):
            samples.append(np.arange(len(pairable)))
            # every dimension's coincidence matrices side by side: one matrix product per group and batch
            matrices.append(np.hstack([_unit_coincidences(counts[dim][pairable]) for dim in dims]))
            resampled.append(name)
    if not samples:
        return result
    sizes = [counts[dim].shape[1] for dim in dims]
    edges = np.cumsum([0] + [size * size for size in sizes])

    def resampled_alphas(*draws, axis=-1):
        sums = np.stack(
            [
                count_draws(sample_draws, len(units)).astype(np.float64) @ units  # (resamples, sum of V*V)
                for sample_draws, units in zip(draws, matrices, strict=True)
            ]
        )  # (groups, resamples, sum of V*V)
        groups, resamples = sums.shape[:2]
        return np.stack(
            [
                _ordinal_alpha_from_coincidences(sums[:, :, edges[d] : edges[d + 1]].reshape(-1, size, size)).reshape(
                    groups, resamples
                )
                for d, size in enumerate(sizes)
            ],
            axis=1,
        )  # (groups, dims, resamples)

    lows, highs = percentile_interval(samples, resampled_alphas, n_resamples=n_boot, confidence=confidence, rng=rng)
    for g, name in enumerate(resampled):
        for d, dim in enumerate(dims):
            alpha = result[name][dim]
            if alpha.value is not None and not np.isnan(lows[g, d]):
                result[name][dim] = Alpha(alpha.value, float(lows[g, d]), float(highs[g, d]), alpha.units, alpha.values)
    return result


# --------------------------------------------------------------------------- ICC


def icc_two_way(matrix) -> tuple[float, float] | None:
    """ICC(2,1) and ICC(2,k) of a complete ``(items, graders)`` matrix (Shrout & Fleiss 1979);
    ``None`` with fewer than two items or two graders, or no variance at all."""
    import numpy as np

    x = np.asarray(matrix, dtype=np.float64)
    n, k = x.shape
    if n < 2 or k < 2:
        return None
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_total = ((x - grand) ** 2).sum()
    ms_rows = ss_rows / (n - 1)
    ms_cols = ss_cols / (k - 1)
    ms_error = (ss_total - ss_rows - ss_cols) / ((n - 1) * (k - 1))
    single = ms_rows + (k - 1) * ms_error + k * (ms_cols - ms_error) / n
    average = ms_rows + (ms_cols - ms_error) / n
    if single <= 0 or average <= 0:
        return None
    return float((ms_rows - ms_error) / single), float((ms_rows - ms_error) / average)


def crossed_block(items, graders, n_items: int, n_graders: int, *, candidates: int = 20):
    """A fully crossed block ``(item indices, grader indices)``: for the most frequent sets of
    graders that graded an item, every item graded by all of that set; the block with the most
    grades wins (ties: more graders, then the earlier set). Empty arrays when none has two
    items and two graders."""
    import numpy as np
    from scipy import sparse

    items = np.asarray(items, dtype=np.int64)
    graders = np.asarray(graders, dtype=np.int64)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    if not len(items):
        return empty
    matrix = sparse.csr_matrix((np.ones(len(items), dtype=np.int8), (items, graders)), shape=(n_items, n_graders))
    dense = matrix.toarray().astype(bool) if n_items * n_graders <= 50_000_000 else None
    if dense is None:
        return empty
    counts = dense.sum(axis=1)
    rows = np.flatnonzero(counts >= 2)
    if len(rows) < 2:
        return empty
    patterns, inverse, frequency = np.unique(dense[rows], axis=0, return_inverse=True, return_counts=True)
    order = np.lexsort((np.arange(len(patterns)), -frequency))[:candidates]
    best, best_key = empty, (0, 0)
    for index in order:
        pattern = patterns[index]
        columns = np.flatnonzero(pattern)
        covered = np.flatnonzero(dense[:, columns].all(axis=1))
        key = (len(covered) * len(columns), len(columns))
        if len(covered) >= 2 and len(columns) >= 2 and key > best_key:
            best, best_key = (covered, columns), key
    return best


# --------------------------------------------------------------------------- pairs


def pairwise_kappa(items, graders, scores, n_items: int, n_graders: int):
    """Quadratic-weighted kappa between every two graders over their common items.

    Returns ``(a, b, common, kappa)`` arrays for the pairs with at least one common item
    (``a < b``); kappa is NaN where it is undefined (no variation in the pair's scores).
    Uses ``kappa = 1 - n * sum (x - y)^2 / (n sum x^2 + n sum y^2 - 2 sum x sum y)``, Cohen's
    weighted kappa with weights (x - y)^2 written in the sums that matrix products give for
    every pair at once. It equals ``sklearn.metrics.cohen_kappa_score(x, y, weights="quadratic",
    labels=<every code of the domain>)``; without ``labels`` scikit-learn weighs by the rank among
    the codes present, not by the score distance.
    """
    import numpy as np
    from scipy import sparse

    items = np.asarray(items, dtype=np.int64)
    graders = np.asarray(graders, dtype=np.int64)
    x = np.asarray(scores, dtype=np.float64)
    if n_items * n_graders <= 20_000_000:
        mask_d = np.zeros((n_items, n_graders))
        value_d = np.zeros((n_items, n_graders))
        mask_d[items, graders] = 1.0
        value_d[items, graders] = x
        n = mask_d.T @ mask_d
        sum_x = value_d.T @ mask_d  # [a, b] = sum of a's scores on items b also graded
        sum_xx = (value_d * value_d).T @ mask_d
        cross = value_d.T @ value_d
    else:
        shape = (n_items, n_graders)
        mask = sparse.csc_matrix((np.ones(len(items)), (items, graders)), shape=shape)
        value = sparse.csc_matrix((x, (items, graders)), shape=shape)
        square = sparse.csc_matrix((x * x, (items, graders)), shape=shape)
        n = (mask.T @ mask).toarray()
        sum_x = (value.T @ mask).toarray()
        sum_xx = (square.T @ mask).toarray()
        cross = (value.T @ value).toarray()
    n = np.rint(n)
    a, b = np.triu_indices(n_graders, k=1)
    common = n[a, b]
    keep = common > 0
    a, b, common = a[keep], b[keep], common[keep]
    sx, sy = sum_x[a, b], sum_x[b, a]
    sxx, syy = sum_xx[a, b], sum_xx[b, a]
    sxy = cross[a, b]
    observed = sxx + syy - 2 * sxy
    expected = common * sxx + common * syy - 2 * sx * sy
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = 1 - common * observed / expected
    kappa[expected <= 1e-12] = np.nan
    return a, b, common.astype(np.int64), kappa


# --------------------------------------------------------------------------- graders


@dataclass(frozen=True)
class GraderStats:
    grader: str
    grades: int
    compared: int  # grades on items some other grader also graded
    leniency: float | None
    mean_abs_diff: float | None
    spearman: float | None


def grader_stats(items, graders, overall, names: list[str]) -> list[GraderStats]:
    """Per grader: how many grades, and how they compare with the mean of the other graders."""
    import numpy as np
    from scipy import stats

    items = np.asarray(items, dtype=np.int64)
    graders = np.asarray(graders, dtype=np.int64)
    overall = np.asarray(overall, dtype=np.float64)
    n_items = int(items.max()) + 1 if len(items) else 0
    total = np.bincount(items, weights=overall, minlength=n_items)
    count = np.bincount(items, minlength=n_items)
    others_n = count[items] - 1
    has_others = others_n > 0
    others_mean = np.full(len(items), np.nan)
    others_mean[has_others] = (total[items][has_others] - overall[has_others]) / others_n[has_others]
    order = np.argsort(graders, kind="stable")
    bounds = np.searchsorted(graders[order], np.arange(len(names) + 1))
    out = []
    for index, name in enumerate(names):
        rows = order[bounds[index] : bounds[index + 1]]
        compared = rows[has_others[rows]]
        leniency = mad = rho = None
        if len(compared):
            diff = overall[compared] - others_mean[compared]
            leniency, mad = float(diff.mean()), float(np.abs(diff).mean())
            own, others = overall[compared], others_mean[compared]
            if len(compared) >= 3 and np.ptp(own) > 0 and np.ptp(others) > 0:
                rho = float(stats.spearmanr(own, others).statistic)
        out.append(GraderStats(name, len(rows), len(compared), leniency, mad, rho))
    return out
