"""Leaderboard intervals and ranks: which unit is resampled, n/a with a reason, the rank rule."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from vizhub_pipeline.analysis.aggregate import rng_for, run_aggregate
from vizhub_pipeline.analysis.leaderboard import MIN_CHALLENGES, _assign_ranks
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.params import AggregateParams
from vizhub_pipeline.core.records import Generation, Grade, format_grade_rows, write_generation

PARAMS = AggregateParams(bootstrap=400)


def make_project(root: Path, grades: dict[tuple[str, str], list[tuple[int, int]]]) -> Layout:
    """One output per (challenge, model); its grades are given in grader order g0, g1, ..."""
    layout = Layout.at(root)
    rows = []
    for (challenge, model), scores in grades.items():
        artifact = f"{challenge}-{model}".replace("/", "_")
        write_generation(
            layout.visualization_dir(challenge, model) / "meta.json",
            Generation(challenge, model, 0, "ok", "in", artifact_hash=artifact),
        )
        for index, (functionality, aesthetics) in enumerate(scores):
            rows.append(
                Grade(challenge, model, 0, artifact, functionality, aesthetics, "", f"g{index}", "2026-11-28T12:00:00Z")
            )
    layout.grades.mkdir(parents=True, exist_ok=True)
    for grader in sorted({row.grader for row in rows}):  # one file per grader and day, as validate wants
        mine = [row for row in rows if row.grader == grader]
        (layout.grades / f"{grader}-2026-11-28.csv").write_text(format_grade_rows(mine, header=True), encoding="utf-8")
    return layout


def leaderboard(layout: Layout) -> dict[str, dict[str, str]]:
    with open(layout.consensus / "leaderboard.csv", newline="", encoding="utf-8") as handle:
        return {row["model"]: row for row in csv.DictReader(handle)}


def method(layout: Layout) -> str:
    return json.loads((layout.consensus / "reliability.json").read_text())["methods"]["leaderboard_interval"]


def overall(scores: list[tuple[int, int]]) -> np.ndarray:
    return np.asarray([(f + a) / 2 for f, a in scores])


def percentile_bounds(samples, seed_label: str = "leaderboard"):
    """scipy's percentile bootstrap of each sample's mean, drawn like the aggregate stage draws."""
    result = stats.bootstrap(
        samples,
        lambda *resamples, axis=-1: np.stack([r.mean(axis=axis) for r in resamples]),
        n_resamples=PARAMS.bootstrap,
        method="percentile",
        confidence_level=PARAMS.confidence,
        rng=rng_for(PARAMS.seed, seed_label),
    )
    return result.confidence_interval.low, result.confidence_interval.high


def test_one_challenge_takes_its_intervals_over_the_grades(tmp_path):
    # the reported bug: one challenge, one output per model; resampling challenges (or the one
    # output) gave every model a zero-width interval such as 4.00 [4.00, 4.00]
    good = [(4, 4), (3, 5), (5, 4), (4, 3)]
    poor = [(1, 2), (2, 2), (1, 1), (0, 2)]
    layout = make_project(tmp_path, {("bars", "model/good"): good, ("bars", "model/poor"): poor})
    run_aggregate(layout, PARAMS)
    board = leaderboard(layout)
    low, high = percentile_bounds((overall(good), overall(poor)))
    for index, model in enumerate(("model/good", "model/poor")):
        row = board[model]
        assert row["interval_unit"] == "grades" and row["interval_note"] == ""
        assert float(row["overall_ci_low"]) < float(row["overall_mean"]) < float(row["overall_ci_high"])
        assert float(row["overall_ci_low"]) == pytest.approx(low[index], abs=1e-4)
        assert float(row["overall_ci_high"]) == pytest.approx(high[index], abs=1e-4)
    assert (board["model/good"]["rank"], board["model/poor"]["rank"]) == ("1", "2")
    text = method(layout)
    assert "1 challenge(s) graded, too few to resample challenges" in text
    assert "over grades: each output's grades are drawn with replacement among themselves" in text


def test_an_output_graded_once_has_no_interval_and_no_rank(tmp_path):
    layout = make_project(
        tmp_path, {("bars", "model/a"): [(4, 4), (3, 4)], ("bars", "model/b"): [(2, 2)], ("lines", "model/b"): [(1, 1)]}
    )
    run_aggregate(layout, PARAMS)
    board = leaderboard(layout)
    assert board["model/a"]["rank"] == "1" and board["model/a"]["overall_ci_low"] != ""
    lonely = board["model/b"]
    assert (lonely["rank"], lonely["overall_ci_low"], lonely["overall_ci_high"]) == ("", "", "")
    assert lonely["overall_mean"] == "1.5000" and lonely["interval_unit"] == "grades"
    assert lonely["interval_note"] == (
        "2 output(s) graded once; an interval over grades needs two or more grades per output"
    )
    assert list(board) == ["model/a", "model/b"]  # ranked models first


def test_enough_challenges_are_resampled_and_a_model_graded_on_few_has_none(tmp_path):
    rnd = np.random.default_rng(4)
    grades = {}
    for c in range(MIN_CHALLENGES + 2):
        for model, quality in (("model/a", 4), ("model/b", 2)):
            grades[(f"chart{c:02d}", model)] = [
                (int(np.clip(quality + rnd.integers(-1, 2), 0, 5)), int(np.clip(quality + rnd.integers(-1, 2), 0, 5)))
                for _ in range(2)
            ]
    for c in range(4):
        grades[(f"chart{c:02d}", "model/new")] = [(3, 3), (4, 3)]
    layout = make_project(tmp_path, grades)
    run_aggregate(layout, PARAMS)
    board = leaderboard(layout)
    means = {
        model: np.asarray([overall(scores).mean() for (_, m), scores in sorted(grades.items()) if m == model])
        for model in ("model/a", "model/b")
    }
    low, high = percentile_bounds((means["model/a"], means["model/b"]))
    for index, model in enumerate(("model/a", "model/b")):
        assert board[model]["interval_unit"] == "challenges"
        assert float(board[model]["overall_mean"]) == pytest.approx(means[model].mean(), abs=1e-4)
        assert float(board[model]["overall_ci_low"]) == pytest.approx(low[index], abs=1e-4)
        assert float(board[model]["overall_ci_high"]) == pytest.approx(high[index], abs=1e-4)
    new = board["model/new"]
    assert (new["overall_ci_low"], new["rank"], new["interval_unit"]) == ("", "", "challenges")
    assert new["interval_note"] == f"graded on 4 challenge(s); an interval over challenges needs {MIN_CHALLENGES}"
    assert f"{PARAMS.bootstrap} resamples) over challenges" in method(layout)


def test_no_bootstrap_means_no_interval_and_no_rank(tmp_path):
    layout = make_project(tmp_path, {("bars", "model/a"): [(4, 4), (3, 4)], ("bars", "model/b"): [(1, 2), (2, 2)]})
    run_aggregate(layout, AggregateParams(bootstrap=0))
    for row in leaderboard(layout).values():
        assert (row["rank"], row["overall_ci_low"], row["interval_unit"]) == ("", "", "")
        assert row["interval_note"] == "no interval: aggregate.bootstrap is 0"
    assert "No intervals: aggregate.bootstrap is 0." in method(layout)


def test_without_grades_the_new_columns_are_empty(tmp_path):
    layout = Layout.at(tmp_path)
    write_generation(
        layout.visualization_dir("bars", "model/a") / "meta.json",
        Generation("bars", "model/a", 0, "ok", "in", artifact_hash="h"),
    )
    run_aggregate(layout, PARAMS)
    row = leaderboard(layout)["model/a"]
    assert (row["rank"], row["overall_mean"], row["interval_unit"], row["interval_note"]) == ("", "", "", "")
    assert "No output has a human grade yet" in method(layout)


def test_rank_counts_the_models_whose_lower_bound_is_above_the_upper_bound():
    def row(model, mean, low, high):
        return {"model": model, "overall_mean": mean, "overall_ci_low": low, "overall_ci_high": high}

    rows = [
        row("a", 4.0, 3.5, 4.5),
        row("b", 3.4, 3.0, 3.8),  # overlaps a: nobody is wholly above it
        row("c", 2.6, 2.0, 3.2),  # overlaps b, yet a is wholly above it: rank 2, not b's rank
        row("d", 0.8, 0.5, 1.0),  # a, b and c are all wholly above it
        row("e", 1.0, None, None),  # no interval: no rank, and it pushes nobody down
        row("f", None, None, None),  # no score
    ]
    _assign_ranks(rows)
    assert [r["rank"] for r in rows] == [1, 1, 2, 4, None, None]


def wilson(successes: int, trials: int, z: float = stats.norm.ppf(0.975)) -> tuple[float, float]:
    """Wilson's score interval written out (Wilson 1927; Newcombe 1998, method 3)."""
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return centre - half, centre + half


