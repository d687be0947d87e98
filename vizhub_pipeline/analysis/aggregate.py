"""The aggregate stage: human grades, renders and generations become consensus and a leaderboard.

Inputs: ``results/grades/*.csv``, ``visualizations/*/*/meta.json``, ``results/renders/*/*/render.json``.
Outputs (atomic, deterministic): ``results/consensus/`` (consensus, leaderboard, graders,
pairwise agreement, reliability, disagreements, excluded grades, plot data),
``results/metrics.json`` and ``results/results.csv`` (the original project's results file,
:mod:`~vizhub_pipeline.analysis.results_table`). When ``results/votes/`` has votes, also the
vote leaderboard (:mod:`~vizhub_pipeline.analysis.vote_ranking`).

Counting rules: only rows ``vizhub validate`` accepts for their content, from human sources
(unless others are asked for), are considered (:mod:`vizhub_pipeline.analysis.selection`);
the others are listed in ``excluded.csv`` with their file and line. A grader's latest grade
of an item (by ``graded_at``; on a tie, the later row read) among those whose artifact hash
matches the item's current generation counts once. A grader with grades of an item but none
of its current version counts in that item's ``n_stale``. A grade of an item with no
generation is listed in ``excluded.csv`` and reported, never merged.

Item intervals: two-sided t-interval of the mean over the item's graders, clipped to the
0..5 scale (none with a single grader).
"""

from __future__ import annotations

import csv
import io
import shutil
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from vizhub_pipeline.analysis.items import OutputTable, collect_items
from vizhub_pipeline.core.atomic import (
    clean_stale_temporaries,
    dumps_json,
    replace_dir_atomic,
    staging_dir,
    write_json_atomic,
    write_text_atomic,
)
from vizhub_pipeline.core.errors import InputError
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.params import AggregateParams
from vizhub_pipeline.core.records import (
    DIMENSIONS,
    ConsensusRow,
    ScoreSummary,
    format_float,
    write_consensus,
)

ITEM_INTERVAL_METHOD = (
    "t-interval of the mean over the item's graders (t with n-1 degrees of freedom), clipped to 0..5; "
    "none for one grader"
)
FLAG_ORDER = ("ungraded", "too_few_graders", "high_variance", "stale", "render_outdated", "needs_review")
# dimension -> (number of codes, the score of each code)
DOMAINS = {
    "functionality": [float(v) for v in range(6)],
    "aesthetics": [float(v) for v in range(6)],
    "overall": [v / 2 for v in range(11)],
}


@dataclass
class Counted:
    """The grades that count, one per (grader, item), as numpy arrays; plus what was left out."""

    item: Any
    grader: Any
    functionality: Any
    aesthetics: Any
    graders: list[str]
    n_stale: Any  # per item
    stale_slots: Any = None  # item * n_graders + grader, for graders with only stale grades of an item
    graded_at: Any = None  # per counted grade (canonical UTC text)
    notes: Any = None  # per counted grade
    rows_read: int = 0
    stale_rows: int = 0
    excluded: list[list[str]] = field(default_factory=list)  # rows of excluded.csv
    unknown: dict[tuple[str, str, int], int] = field(default_factory=dict)  # item key -> grade rows
    left_out: dict[str, int] = field(default_factory=dict)  # content reason -> rows (see selection)
    other_sources: dict[str, int] = field(default_factory=dict)  # source not selected -> rows
    not_read: list[tuple[str, str]] = field(default_factory=list)  # (file, why) of files not read

    @property
    def active_graders(self) -> int:
        """Graders with at least one counted grade."""
        return len(set(self.grader.tolist()))

    def codes(self, dim: str):
        if dim == "overall":
            return self.functionality.astype("int64") + self.aesthetics
        return getattr(self, dim).astype("int64")

    def scores(self, dim: str):
        return self.codes(dim) / 2 if dim == "overall" else self.codes(dim).astype("float64")


