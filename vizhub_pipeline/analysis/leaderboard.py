"""The per-model leaderboard: human scores with bootstrap intervals, automated results, cost.

A model's human score is the mean over the challenges it was graded on of its mean output
consensus in each (an output's consensus is the mean of its graders' scores).

Intervals come from a percentile bootstrap (:mod:`~vizhub_pipeline.analysis.resample`) that
resamples the highest level of the design with enough units and holds the levels above it
fixed (Davison & Hinkley 1997, section 3.8: resample the top level; lower-level noise is
already inside each unit's mean):

- ``challenges`` when at least :data:`MIN_CHALLENGES` challenges are graded: each model's
  graded challenges are drawn with replacement. The interval speaks for other challenges
  like these. A model graded on fewer challenges has none.
- ``grades`` when fewer challenges are graded: a percentile interval over a handful of
  challenges is far too narrow (over 3 it covers about 75% where it claims 95%; over 10
  about 90%), and with one challenge it has zero width. Each output's grades are drawn with
  replacement among themselves instead, challenges and outputs held fixed: the interval
  shows how much the score rests on which graders graded. A model with an output graded
  once has none (one grade shows no spread).

Rank = 1 + the number of models whose lower bound is above this model's upper bound (on
the overall score); a model without an interval has no rank.

Automated results are counted per kind of challenge: render and check rates over the
outputs of ``visualization`` challenges, the test pass rate over the outputs of ``code``
challenges whose test ran on the current artifact (``passed`` passes; ``failed``, ``error``
and ``timeout`` do not), with a Wilson score interval (:data:`TEST_INTERVAL_METHOD`).
"""

from __future__ import annotations

from typing import Any

from vizhub_pipeline.core.params import AggregateParams
from vizhub_pipeline.core.proportions import wilson_interval
from vizhub_pipeline.core.records import DIMENSIONS

# fewest graded challenges for an interval over challenges; see the module docstring
MIN_CHALLENGES = 10

LEADERBOARD_COLUMNS = (
    ["rank", "model", "items", "graded_items", "grades"]
    + [f"{dim}_{stat}" for dim in DIMENSIONS for stat in ("mean", "ci_low", "ci_high")]
    + ["interval_unit", "interval_note"]
    + [
        "generation_ok_rate",
        "renders",
        "render_rate",
        "checks_passed",
        "checks_total",
        "check_pass_rate",
        "tests_passed",
        "tests_total",
        "test_pass_rate",
        "test_ci_low",
        "test_ci_high",
        "tokens_in_per_item",
        "tokens_out_per_item",
        "cost_per_item",
        "cost_total",
    ]
)

TEST_INTERVAL_METHOD = (
    "Wilson score interval (scipy.stats.binomtest) of the share of a model's code-challenge outputs whose "
    "test passed; outputs are independent of each other"
)

SCORE_TEXT = (
    "Score: a model's mean over the challenges it was graded on of its mean output consensus "
    "(an output's consensus is the mean of its graders' scores). "
)
RANK_TEXT = (
    "Rank: 1 + the number of models whose lower bound (overall) is above this model's upper bound; "
    "a model without an interval has no rank."
)


def leaderboard_method(unit: str | None, graded_challenges: int, params: AggregateParams) -> str:
    """The method text written beside the leaderboard (``reliability.json``) and printed by the report."""
    if unit is None:
        return SCORE_TEXT + "No output has a human grade yet: no score, interval or rank. " + RANK_TEXT
    if params.bootstrap <= 0:
        return SCORE_TEXT + "No intervals: aggregate.bootstrap is 0. " + RANK_TEXT
    level = f"{params.confidence * 100:g}%"
    bootstrap = f"{level} percentile bootstrap (scipy.stats.bootstrap, {params.bootstrap} resamples)"
    if unit == "challenges":
        interval = (
            f"Interval: {bootstrap} over challenges: each model's graded challenges are drawn with replacement, "
            "so it shows how the score could differ on other challenges like these; grader disagreement is "
            f"inside each challenge's mean. A model graded on fewer than {MIN_CHALLENGES} challenges has none "
            f"(over fewer, a {level} percentile interval covers much less than {level}). "
        )
    else:
        interval = (
            f"Interval: {graded_challenges} challenge(s) graded, too few to resample challenges (at least "
            f"{MIN_CHALLENGES} needed), so it is a {bootstrap} over grades: each output's grades are drawn "
            "with replacement among themselves, challenges and outputs held fixed. It shows how much the score "
            "rests on which graders graded, not how it would change on other challenges, and with few grades "
            "per output it is narrow. A model with an output graded once has none. "
        )
    return SCORE_TEXT + interval + RANK_TEXT


