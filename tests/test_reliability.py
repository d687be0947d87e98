"""Reliability statistics against values published or worked out by hand."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from vizhub_pipeline.analysis import reliability as rel

NAN = math.nan

# Krippendorff, K. (2011). "Computing Krippendorff's Alpha-Reliability", Annenberg School for
# Communication, University of Pennsylvania (repository.upenn.edu/asc_papers/43), section C:
# 4 observers x 12 units with missing values, values 1..5. The paper gives
# alpha_nominal = .743, alpha_ordinal = .815, alpha_interval = .849, alpha_ratio = .797.
# (The same matrix is the example of R's irr::kripp.alpha, "the C data from Krippendorff".)
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]
DOMAIN_1_5 = [1, 2, 3, 4, 5]


def long_form(matrix, offset=0):
    """(items, graders, codes) of a graders x items matrix; NaN is a missing rating."""
    data = np.asarray(matrix, dtype=float)
    graders, items = np.nonzero(~np.isnan(data))
    return items, graders, data[graders, items].astype(int) - offset


def counts_of(matrix, n_values, offset=0):
    items, _, codes = long_form(matrix, offset)
    return rel.value_counts(items, codes, np.asarray(matrix).shape[1], n_values)


def test_krippendorff_2011_worked_example_ordinal():
    counts = counts_of(KRIPPENDORFF_2011, 5, offset=1)
    assert round(rel.krippendorff_alpha(counts, DOMAIN_1_5), 3) == 0.815


def test_vectorised_alpha_equals_the_package_on_the_worked_example_and_random_data():
    counts = counts_of(KRIPPENDORFF_2011, 5, offset=1)
    mine = rel._ordinal_alpha_from_coincidences(rel._unit_coincidences(counts).sum(axis=0).reshape(1, 5, 5))[0]
    assert mine == pytest.approx(rel.krippendorff_alpha(counts, DOMAIN_1_5), abs=1e-12)
    rng = np.random.default_rng(3)
    for _ in range(5):
        counts = rng.integers(0, 3, size=(40, 6))
        mine = rel._ordinal_alpha_from_coincidences(rel._unit_coincidences(counts).sum(axis=0).reshape(1, 6, 6))[0]
        assert mine == pytest.approx(rel.krippendorff_alpha(counts, range(6)), abs=1e-12)


def test_perfect_agreement_gives_one():
    matrix = [[0, 2, 5, 3], [0, 2, 5, 3], [0, 2, 5, 3]]
    counts = counts_of(matrix, 6)
    assert rel.krippendorff_alpha(counts, range(6)) == pytest.approx(1.0)
    result = rel.alpha_with_interval(counts, range(6), n_boot=200, confidence=0.95, rng=np.random.default_rng(0))
    assert (result.value, result.ci_low, result.ci_high) == (pytest.approx(1.0), pytest.approx(1.0), pytest.approx(1.0))
    assert rel.icc_two_way(np.asarray(matrix).T)[0] == pytest.approx(1.0)


def test_total_disagreement_worked_by_hand():
    # Two units, each rated 0 by one grader and 5 by the other. Coincidences o(0,5) = o(5,0) = 2,
    # n0 = n5 = 2, n = 4; ordinal delta(0,5) = (4 - (2 + 2) / 2)^2 = 4.
    # alpha = 1 - (n - 1) * sum o*delta / sum n_c n_k delta = 1 - 3 * 16 / 32 = -0.5
    counts = counts_of([[0, 5], [5, 0]], 6)
    assert rel.krippendorff_alpha(counts, range(6)) == pytest.approx(-0.5)


def test_missing_ratings_and_lone_ratings_do_not_count():
    with_lone = [row + [v] for row, v in zip(KRIPPENDORFF_2011, [NAN, 4, NAN, NAN], strict=True)]
    assert rel.krippendorff_alpha(counts_of(with_lone, 5, 1), DOMAIN_1_5) == pytest.approx(
        rel.krippendorff_alpha(counts_of(KRIPPENDORFF_2011, 5, 1), DOMAIN_1_5)
    )
    result = rel.alpha_with_interval(
        counts_of(with_lone, 5, 1), DOMAIN_1_5, n_boot=100, confidence=0.9, rng=np.random.default_rng(1)
    )
    assert result.units == 11  # unit 12 has one rating only; the added unit too
    assert result.values == 40


def test_single_grader_has_no_reliability():
    counts = counts_of([[1, 2, 3, 4]], 6)
    result = rel.alpha_with_interval(counts, range(6), n_boot=100, confidence=0.95, rng=np.random.default_rng(0))
    assert (result.value, result.ci_low, result.ci_high, result.units) == (None, None, None, 0)
    items, graders, codes = long_form([[1, 2, 3, 4]])
    a, b, common, kappa = rel.pairwise_kappa(items, graders, codes, 4, 1)
    assert len(a) == 0
    assert rel.icc_two_way(np.array([[1], [2], [3]])) is None


def test_bootstrap_interval_brackets_the_estimate_and_repeats_with_the_seed():
    counts = counts_of(KRIPPENDORFF_2011, 5, offset=1)
    first = rel.alpha_with_interval(counts, DOMAIN_1_5, n_boot=500, confidence=0.95, rng=np.random.default_rng(42))
    again = rel.alpha_with_interval(counts, DOMAIN_1_5, n_boot=500, confidence=0.95, rng=np.random.default_rng(42))
    assert first == again
    assert first.ci_low < first.value <= first.ci_high <= 1


def test_alpha_interval_is_scipys_percentile_bootstrap_of_the_package_alpha():
    # the same resamples drawn by scipy.stats.bootstrap, each one's alpha from the krippendorff
    # package itself: the fast coincidence-matrix path must give the same interval
    counts = counts_of(KRIPPENDORFF_2011, 5, offset=1)
    pairable = counts[counts.sum(axis=1) > 1]

    def package_alpha(units):
        return krippendorff.alpha(value_counts=pairable[units], value_domain=DOMAIN_1_5, level_of_measurement="ordinal")

    reference = stats.bootstrap(
        (np.arange(len(pairable)),),
        package_alpha,
        n_resamples=300,
        vectorized=False,
        method="percentile",
        confidence_level=0.9,
        rng=np.random.default_rng(11),
    ).confidence_interval
    ours = rel.alpha_with_interval(counts, DOMAIN_1_5, n_boot=300, confidence=0.9, rng=np.random.default_rng(11))
    assert (ours.ci_low, ours.ci_high) == (
        pytest.approx(reference.low, abs=1e-12),
        pytest.approx(reference.high, abs=1e-12),
    )
    assert ours.ci_low < ours.value < ours.ci_high


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::scipy.stats.DegenerateDataWarning")
def test_alpha_per_group_and_dimension_resamples_each_group_on_its_own():
    # two groups of Krippendorff's units, two "dimensions" (the data and its mirror image 6 - x):
    # each group's interval is scipy's stratified percentile bootstrap of the package's alpha
    counts = counts_of(KRIPPENDORFF_2011, 5, offset=1)
    mirrored = counts[:, ::-1]
    groups = {"first": np.arange(0, 6), "second": np.arange(6, 12)}
    found = rel.alphas_with_intervals(
        {"x": counts, "mirror": mirrored},
        {"x": DOMAIN_1_5, "mirror": DOMAIN_1_5},
        groups,
        n_boot=200,
        confidence=0.95,
        rng=np.random.default_rng(5),
    )
    pairable = {name: members[counts[members].sum(axis=1) > 1] for name, members in groups.items()}
    assert {name: found[name]["x"].units for name in groups} == {"first": 6, "second": 5}

    def package_alphas(first, second):
        return [
            krippendorff.alpha(
                value_counts=counts[pairable[name][units]], value_domain=DOMAIN_1_5, level_of_measurement="ordinal"
            )
            for name, units in (("first", first), ("second", second))
        ]

    distribution = stats.bootstrap(
        tuple(np.arange(len(pairable[name])) for name in groups),
        package_alphas,
        n_resamples=200,
        vectorized=False,
        method="percentile",
        rng=np.random.default_rng(5),
    ).bootstrap_distribution
    assert np.isnan(distribution).any()  # small groups: some resamples hold one value only, alpha undefined
    low, high = np.nanpercentile(distribution, [2.5, 97.5], axis=-1)  # those are left out
    for g, name in enumerate(groups):
        value = krippendorff.alpha(
            value_counts=counts[pairable[name]], value_domain=DOMAIN_1_5, level_of_measurement="ordinal"
        )
        for dim in ("x", "mirror"):  # mirroring an ordinal scale changes nothing, the same draws serve both
            alpha = found[name][dim]
            assert alpha.value == pytest.approx(value, abs=1e-12)
            assert (alpha.ci_low, alpha.ci_high) == (
                pytest.approx(low[g], abs=1e-12),
                pytest.approx(high[g], abs=1e-12),
            )


def test_icc_shrout_fleiss_1979_table_2():
    # Shrout & Fleiss (1979), Psychological Bulletin 86(2), Table 2: 6 targets x 4 judges;
    # Table 4 gives ICC(2,1) = .29 and ICC(2,k) = .62.
    ratings = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    single, average = rel.icc_two_way(ratings)
    assert (round(single, 2), round(average, 2)) == (0.29, 0.62)


# Maplesoft, Maple help page EssayTools[QuadraticWeightedKappa], examples 1 and 2: two graders'
# scores of nine essays on a 1..10 scale; the page gives 0.758620689655172 and 0.438095238095238.
MAPLE_X = [9, 7, 8, 7, 6, 8, 3, 5, 10]
MAPLE_Y = {0.758620689655172: [8, 8, 6, 6, 7, 6, 1, 4, 8], 0.438095238095238: [3, 5, 6, 6, 7, 6, 1, 4, 8]}


@pytest.mark.parametrize("published", sorted(MAPLE_Y))
def test_weighted_kappa_published_example_with_scikit_learn_and_ours(published):
    y = MAPLE_Y[published]
    labels = list(range(1, 11))
    assert cohen_kappa_score(MAPLE_X, y, weights="quadratic", labels=labels) == pytest.approx(published, abs=1e-12)
    n = len(MAPLE_X)
    a, b, common, kappa = rel.pairwise_kappa(list(range(n)) * 2, [0] * n + [1] * n, MAPLE_X + y, n, 2)
    assert (a.tolist(), b.tolist(), common.tolist()) == ([0], [1], [n])
    assert kappa[0] == pytest.approx(published, abs=1e-12)


def test_scikit_learn_needs_the_full_domain_to_weigh_by_score_distance():
    # without labels, scikit-learn weighs by the rank among the scores present (2 is missing
    # from both lists here), which is not the published value: the domain must be passed
    y = MAPLE_Y[0.758620689655172]
    assert cohen_kappa_score(MAPLE_X, y, weights="quadratic") != pytest.approx(0.758620689655172, abs=1e-3)


def test_pairwise_kappa_equals_scikit_learn_on_partial_overlap():
    rng = np.random.default_rng(5)
    n_items, n_graders = 60, 4
    graded = rng.random((n_items, n_graders)) < 0.7
    scores = np.clip(rng.integers(0, 6, n_items)[:, None] + rng.integers(-1, 2, (n_items, n_graders)), 0, 5)
    items, graders = np.nonzero(graded)
    a, b, common, kappa = rel.pairwise_kappa(items, graders, scores[items, graders], n_items, n_graders)
    assert len(a) == 6
    for x, y, c, k in zip(a, b, common, kappa, strict=True):
        both = graded[:, x] & graded[:, y]
        assert c == both.sum()
        expected = cohen_kappa_score(scores[both, x], scores[both, y], weights="quadratic", labels=list(range(6)))
        assert k == pytest.approx(expected, abs=1e-12)


def test_pairwise_kappa_is_undefined_without_variation():
    # both graders give every item a 3: scikit-learn divides 0 by 0 as well
    a, b, common, kappa = rel.pairwise_kappa([0, 1, 0, 1], [0, 0, 1, 1], [3, 3, 3, 3], 2, 2)
    assert common.tolist() == [2] and np.isnan(kappa[0])


def test_grader_leniency_worked_by_hand():
    # item 0: alice 4, bob 2, carol 3; item 1: alice 5, bob 3; carol also grades item 2 alone.
    items = [0, 0, 0, 1, 1, 2]
    graders = [0, 1, 2, 0, 1, 2]
    overall = [4, 2, 3, 5, 3, 1]
    alice, bob, carol = rel.grader_stats(items, graders, overall, ["alice", "bob", "carol"])
    # alice: 4 - (2+3)/2 = 1.5 and 5 - 3 = 2 -> 1.75; bob: 2 - 3.5 = -1.5, 3 - 5 = -2 -> -1.75
    assert (alice.grades, alice.compared, alice.leniency, alice.mean_abs_diff) == (2, 2, 1.75, 1.75)
    assert (bob.leniency, bob.mean_abs_diff) == (-1.75, 1.75)
    assert (carol.grades, carol.compared, carol.leniency) == (2, 1, 0.0)  # 3 - (4+2)/2


def test_crossed_block_finds_the_fully_crossed_part():
    # graders 0,1,2 grade items 0..3; grader 3 grades items 0 and 1 only; item 4 by grader 0 only
    pairs = [(i, g) for i in range(4) for g in range(3)] + [(0, 3), (1, 3), (4, 0)]
    items, graders = zip(*pairs, strict=True)
    block_items, block_graders = rel.crossed_block(items, graders, 5, 4)
    assert block_items.tolist() == [0, 1, 2, 3]
    assert block_graders.tolist() == [0, 1, 2]