@dataclass
class AggregateSummary:
    items: int = 0
    graded_items: int = 0
    graders: int = 0
    grades: int = 0
    rows_read: int = 0
    stale: int = 0
    unknown: dict[tuple[str, str, int], int] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)
    other_sources: dict[str, int] = field(default_factory=dict)
    not_read: list[tuple[str, str]] = field(default_factory=list)
    needs_review: int = 0
    alpha: dict[str, float | None] = field(default_factory=dict)
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    votes: list[str] = field(default_factory=list)  # what the votes gave (vote_ranking)

    def lines(self) -> list[str]:
        out = [
            f"aggregate: {self.items} item(s); {self.graded_items} graded by {self.graders} grader(s) "
            f"({self.grades} grade(s) counted of {self.rows_read} read, {self.stale} stale)"
        ]
        if not self.rows_read:
            out.append("no human grade exists yet: consensus has empty scores (grade with `vizhub grade`)")
        for key, count in sorted(self.unknown.items()):
            challenge, model, sample = key
            out.append(
                f"left out {count} grade(s) of an unknown item: {challenge} / {model} sample {sample} "
                "(listed in excluded.csv)"
            )
        if self.left_out:
            reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(self.left_out.items()))
            out.append(
                f"left out {sum(self.left_out.values())} grade(s) that `vizhub validate` rejects ({reasons}; "
                "listed in excluded.csv with file and line)"
            )
        for where, why in self.not_read:
            out.append(f"{where}: {why}")
        if self.other_sources:
            sources = ", ".join(f"{count} {source}" for source, count in sorted(self.other_sources.items()))
            out.append(f"not counted: grades from sources not selected ({sources}); human grades only by default")
        if self.alpha and any(value is not None for value in self.alpha.values()):
            parts = ", ".join(f"{dim} {format_float(value, 3) or 'n/a'}" for dim, value in self.alpha.items())
            out.append(f"Krippendorff's alpha (ordinal): {parts}")
        if self.needs_review:
            out.append(f"{self.needs_review} item(s) need review: see results/consensus/disagreements.csv")
        out.extend(self.votes)
        out.append("wrote " + ", ".join(self.outputs))
        return out


# --------------------------------------------------------------------------- inputs


