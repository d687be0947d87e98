"""``vizhub report``: the leaderboard and the reliability of a finished aggregate run, explained.

Reads ``results/consensus/leaderboard.csv``, ``reliability.json``, ``disagreements.csv`` and
``results/metrics.json``; prints tables with what the numbers mean in plain words:

- Krippendorff's alpha against Krippendorff's own conventions (Content Analysis, 2nd
  edition, 2004): at least 0.800 to rely on a variable, 0.667 to 0.800 for tentative
  conclusions only, below 0.667 not to rely on it.
- ICC against Koo & Li (2016, Journal of Chiropractic Medicine 15(2)): below 0.50 poor,
  0.50 to 0.75 moderate, 0.75 to 0.90 good, above 0.90 excellent; and against the target
  of the original vizhub-benchmarks methodology, ICC of at least 0.70 (after Cicchetti 1994).
- The items that need review, by name (the most disagreed first), or the file that lists
  them all when there are many.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vizhub_pipeline.core.records import DIMENSIONS

ALPHA_RELIABLE, ALPHA_TENTATIVE = 0.800, 0.667
ICC_TARGET = 0.70
REVIEW_SHOWN = 10  # items named in the text report; more are left to disagreements.csv
WIDTH = 110  # prose lines of the text report are wrapped at this width

ALPHA_LEGEND = (
    "Krippendorff's alpha (1 = perfect agreement, 0 = no better than chance, below 0 = systematic "
    "disagreement): at least 0.800 reliable; 0.667 to 0.800 good enough for tentative conclusions only; "
    "below 0.667 unreliable (Krippendorff 2004)."
)
ICC_LEGEND = (
    "ICC(2,1), how far one grader's scores can be trusted (ICC(2,k): the mean of k graders): below 0.50 poor, "
    "0.50 to 0.75 moderate, 0.75 to 0.90 good, above 0.90 excellent (Koo & Li 2016); the target of the "
    "original vizhub-benchmarks is ICC of at least 0.70."
)
TESTS_LEGEND = (
    "Wilson score interval; renders and checks count visualization outputs only (the share rendered, and of "
    "single checks passed)."
)
KAPPA_LEGEND = "kappa: quadratic-weighted Cohen's kappa of two graders, averaged over every pair (1 = perfect)."


def alpha_band(value: float) -> str:
    """Krippendorff's reading of an alpha value."""
    if value >= ALPHA_RELIABLE:
        return "reliable"
    if value >= ALPHA_TENTATIVE:
        return "tentative"
    return "unreliable"


def icc_band(value: float) -> str:
    """Koo & Li's reading of an ICC value."""
    if value > 0.90:
        return "excellent"
    if value >= 0.75:
        return "good"
    if value >= 0.50:
        return "moderate"
    return "poor"


def describe_alpha(value: float | None, low: float | None, high: float | None) -> str:
    """One phrase: the band of alpha, and whether its interval settles it."""
    if value is None:
        return "no alpha: no output has two grades yet, or one score was given throughout"
    band = alpha_band(value)
    words = {
        "reliable": "reliable (at least 0.800)",
        "tentative": "tentative conclusions only (0.667 to 0.800)",
        "unreliable": "unreliable (below 0.667)",
    }[band]
    if low is None or high is None:
        return words
    if alpha_band(low) == alpha_band(high):
        return f"{words}; so is its whole interval"
    return f"{words}; its interval spans {alpha_band(low)} to {alpha_band(high)}: more grades are needed to be sure"


def describe_icc(value: float | None) -> str:
    if value is None:
        return "no ICC: no two outputs that the same two graders (or more) all graded, or no variation"
    target = "meets" if value >= ICC_TARGET else "below"
    return f"{icc_band(value)}, {target} the {ICC_TARGET:.2f} target"


# --------------------------------------------------------------------------- read


