"""The leaderboards of the report, one function each, all read by column name.

Each function returns a :class:`Board` (a chart with interval bars and a sortable table),
a board with ``unavailable`` set (shown as "not available" with the reason), or ``None``
for a kind of result that does not exist in this project (its section is left out). A new
leaderboard is one more function here and one line in :func:`read_boards`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.proportions import wilson_interval
from vizhub_pipeline.core.records import DIMENSIONS
from vizhub_pipeline.report.outputs import Output, code_test_summary
from vizhub_pipeline.report.tables import Table, Unavailable, read_table, to_float, to_int

VOTES_FILE = "votes_leaderboard.csv"  # rank, model, score, ci_low, ci_high, votes
JUDGE_FILE = "judge_leaderboard.csv"  # judge, rank, model, <dimension>_mean/_ci_low/_ci_high per dimension
WILSON = (
    "Wilson score interval (scipy.stats.binomtest) over outputs, which are independent of each other; "
    "checks within one output are not, so no interval is drawn over checks."
)


@dataclass(frozen=True)
class Interval:
    value: float | None
    low: float | None = None
    high: float | None = None
    trials: int | None = None  # for a proportion: the number of outputs it is over


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | count | number | score | percent | money | interval | rate
    help: str = ""


@dataclass
class Board:
    id: str
    title: str
    description: str
    columns: list[Column] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    series: list[tuple[str, str]] = field(default_factory=list)  # (column key, legend label) drawn in the chart
    scale: tuple[float, float] = (0.0, 5.0)
    percent: bool = False
    method: str = ""
    unavailable: str | None = None


def read_boards(
    layout: Layout,
    leaderboard: Table | Unavailable,
    consensus: Table | Unavailable,
    outputs: list[Output],
    method: str,
    confidence: float = 0.95,
) -> list[Board]:
    """Every leaderboard, in page order; boards of results that do not exist are left out."""
    boards = [
        human_board(leaderboard, method),
        automated_board(leaderboard, consensus, confidence, code_challenges(outputs)),
        code_test_board(outputs, confidence),
    ]
    boards.append(votes_board(layout.consensus / VOTES_FILE, layout.root))
    boards.extend(judge_boards(layout.consensus / JUDGE_FILE, layout.root))
    return [board for board in boards if board is not None]


def proportion_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """The share of successes with its Wilson score interval; no value for zero trials."""
    if trials <= 0:
        return Interval(None, trials=0)
    low, high = wilson_interval(successes, trials, confidence)
    return Interval(successes / trials, low, high, trials)


def _interval(row: dict[str, str], prefix: str) -> Interval:
    return Interval(
        to_float(row.get(f"{prefix}_mean")),
        to_float(row.get(f"{prefix}_ci_low")),
        to_float(row.get(f"{prefix}_ci_high")),
    )


def human_board(table: Table | Unavailable, method: str) -> Board:
    board = Board(
        "human",
        "Human scores",
        "Each model's mean consensus score (0-5) over the challenges it was graded on, with its interval. "
        "Overall is the mean of functionality and aesthetics. Models share a rank when no other model's "
        "interval lies entirely above theirs.",
        series=[(dim, dim.capitalize()) for dim in ("overall", "functionality", "aesthetics")],
        method=method,
    )
    if isinstance(table, Unavailable):
        board.unavailable = table.reason
        return board
    board.columns = [Column("rank", "Rank", "count"), Column("model", "Model")]
    board.columns += [Column(dim, dim.capitalize(), "interval") for dim in ("overall", "functionality", "aesthetics")]
    board.columns += [
        Column("graded", "Graded outputs", "count", "outputs with at least one human grade"),
        Column("outputs", "Outputs", "count"),
        Column("grades", "Grades", "count"),
    ]
    if table.has("interval_note"):
        board.columns.append(Column("interval_note", "Interval note"))
    for row in table.rows:
        if to_float(row.get("overall_mean")) is None:
            continue
        entry: dict[str, Any] = {dim: _interval(row, dim) for dim in DIMENSIONS}
        entry.update(
            rank=to_int(row.get("rank")),
            model=row.get("model", ""),
            graded=to_int(row.get("graded_items")),
            outputs=to_int(row.get("items")),
            grades=to_int(row.get("grades")),
            interval_note=row.get("interval_note", ""),
        )
        board.rows.append(entry)
    if not board.rows:
        board.unavailable = f"no output has a human grade yet ({table.path} has no scores): grade with `vizhub grade`"
    return board


def code_challenges(outputs: list[Output]) -> set[str]:
    """The challenges whose outputs are tested by running code (a ``test`` in render.json)."""
    return {output.challenge for output in outputs if output.code_test is not None}


def automated_board(
    leaderboard: Table | Unavailable,
    consensus: Table | Unavailable,
    confidence: float = 0.95,
    code: set[str] | frozenset[str] = frozenset(),
) -> Board:
    """Renders and checks of the pages; the outputs of ``code`` challenges (test runs, counted by
    :func:`code_test_board`) are left out, as the leaderboard's render and check rates leave them out."""
    board = Board(
        "automated",
        "Automated results and cost",
        "How often each model's output rendered in Chromium, and how often it passed every automated check "
        "of its challenge; the share of single checks passed, tokens and cost per output.",
        series=[("render_rate", "Rendered"), ("all_checks", "Passed every check")],
        scale=(0.0, 1.0),
        percent=True,
        method=WILSON,
    )
    if isinstance(leaderboard, Unavailable):
        board.unavailable = leaderboard.reason
        return board
    all_checks: dict[str, tuple[int, int]] = {}
    if isinstance(consensus, Table):
        for row in consensus.rows:
            if row.get("challenge") in code:
                continue
            total = to_int(row.get("checks_total")) or 0
            if row.get("render_status") and total:
                passed, seen = all_checks.get(row.get("model", ""), (0, 0))
                everything = (to_int(row.get("checks_passed")) or 0) >= total
                all_checks[row.get("model", "")] = (passed + everything, seen + 1)
    board.columns = [
        Column("model", "Model"),
        Column("render_rate", "Rendered", "rate", "share of rendered outputs whose page drew something without error"),
        Column("all_checks", "Every check passed", "rate", "share of rendered outputs that passed all their checks"),
        Column("check_pass_rate", "Checks passed", "percent", "share of all single checks passed"),
        Column("generation_ok_rate", "Generated", "percent", "share of outputs the model answered with files"),
        Column("tokens_in", "Tokens in", "number", "per output"),
        Column("tokens_out", "Tokens out", "number", "per output"),
        Column("cost", "Cost", "money", "per output, where litellm knows the price"),
        Column("cost_total", "Total cost", "money"),
    ]
    for row in leaderboard.rows:
        model = row.get("model", "")
        renders = to_int(row.get("renders")) or 0
        rate = to_float(row.get("render_rate"))
        passed, seen = all_checks.get(model, (0, 0))
        board.rows.append(
            {
                "model": model,
                "render_rate": proportion_interval(round((rate or 0.0) * renders), renders, confidence),
                "all_checks": proportion_interval(passed, seen, confidence),
                "check_pass_rate": to_float(row.get("check_pass_rate")),
                "generation_ok_rate": to_float(row.get("generation_ok_rate")),
                "tokens_in": to_float(row.get("tokens_in_per_item")),
                "tokens_out": to_float(row.get("tokens_out_per_item")),
                "cost": to_float(row.get("cost_per_item")),
                "cost_total": to_float(row.get("cost_total")),
            }
        )
    board.rows.sort(key=lambda r: (-(r["all_checks"].value or -1), -(r["render_rate"].value or -1), r["model"]))
    if not board.rows:
        board.unavailable = f"{leaderboard.path} has no models yet"
    return board


