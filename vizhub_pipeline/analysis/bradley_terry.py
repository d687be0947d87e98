"""Bradley-Terry ranking of models from vote counts, with bootstrap intervals.

Methods (also in :data:`BT_METHOD`, for the outputs):

- Fit: the Bradley-Terry maximum-likelihood strengths, P(i beats j) = w_i / (w_i + w_j),
  computed by choix's iterative Luce spectral ranking on the dense win matrix of a
  :class:`~vizhub_pipeline.analysis.vote_table.VoteTable` (ties as half a win each, both_bad
  a tie unless ignored: see that module).
- Regularisation: choix's ``alpha`` (default :data:`REGULARISATION`) adds that rate to every
  transition of the LSR Markov chain, which amounts to about ``2 * alpha`` virtual ties
  between every two models. It keeps the fit finite when a model won or lost every vote
  (in small per-challenge tables or in a bootstrap round) and is negligible next to real
  counts. ``regularisation=0`` gives the plain maximum-likelihood fit.
- Scale: Elo-like, ``score = 1000 + 400 / ln(10) * (log w - centre)``: 400 points of score
  difference mean 10:1 odds. The centre is the mean log-strength of all models (so the
  mean score is 1000), or the log-strength of a named anchor model (which then scores 1000).
- Intervals: percentile bootstrap. Each round draws as many votes as there are, with
  replacement, by one multinomial draw over the (pair, outcome) cells with probabilities
  proportional to their counts -- the same distribution as resampling the raw vote list --
  then refits. The rank of a model is 1 + the number of models whose lower bound is above
  its upper bound, so models with overlapping intervals share a rank.
- A table whose comparison graph is not connected is refused with
  :class:`~vizhub_pipeline.analysis.vote_table.ComparisonGraphError`, naming its components.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vizhub_pipeline.analysis.vote_table import BradleyTerryError, VoteTable, check_connected, win_matrix

if TYPE_CHECKING:
    import numpy as np

REGULARISATION = 0.01
# choix stops when the mean change of a log-strength between iterations is below this: 1e-7
# is about 2e-5 score points, far below the 0.01 points scores are reported to.
TOLERANCE = 1e-7
BASE_SCORE = 1000.0
ELO_SCALE = 400 / math.log(10)
BT_METHOD = (
    "Bradley-Terry maximum likelihood (choix ilsr_pairwise_dense, alpha regularisation), ties as half a win "
    "each, both_bad as a tie; score = 1000 + 400/ln(10) * (log-strength - centre); percentile bootstrap "
    "resampling the votes (multinomial over pair x outcome counts); rank = 1 + number of models whose lower "
    "bound is above this model's upper bound"
)


def fit_log_strengths(wins, *, regularisation: float = REGULARISATION, initial=None) -> np.ndarray:
    """Bradley-Terry log-strengths (mean 0) of a win matrix, by choix's iterative LSR."""
    import choix
    import numpy as np

    wins = np.asarray(wins, dtype=np.float64)
    try:
        theta = choix.ilsr_pairwise_dense(
            wins, alpha=regularisation, initial_params=initial, max_iter=10_000, tol=TOLERANCE
        )
    except (RuntimeError, ValueError, FloatingPointError) as error:
        raise BradleyTerryError(
            f"the Bradley-Terry fit has no finite solution ({error}); a model that won or lost every vote "
            "needs regularisation > 0"
        ) from error
    return np.asarray(theta)


def to_scores(log_strengths, models: Sequence[str], anchor: str | None = None) -> np.ndarray:
    """Elo-like scores of ``(..., n)`` log-strengths: the mean (or the anchor model) at 1000."""
    import numpy as np

    theta = np.asarray(log_strengths, dtype=np.float64)
    if anchor is None:
        centre = theta.mean(axis=-1, keepdims=True)
    elif anchor in models:
        centre = theta[..., [list(models).index(anchor)]]
    else:
        raise BradleyTerryError(f"anchor model {anchor!r} has no votes here")
    return BASE_SCORE + ELO_SCALE * (theta - centre)


@dataclass(frozen=True)
class ModelScore:
    model: str
    rank: int
    score: float
    ci_low: float | None  # None without bootstrap rounds
    ci_high: float | None
    votes: int

    def to_json(self) -> dict[str, Any]:
        """Scores rounded to 0.01 point: far below any interval, and stable across machines."""
        return {
            "rank": self.rank,
            "model": self.model,
            "score": round(self.score, 2),
            "ci_low": None if self.ci_low is None else round(self.ci_low, 2),
            "ci_high": None if self.ci_high is None else round(self.ci_high, 2),
            "votes": self.votes,
        }