def build_leaderboard(items, summary: dict, counted, params: AggregateParams, rng) -> dict[str, Any]:
    """``{"unit": "challenges" | "grades" | None, "method": ..., "rows": [row dict per model]}``."""
    import numpy as np

    models = sorted({key[1] for key in items.keys})
    challenges = sorted({key[0] for key in items.keys})
    model_index = {model: i for i, model in enumerate(models)}
    challenge_index = {challenge: i for i, challenge in enumerate(challenges)}
    item_model = np.asarray([model_index[key[1]] for key in items.keys], dtype=np.int64)
    item_challenge = np.asarray([challenge_index[key[0]] for key in items.keys], dtype=np.int64)
    n = summary["overall"]["n"] if len(items) else np.zeros(0)
    graded = np.flatnonzero(n > 0)
    graded_challenges = len(np.unique(item_challenge[graded]))
    unit = None if not len(graded) else "challenges" if graded_challenges >= MIN_CHALLENGES else "grades"

    # (challenge, model) means of the item consensus, per dimension: (C, M, 3)
    cells = np.stack(
        [
            _cell_means(item_challenge[graded], item_model[graded], summary[dim]["mean"][graded], challenges, models)
            for dim in DIMENSIONS
        ],
        axis=-1,
    )
    present = ~np.isnan(cells[:, :, 0])
    with np.errstate(invalid="ignore"):
        means = np.where(present[:, :, None], cells, 0).sum(axis=0) / present.sum(axis=0)[:, None]  # (M, 3)
    low = np.full((len(models), len(DIMENSIONS)), np.nan)
    high = np.full((len(models), len(DIMENSIONS)), np.nan)
    notes = [""] * len(models)
    if unit is not None:
        if params.bootstrap <= 0:
            notes = ["no interval: aggregate.bootstrap is 0"] * len(models)
        elif unit == "challenges":
            _intervals_over_challenges(cells, present, params, rng, low, high, notes)
        else:
            _intervals_over_grades(counted, item_model, item_challenge, len(items), params, rng, low, high, notes)

    grades_per_item = np.bincount(counted.item, minlength=len(items)) if len(items) else np.zeros(0, dtype=np.int64)
    rows = []
    for m, model in enumerate(models):
        mine = np.flatnonzero(item_model == m)
        scored = bool(present[:, m].any())
        row: dict[str, Any] = {
            "model": model,
            "items": len(mine),
            "graded_items": int((n[mine] > 0).sum()),
            "grades": int(grades_per_item[mine].sum()),
        }
        for d, dim in enumerate(DIMENSIONS):
            row[f"{dim}_mean"] = _num(means[m, d]) if scored else None
            row[f"{dim}_ci_low"], row[f"{dim}_ci_high"] = _num(low[m, d]), _num(high[m, d])
        row["interval_unit"] = unit if scored and params.bootstrap > 0 else None
        row["interval_note"] = (notes[m] or None) if scored else None
        row.update(_automated(items, mine, params.confidence))
        rows.append(row)
    _assign_ranks(rows)
    rows.sort(
        key=lambda r: (
            r["rank"] is None,
            r["rank"] or 0,
            r["overall_mean"] is None,
            -(r["overall_mean"] or 0),
            r["model"],
        )
    )
    return {"unit": unit, "method": leaderboard_method(unit, graded_challenges, params), "rows": rows}


def _intervals_over_challenges(cells, present, params: AggregateParams, rng, low, high, notes: list[str]) -> None:
    """Each model's challenge means (``cells``: challenges x models x dimensions) resampled on their own."""
    import numpy as np

    from vizhub_pipeline.analysis.resample import percentile_interval

    samples, kept = [], []
    for m in range(cells.shape[1]):
        rows = np.flatnonzero(present[:, m])
        if len(rows) >= MIN_CHALLENGES:
            samples.append(cells[rows, m, :].T)  # (3, challenges of m)
            kept.append(m)
        elif len(rows):
            notes[m] = f"graded on {len(rows)} challenge(s); an interval over challenges needs {MIN_CHALLENGES}"
    if not kept:
        return

    def mean_per_model(*resamples, axis=-1):
        return np.stack([resample.mean(axis=axis) for resample in resamples])  # (models, 3, resamples)

    lows, highs = percentile_interval(
        samples, mean_per_model, n_resamples=params.bootstrap, confidence=params.confidence, rng=rng
    )
    low[kept], high[kept] = lows, highs


