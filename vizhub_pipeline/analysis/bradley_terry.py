"""Bradley-Terry ranking of models from side-by-side votes, with bootstrap intervals.

A vote compares the outputs of two models: ``(model_a, model_b, outcome)`` with outcome
``a`` (a is better), ``b``, ``tie`` or ``both_bad``. Votes are kept as counts per
(pair of models, outcome) in a :class:`VoteTable`; everything below works on those counts,
never on the raw vote list, so a million votes cost no more than their few thousand cells.

Methods (also in :data:`BT_METHOD`, for the outputs):

- Fit: the Bradley-Terry maximum-likelihood strengths, P(i beats j) = w_i / (w_i + w_j),
  computed by choix's iterative Luce spectral ranking on the dense win matrix. A tie counts
  as half a win for each side. ``both_bad`` is a tie by default (both outputs failed alike,
  so neither is preferred; FastChat's arena code does the same); ``both_bad="ignore"``
  drops those votes instead.
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
- A table whose comparison graph (models joined by a vote) is not connected has no common
  scale; :class:`ComparisonGraphError` names the connected components.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vizhub_pipeline.core.errors import VizhubError

if TYPE_CHECKING:
    import numpy as np

OUTCOMES = ("a", "b", "tie", "both_bad")
BOTH_BAD_MODES = ("tie", "ignore")
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


class BradleyTerryError(VizhubError):
    """Votes that cannot be counted or fitted; the message names the vote, model or value."""


class ComparisonGraphError(BradleyTerryError):
    """The models do not form one connected comparison graph, so their scores share no scale."""

    def __init__(self, components: Sequence[Sequence[str]], context: str = ""):
        self.components = [list(part) for part in components]
        parts = "; ".join(f"{{{', '.join(part)}}}" for part in self.components)
        prefix = f"{context}: " if context else ""
        super().__init__(
            f"{prefix}the comparison graph is not connected: no vote links these {len(self.components)} "
            f"groups of models: {parts}"
        )


@dataclass(frozen=True, eq=False)
class VoteTable:
    """Vote counts per pair of models.

    ``pairs`` is ``(P, 2)`` model indices with ``first < second``, each pair once;
    ``counts`` is ``(P, 4)``: votes for the first model, for the second, ties and both_bad.
    """

    models: tuple[str, ...]
    pairs: np.ndarray
    counts: np.ndarray

    def __post_init__(self) -> None:
        import numpy as np

        pairs = np.asarray(self.pairs, dtype=np.int64).reshape(-1, 2)
        counts = np.asarray(self.counts, dtype=np.int64).reshape(-1, len(OUTCOMES))
        if len(pairs) != len(counts):
            raise BradleyTerryError(f"vote table: {len(pairs)} pairs but {len(counts)} rows of counts")
        if len(set(self.models)) != len(self.models):
            raise BradleyTerryError("vote table: a model name appears twice")
        if len(pairs) and (pairs.min() < 0 or pairs.max() >= len(self.models)):
            raise BradleyTerryError("vote table: a pair names a model index outside the list of models")
        if len(pairs) and not (pairs[:, 0] < pairs[:, 1]).all():
            raise BradleyTerryError("vote table: each pair must be (first, second) with first < second")
        if len(np.unique(pairs[:, 0] * len(self.models) + pairs[:, 1])) != len(pairs):
            raise BradleyTerryError("vote table: a pair of models appears twice")
        if (counts < 0).any():
            raise BradleyTerryError("vote table: negative vote count")
        object.__setattr__(self, "pairs", pairs)
        object.__setattr__(self, "counts", counts)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def votes_per_model(self) -> np.ndarray:
        import numpy as np

        per_pair = self.counts.sum(axis=1)
        n = len(self.models)
        return np.bincount(self.pairs[:, 0], per_pair, n) + np.bincount(self.pairs[:, 1], per_pair, n)


def count_votes(model_a, model_b, outcome, *, models: Sequence[str] | None = None) -> VoteTable:
    """Count votes given as three equally long sequences (one entry per vote).

    ``models`` fixes the list (and order) of models; by default it is every model voted on,
    sorted. Raises :class:`BradleyTerryError` naming the first bad vote (by position).
    """
    import numpy as np

    a = np.asarray(model_a, dtype=str)
    b = np.asarray(model_b, dtype=str)
    out = np.asarray(outcome, dtype=str)
    if not (len(a) == len(b) == len(out)):
        raise BradleyTerryError(f"votes: {len(a)} model_a, {len(b)} model_b and {len(out)} outcomes")
    names = np.unique(np.concatenate([a, b])) if models is None else np.asarray(list(models), dtype=str)
    if len(np.unique(names)) != len(names):
        raise BradleyTerryError("votes: a model name appears twice in the list of models")
    order = np.argsort(names, kind="stable")
    codes = []
    for column, values in (("model_a", a), ("model_b", b)):
        position = np.searchsorted(names[order], values).clip(0, max(len(names) - 1, 0))
        known = names[order][position] == values if len(names) else np.zeros(len(values), dtype=bool)
        if not known.all():
            bad = int(np.flatnonzero(~known)[0])
            raise BradleyTerryError(f"vote {bad}: {column} {str(values[bad])!r} is not in the list of models")
        codes.append(order[position])
    outcome_code = np.full(len(out), -1, dtype=np.int64)
    for code, name in enumerate(OUTCOMES):
        outcome_code[out == name] = code
    if (outcome_code < 0).any():
        bad = int(np.flatnonzero(outcome_code < 0)[0])
        raise BradleyTerryError(f"vote {bad}: outcome {str(out[bad])!r} is not one of {', '.join(OUTCOMES)}")
    first, second = codes
    if (first == second).any():
        bad = int(np.flatnonzero(first == second)[0])
        raise BradleyTerryError(f"vote {bad}: model {str(a[bad])!r} is compared with itself")
    swap = first > second
    low, high = np.where(swap, second, first), np.where(swap, first, second)
    flipped = outcome_code.copy()
    flipped[swap & (outcome_code == 0)] = 1
    flipped[swap & (outcome_code == 1)] = 0
    return _table_from_codes(tuple(str(name) for name in names), low, high, flipped)


def _table_from_codes(models: tuple[str, ...], low, high, outcome_code) -> VoteTable:
    import numpy as np

    n = len(models)
    keys, inverse = np.unique(low * n + high, return_inverse=True)
    counts = np.bincount(inverse * len(OUTCOMES) + outcome_code, minlength=len(keys) * len(OUTCOMES))
    return VoteTable(models, np.stack([keys // n, keys % n], axis=1), counts.reshape(len(keys), len(OUTCOMES)))


def merge_tables(tables: Sequence[VoteTable]) -> VoteTable:
    """One table with the votes of all (e.g. per-challenge tables into the overall one)."""
    import numpy as np

    models = sorted({name for table in tables for name in table.models})
    index = {name: i for i, name in enumerate(models)}
    n = len(models)
    keys, counts = [], []
    for table in tables:
        remap = np.asarray([index[name] for name in table.models], dtype=np.int64)
        first, second = remap[table.pairs[:, 0]], remap[table.pairs[:, 1]]
        keys.append(np.minimum(first, second) * n + np.maximum(first, second))
        swapped = table.counts.copy()
        flip = first > second
        swapped[flip, 0], swapped[flip, 1] = table.counts[flip, 1], table.counts[flip, 0]
        counts.append(swapped)
    if not keys:
        return VoteTable((), np.zeros((0, 2)), np.zeros((0, len(OUTCOMES))))
    unique, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    total = np.zeros((len(unique), len(OUTCOMES)), dtype=np.int64)
    np.add.at(total, inverse, np.concatenate(counts))
    return VoteTable(tuple(models), np.stack([unique // n, unique % n], axis=1), total)


def connected_components(table: VoteTable) -> list[list[str]]:
    """The groups of models linked by votes, largest first (names sorted within a group)."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as components

    n = len(table.models)
    voted = table.counts.sum(axis=1) > 0
    edges = table.pairs[voted]
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    count, labels = components(graph, directed=False)
    parts = [sorted(table.models[i] for i in np.flatnonzero(labels == label)) for label in range(count)]
    return sorted(parts, key=lambda part: (-len(part), part))


