"""Agreement of graders on pairwise votes: agreement rate, nominal alpha, test-retest."""

from __future__ import annotations

import pytest

from tests.test_reliability import KRIPPENDORFF_2011, counts_of
from vizhub_pipeline.analysis.agreement import nominal_alpha, vote_agreement
from vizhub_pipeline.analysis.vote_table import BradleyTerryError


def test_nominal_alpha_krippendorff_2011_worked_example():
    # Krippendorff (2011), section C: the same 4 observers x 12 units; the paper gives
    # alpha_nominal = .743 for them.
    assert round(nominal_alpha(counts_of(KRIPPENDORFF_2011, 5, offset=1)), 3) == 0.743


def test_nominal_alpha_worked_by_hand():
    # Units (a, a), (b, b), (a, b): n_a = n_b = 3, n = 6, disagreeing coincidences 2.
    # alpha = 1 - (n - 1) * 2 / (2 * n_a * n_b) = 1 - 10 / 18 = 4/9.
    assert nominal_alpha([[2, 0, 0, 0], [0, 2, 0, 0], [1, 1, 0, 0]]) == pytest.approx(4 / 9)
    assert nominal_alpha([[2, 0, 0, 0], [3, 0, 0, 0]]) is None  # one outcome only: undefined
    assert nominal_alpha([[1, 0, 0, 0], [0, 1, 0, 0]]) is None  # no unit with two votes


def test_vote_agreement_worked_by_hand():
    result = vote_agreement(
        first=["x", "y", "x", "y", "p", "q", "p"],
        second=["y", "x", "y", "x", "q", "p", "q"],
        grader=["g1", "g2", "g3", "g1", "g1", "g2", "g1"],
        outcome=["a", "b", "b", "a", "tie", "tie", "both_bad"],
    )
    # Unit {x, y} seen as (x, y): g1 said a then (seeing y, x) a = y better -> latest b;
    # g2 (y, x) b = x better -> a; g3 b. Latest votes a, b, b: 3 pairs of graders, 1 agrees.
    # Unit {p, q}: g1 tie then both_bad -> both_bad; g2 tie. 1 pair, no agreement.
    assert (result.units, result.grader_pairs) == (2, 4)
    assert result.agreement == pytest.approx(1 / 4)
    # Coincidences: {x, y} gives a-b 2 * 1 * 2 / (3 - 1) = 2, {p, q} tie-both_bad 2; n = 5 with
    # n_a = 1, n_b = 2, n_tie = n_both_bad = 1: alpha = 1 - (4 / 5) / ((25 - 7) / 20) = 1/9.
    assert result.alpha == pytest.approx(1 / 9)
    # g1 changed their mind on both units.
    assert (result.retest_pairs, result.retest_agreement) == (2, 0.0)


def test_orientation_does_not_matter_and_agreement_is_perfect():
    result = vote_agreement(
        ["x", "y", "p", "q", "x"],
        ["y", "x", "q", "p", "y"],
        ["g1", "g2", "g1", "g2", "g1"],
        ["a", "b", "b", "a", "a"],
    )
    assert (result.units, result.grader_pairs, result.agreement, result.alpha) == (2, 2, 1.0, 1.0)
    assert (result.retest_pairs, result.retest_agreement) == (1, 1.0)


def test_retest_compares_each_repeat_with_the_previous_vote():
    result = vote_agreement(["x"] * 4, ["y"] * 4, ["g"] * 4, ["a", "a", "tie", "tie"])
    # a->a same, a->tie differs, tie->tie same; a single grader: no inter-grader statistics.
    assert (result.retest_pairs, result.retest_agreement) == (3, pytest.approx(2 / 3))
    assert (result.units, result.grader_pairs, result.agreement, result.alpha) == (0, 0, None, None)
    empty = vote_agreement([], [], [], [])
    assert (empty.units, empty.agreement, empty.retest_agreement) == (0, None, None)


def test_bad_votes_are_named():
    with pytest.raises(BradleyTerryError, match=r"^vote 1: outcome 'left' is not one of a, b, tie, both_bad$"):
        vote_agreement(["x", "x"], ["y", "y"], ["g", "h"], ["a", "left"])
    with pytest.raises(BradleyTerryError, match=r"^vote 0: output 'x' is compared with itself$"):
        vote_agreement(["x"], ["x"], ["g"], ["a"])
    with pytest.raises(BradleyTerryError, match="1 first, 2 second, 1 graders, 1 outcomes"):
        vote_agreement(["x"], ["y", "z"], ["g"], ["a"])
