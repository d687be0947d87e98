"""Agreement statistics for pairwise votes: between two rankings, between graders, and of a
grader with themself.

Methods:

- Ranking agreement: Kendall's tau-b (scipy) between the scores two rankings give the models
  both rank. Its interval is the percentile interval of tau over bootstrap rounds, round r of
  one ranking paired with round r of the other; that is right when the two rankings come from
  independent data (e.g. votes and absolute grades, or two disjoint sets of graders), whose
  bootstraps are then independent too.
- Between graders: the unit is one compared pair of outputs, whatever side each was shown
  on; a grader's latest vote on a unit counts. The agreement rate is the share of pairs of
  graders of the same unit who gave the same outcome; Krippendorff's alpha is computed by the
  ``krippendorff`` package at the nominal level over the four outcomes (a tie and both_bad
  are different answers here).
- Test-retest: each vote of a grader on a unit they had voted before is compared with their
  previous vote there; the rate is the share of repeats that give the same outcome.
Votes are taken in the order given, which should be the order they were cast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vizhub_pipeline.analysis.bradley_terry import Ranking
from vizhub_pipeline.analysis.vote_table import OUTCOMES, BradleyTerryError

KENDALL_METHOD = (
    "Kendall's tau-b (scipy) over the models both rankings score; interval: percentile over paired bootstrap "
    "rounds of the two rankings (independent data)"
)
VOTE_AGREEMENT_METHOD = (
    "unit: a compared pair of outputs (either orientation); each grader's latest vote on a unit; agreement: share "
    "of pairs of graders of a unit with the same outcome; alpha: Krippendorff, nominal, over a|b|tie|both_bad; "
    "test-retest: share of repeat votes equal to the grader's previous vote on the unit"
)


@dataclass(frozen=True)
class RankAgreement:
    models: int
    tau: float | None
    ci_low: float | None
    ci_high: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "method": KENDALL_METHOD,
            "models": self.models,
            "tau": self.tau,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }


def kendall_agreement(first: Ranking, second: Ranking, *, confidence: float | None = None) -> RankAgreement:
    """Kendall's tau between two rankings over their common models, with a bootstrap interval
    (at ``first``'s confidence unless given; none when the rankings have no rounds)."""
    import numpy as np
    from scipy import stats

    common = sorted(set(first.models) & set(second.models))
    if len(common) < 2:
        return RankAgreement(len(common), None, None, None)
    one = [first.models.index(model) for model in common]
    two = [second.models.index(model) for model in common]
    score_one, score_two = first.scores(), second.scores()
    tau = _tau(stats, [score_one[m] for m in common], [score_two[m] for m in common])
    rounds = min(len(first.samples), len(second.samples))
    if rounds == 0:
        return RankAgreement(len(common), tau, None, None)
    if len(first.samples) != len(second.samples):
        raise BradleyTerryError(
            f"the rankings have {len(first.samples)} and {len(second.samples)} bootstrap rounds; pairing needs equal"
        )
    level = first.confidence if confidence is None else confidence
    taus = np.asarray(
        [_tau(stats, a, b) for a, b in zip(first.samples[:, one], second.samples[:, two], strict=True)], dtype=float
    )
    taus = taus[~np.isnan(taus)]
    if not len(taus):
        return RankAgreement(len(common), tau, None, None)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(taus, [tail, 100 - tail])
    return RankAgreement(len(common), tau, float(low), float(high))


def _tau(stats, x, y) -> float | None:
    import math

    value = float(stats.kendalltau(x, y).statistic)
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class VoteAgreement:
    units: int  # compared pairs of outputs voted by two or more graders
    grader_pairs: int  # pairs of graders' votes on the same unit
    agreement: float | None
    alpha: float | None
    retest_pairs: int  # repeat votes of a grader on a unit
    retest_agreement: float | None

    def to_json(self) -> dict[str, Any]:
        return {"method": VOTE_AGREEMENT_METHOD, **self.__dict__}


def vote_agreement(
    first: Sequence[str], second: Sequence[str], grader: Sequence[str], outcome: Sequence[str]
) -> VoteAgreement:
    """Agreement of votes given as four equally long sequences: the two outputs shown (any
    identifiers, e.g. ``challenge/model/sample``), who voted, and the outcome for
    ``(first, second)``. Raises :class:`BradleyTerryError` naming the first bad vote."""
    import numpy as np

    a = np.asarray(first, dtype=str)
    b = np.asarray(second, dtype=str)
    who = np.asarray(grader, dtype=str)
    out = np.asarray(outcome, dtype=str)
    if not (len(a) == len(b) == len(who) == len(out)):
        raise BradleyTerryError(f"votes: {len(a)} first, {len(b)} second, {len(who)} graders, {len(out)} outcomes")
    code = np.full(len(out), -1, dtype=np.int64)
    for value, name in enumerate(OUTCOMES):
        code[out == name] = value
    if (code < 0).any():
        bad = int(np.flatnonzero(code < 0)[0])
        raise BradleyTerryError(f"vote {bad}: outcome {str(out[bad])!r} is not one of {', '.join(OUTCOMES)}")
    if (a == b).any():
        bad = int(np.flatnonzero(a == b)[0])
        raise BradleyTerryError(f"vote {bad}: output {str(a[bad])!r} is compared with itself")
    # One orientation per unit: swap so that first < second, and with it a <-> b.
    swap = a > b
    code[swap & (out == "a")], code[swap & (out == "b")] = 1, 0
    _, ids = np.unique(np.concatenate([np.where(swap, b, a), np.where(swap, a, b)]), return_inverse=True)
    n_ids = int(ids.max()) + 1 if len(ids) else 0
    _, unit = np.unique(ids[: len(a)] * n_ids + ids[len(a) :], return_inverse=True)
    graders, grader_code = np.unique(who, return_inverse=True)
    key = unit.astype(np.int64) * max(len(graders), 1) + grader_code
    retest_pairs, retest_same = _retest(key, code)
    # each grader's latest vote per unit
    _, last_from_end = np.unique(key[::-1], return_index=True)
    latest = len(key) - 1 - last_from_end
    n_units = int(unit.max()) + 1 if len(unit) else 0
    counts = np.zeros((n_units, len(OUTCOMES)), dtype=np.int64)
    np.add.at(counts, (unit[latest], code[latest]), 1)
    graders_per_unit = counts.sum(axis=1)
    pairable = counts[graders_per_unit >= 2]
    pairs = int((graders_per_unit * (graders_per_unit - 1) // 2).sum())
    same = int((pairable * (pairable - 1) // 2).sum())
    return VoteAgreement(
        units=len(pairable),
        grader_pairs=pairs,
        agreement=same / pairs if pairs else None,
        alpha=nominal_alpha(pairable),
        retest_pairs=retest_pairs,
        retest_agreement=retest_same / retest_pairs if retest_pairs else None,
    )


def _retest(key, code) -> tuple[int, int]:
    """(repeat votes, repeats equal to the previous vote of the same key), in the given order."""
    import numpy as np

    order = np.argsort(key, kind="stable")
    repeat = key[order][1:] == key[order][:-1]
    same = code[order][1:] == code[order][:-1]
    return int(repeat.sum()), int((repeat & same).sum())


def nominal_alpha(value_counts) -> float | None:
    """Nominal Krippendorff's alpha of a ``(units, categories)`` count matrix, by the
    ``krippendorff`` package; ``None`` when undefined (nothing pairable, or one category only)."""
    import krippendorff
    import numpy as np

    counts = np.asarray(value_counts)
    counts = counts[counts.sum(axis=1) >= 2] if counts.ndim == 2 else counts.reshape(0, len(OUTCOMES))
    if not len(counts) or np.count_nonzero(counts.sum(axis=0)) < 2:
        return None
    return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))