def test_code_tests_count_as_a_pass_rate_with_a_wilson_interval(tmp_path):
    from tests.mixed_project import make_mixed_project

    layout = make_mixed_project(tmp_path)
    run_aggregate(layout, PARAMS)
    board = leaderboard(layout)
    a, b = board["model/a"], board["model/b"]
    # model/a: passed, passed, failed, timeout, passed
    assert (a["tests_passed"], a["tests_total"], a["test_pass_rate"]) == ("3", "5", "0.6000")
    low, high = wilson(3, 5)
    assert float(a["test_ci_low"]) == pytest.approx(low, abs=1e-4)
    assert float(a["test_ci_high"]) == pytest.approx(high, abs=1e-4)
    # model/b: passed and error count; an outdated test run and an untested output do not
    assert (b["tests_passed"], b["tests_total"], b["test_pass_rate"]) == ("1", "2", "0.5000")
    # renders and checks are over the visualization outputs only, not the test runs
    assert (a["renders"], a["render_rate"], a["checks_passed"], a["checks_total"]) == ("1", "1.0000", "2", "2")
    assert (b["renders"], b["render_rate"], b["checks_passed"], b["checks_total"]) == ("1", "1.0000", "1", "2")


def test_a_project_without_code_challenges_has_empty_test_columns(tmp_path):
    layout = make_project(tmp_path, {("bars", "model/a"): [(4, 4), (3, 4)]})
    run_aggregate(layout, PARAMS)
    row = leaderboard(layout)["model/a"]
    assert [row[c] for c in ("tests_passed", "tests_total", "test_pass_rate", "test_ci_low", "test_ci_high")] == [
        ""
    ] * 5
