"""The per-model leaderboard: human scores with bootstrap intervals, automated results, cost.

A model's human score is the mean over challenges of its per-challenge mean item consensus
(an item's consensus is the mean of its graders). The interval is a percentile bootstrap
over challenges, all models resampled with the same draws; when fewer than two challenges
have grades, items are resampled instead. Ranks respect the intervals: a model's rank is
1 + the number of models whose interval lies entirely above its own, so models whose
intervals overlap share a rank.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vizhub_pipeline.core.params import AggregateParams
from vizhub_pipeline.core.records import DIMENSIONS

LEADERBOARD_COLUMNS = (
    ["rank", "model", "items", "graded_items", "grades"]
    + [f"{dim}_{stat}" for dim in DIMENSIONS for stat in ("mean", "ci_low", "ci_high")]
    + [
        "generation_ok_rate",
        "renders",
        "render_rate",
        "checks_passed",
        "checks_total",
        "check_pass_rate",
        "tokens_in_per_item",
        "tokens_out_per_item",
        "cost_per_item",
        "cost_total",
    ]
)


def leaderboard_method(unit: str) -> str:
    return (
        f"percentile bootstrap over {unit} (all models resampled together) of the mean over challenges "
        "of each model's mean item consensus; rank = 1 + number of models whose interval lies entirely above"
    )


def build_leaderboard(items, summary: dict, counted, params: AggregateParams, rng) -> dict[str, Any]:
    """``{"unit": "challenges" | "items", "method": ..., "rows": [row dict per model]}``."""
    import numpy as np

    models = sorted({key[1] for key in items.keys})
    challenges = sorted({key[0] for key in items.keys})
    model_index = {model: i for i, model in enumerate(models)}
    challenge_index = {challenge: i for i, challenge in enumerate(challenges)}
    item_model = np.asarray([model_index[key[1]] for key in items.keys], dtype=np.int64)
    item_challenge = np.asarray([challenge_index[key[0]] for key in items.keys], dtype=np.int64)
    n = summary["overall"]["n"] if len(items) else np.zeros(0)
    graded = np.flatnonzero(n > 0)
    unit = "challenges" if len(np.unique(item_challenge[graded])) >= 2 else "items"
    scores = {}
    for dim in DIMENSIONS:
        means = summary[dim]["mean"]
        if unit == "challenges":
            matrix = _cluster_means(
                item_challenge[graded], item_model[graded], means[graded], len(challenges), len(models)
            )
        else:
            matrix = np.full((len(graded), len(models)), np.nan)
            matrix[np.arange(len(graded)), item_model[graded]] = means[graded]
        scores[dim] = _bootstrap_means(matrix, params.bootstrap, params.confidence, rng)
    grades_per_item = np.bincount(counted.item, minlength=len(items)) if len(items) else np.zeros(0, dtype=np.int64)
    rows = []
    for m, model in enumerate(models):
        mine = np.flatnonzero(item_model == m)
        row: dict[str, Any] = {
            "model": model,
            "items": len(mine),
            "graded_items": int((n[mine] > 0).sum()),
            "grades": int(grades_per_item[mine].sum()),
        }
        for dim in DIMENSIONS:
            mean, low, high = (value[m] for value in scores[dim])
            row[f"{dim}_mean"], row[f"{dim}_ci_low"], row[f"{dim}_ci_high"] = _num(mean), _num(low), _num(high)
        row.update(_automated(items, mine))
        rows.append(row)
    _assign_ranks(rows)
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, -(r["overall_mean"] or 0), r["model"]))
    return {"unit": unit, "method": leaderboard_method(unit), "rows": rows}


def _num(value) -> float | None:
    import math

    return None if value is None or math.isnan(value) else float(value)


def _cluster_means(cluster, model, values, n_clusters: int, n_models: int):
    import numpy as np

    slot = cluster * n_models + model
    total = np.bincount(slot, weights=values, minlength=n_clusters * n_models)
    count = np.bincount(slot, minlength=n_clusters * n_models)
    with np.errstate(divide="ignore", invalid="ignore"):
        matrix = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return matrix.reshape(n_clusters, n_models)


def _bootstrap_means(matrix, n_boot: int, confidence: float, rng):
    """Per column: the mean of the present rows, and a percentile bootstrap interval over rows."""
    import numpy as np

    from vizhub_pipeline.analysis.reliability import bootstrap_weights

    rows, columns = matrix.shape
    present = ~np.isnan(matrix)
    filled = np.where(present, matrix, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = filled.sum(axis=0) / present.sum(axis=0)
    low = np.full(columns, np.nan)
    high = np.full(columns, np.nan)
    if rows == 0 or n_boot <= 0:
        return mean, low, high
    boots = []
    chunk = max(1, 2_000_000 // rows)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        weights = bootstrap_weights(rows, size, rng).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            boots.append((weights @ filled) / (weights @ present))
    sample = np.concatenate(boots)  # (n_boot, columns)
    tail = (1 - confidence) / 2 * 100
    for column in range(columns):
        values = sample[:, column]
        values = values[~np.isnan(values)]
        if len(values) and not np.isnan(mean[column]):
            low[column], high[column] = np.percentile(values, [tail, 100 - tail])
    return mean, low, high


def _assign_ranks(rows: list[dict[str, Any]]) -> None:
    scored = [row for row in rows if row["overall_mean"] is not None]
    for row in rows:
        row["rank"] = None
    for row in scored:
        high = row["overall_ci_high"] if row["overall_ci_high"] is not None else row["overall_mean"]
        above = 0
        for other in scored:
            low = other["overall_ci_low"] if other["overall_ci_low"] is not None else other["overall_mean"]
            if other is not row and low > high:
                above += 1
        row["rank"] = 1 + above


def _automated(items, mine) -> dict[str, Any]:
    statuses = [items.status[i] for i in mine]
    renders = [items.render_status[i] for i in mine if items.render_status[i] is not None]
    passed = [items.checks_passed[i] for i in mine if items.checks_total[i]]
    total = [items.checks_total[i] for i in mine if items.checks_total[i]]
    tokens_in = [items.tokens_in[i] for i in mine if items.tokens_in[i] is not None]
    tokens_out = [items.tokens_out[i] for i in mine if items.tokens_out[i] is not None]
    costs = [items.cost[i] for i in mine if items.cost[i] is not None]
    return {
        "generation_ok_rate": statuses.count("ok") / len(statuses) if statuses else None,
        "renders": len(renders),
        "render_rate": renders.count("rendered") / len(renders) if renders else None,
        "checks_passed": sum(passed) if total else None,
        "checks_total": sum(total) if total else None,
        "check_pass_rate": sum(passed) / sum(total) if total else None,
        "tokens_in_per_item": sum(tokens_in) / len(tokens_in) if tokens_in else None,
        "tokens_out_per_item": sum(tokens_out) / len(tokens_out) if tokens_out else None,
        "cost_per_item": sum(costs) / len(costs) if costs else None,
        "cost_total": sum(costs) if costs else None,
    }


# --------------------------------------------------------------------------- report


def read_report(consensus: Path, metrics: Path) -> dict[str, Any]:
    """The leaderboard and reliability summary of a finished aggregate run, for ``vizhub report``."""
    import csv
    import json

    from vizhub_pipeline.core.errors import InputError

    consensus, metrics = Path(consensus), Path(metrics)
    board_path, reliability_path = consensus / "leaderboard.csv", consensus / "reliability.json"
    for path in (board_path, reliability_path, metrics):
        if not path.is_file():
            raise InputError(path, "not found; run `vizhub aggregate` (or `dvc repro aggregate`) first")
    with open(board_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != LEADERBOARD_COLUMNS:
            raise InputError(board_path, "unexpected header; rerun `vizhub aggregate`", line=1)
        rows = [{key: _parse_cell(value) for key, value in row.items()} for row in reader]
    documents = {}
    for name, path in (("reliability", reliability_path), ("metrics", metrics)):
        try:
            documents[name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(path, f"cannot read: {exc}") from None
    reliability, totals = documents["reliability"], documents["metrics"]
    return {
        "leaderboard": rows,
        "grades": reliability.get("grades", {}),
        "items": totals.get("items"),
        "graded_items": totals.get("graded_items"),
        "needs_review": totals.get("needs_review"),
        "alpha": reliability.get("alpha", {}),
        "icc": reliability.get("icc"),
        "pairwise_mean_kappa": reliability.get("pairwise_mean_kappa", {}),
        "methods": reliability.get("methods", {}),
    }


def _parse_cell(value: str) -> Any:
    if value == "":
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def format_report(report: dict[str, Any]) -> str:
    """The report as aligned plain-text tables."""

    def num(value: Any, digits: int = 2) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    def interval(row: dict[str, Any], dim: str) -> str:
        if row[f"{dim}_mean"] is None:
            return "-"
        low, high = row[f"{dim}_ci_low"], row[f"{dim}_ci_high"]
        bounds = f" [{num(low)}, {num(high)}]" if low is not None and high is not None else ""
        return f"{num(row[f'{dim}_mean'])}{bounds}"

    header = ["rank", "model", "overall", "functionality", "aesthetics", "graded", "checks", "renders", "cost/item"]
    table = [header]
    for row in report["leaderboard"]:
        table.append(
            [
                "-" if row["rank"] is None else str(row["rank"]),
                str(row["model"]),
                interval(row, "overall"),
                interval(row, "functionality"),
                interval(row, "aesthetics"),
                f"{row['graded_items']}/{row['items']}",
                "-" if row["check_pass_rate"] is None else f"{row['check_pass_rate'] * 100:.0f}%",
                "-" if row["render_rate"] is None else f"{row['render_rate'] * 100:.0f}%",
                "-" if row["cost_per_item"] is None else f"${row['cost_per_item']:.4f}",
            ]
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["Leaderboard (mean human score, 0-5, with intervals; tied ranks overlap)"]
    for line in table:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    grades = report.get("grades") or {}
    lines.append("")
    if not grades.get("read"):
        lines.append("No human grade exists yet (grade with `vizhub grade`); the automated columns are filled.")
    else:
        lines.append(
            f"Grades: {grades.get('counted', 0)} counted of {grades.get('read', 0)} read from {grades.get('graders', 0)} grader(s); "
            f"{grades.get('stale', 0)} stale, {grades.get('unknown_item_rows', 0)} for unknown items; "
            f"{report.get('needs_review') or 0} item(s) need review"
        )
    lines.append("Reliability (Krippendorff's alpha, ordinal; ICC(2,1); mean pairwise weighted kappa):")
    icc = report.get("icc") or {}
    for dim in DIMENSIONS:
        alpha = (report.get("alpha") or {}).get(dim) or {}
        ci = (
            f" [{num(alpha.get('ci_low'), 3)}, {num(alpha.get('ci_high'), 3)}]"
            if alpha.get("ci_low") is not None
            else ""
        )
        dim_icc = (icc.get(dim) or {}).get("icc2_1") if icc else None
        kappa = (report.get("pairwise_mean_kappa") or {}).get(dim)
        lines.append(
            f"  {dim:<14} alpha {num(alpha.get('value'), 3)}{ci}   ICC {num(dim_icc, 3)}   kappa {num(kappa, 3)}"
        )
    return "\n".join(lines)