def read_report(consensus: Path, metrics: Path, *, root: Path | None = None) -> dict[str, Any]:
    """The leaderboard, reliability and review list of a finished aggregate run, for ``vizhub report``."""
    import csv
    import json

    from vizhub_pipeline.analysis.leaderboard import LEADERBOARD_COLUMNS
    from vizhub_pipeline.core.errors import InputError

    consensus, metrics = Path(consensus), Path(metrics)
    board_path, reliability_path = consensus / "leaderboard.csv", consensus / "reliability.json"
    review_path = consensus / "disagreements.csv"
    for path in (board_path, reliability_path, review_path, metrics):
        if not path.is_file():
            raise InputError(path, "not found; run `vizhub aggregate` (or `dvc repro aggregate`) first")
    tables = {}
    for path in (board_path, review_path):
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if path == board_path and reader.fieldnames != LEADERBOARD_COLUMNS:
                raise InputError(path, "unexpected header; rerun `vizhub aggregate`", line=1)
            tables[path] = [{key: _parse_cell(value) for key, value in row.items()} for row in reader]
    documents = {}
    for name, path in (("reliability", reliability_path), ("metrics", metrics)):
        try:
            documents[name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(path, f"cannot read: {exc}") from None
    reliability, totals = documents["reliability"], documents["metrics"]
    votes: dict[str, Any] = {}
    votes_path, board_votes = consensus / "votes.json", consensus / "votes_leaderboard.csv"
    if votes_path.is_file():
        try:
            votes = json.loads(votes_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(votes_path, f"cannot read: {exc}") from None
        if board_votes.is_file():
            with open(board_votes, newline="", encoding="utf-8") as handle:
                votes["rows"] = [
                    {key: _parse_cell(value) for key, value in row.items()} for row in csv.DictReader(handle)
                ]
    return {
        "votes": votes,
        "leaderboard": tables[board_path],
        "grades": reliability.get("grades", {}),
        "items": totals.get("items"),
        "graded_items": totals.get("graded_items"),
        "needs_review": totals.get("needs_review"),
        "review": tables[review_path],
        "review_file": _shown_path(review_path, root),
        "alpha": reliability.get("alpha", {}),
        "icc": reliability.get("icc"),
        "pairwise_mean_kappa": reliability.get("pairwise_mean_kappa", {}),
        "confidence": reliability.get("confidence"),
        "methods": reliability.get("methods", {}),
    }


def _shown_path(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.relative_to(root))
        except ValueError:
            pass
    return str(path)


def _parse_cell(value: str) -> Any:
    if value == "":
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


# --------------------------------------------------------------------------- format


def _num(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_report(report: dict[str, Any]) -> str:
    """The report as aligned plain-text tables, each followed by what its numbers mean."""
    lines = _leaderboard_lines(report) + _votes_lines(report.get("votes") or {})
    grades = report.get("grades") or {}
    lines.append("")
    if not grades.get("read"):
        lines.append("No human grade exists yet (grade with `vizhub grade`); the automated columns are filled.")
        return "\n".join(lines)
    lines.append(
        f"Grades: {grades.get('counted', 0)} counted of {grades.get('read', 0)} read from "
        f"{grades.get('graders', 0)} grader(s); {grades.get('stale', 0)} stale, "
        f"{grades.get('unknown_item_rows', 0)} for unknown items; "
        f"{report.get('needs_review') or 0} item(s) need review"
    )
    lines.append("")
    lines += _reliability_lines(report)
    lines += _review_lines(report)
    return "\n".join(lines)


def _leaderboard_lines(report: dict[str, Any]) -> list[str]:
    def interval(row: dict[str, Any], dim: str) -> str:
        if row[f"{dim}_mean"] is None:
            return "-"
        low, high = row[f"{dim}_ci_low"], row[f"{dim}_ci_high"]
        bounds = f" [{_num(low)}, {_num(high)}]" if low is not None and high is not None else " [n/a]"
        return f"{_num(row[f'{dim}_mean'])}{bounds}"

    header = ["rank", "model", "overall", "functionality", "aesthetics", "graded", "checks", "renders", "tests"]
    header.append("cost/item")
    table = [header]
    rows = report["leaderboard"]
    for row in rows:
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
                _test_cell(row),
                "-" if row["cost_per_item"] is None else f"${row['cost_per_item']:.4f}",
            ]
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    units = sorted({str(row["interval_unit"]) for row in rows if row.get("interval_unit")})
    level = f"{report['confidence'] * 100:g}% " if report.get("confidence") else ""
    over = f"{level}intervals over {' and '.join(units)}" if units else "intervals"
    lines = [f"Leaderboard (mean human score 0-5 with {over}; rank = 1 + models whose interval lies wholly above)"]
    for line in table:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    for row in rows:
        if row.get("interval_note"):
            lines.append(f"  n/a for {row['model']}: {row['interval_note']}")
    method = (report.get("methods") or {}).get("leaderboard_interval")
    if method and any(row["overall_mean"] is not None for row in rows):
        lines += _wrap(method, "  ")
    if any(row.get("tests_total") for row in rows):
        lines += _wrap(
            f"tests: code-challenge outputs whose test passed, of those tested, with a {level}{TESTS_LEGEND}", "  "
        )
    return lines


def _test_cell(row: dict[str, Any]) -> str:
    """``4/5 80% [38%, 96%]``: tests passed of tested, the pass rate and its Wilson interval."""
    if not row.get("tests_total"):
        return "-"
    text = f"{row['tests_passed']}/{row['tests_total']} {row['test_pass_rate'] * 100:.0f}%"
    if row.get("test_ci_low") is not None and row.get("test_ci_high") is not None:
        text += f" [{row['test_ci_low'] * 100:.0f}%, {row['test_ci_high'] * 100:.0f}%]"
    return text


def _votes_lines(votes: dict[str, Any]) -> list[str]:
    """The Bradley-Terry leaderboard of pairwise votes, when the project has votes."""
    if not votes:
        return []
    counts = votes.get("votes") or {}
    lines = ["", f"Pairwise votes: {counts.get('counted', 0)} counted of {counts.get('read', 0)} read"]
    if votes.get("error"):
        return lines + _wrap(f"no vote leaderboard: {votes['error']}", "  ")
    rows = votes.get("rows") or []
    if not rows:
        return lines
    table = [["rank", "model", "rating", "votes"]]
    for row in rows:
        bounds = f" [{_num(row['ci_low'], 0)}, {_num(row['ci_high'], 0)}]" if row.get("ci_low") is not None else ""
        table.append([str(row["rank"]), str(row["model"]), f"{_num(row['score'], 0)}{bounds}", str(row["votes"])])
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in table]
    lines += _wrap(
        "rating: Bradley-Terry on an Elo-like scale (mean 1000; 400 points = 10:1 odds), with a bootstrap "
        "interval over the votes; rank = 1 + models whose interval lies wholly above.",
        "  ",
    )
    tau = votes.get("kendall_tau") or {}
    if tau.get("tau") is not None:
        bounds = f" [{_num(tau.get('ci_low'))}, {_num(tau.get('ci_high'))}]" if tau.get("ci_low") is not None else ""
        lines.append(
            f"  votes vs grades: Kendall's tau {_num(tau['tau'])}{bounds} over {tau.get('models')} models "
            "(1 = the same order, 0 = unrelated, -1 = reversed)"
        )
    return lines


def _wrap(text: str, indent: str) -> list[str]:
    import textwrap

    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")


def _reliability_lines(report: dict[str, Any]) -> list[str]:
    lines = ["Reliability: do the graders agree?"]
    icc = report.get("icc") or {}
    k = len(icc.get("graders") or [])
    for dim in DIMENSIONS:
        alpha = (report.get("alpha") or {}).get(dim) or {}
        value, low, high = alpha.get("value"), alpha.get("ci_low"), alpha.get("ci_high")
        bounds = f" [{_num(low, 3)}, {_num(high, 3)}]" if low is not None and high is not None else ""
        lines.append(f"  {dim}")
        lines.append(f"    alpha {_num(value, 3)}{bounds}: {describe_alpha(value, low, high)}")
        forms = icc.get(dim) or {}
        single, average = forms.get("icc2_1"), forms.get("icc2_k")
        text = f"    ICC(2,1) {_num(single, 3)}: {describe_icc(single)}"
        if average is not None:
            text += f"; ICC(2,{k}) {_num(average, 3)}: {icc_band(average)}"
        lines.append(text)
        kappa = (report.get("pairwise_mean_kappa") or {}).get(dim)
        lines.append(f"    kappa {_num(kappa, 3)}")
    if icc:
        lines.append(f"  ICC on {icc.get('items')} outputs that {k} graders all graded: {', '.join(icc['graders'])}")
    lines.append("  How to read these:")
    for legend in (ALPHA_LEGEND, ICC_LEGEND, KAPPA_LEGEND):
        lines += _wrap(legend, "    ")
    return lines


def _review_lines(report: dict[str, Any]) -> list[str]:
    review = report.get("review") or []
    if not review:
        return ["", "No item needs review."]
    lines = ["", f"Needs review ({len(review)}, most disagreed first; regrade them or discuss them):"]
    for row in review[:REVIEW_SHOWN]:
        lines.append(f"  {row['challenge']} / {row['model']} sample {row['sample']}: {_review_reason(row)}")
    if len(review) > REVIEW_SHOWN:
        lines.append(f"  ... and {len(review) - REVIEW_SHOWN} more: all are listed in {report['review_file']}")
    else:
        lines.append(f"  (also listed in {report['review_file']})")
    return lines


def _review_reason(row: dict[str, Any]) -> str:
    flags = str(row.get("flags") or "").split(";")
    reasons = []
    if "high_variance" in flags:
        reasons.append(
            f"graders disagree (overall sd {_num(row['overall_std'])}, spread {_num(row['overall_range'], 1)} points "
            f"over {row['n_graders']} graders)"
        )
    if "stale" in flags:
        reasons.append(
            f"{row['n_stale']} grader(s) graded an older version only, {row['n_graders']} graded the current one"
        )
    return "; ".join(reasons) or str(row.get("flags") or "flagged")