def count_grades(table, items: OutputTable, *, sources=None, shown=str) -> Counted:
    """Apply the counting rules (module docstring) to a judgement table of grades
    (:class:`~vizhub_pipeline.core.judgements.table.JudgementTable`); ``sources`` as
    :func:`~vizhub_pipeline.analysis.selection.make_source_filter` takes them, ``shown`` turns a
    file path into the text listed in ``excluded.csv``."""
    import numpy as np
    import pandas as pd

    from vizhub_pipeline.analysis.selection import make_excluded_row, select_rows, sort_excluded

    n_rows = len(table)
    selection = select_rows(table, sources, shown=shown)
    columns = table.columns
    rows_of = np.flatnonzero(selection.usable)  # table row of each row considered
    if len(rows_of) != n_rows:
        columns = {name: values[rows_of] for name, values in columns.items()}
    n_items = len(items)
    item = _item_index(columns, items)
    grader_codes, graders = pd.factorize(columns["grader"], sort=True)
    graders = [str(name) for name in graders]
    current = np.asarray(
        [h if h is not None else "\x00none" for h in items.artifact_hash] + ["\x00unknown"], dtype=object
    )
    known = item >= 0
    fresh = known & (columns["artifact_hash"] == current[item])
    at_codes, _ = pd.factorize(columns["graded_at"], sort=True)
    n_graders = max(len(graders), 1)
    slot = item.astype(np.int64) * n_graders + grader_codes
    rows = np.flatnonzero(fresh)
    order = rows[np.lexsort((rows, at_codes[rows], slot[rows]))]
    ordered_slots = slot[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = ordered_slots[1:] != ordered_slots[:-1]
    chosen = np.sort(order[last])
    fresh_slots = ordered_slots[last]  # sorted, unique
    stale_rows = np.flatnonzero(known & ~fresh)
    stale_candidates = np.unique(slot[stale_rows])
    stale_slots = stale_candidates[~np.isin(stale_candidates, fresh_slots, assume_unique=True)]
    n_stale = (
        np.bincount(stale_slots // n_graders, minlength=n_items)[:n_items] if n_items else np.zeros(0, dtype=np.int64)
    )
    counted = Counted(
        item=item[chosen],
        grader=grader_codes[chosen],
        functionality=columns["functionality"][chosen].astype(np.int8),
        aesthetics=columns["aesthetics"][chosen].astype(np.int8),
        graders=graders,
        graded_at=columns["graded_at"][chosen],
        notes=columns["notes"][chosen],
        n_stale=n_stale,
        stale_slots=stale_slots,
        rows_read=n_rows,
        stale_rows=len(stale_rows),
        left_out=selection.by_reason,
        other_sources=selection.other_sources,
        not_read=selection.not_read,
    )
    regraded = np.isin(slot[stale_rows], fresh_slots)
    excluded_index = np.concatenate([stale_rows, np.flatnonzero(~known)])
    reasons = ["stale_regraded" if r else "stale" for r in regraded] + ["unknown_item"] * int((~known).sum())
    entries = list(selection.excluded)
    for index, reason in zip(excluded_index.tolist(), reasons, strict=True):
        entries.append(make_excluded_row(table, int(rows_of[index]), reason, shown))
        if reason == "unknown_item":
            key = (str(columns["challenge"][index]), str(columns["model"][index]), int(columns["sample"][index]))
            counted.unknown[key] = counted.unknown.get(key, 0) + 1
    counted.excluded = sort_excluded(entries)
    return counted


def _item_index(columns, items: OutputTable):
    """Index of each grade row's item in ``items``, -1 for an unknown item."""
    import numpy as np
    import pandas as pd

    if not len(columns["challenge"]):
        return np.zeros(0, dtype=np.int64)
    parts = []
    sizes = []
    for name in ("challenge", "model", "sample"):
        codes, uniques = pd.factorize(columns[name])
        parts.append((codes, uniques))
        sizes.append(len(uniques))
    combined = (parts[0][0].astype(np.int64) * sizes[1] + parts[1][0]) * sizes[2] + parts[2][0]
    unique_keys, inverse = np.unique(combined, return_inverse=True)
    lookup = {key: index for index, key in enumerate(items.keys)}
    mapped = np.empty(len(unique_keys), dtype=np.int64)
    for position, code in enumerate(unique_keys):
        c, rest = divmod(int(code), sizes[1] * sizes[2])
        m, s = divmod(rest, sizes[2])
        key = (str(parts[0][1][c]), str(parts[1][1][m]), int(parts[2][1][s]))
        mapped[position] = lookup.get(key, -1)
    return mapped[inverse.reshape(-1)]


# --------------------------------------------------------------------------- consensus


def summarize_items(counted: Counted, n_items: int, confidence: float) -> dict[str, dict[str, Any]]:
    """Per dimension, per item: n, mean, median, std (n-1), range, t-interval; NaN where undefined."""
    import numpy as np
    from scipy import stats

    item = counted.item
    n = np.bincount(item, minlength=n_items).astype(np.float64)
    out = {}
    order_base = np.argsort(item, kind="stable")
    starts = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
    for dim in DIMENSIONS:
        values = counted.scores(dim)
        total = np.bincount(item, weights=values, minlength=n_items)
        squares = np.bincount(item, weights=values * values, minlength=n_items)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(n > 0, total / n, np.nan)
            var = np.where(n > 1, (squares - n * mean * mean) / (n - 1), np.nan)
        std = np.sqrt(np.clip(var, 0, None))
        order = order_base[np.lexsort((values[order_base], item[order_base]))] if len(item) else order_base
        ordered = values[order]
        median = np.full(n_items, np.nan)
        low = np.full(n_items, np.nan)
        high = np.full(n_items, np.nan)
        graded = np.flatnonzero(n > 0)
        if len(graded):
            first = starts[graded]
            count = n[graded].astype(np.int64)
            median[graded] = (ordered[first + (count - 1) // 2] + ordered[first + count // 2]) / 2
            low[graded] = ordered[first]
            high[graded] = ordered[first + count - 1]
        ci_low = np.full(n_items, np.nan)
        ci_high = np.full(n_items, np.nan)
        several = n > 1
        if several.any():
            t = stats.t.ppf(0.5 + confidence / 2, n[several] - 1)
            half = t * std[several] / np.sqrt(n[several])
            ci_low[several] = np.clip(mean[several] - half, 0, 5)
            ci_high[several] = np.clip(mean[several] + half, 0, 5)
        out[dim] = {
            "n": n,
            "mean": mean,
            "median": median,
            "std": std,
            "range": high - low,
            "ci_low": ci_low,
            "ci_high": ci_high,
        }
    return out


def build_consensus(items: OutputTable, counted: Counted, summary: dict, params: AggregateParams) -> list[ConsensusRow]:
    import math

    rows = []
    n = summary["overall"]["n"]
    for index, key in enumerate(items.keys):
        graders = int(n[index])
        stale = int(counted.n_stale[index]) if len(counted.n_stale) else 0
        scores: dict[str, ScoreSummary | None] = {}
        for dim in DIMENSIONS:
            if graders:
                stat = summary[dim]
                scores[dim] = ScoreSummary(
                    *(float(stat[name][index]) for name in ("mean", "median", "std", "ci_low", "ci_high"))
                )
            else:
                scores[dim] = None
        flags = set()
        if not graders:
            flags.add("ungraded")
        elif graders < params.min_graders:
            flags.add("too_few_graders")
        overall_std = summary["overall"]["std"][index]
        if graders > 1 and not math.isnan(overall_std) and overall_std >= params.high_variance:
            flags.add("high_variance")
        if stale:
            flags.add("stale")
        if items.render_outdated[index]:
            flags.add("render_outdated")
        if "high_variance" in flags or (stale and graders < params.min_graders):
            flags.add("needs_review")
        rows.append(
            ConsensusRow(
                challenge=key[0],
                model=key[1],
                sample=key[2],
                artifact_hash=items.artifact_hash[index],
                n_graders=graders,
                n_stale=stale,
                functionality=scores["functionality"],
                aesthetics=scores["aesthetics"],
                overall=scores["overall"],
                flags=tuple(flag for flag in FLAG_ORDER if flag in flags),
                render_status=items.render_status[index],
                checks_passed=items.checks_passed[index],
                checks_total=items.checks_total[index],
            )
        )
    return rows


# --------------------------------------------------------------------------- entry


def rng_for(seed: int, *labels: str):
    """A generator that depends only on the seed and the labels (not on call order)."""
    import numpy as np

    return np.random.default_rng([seed] + [zlib.crc32(label.encode("utf-8")) for label in labels])


def run_aggregate(
    layout: Layout,
    params: AggregateParams,
    *,
    echo: Callable[[str], None] | None = None,
    sources: Iterable[str] | None = None,
    now: datetime | None = None,
) -> AggregateSummary:
    """Read grades, generations and renders; write ``results/consensus/``, ``results/metrics.json``
    and ``results/results.csv``.

    ``sources``: the grade sources to count (default: the human ones; see
    :func:`~vizhub_pipeline.analysis.selection.make_source_filter`); ``now``: the time a grade may
    not be later than (default: the clock)."""
    from vizhub_pipeline.analysis.leaderboard import build_leaderboard
    from vizhub_pipeline.analysis.results_table import format_results, results_rows
    from vizhub_pipeline.analysis.vote_ranking import rank_project_votes
    from vizhub_pipeline.core.judgements.scores import KIND as SCORES
    from vizhub_pipeline.core.judgements.table import read_judgement_table

    if echo:
        echo("aggregate: reading generations, renders and grades")

    check_params(params, layout.params)
    clean_stale_temporaries(layout.consensus.parent, name=layout.consensus.name)  # of an interrupted run
    items = collect_items(layout)
    table = read_judgement_table(layout.root, SCORES, now=now)
    counted = count_grades(table, items, sources=sources, shown=lambda path: _relative(layout, Path(path)))
    summary = summarize_items(counted, len(items), params.confidence)
    rows = build_consensus(items, counted, summary, params)
    board = build_leaderboard(items, summary, counted, params, rng_for(params.seed, "leaderboard"))
    reliability = _reliability(items, counted, params)
    votes = rank_project_votes(layout.root, items, counted, params, sources=sources, now=now)

    staging = staging_dir(layout.consensus)
    try:
        write_consensus(staging / "consensus.csv", rows)
        metrics = write_outputs(staging, items, counted, summary, rows, board, reliability, params)
        if votes is not None:
            for name, text in votes.files.items():
                write_text_atomic(staging / name, text, durable=False)
            write_text_atomic(staging / "votes.json", dumps_json(_round(votes.document)), durable=False)
        replace_dir_atomic(staging, layout.consensus)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_json_atomic(layout.metrics, metrics)
    write_text_atomic(layout.results_csv, format_results(results_rows(items, counted, summary)))

    result = AggregateSummary(
        items=len(items),
        graded_items=sum(1 for row in rows if row.n_graders),
        graders=counted.active_graders,
        grades=len(counted.item),
        rows_read=counted.rows_read,
        stale=int(counted.n_stale.sum()) if len(counted.n_stale) else 0,
        unknown=dict(counted.unknown),
        left_out=dict(counted.left_out),
        other_sources=dict(counted.other_sources),
        not_read=list(counted.not_read),
        needs_review=sum(1 for row in rows if "needs_review" in row.flags),
        alpha={dim: reliability["alpha"][dim]["value"] for dim in DIMENSIONS},
        leaderboard=board["rows"],
        votes=votes.lines if votes is not None else [],
        outputs=[
            _relative(layout, layout.consensus) + "/",
            _relative(layout, layout.metrics),
            _relative(layout, layout.results_csv),
        ],
    )
    return result


def check_params(params: AggregateParams, path: Path) -> None:
    """Reject values the statistics cannot use, naming the ``params.yaml`` key."""
    problems = (
        ("aggregate.confidence", not 0 < params.confidence < 1, "must be between 0 and 1 (e.g. 0.95)"),
        ("aggregate.bootstrap", params.bootstrap < 0, "must be 0 (no intervals) or more resamples (e.g. 1000)"),
        ("aggregate.bt_rounds", params.bt_rounds < 0, "must be 0 (no intervals) or more rounds (e.g. 1000)"),
        ("aggregate.min_graders", params.min_graders < 1, "must be 1 or more"),
        ("aggregate.high_variance", params.high_variance <= 0, "must be a positive standard deviation (e.g. 1.5)"),
    )
    for key, bad, message in problems:
        if bad:
            raise InputError(path, message, field=key)


def _relative(layout: Layout, path: Path) -> str:
    try:
        return str(path.relative_to(layout.root))
    except ValueError:
        return str(path)


def _reliability(items: OutputTable, counted: Counted, params: AggregateParams) -> dict[str, Any]:
    import numpy as np

    from vizhub_pipeline.analysis import reliability as rel

    n_items = len(items)
    n_graders = len(counted.graders)
    result: dict[str, Any] = {"alpha": {}, "alpha_by_challenge": {}, "icc": None, "pairwise": [], "graders": []}
    counts = {dim: rel.value_counts(counted.item, counted.codes(dim), n_items, len(DOMAINS[dim])) for dim in DIMENSIONS}

    def alphas(groups: dict[str, Any], *labels: str) -> dict[str, Any]:
        found = rel.alphas_with_intervals(
            counts,
            DOMAINS,
            groups,
            n_boot=params.bootstrap,
            confidence=params.confidence,
            rng=rng_for(params.seed, "alpha", *labels),
        )
        return {name: {dim: alpha.to_json() for dim, alpha in by_dim.items()} for name, by_dim in found.items()}

    result["alpha"] = alphas({"all": np.arange(n_items)})["all"]
    bounds: dict[str, list[int]] = {}
    for index, key in enumerate(items.keys):
        bounds.setdefault(key[0], []).append(index)
    result["alpha_by_challenge"] = alphas({name: bounds[name] for name in sorted(bounds)}, "by challenge")
    block_items, block_graders = rel.crossed_block(counted.item, counted.grader, n_items, n_graders)
    if len(block_items):
        icc: dict[str, Any] = {"items": len(block_items), "graders": [counted.graders[g] for g in block_graders]}
        for dim in DIMENSIONS:
            matrix = np.full((n_items, n_graders), np.nan)
            matrix[counted.item, counted.grader] = counted.scores(dim)
            values = rel.icc_two_way(matrix[np.ix_(block_items, block_graders)])
            icc[dim] = None if values is None else {"icc2_1": values[0], "icc2_k": values[1]}
        result["icc"] = icc
    pairs: dict[tuple[int, int], dict[str, Any]] = {}
    for dim in DIMENSIONS:
        a, b, common, kappa = rel.pairwise_kappa(counted.item, counted.grader, counted.scores(dim), n_items, n_graders)
        for x, y, c, k in zip(a.tolist(), b.tolist(), common.tolist(), kappa.tolist(), strict=True):
            pairs.setdefault((x, y), {"common": c})[dim] = None if np.isnan(k) else k
    result["pairwise"] = [
        {"grader_a": counted.graders[x], "grader_b": counted.graders[y], **values}
        for (x, y), values in sorted(pairs.items())
    ]
    result["graders"] = rel.grader_stats(counted.item, counted.grader, counted.scores("overall"), counted.graders)
    return result


# --------------------------------------------------------------------------- outputs

GRADER_COLUMNS = (
    "grader",
    "grades",
    "stale",
    "compared",
    "leniency",
    "mean_abs_diff",
    "spearman",
    "mean_kappa_overall",
)
GRADER_PAIR_COLUMNS = (
    "grader_a",
    "grader_b",
    "common_items",
    "kappa_functionality",
    "kappa_aesthetics",
    "kappa_overall",
)
DISAGREEMENT_COLUMNS = (
    "challenge",
    "model",
    "sample",
    "n_graders",
    "n_stale",
    "overall_mean",
    "overall_std",
    "overall_range",
    "functionality_std",
    "aesthetics_std",
    "flags",
)
EXCLUDED_COLUMNS = ("reason", "challenge", "model", "sample", "artifact_hash", "grader", "graded_at", "file")
PLOT_LEADERBOARD_COLUMNS = ("model", "rank", "mean", "ci_low", "ci_high")
PLOT_SCORES_COLUMNS = ("model", "dimension", "score", "grades")
PLOT_RATES_COLUMNS = ("model", "measure", "rate", "ci_low", "ci_high", "n")  # n: outputs, or checks


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float(value)
    return str(value)


def _csv_text(columns, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()


def _round(value: Any) -> Any:
    """Floats of the JSON outputs at the CSV precision, so reruns and platforms agree."""
    import math

    if isinstance(value, float):
        return None if math.isnan(value) else float(format_float(value))
    if isinstance(value, dict):
        return {key: _round(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(item) for item in value]
    return value


def write_outputs(
    folder: Path,
    items: OutputTable,
    counted: Counted,
    summary: dict,
    rows: list[ConsensusRow],
    board: dict[str, Any],
    reliability: dict[str, Any],
    params: AggregateParams,
) -> dict[str, Any]:
    """Write every file of ``results/consensus/`` but consensus.csv into ``folder``; return the metrics."""
    import math

    import numpy as np

    from vizhub_pipeline.analysis.leaderboard import LEADERBOARD_COLUMNS

    def put(name: str, text: str) -> None:
        write_text_atomic(folder / name, text, durable=False)

    put(
        "leaderboard.csv",
        _csv_text(LEADERBOARD_COLUMNS, ([row[c] for c in LEADERBOARD_COLUMNS] for row in board["rows"])),
    )

    kappas: dict[str, list[float]] = {}
    for pair in reliability["pairwise"]:
        if pair.get("overall") is not None:
            kappas.setdefault(pair["grader_a"], []).append(pair["overall"])
            kappas.setdefault(pair["grader_b"], []).append(pair["overall"])
    n_graders = max(len(counted.graders), 1)
    stale_by_grader = (
        np.bincount(counted.stale_slots % n_graders, minlength=n_graders)
        if len(counted.stale_slots)
        else np.zeros(n_graders, dtype=np.int64)
    )
    grader_rows = [
        [
            s.grader,
            s.grades,
            int(stale_by_grader[i]),
            s.compared,
            s.leniency,
            s.mean_abs_diff,
            s.spearman,
            float(np.mean(kappas[s.grader])) if kappas.get(s.grader) else None,
        ]
        for i, s in enumerate(reliability["graders"])
    ]
    put("graders.csv", _csv_text(GRADER_COLUMNS, grader_rows))
    put(
        "pairwise.csv",
        _csv_text(
            GRADER_PAIR_COLUMNS,
            (
                [
                    p["grader_a"],
                    p["grader_b"],
                    p["common"],
                    p.get("functionality"),
                    p.get("aesthetics"),
                    p.get("overall"),
                ]
                for p in reliability["pairwise"]
            ),
        ),
    )

    review = [i for i, row in enumerate(rows) if "needs_review" in row.flags]
    overall = summary["overall"]
    review.sort(key=lambda i: (-overall["std"][i] if not math.isnan(overall["std"][i]) else math.inf, rows[i].key))
    put(
        "disagreements.csv",
        _csv_text(
            DISAGREEMENT_COLUMNS,
            (
                [
                    rows[i].challenge,
                    rows[i].model,
                    rows[i].sample,
                    rows[i].n_graders,
                    rows[i].n_stale,
                    float(overall["mean"][i]),
                    float(overall["std"][i]),
                    float(overall["range"][i]),
                    float(summary["functionality"]["std"][i]),
                    float(summary["aesthetics"]["std"][i]),
                    ";".join(rows[i].flags),
                ]
                for i in review
            ),
        ),
    )
    put("excluded.csv", _csv_text(EXCLUDED_COLUMNS, counted.excluded))

    put(
        "plots/leaderboard.csv",
        _csv_text(
            PLOT_LEADERBOARD_COLUMNS,
            (
                [row["model"], row["rank"], row["overall_mean"], row["overall_ci_low"], row["overall_ci_high"]]
                for row in board["rows"]
                if row["overall_mean"] is not None
            ),
        ),
    )
    models = sorted({key[1] for key in items.keys})
    model_index = {model: i for i, model in enumerate(models)}
    item_model = np.asarray([model_index[key[1]] for key in items.keys], dtype=np.int64)
    score_rows = []
    for dim in DIMENSIONS:
        n_codes = len(DOMAINS[dim])
        graded_model = item_model[counted.item] if len(counted.item) else np.zeros(0, dtype=np.int64)
        histogram = (
            np.bincount(graded_model * n_codes + counted.codes(dim), minlength=len(models) * n_codes).reshape(
                len(models), n_codes
            )
            if models
            else np.zeros((0, n_codes), dtype=np.int64)
        )
        for m, model in enumerate(models):
            for code, score in enumerate(DOMAINS[dim]):
                score_rows.append([model, dim, format_float(score, 1), int(histogram[m, code])])
    put("plots/scores.csv", _csv_text(PLOT_SCORES_COLUMNS, score_rows))
    put("plots/rates.csv", _csv_text(PLOT_RATES_COLUMNS, _rate_rows(board["rows"], params.confidence)))

    document = {
        "confidence": params.confidence,
        "bootstrap": params.bootstrap,
        "seed": params.seed,
        "methods": {
            "item_interval": ITEM_INTERVAL_METHOD,
            "leaderboard_interval": board["method"],
            "alpha": _reliability_methods()["alpha"],
            "icc": _reliability_methods()["icc"],
            "pairwise": _reliability_methods()["pairwise"],
            "graders": _reliability_methods()["graders"],
        },
        "grades": {
            "read": counted.rows_read,
            "counted": len(counted.item),
            "stale_rows": counted.stale_rows,
            "stale": int(counted.n_stale.sum()) if len(counted.n_stale) else 0,
            "unknown_item_rows": sum(counted.unknown.values()),
            "graders": counted.active_graders,
        },
        "alpha": reliability["alpha"],
        "alpha_by_challenge": reliability["alpha_by_challenge"],
        "icc": reliability["icc"],
        "pairwise_mean_kappa": {
            dim: (float(np.mean(values)) if values else None)
            for dim in DIMENSIONS
            for values in [[p[dim] for p in reliability["pairwise"] if p.get(dim) is not None]]
        },
    }
    put("reliability.json", dumps_json(_round(document)))
    return _round(_metrics(items, counted, rows, board, reliability, document))


def _rate_rows(board_rows: list[dict[str, Any]], confidence: float) -> list[list[Any]]:
    """Per model, the automated rates for ``dvc plots``: outputs rendered and code tests passed (with
    Wilson intervals over outputs), and single checks passed (no interval: checks of one output are
    not independent)."""
    from vizhub_pipeline.core.proportions import wilson_interval

    rows: list[list[Any]] = []
    for row in sorted(board_rows, key=lambda r: r["model"]):
        if row["renders"]:
            low, high = wilson_interval(row["rendered"], row["renders"], confidence)
            rows.append([row["model"], "rendered", row["render_rate"], low, high, row["renders"]])
        if row["checks_total"]:
            rows.append([row["model"], "checks passed", row["check_pass_rate"], None, None, row["checks_total"]])
        if row["tests_total"]:
            rows.append(
                [
                    row["model"],
                    "tests passed",
                    row["test_pass_rate"],
                    row["test_ci_low"],
                    row["test_ci_high"],
                    row["tests_total"],
                ]
            )
    return rows


def _reliability_methods() -> dict[str, str]:
    from vizhub_pipeline.analysis import reliability as rel

    return {
        "alpha": rel.ALPHA_METHOD,
        "icc": rel.ICC_METHOD,
        "pairwise": rel.KAPPA_METHOD,
        "graders": rel.GRADER_METHOD,
    }


def _metrics(
    items: OutputTable,
    counted: Counted,
    rows: list[ConsensusRow],
    board: dict[str, Any],
    reliability: dict[str, Any],
    document: dict[str, Any],
) -> dict[str, Any]:
    pages = [i for i, kind in enumerate(items.kind) if kind != "code"]
    renders = [items.render_status[i] for i in pages if items.render_status[i] is not None]
    passed = sum(items.checks_passed[i] or 0 for i in pages if items.checks_total[i])
    total = sum(items.checks_total[i] or 0 for i in pages if items.checks_total[i])
    tests = [status for status, kind in zip(items.test_status, items.kind, strict=True) if kind == "code" and status]
    icc = reliability["icc"] or {}
    # summary numbers only, so that `dvc metrics show` stays one readable row; per-model figures are
    # in leaderboard.csv and plots/ (`dvc plots show`, `dvc plots diff`)
    return {
        "models": len(board["rows"]),
        "items": len(items),
        "graded_items": sum(1 for row in rows if row.n_graders),
        "graders": counted.active_graders,
        "grades": len(counted.item),
        "stale": document["grades"]["stale"],
        "unknown_item_grades": document["grades"]["unknown_item_rows"],
        "needs_review": sum(1 for row in rows if "needs_review" in row.flags),
        # overall only: per dimension, with intervals, in results/consensus/reliability.json
        "alpha_overall": reliability["alpha"]["overall"]["value"],
        "icc2_1_overall": (icc.get("overall") or {}).get("icc2_1"),
        "generation_ok_rate": (items.status.count("ok") / len(items)) if len(items) else None,
        "render_rate": renders.count("rendered") / len(renders) if renders else None,
        "check_pass_rate": passed / total if total else None,
        "test_pass_rate": tests.count("passed") / len(tests) if tests else None,
    }