def _intervals_over_grades(
    counted, item_model, item_challenge, n_items: int, params: AggregateParams, rng, low, high, notes: list[str]
) -> None:
    """Each output's grades resampled among themselves (stratified by output); the score recomputed."""
    import numpy as np

    from vizhub_pipeline.analysis.resample import percentile_interval

    per_item = np.bincount(counted.item, minlength=n_items)
    graded = per_item > 0
    kept = []
    for m in range(len(notes)):
        mine = graded & (item_model == m)
        once = int((per_item[mine] == 1).sum())
        if once:
            notes[m] = f"{once} output(s) graded once; an interval over grades needs two or more grades per output"
        elif mine.any():
            kept.append(m)
    if not kept:
        return
    scores = np.stack([counted.scores(dim) for dim in DIMENSIONS])  # (3, grades)
    order = np.argsort(counted.item, kind="stable")
    starts = np.concatenate([[0], np.cumsum(per_item)])
    kept_items = np.flatnonzero(graded & np.isin(item_model, kept))
    samples = [scores[:, order[starts[i] : starts[i + 1]]] for i in kept_items]  # (3, grades of item i)
    # score of model m = sum over its items of weight * item mean, weight = 1 / (challenges of m * its items there)
    weights = np.zeros((len(kept), len(kept_items)))
    for row, m in enumerate(kept):
        mine = item_model[kept_items] == m
        cells, per_cell = np.unique(item_challenge[kept_items][mine], return_counts=True)
        share = dict(zip(cells.tolist(), (1 / (len(cells) * per_cell)).tolist(), strict=True))
        weights[row, mine] = [share[c] for c in item_challenge[kept_items][mine].tolist()]

    def score_per_model(*resamples, axis=-1):
        item_means = np.stack([resample.mean(axis=axis) for resample in resamples])  # (items, 3, resamples)
        return np.einsum("mi,idb->mdb", weights, item_means)

    lows, highs = percentile_interval(
        samples, score_per_model, n_resamples=params.bootstrap, confidence=params.confidence, rng=rng
    )
    low[kept], high[kept] = lows, highs


def _cell_means(challenge, model, values, challenges: list[str], models: list[str]):
    """``(challenges, models)`` means of ``values``; NaN where a model has no graded output."""
    import numpy as np

    n_cells = len(challenges) * len(models)
    slot = challenge * len(models) + model
    total = np.bincount(slot, weights=values, minlength=n_cells)
    count = np.bincount(slot, minlength=n_cells)
    with np.errstate(divide="ignore", invalid="ignore"):
        matrix = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return matrix.reshape(len(challenges), len(models))


def _num(value) -> float | None:
    import math

    return None if value is None or math.isnan(value) else float(value)


def _assign_ranks(rows: list[dict[str, Any]]) -> None:
    """Rank = 1 + the number of models whose lower bound is above this model's upper bound (overall);
    ``None`` for a model without a score or an interval."""
    bounded = [row for row in rows if row["overall_ci_low"] is not None and row["overall_ci_high"] is not None]
    for row in rows:
        row["rank"] = None
    for row in bounded:
        row["rank"] = 1 + sum(1 for other in bounded if other["overall_ci_low"] > row["overall_ci_high"])


def _automated(items, mine, confidence: float) -> dict[str, Any]:
    statuses = [items.status[i] for i in mine]
    pages = [i for i in mine if items.kind[i] != "code"]
    renders = [items.render_status[i] for i in pages if items.render_status[i] is not None]
    passed = [items.checks_passed[i] for i in pages if items.checks_total[i]]
    total = [items.checks_total[i] for i in pages if items.checks_total[i]]
    tests = [items.test_status[i] for i in mine if items.kind[i] == "code" and items.test_status[i] is not None]
    tests_passed = tests.count("passed")
    test_low, test_high = wilson_interval(tests_passed, len(tests), confidence)
    tokens_in = [items.tokens_in[i] for i in mine if items.tokens_in[i] is not None]
    tokens_out = [items.tokens_out[i] for i in mine if items.tokens_out[i] is not None]
    costs = [items.cost[i] for i in mine if items.cost[i] is not None]
    return {
        "generation_ok_rate": statuses.count("ok") / len(statuses) if statuses else None,
        "renders": len(renders),
        "rendered": renders.count("rendered"),  # not a leaderboard.csv column: for the rates plot
        "render_rate": renders.count("rendered") / len(renders) if renders else None,
        "checks_passed": sum(passed) if total else None,
        "checks_total": sum(total) if total else None,
        "check_pass_rate": sum(passed) / sum(total) if total else None,
        "tests_passed": tests_passed if tests else None,
        "tests_total": len(tests) if tests else None,
        "test_pass_rate": tests_passed / len(tests) if tests else None,
        "test_ci_low": test_low,
        "test_ci_high": test_high,
        "tokens_in_per_item": sum(tokens_in) / len(tokens_in) if tokens_in else None,
        "tokens_out_per_item": sum(tokens_out) / len(tokens_out) if tokens_out else None,
        "cost_per_item": sum(costs) / len(costs) if costs else None,
        "cost_total": sum(costs) if costs else None,
    }
