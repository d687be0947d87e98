"""Bradley-Terry on the pairs implied by absolute grades, and Kendall's tau between rankings."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vizhub_pipeline.analysis import bradley_terry as bt
from vizhub_pipeline.analysis import grade_pairs as gp
from vizhub_pipeline.analysis import vote_table as vt
from vizhub_pipeline.analysis.agreement import kendall_agreement


def test_implied_pairs_worked_by_hand():
    # challenge c1, grader g: A 5, B 3, C 3 -> A beats B, A beats C, B ties C
    # challenge c1, grader h: A 1, B 2, C 3 -> B beats A, C beats A, C beats B
    # challenge c2, grader g: A 4, B 4, B 2 -> A ties the first B, beats the second (B vs B: skipped)
    pairs = gp.count_grade_pairs(
        ["c1"] * 6 + ["c2"] * 3,
        ["g"] * 3 + ["h"] * 3 + ["g"] * 3,
        ["A", "B", "C", "A", "B", "C", "A", "B", "B"],
        [5, 3, 3, 1, 2, 3, 4, 4, 2],
    )
    assert pairs.table.models == ("A", "B", "C")
    assert pairs.table.pairs.tolist() == [[0, 1], [0, 2], [1, 2]]
    # columns: first wins, second wins, tie, both_bad
    assert pairs.table.counts.tolist() == [[2, 1, 1, 0], [1, 1, 0, 0], [0, 1, 1, 0]]
    assert pairs.groups == (("c1", "g"), ("c1", "h"), ("c2", "g"))
    assert pairs.by_group.toarray().tolist() == [
        [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0],
        [0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0],
        [1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ]


def test_pairs_never_cross_challenges_or_graders_and_skip_one_model():
    pairs = gp.count_grade_pairs(
        ["c1", "c2", "c1", "c1", "c1"],
        ["g", "g", "h", "k", "k"],
        ["A", "B", "B", "A", "A"],
        [5.0, 1.0, 0.5, 2.0, 3.0],
    )
    # c1/g has only A, c2/g only B, c1/h only B, c1/k two outputs of A: nothing to compare.
    assert pairs.table.total == 0
    assert len(pairs.table.pairs) == 0
    with pytest.raises(vt.ComparisonGraphError, match=r"groups of models: \{A\}; \{B\}$"):
        gp.rank_grades(pairs, rounds=0)


def test_bad_grades_are_named():
    with pytest.raises(vt.BradleyTerryError, match=r"^grade 1: the score is not a number$"):
        gp.count_grade_pairs(["c", "c"], ["g", "g"], ["A", "B"], [1.0, float("nan")])
    with pytest.raises(vt.BradleyTerryError, match="2 challenges, 2 graders, 1 models, 2 scores"):
        gp.count_grade_pairs(["c", "c"], ["g", "g"], ["A"], [1, 2])


def synthetic_grades(rng, quality, challenges=12, graders=4, samples=3):
    """Scores 0..5 in half steps: model quality + the grader's leniency + the challenge's
    difficulty + noise per output."""
    rows = []
    leniency = rng.normal(0, 0.5, graders)
    for c in range(challenges):
        difficulty = rng.normal(0, 0.5)
        outputs = [
            (m, quality[m] + difficulty + rng.normal(0, 0.8)) for m in range(len(quality)) for _ in range(samples)
        ]
        for g in range(graders):
            for m, value in outputs:
                score = np.clip(np.round(2 * (value + leniency[g] + rng.normal(0, 0.4))) / 2, 0, 5)
                rows.append((f"c{c}", f"g{g}", f"model-{m}", score))
    return [list(column) for column in zip(*rows, strict=True)]


QUALITY = [1.0, 1.6, 2.2, 2.8, 3.4, 4.0]


def test_grades_recover_the_order_and_groups_widen_the_intervals():
    pairs = gp.count_grade_pairs(*synthetic_grades(np.random.default_rng(3), QUALITY))
    assert len(pairs.groups) == 12 * 4
    grades = gp.rank_grades(pairs, rounds=200, seed=1)
    scores = grades.scores()
    assert stats.spearmanr([scores[f"model-{m}"] for m in range(6)], QUALITY).statistic >= 0.95
    # Resampling the implied pairs one by one ignores that one output and one grader take part
    # in many of them: its intervals come out narrower than the bootstrap over groups.
    naive = bt.rank_votes(pairs.table, rounds=200, seed=1)
    group_width = np.mean([row.ci_high - row.ci_low for row in grades.rows])
    naive_width = np.mean([row.ci_high - row.ci_low for row in naive.rows])
    assert group_width > 1.3 * naive_width
    assert [row.score for row in grades.rows] == [row.score for row in naive.rows]  # same point fit
    again = gp.rank_grades(pairs, rounds=200, seed=1)
    assert np.array_equal(again.samples, grades.samples)


def test_group_bootstrap_needs_two_groups():
    pairs = gp.count_grade_pairs(["c", "c"], ["g", "g"], ["A", "B"], [1, 2])
    with pytest.raises(vt.BradleyTerryError, match="challenge c: a bootstrap over groups needs two or more groups"):
        gp.rank_grades(pairs, rounds=10, context="challenge c")
    assert gp.rank_grades(pairs, rounds=0).rows[0].model == "B"


def ranking_of(models, score_rows, confidence=0.5):
    """A Ranking whose point scores are the first row and whose bootstrap rounds are the rest."""
    point, *rounds = (np.asarray(row, dtype=float) for row in score_rows)
    rows = tuple(bt.ModelScore(m, 1, float(s), float(s), float(s), 1) for m, s in zip(models, point, strict=True))
    samples = np.asarray(rounds).reshape(len(rounds), len(models))
    return bt.Ranking(rows, tuple(models), samples, confidence, None)


def test_kendall_tau_and_its_interval_worked_by_hand():
    # Orders (4, 3, 2, 1) and (4, 2, 3, 1): 5 concordant pairs and 1 discordant of 6: tau = 4/6.
    first = ranking_of("wxyz", [[4, 3, 2, 1]] * 5)
    second = ranking_of("wxyz", [[4, 2, 3, 1], [4, 3, 2, 1], [4, 2, 3, 1], [1, 2, 3, 4], [4, 3, 1, 2]])
    result = kendall_agreement(first, second)
    assert result.models == 4
    assert result.tau == pytest.approx(2 / 3)
    # round taus: 1, 2/3, -1, 2/3; sorted (-1, 2/3, 2/3, 1); the 25th and 75th percentiles
    # (confidence 0.5) interpolate to -1 + 0.75 * 5/3 = 0.25 and 2/3 + 0.25 * 1/3 = 0.75.
    assert (result.ci_low, result.ci_high) == (pytest.approx(0.25), pytest.approx(0.75))


def test_kendall_uses_common_models_and_refuses_unpaired_rounds():
    first = ranking_of("wxyz", [[4, 3, 2, 1]] * 3)
    second = ranking_of("xyzv", [[9, 8, 1, 100]] * 3)  # v is not in first; x > y > z in both
    assert kendall_agreement(first, second).tau == pytest.approx(1.0)
    assert kendall_agreement(first, second).models == 3
    assert kendall_agreement(first, ranking_of("wq", [[1, 2]] * 3)).tau is None
    with pytest.raises(vt.BradleyTerryError, match="2 and 1 bootstrap rounds"):
        kendall_agreement(first, ranking_of("wxyz", [[4, 3, 2, 1]] * 2))
    no_rounds = kendall_agreement(ranking_of("wxyz", [[4, 3, 2, 1]]), ranking_of("wxyz", [[1, 2, 3, 4]]))
    assert (no_rounds.tau, no_rounds.ci_low, no_rounds.ci_high) == (pytest.approx(-1.0), None, None)


def test_votes_and_grades_rankings_agree_on_the_same_truth():
    rng = np.random.default_rng(17)
    theta = np.asarray(QUALITY) * 0.15  # about 16 score points between neighbours: some doubt
    a = rng.integers(0, 6, 3000)
    b = (a + rng.integers(1, 6, 3000)) % 6
    outcome = np.where(rng.random(3000) < 1 / (1 + np.exp(-(theta[a] - theta[b]))), "a", "b")
    names = np.asarray([f"model-{m}" for m in range(6)])
    votes = bt.rank_votes(vt.count_votes(names[a], names[b], outcome), rounds=200, seed=2)
    grades = gp.rank_grades(gp.count_grade_pairs(*synthetic_grades(rng, QUALITY)), rounds=200, seed=3)
    result = kendall_agreement(votes, grades)
    assert result.tau is not None and result.tau >= 0.6
    assert result.ci_low is not None and result.ci_high is not None
    assert result.ci_low <= result.tau <= result.ci_high <= 1.0
    assert result.ci_high - result.ci_low >= 0.2  # neighbours this close swap in some rounds
    assert result.to_json()["models"] == 6
