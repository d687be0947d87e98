"""Side-by-side votes counted per pair of models and outcome.

A vote compares the outputs of two models: ``(model_a, model_b, outcome)`` with outcome
``a`` (a is better), ``b``, ``tie`` or ``both_bad``. A :class:`VoteTable` keeps the counts
per (pair of models, outcome); the Bradley-Terry fit and its bootstrap work on those counts,
never on the raw vote list, so a million votes cost no more than their few thousand cells.

For the fit (:func:`win_matrix`) a tie is half a win for each side. ``both_bad`` is a tie by
default -- both outputs failed alike, so neither is preferred (FastChat's arena code does the
same) -- or, with ``both_bad="ignore"``, left out.

Models whose comparison graph (models joined by a vote) is not connected share no scale;
:func:`check_connected` raises :class:`ComparisonGraphError` naming the connected components.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vizhub_pipeline.core.errors import VizhubError

if TYPE_CHECKING:
    import numpy as np

OUTCOMES = ("a", "b", "tie", "both_bad")
BOTH_BAD_MODES = ("tie", "ignore")


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


def connected_components(table: VoteTable, *, both_bad: str = "tie") -> list[list[str]]:
    """The groups of models linked by the votes the fit uses, largest first (names sorted
    within a group): with ``both_bad="ignore"``, both_bad votes link nothing."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as components

    n = len(table.models)
    used = table.counts if both_bad == "tie" else table.counts[:, :3]
    voted = used.sum(axis=1) > 0
    edges = table.pairs[voted]
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    count, labels = components(graph, directed=False)
    parts = [sorted(table.models[i] for i in np.flatnonzero(labels == label)) for label in range(count)]
    return sorted(parts, key=lambda part: (-len(part), part))


def check_connected(table: VoteTable, context: str = "", *, both_bad: str = "tie") -> None:
    """Raise :class:`ComparisonGraphError` unless the table links all its models (at least two)."""
    if len(table.models) < 2:
        raise BradleyTerryError(f"{context + ': ' if context else ''}a ranking needs votes on two or more models")
    parts = connected_components(table, both_bad=both_bad)
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