def check_connected(table: VoteTable, context: str = "") -> None:
    """Raise :class:`ComparisonGraphError` unless the table links all its models (at least two)."""
    if len(table.models) < 2:
        raise BradleyTerryError(f"{context + ': ' if context else ''}a ranking needs votes on two or more models")
    parts = connected_components(table)
    if len(parts) > 1:
        raise ComparisonGraphError(parts, context)


def win_matrix(models: int, pairs, counts, *, both_bad: str = "tie") -> np.ndarray:
    """``(..., n, n)`` matrix ``W[i, j]`` = wins of i over j, ties as half a win each.

    ``counts`` is ``(..., P, 4)`` (leading axes: e.g. bootstrap rounds)."""
    import numpy as np

    if both_bad not in BOTH_BAD_MODES:
        raise BradleyTerryError(f"both_bad must be one of {', '.join(BOTH_BAD_MODES)}, not {both_bad!r}")
    counts = np.asarray(counts, dtype=np.float64)
    half = counts[..., 2] + (counts[..., 3] if both_bad == "tie" else 0.0)
    lead = counts.shape[:-2]
    flat = np.zeros((*lead, models * models))
    flat[..., pairs[:, 0] * models + pairs[:, 1]] = counts[..., 0] + half / 2
    flat[..., pairs[:, 1] * models + pairs[:, 0]] = counts[..., 1] + half / 2
    return flat.reshape(*lead, models, models)


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
    ci_low: float
    ci_high: float
    votes: int

    def to_json(self) -> dict[str, Any]:
        """Scores rounded to 0.01 point: far below any interval, and stable across machines."""
        return {
            "rank": self.rank,
            "model": self.model,
            "score": round(self.score, 2),
            "ci_low": round(self.ci_low, 2),
            "ci_high": round(self.ci_high, 2),
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
    check_connected(table, context)
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
    else:
        low = high = np.full(n, np.nan)
    rank = 1 + (low[None, :] > high[:, None]).sum(axis=1)
    votes = table.votes_per_model()
    order = sorted(range(n), key=lambda i: (-score[i], table.models[i]))
    rows = tuple(
        ModelScore(table.models[i], int(rank[i]), float(score[i]), float(low[i]), float(high[i]), int(votes[i]))
        for i in order
    )
    return Ranking(rows, table.models, samples, confidence, anchor)