def code_test_board(outputs: list[Output], confidence: float = 0.95) -> Board | None:
    """Code challenges' tests (render.json ``test``); left out when no output has a test result."""
    summary = code_test_summary(outputs)
    if not summary:
        return None
    board = Board(
        "code-tests",
        "Code tests",
        "Share of each model's code-challenge outputs whose test passed (run sandboxed on a copy of the output).",
        columns=[
            Column("model", "Model"),
            Column("pass_rate", "Test passed", "rate"),
            Column("passed", "Passed", "count"),
            Column("tested", "Tested", "count"),
        ],
        series=[("pass_rate", "Test passed")],
        scale=(0.0, 1.0),
        percent=True,
        method=WILSON,
    )
    for model, (passed, tested) in summary.items():
        board.rows.append(
            {
                "model": model,
                "pass_rate": proportion_interval(passed, tested, confidence),
                "passed": passed,
                "tested": tested,
            }
        )
    board.rows.sort(key=lambda r: (-(r["pass_rate"].value or 0.0), r["model"]))
    return board


def votes_board(path: Path, root: Path) -> Board | None:
    """Bradley-Terry ratings from pairwise votes; left out until the aggregate stage writes them."""
    if not path.is_file():
        return None
    table = read_table(path, root)
    board = Board(
        "votes",
        "Pairwise votes (Bradley-Terry)",
        "Ratings fitted to graders' side-by-side votes, on an Elo-like scale, with bootstrap intervals.",
        columns=[Column("rank", "Rank", "count"), Column("model", "Model"), Column("score", "Rating", "interval")],
        series=[("score", "Rating")],
    )
    if isinstance(table, Unavailable):
        board.unavailable = table.reason
        return board
    if table.has("votes"):
        board.columns.append(Column("votes", "Votes", "count"))
    for row in table.rows:
        score = Interval(to_float(row.get("score")), to_float(row.get("ci_low")), to_float(row.get("ci_high")))
        if score.value is not None:
            board.rows.append(
                {
                    "rank": to_int(row.get("rank")),
                    "model": row.get("model", ""),
                    "score": score,
                    "votes": to_int(row.get("votes")),
                }
            )
    board.scale = _span([row["score"] for row in board.rows])
    if not board.rows:
        board.unavailable = f"{table.path} has no ratings"
    return board


