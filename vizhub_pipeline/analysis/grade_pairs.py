"""Bradley-Terry ranking from the pairs that absolute grades imply.

Within one challenge, two outputs of different models graded by the same grader make an
implied vote: a win for the higher score, a tie when the scores are equal. (Outputs of the
same model compare nothing between models and are skipped.) The counts of all these votes
form a :class:`~vizhub_pipeline.analysis.vote_table.VoteTable` that is fitted like real
votes.

Intervals: the implied votes of one (challenge, grader) group are not independent -- each
output takes part in many of them, and one grader's scale runs through all -- so resampling
them one by one would give intervals that are far too narrow. The bootstrap resamples whole
groups instead (a cluster bootstrap): each round draws as many groups as there are, with
replacement, and refits the sum of their counts.

The caller passes the grades that count (one per grader and output, e.g. each grader's
latest); any real-valued score works, only its order within a group matters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vizhub_pipeline.analysis.bradley_terry import REGULARISATION, Ranking, check_rounds, rank_with_resampler
from vizhub_pipeline.analysis.vote_table import OUTCOMES, BradleyTerryError, VoteTable

if TYPE_CHECKING:
    import numpy as np

GRADE_PAIRS_METHOD = (
    "implied pairs: per challenge and grader, every two outputs of different models -> a win for the higher "
    "score, a tie when equal; Bradley-Terry fit as for votes; percentile bootstrap over (challenge, grader) groups"
)


@dataclass(frozen=True, eq=False)
class GradePairs:
    """The implied vote counts overall (``table``) and per group: ``by_group`` is a sparse
    ``(groups, P * 4)`` matrix whose row g holds group g's counts, cells in ``table`` order."""

    table: VoteTable
    groups: tuple[tuple[str, str], ...]  # (challenge, grader) per row of by_group
    by_group: Any  # scipy.sparse.csr_matrix


def count_grade_pairs(challenge, grader, model, score, *, chunk_cells: int = 4_000_000) -> GradePairs:
    """Implied vote counts of graded outputs given as four equally long sequences (one entry
    per counted grade). Raises :class:`BradleyTerryError` on unequal lengths or a NaN score."""
    import numpy as np
    from scipy import sparse

    challenge = np.asarray(challenge, dtype=str)
    grader = np.asarray(grader, dtype=str)
    model = np.asarray(model, dtype=str)
    score = np.asarray(score, dtype=np.float64)
    if not (len(challenge) == len(grader) == len(model) == len(score)):
        raise BradleyTerryError(
            f"grades: {len(challenge)} challenges, {len(grader)} graders, {len(model)} models, {len(score)} scores"
        )
    if np.isnan(score).any():
        raise BradleyTerryError(f"grade {int(np.flatnonzero(np.isnan(score))[0])}: the score is not a number")
    models, model_code = np.unique(model, return_inverse=True)
    _, value_code = np.unique(score, return_inverse=True)
    challenges, challenge_code = np.unique(challenge, return_inverse=True)
    graders, grader_code = np.unique(grader, return_inverse=True)
    group_keys, group_code = np.unique(challenge_code * max(len(graders), 1) + grader_code, return_inverse=True)
    n, n_values, n_groups = len(models), int(value_code.max()) + 1 if len(score) else 0, len(group_keys)
    low, high = np.triu_indices(n, k=1)
    blocks = []
    step = max(1, chunk_cells // max(n * max(n, n_values), 1))
    for start in range(0, n_groups, step):
        stop = min(n_groups, start + step)
        mine = (group_code >= start) & (group_code < stop)
        # histogram[g, m, v]: outputs of model m that group g scored with value v
        histogram = np.zeros((stop - start, n, n_values))
        np.add.at(histogram, (group_code[mine] - start, model_code[mine], value_code[mine]), 1.0)
        below = np.cumsum(histogram, axis=2) - histogram  # outputs scored strictly lower
        wins = np.einsum("gmv,gkv->gmk", histogram, below)  # wins[g, m, k]: m's outputs above k's
        ties = np.einsum("gmv,gkv->gmk", histogram, histogram)
        cells = np.stack(
            [wins[:, low, high], wins[:, high, low], ties[:, low, high], np.zeros_like(ties[:, low, high])]
        )
        blocks.append(sparse.csr_matrix(cells.transpose(1, 2, 0).reshape(stop - start, len(low) * len(OUTCOMES))))
    by_group = sparse.vstack(blocks).tocsr() if blocks else sparse.csr_matrix((0, len(low) * len(OUTCOMES)))
    total = np.asarray(by_group.sum(axis=0)).reshape(len(low), len(OUTCOMES))
    keep = total.sum(axis=1) > 0
    columns = (np.flatnonzero(keep)[:, None] * len(OUTCOMES) + np.arange(len(OUTCOMES))).ravel()
    table = VoteTable(tuple(str(m) for m in models), np.stack([low[keep], high[keep]], axis=1), total[keep])
    groups = tuple(
        (str(challenges[key // max(len(graders), 1)]), str(graders[key % max(len(graders), 1)])) for key in group_keys
    )
    return GradePairs(table, groups, by_group[:, columns].astype(np.int64).tocsr())


def group_rounds(by_group, rounds: int, rng, *, chunk: int = 256) -> Iterator[np.ndarray]:
    """``(chunk, P, 4)`` counts of resampled groups: each round draws every group's multiplicity
    (how often it is drawn when drawing as many groups as there are, with replacement)."""
    import numpy as np

    n_groups, n_cells = by_group.shape
    transposed = by_group.T.tocsr().astype(np.float64)
    for start in range(0, rounds, chunk):
        size = min(chunk, rounds - start)
        weights = rng.multinomial(n_groups, np.full(n_groups, 1 / n_groups), size=size)
        counts = np.rint(np.asarray(transposed @ weights.T, dtype=np.float64).T).astype(np.int64)
        yield counts.reshape(size, n_cells // len(OUTCOMES), len(OUTCOMES))


def rank_grades(
    pairs: GradePairs,
    *,
    rounds: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    anchor: str | None = None,
    regularisation: float = REGULARISATION,
    context: str = "",
) -> Ranking:
    """Fit the implied votes and bootstrap over (challenge, grader) groups."""
    import numpy as np

    check_rounds(rounds)
    rng = np.random.default_rng(seed)
    if len(pairs.groups) < 2 and rounds > 0:
        raise BradleyTerryError(f"{context + ': ' if context else ''}a bootstrap over groups needs two or more groups")
    return rank_with_resampler(
        pairs.table,
        lambda: group_rounds(pairs.by_group, rounds, rng),
        confidence=confidence,
        anchor=anchor,
        regularisation=regularisation,
        both_bad="tie",
        context=context,
    )