@dataclass(frozen=True, eq=False)
class Ranking:
    """Models ranked best first; ``samples`` is the ``(rounds, n)`` bootstrap scores, columns in
    ``models`` order (kept so that two rankings can be compared with an interval)."""

    rows: tuple[ModelScore, ...]
    models: tuple[str, ...]
    samples: np.ndarray = field(repr=False)
    confidence: float
    anchor: str | None

    def scores(self) -> dict[str, float]:
        return {row.model: row.score for row in self.rows}

    def to_json(self) -> dict[str, Any]:
        return {
            "method": BT_METHOD,
            "anchor": self.anchor or "mean of all models",
            "confidence": self.confidence,
            "rounds": len(self.samples),
            "rows": [row.to_json() for row in self.rows],
        }


def multinomial_rounds(counts, rounds: int, rng, *, chunk: int = 256) -> Iterator[np.ndarray]:
    """Resampled ``counts`` (any shape), ``chunk`` rounds at a time: each round redraws the
    total number of votes over the cells, with probabilities proportional to the counts."""
    import numpy as np

    counts = np.asarray(counts, dtype=np.int64)
    flat = counts.ravel()
    total = int(flat.sum())
    cells = np.flatnonzero(flat)
    p = flat[cells] / total
    for start in range(0, rounds, chunk):
        size = min(chunk, rounds - start)
        out = np.zeros((size, flat.size), dtype=np.int64)
        out[:, cells] = rng.multinomial(total, p, size=size)
        yield out.reshape(size, *counts.shape)


def rank_votes(
    table: VoteTable,
    *,
    rounds: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    anchor: str | None = None,
    regularisation: float = REGULARISATION,
    both_bad: str = "tie",
    context: str = "",
) -> Ranking:
    """Fit the table and bootstrap it by resampling votes; see the module docstring."""
    import numpy as np

    check_rounds(rounds)
    rng = np.random.default_rng(seed)
    return rank_with_resampler(
        table,
        lambda: multinomial_rounds(table.counts, rounds, rng),
        confidence=confidence,
        anchor=anchor,
        regularisation=regularisation,
        both_bad=both_bad,
        context=context,
    )


def rank_by_challenge(tables: Mapping[str, VoteTable], *, seed: int = 0, **options: Any) -> dict[str, Ranking]:
    """:func:`rank_votes` for each challenge's table (same options). Each challenge's random
    stream comes from ``seed`` and its name, so adding a challenge changes no other's result."""
    import numpy as np

    out = {}
    for challenge in sorted(tables):
        own_seed = int(np.random.SeedSequence([seed, zlib.crc32(challenge.encode())]).generate_state(1)[0])
        out[challenge] = rank_votes(tables[challenge], seed=own_seed, context=f"challenge {challenge}", **options)
    return out


def rank_with_resampler(
    table: VoteTable,
    resample: Callable[[], Iterator[np.ndarray]],
    *,
    confidence: float,
    anchor: str | None,
    regularisation: float,
    both_bad: str,
    context: str = "",
) -> Ranking:
    """Fit ``table`` and refit every resampled ``(chunk, P, 4)`` count array ``resample()`` yields."""
    import numpy as np

    if not 0 < confidence < 1:
        raise BradleyTerryError(f"confidence must be between 0 and 1, not {confidence}")
    check_connected(table, context, both_bad=both_bad)
    n = len(table.models)
    point = fit_log_strengths(
        win_matrix(n, table.pairs, table.counts, both_bad=both_bad), regularisation=regularisation
    )
    boots = []
    for chunk in resample():
        for wins in win_matrix(n, table.pairs, chunk, both_bad=both_bad):
            boots.append(fit_log_strengths(wins, regularisation=regularisation, initial=point))
    theta = np.asarray(boots).reshape(-1, n)
    score = to_scores(point, table.models, anchor)
    samples = to_scores(theta, table.models, anchor)
    if len(samples):
        tail = (1 - confidence) / 2 * 100
        low, high = np.percentile(samples, [tail, 100 - tail], axis=0)
        rank = 1 + (low[None, :] > high[:, None]).sum(axis=1)
    else:  # no rounds, no intervals: rank by the point scores alone
        low = high = np.full(n, np.nan)
        rank = 1 + (score[None, :] > score[:, None]).sum(axis=1)
    votes = table.votes_per_model()
    order = sorted(range(n), key=lambda i: (-score[i], table.models[i]))
    rows = tuple(
        ModelScore(table.models[i], int(rank[i]), float(score[i]), _bound(low[i]), _bound(high[i]), int(votes[i]))
        for i in order
    )
    return Ranking(rows, table.models, samples, confidence, anchor)


def check_rounds(rounds: int) -> None:
    if rounds < 0:
        raise BradleyTerryError(f"bootstrap rounds must be 0 or more, not {rounds}")


def _bound(value: float) -> float | None:
    return None if math.isnan(value) else float(value)