def judge_boards(path: Path, root: Path) -> list[Board]:
    """One board per model judge (consensus of its grades); none until judge results exist."""
    if not path.is_file():
        return []
    table = read_table(path, root)
    if isinstance(table, Unavailable):
        return [Board("judges", "Model judges", "", unavailable=table.reason)]
    by_judge: dict[str, list[dict[str, str]]] = {}
    for row in table.rows:
        by_judge.setdefault(row.get("judge", "") or "judge", []).append(row)
    boards = []
    for index, judge in enumerate(sorted(by_judge)):
        board = Board(
            f"judge-{index + 1}",
            f"Judge: {judge}",
            "Scores (0-5) a model gave as a judge with the human rubric; compare them with the human scores.",
            columns=[Column("rank", "Rank", "count"), Column("model", "Model")]
            + [Column(dim, dim.capitalize(), "interval") for dim in DIMENSIONS],
            series=[(dim, dim.capitalize()) for dim in DIMENSIONS],
        )
        for row in by_judge[judge]:
            entry: dict[str, Any] = {dim: _interval(row, dim) for dim in DIMENSIONS}
            entry.update(rank=to_int(row.get("rank")), model=row.get("model", ""))
            board.rows.append(entry)
        boards.append(board)
    return boards


def _span(values: list[Interval]) -> tuple[float, float]:
    """A chart scale around every value and bound, padded by a tenth."""
    points = [p for v in values for p in (v.value, v.low, v.high) if p is not None]
    if not points:
        return (0.0, 1.0)
    low, high = min(points), max(points)
    pad = (high - low) * 0.1 or 1.0
    return (low - pad, high + pad)
