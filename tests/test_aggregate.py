"""The aggregate stage on small projects whose numbers are worked out by hand."""

from __future__ import annotations

import csv
import json
import random
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from vizhub_pipeline.analysis.aggregate import run_aggregate
from vizhub_pipeline.analysis.leaderboard import _assign_ranks
from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.errors import GradeFileError
from vizhub_pipeline.core.judgements import reader
from vizhub_pipeline.core.judgements.columns import CellError, UtcTime, check_canonical_times, parse_utc
from vizhub_pipeline.core.judgements.reader import read_judgement_file
from vizhub_pipeline.core.judgements.scores import GRADE_COLUMNS, KIND, latest_grades, read_grade_file
from vizhub_pipeline.core.judgements.table import raise_first_problem
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.params import AggregateParams
from vizhub_pipeline.core.records import (
    CheckResult,
    Generation,
    Grade,
    Render,
    format_grade_rows,
    read_consensus,
    write_generation,
    write_render,
)

MODELS = ("baseline/reference", "baseline/starter")
FAST = AggregateParams(bootstrap=200)


def add_items(root: Path, challenges=("barsOne", "barsTwo"), models=MODELS, cost=0.01) -> Layout:
    layout = Layout.at(root)
    for challenge in challenges:
        for model in models:
            write_generation(
                layout.visualization_dir(challenge, model) / "meta.json",
                Generation(
                    challenge,
                    model,
                    0,
                    "ok",
                    "in",
                    artifact_hash=hash_of(challenge, model),
                    tokens_in=100,
                    tokens_out=40,
                    cost=cost,
                ),
            )
    return layout


def hash_of(challenge: str, model: str) -> str:
    return f"{abs(hash((challenge, model))) % 10**16:016d}"


def grade(challenge, model, f, a, grader, at="2026-11-28T12:00:00Z", artifact=None, notes="") -> Grade:
    return Grade(challenge, model, 0, artifact or hash_of(challenge, model), f, a, notes, grader, at)


def write_grades(layout: Layout, name: str, grades) -> Path:
    layout.grades.mkdir(parents=True, exist_ok=True)
    path = layout.grades / name
    path.write_text(format_grade_rows(grades, header=True), encoding="utf-8")
    return path


def write_grade_files(layout: Layout, grades) -> list[Path]:
    """One file per grader and day, named as the grader writes them."""
    by_file: dict[str, list[Grade]] = {}
    for one in grades:
        by_file.setdefault(f"{one.grader}-{one.graded_at[:10]}.csv", []).append(one)
    return [write_grades(layout, name, rows) for name, rows in sorted(by_file.items())]


def consensus_of(layout: Layout) -> dict:
    return {row.key: row for row in read_consensus(layout.consensus / "consensus.csv")}


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def output_bytes(layout: Layout) -> dict[str, bytes]:
    files = sorted(p for p in layout.consensus.rglob("*") if p.is_file()) + [layout.metrics]
    return {str(p.relative_to(layout.root)): p.read_bytes() for p in files}


# --------------------------------------------------------------------------- no grades


def test_no_grades_is_a_normal_state(project):
    layout = add_items(project)
    write_render(
        layout.render_dir("barsOne", MODELS[0]) / "render.json",
        Render(
            "barsOne",
            MODELS[0],
            0,
            "rendered",
            hash_of("barsOne", MODELS[0]),
            "r1",
            checks=(CheckResult("bars", "count", True), CheckResult("console", "no_console_errors", False)),
        ),
    )
    summary = run_aggregate(layout, FAST)
    assert "no human grade exists yet: consensus has empty scores (grade with `vizhub grade`)" in summary.lines()
    rows = consensus_of(layout)
    assert len(rows) == 4
    assert all(row.n_graders == 0 and row.overall is None and row.flags == ("ungraded",) for row in rows.values())
    assert rows[("barsOne", MODELS[0], 0)].render_status == "rendered"
    assert (rows[("barsOne", MODELS[0], 0)].checks_passed, rows[("barsOne", MODELS[0], 0)].checks_total) == (1, 2)
    for name in ("graders.csv", "pairwise.csv", "disagreements.csv", "excluded.csv", "plots/leaderboard.csv"):
        text = (layout.consensus / name).read_text(encoding="utf-8")
        assert text.count("\n") == 1, name  # the header only
    board = read_csv(layout.consensus / "leaderboard.csv")
    assert [row["model"] for row in board] == list(MODELS)
    assert board[0]["check_pass_rate"] == "0.5000" and board[0]["render_rate"] == "1.0000"
    assert board[0]["overall_mean"] == "" and board[0]["rank"] == ""
    assert board[0]["cost_per_item"] == "0.0100" and board[0]["tokens_in_per_item"] == "100.0000"
    metrics = json.loads(layout.metrics.read_text())
    assert (metrics["items"], metrics["grades"], metrics["graded_items"]) == (4, 0, 0)
    assert metrics["check_pass_rate"] == 0.5
    assert (metrics["alpha_overall"], metrics["icc2_1_overall"]) == (None, None)


def test_no_generations_and_no_grades(tmp_path):
    summary = run_aggregate(Layout.at(tmp_path), FAST)
    assert summary.items == 0
    assert (tmp_path / "results" / "consensus" / "consensus.csv").read_text().startswith("challenge,model,sample,")


# --------------------------------------------------------------------------- consensus


def test_consensus_statistics_worked_by_hand(project):
    layout = add_items(project)
    write_grade_files(
        layout,
        [
            grade("barsOne", MODELS[0], 4, 2, "alice"),
            grade("barsOne", MODELS[0], 5, 3, "bob"),
            grade("barsOne", MODELS[0], 3, 1, "carol"),
            grade("barsTwo", MODELS[0], 2, 2, "alice"),
        ],
    )
    run_aggregate(layout, FAST)
    rows = consensus_of(layout)
    row = rows[("barsOne", MODELS[0], 0)]
    assert row.n_graders == 3
    # functionality 4,5,3: mean 4, median 4, sd 1; t(0.975, 2) = 4.302653 -> 4 +- 2.4841, clipped to 5
    assert (row.functionality.mean, row.functionality.median, row.functionality.std) == (4.0, 4.0, 1.0)
    assert (row.functionality.ci_low, row.functionality.ci_high) == (1.5159, 5.0)
    # overall 3,4,2: mean 3, sd 1 -> 3 +- 2.4841
    assert (row.overall.mean, row.overall.ci_low, row.overall.ci_high) == (3.0, 0.5159, 5.0)
    single = rows[("barsTwo", MODELS[0], 0)]
    assert single.n_graders == 1 and single.overall.mean == 2.0
    assert single.flags == ("too_few_graders",)
    assert rows[("barsOne", MODELS[1], 0)].flags == ("ungraded",)


def test_high_variance_is_flagged_for_review(project):
    layout = add_items(project)
    write_grade_files(layout, [grade("barsOne", MODELS[1], 0, 0, "alice"), grade("barsOne", MODELS[1], 5, 5, "bob")])
    summary = run_aggregate(layout, FAST)
    row = consensus_of(layout)[("barsOne", MODELS[1], 0)]
    assert row.flags == ("high_variance", "needs_review")
    assert summary.needs_review == 1
    review = read_csv(layout.consensus / "disagreements.csv")
    assert [(r["challenge"], r["model"], r["overall_std"], r["overall_range"]) for r in review] == [
        ("barsOne", MODELS[1], "3.5355", "5.0000")
    ]


def test_a_graders_latest_grade_counts_once(project):
    layout = add_items(project)
    write_grades(
        layout,
        "alice-2026-11-27.csv",
        [grade("barsOne", MODELS[0], 1, 1, "alice", at="2026-11-27T09:00:00Z")],
    )
    write_grades(
        layout,
        "alice-2026-11-28.csv",
        [
            grade("barsOne", MODELS[0], 5, 5, "alice", at="2026-11-28T11:00:00Z"),  # latest, though read first
            grade("barsOne", MODELS[0], 2, 2, "alice", at="2026-11-28T09:00:00Z"),
            grade("barsTwo", MODELS[0], 1, 1, "alice", at="2026-11-28T09:00:00Z"),
            grade("barsTwo", MODELS[0], 3, 3, "alice", at="2026-11-28T09:00:00Z"),  # same time: the later row wins
        ],
    )
    summary = run_aggregate(layout, FAST)
    rows = consensus_of(layout)
    assert rows[("barsOne", MODELS[0], 0)].n_graders == 1
    assert rows[("barsOne", MODELS[0], 0)].functionality.mean == 5.0
    assert rows[("barsTwo", MODELS[0], 0)].functionality.mean == 3.0
    assert (summary.grades, summary.rows_read) == (2, 5)


def test_graded_at_in_other_accepted_forms_compares_as_time(project):
    """Text order would keep 12:00:00Z over 12:00:00.5Z, and 12:00:00Z over "13:00:00+00:00"."""
    layout = add_items(project)
    path = write_grades(
        layout,
        "alice-2026-11-28.csv",
        [
            grade("barsOne", MODELS[0], 1, 1, "alice", at="2026-11-28T12:00:00.5Z"),  # later, though it sorts first
            grade("barsOne", MODELS[0], 5, 5, "alice", at="2026-11-28T12:00:00Z"),
            grade("barsTwo", MODELS[0], 5, 5, "alice", at="2026-11-28T12:00:00Z"),
            grade("barsTwo", MODELS[0], 2, 2, "alice", at="2026-11-28 13:00:00+00:00"),
        ],
    )
    latest = latest_grades(read_grade_file(path))
    assert sorted((key[1][0], g.functionality, g.graded_at) for key, g in latest.items()) == [
        ("barsOne", 5, "2026-11-28T12:00:00Z"),  # the same second: the later row wins
        ("barsTwo", 2, "2026-11-28T13:00:00Z"),
    ]
    run_aggregate(layout, FAST)
    rows = consensus_of(layout)
    assert rows[("barsOne", MODELS[0], 0)].functionality.mean == 5.0
    assert rows[("barsTwo", MODELS[0], 0)].functionality.mean == 2.0


def test_stale_grades_are_excluded_counted_and_flagged(project):
    layout = add_items(project)
    paths = write_grade_files(
        layout,
        [
            grade("barsOne", MODELS[0], 1, 1, "alice", artifact="0000000000000000"),
            grade("barsOne", MODELS[0], 4, 4, "bob", artifact="0000000000000000", at="2026-11-27T12:00:00Z"),
            grade("barsOne", MODELS[0], 3, 3, "bob"),  # bob re-graded the current version
            grade("barsOne", MODELS[0], 2, 2, "carol"),
        ],
    )
    summary = run_aggregate(layout, FAST)
    row = consensus_of(layout)[("barsOne", MODELS[0], 0)]
    assert (row.n_graders, row.n_stale, row.functionality.mean) == (2, 1, 2.5)
    assert "stale" in row.flags and "needs_review" not in row.flags
    assert summary.stale == 1
    excluded = read_csv(layout.consensus / "excluded.csv")
    assert [(r["reason"], r["grader"], r["file"]) for r in excluded] == [
        ("stale", "alice", "results/grades/alice-2026-11-28.csv:2"),
        ("stale_regraded", "bob", "results/grades/bob-2026-11-27.csv:2"),
    ]
    graders = {r["grader"]: r for r in read_csv(layout.consensus / "graders.csv")}
    assert (graders["alice"]["grades"], graders["alice"]["stale"]) == ("0", "1")
    assert json.loads(layout.metrics.read_text())["stale"] == 1
    assert all(path.exists() for path in paths)


def test_grades_of_unknown_items_are_reported_and_left_out(project):
    layout = add_items(project)
    write_grades(
        layout,
        "alice-2026-11-28.csv",
        [grade("barsOne", MODELS[0], 3, 3, "alice"), grade("ghost", MODELS[0], 5, 5, "alice", artifact="abc")],
    )
    summary = run_aggregate(layout, FAST)
    assert (
        "left out 1 grade(s) of an unknown item: ghost / baseline/reference sample 0 (listed in excluded.csv)"
        in summary.lines()
    )
    assert ("ghost", MODELS[0], 0) not in consensus_of(layout)
    assert [r["reason"] for r in read_csv(layout.consensus / "excluded.csv")] == ["unknown_item"]
    assert json.loads(layout.metrics.read_text())["unknown_item_grades"] == 1


def test_an_outdated_render_is_not_used(project):
    layout = add_items(project)
    write_render(
        layout.render_dir("barsOne", MODELS[0]) / "render.json",
        Render("barsOne", MODELS[0], 0, "rendered", "old-artifact", "r", checks=(CheckResult("c", "count", True),)),
    )
    run_aggregate(layout, FAST)
    row = consensus_of(layout)[("barsOne", MODELS[0], 0)]
    assert row.render_status is None and row.checks_total is None
    assert row.flags == ("ungraded", "render_outdated")


# --------------------------------------------------------------------------- bad input


@pytest.mark.hostile(area="grade files", guards="escape", outcome="clear_error")
def test_malformed_grade_file_stops_the_stage_with_file_line_and_reason(project):
    layout = add_items(project)
    path = write_grades(layout, "bad.csv", [grade("barsOne", MODELS[0], 3, 3, "alice")])
    path.write_text(path.read_text() + "barsOne,baseline/starter,0,abc,9,3,,alice,2026-11-28T12:00:00Z,app,\r\n")
    with pytest.raises(GradeFileError) as caught:
        run_aggregate(layout, FAST)
    assert str(caught.value) == (
        f"{path}:3: functionality must be an integer from 0 to 5, found '9'; "
        "run `vizhub validate` for the full list of problems"
    )
    assert not layout.consensus.exists()
    result = CliRunner().invoke(cli, ["aggregate", "--project", str(project)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert f"Error: {path}:3: functionality must be an integer from 0 to 5, found '9'" in result.output


def test_malformed_quoted_file_names_the_line(project):
    layout = add_items(project)
    path = layout.grades / "q.csv"
    layout.grades.mkdir(parents=True)
    good = format_grade_rows([grade("barsOne", MODELS[0], 3, 3, "alice", notes='say "hi", ok')], header=True)
    path.write_text(
        good + 'barsOne,baseline/starter,0,abc,3,3,"x"y,alice,2026-11-28T12:00:00Z\r\nbarsOne,x,0,h,1,1,,bob\r\n'
    )
    with pytest.raises(GradeFileError) as caught:
        run_aggregate(layout, FAST)
    assert caught.value.line == 3 and caught.value.path == str(path)
    assert "malformed CSV" in str(caught.value)


def test_fast_tokenizer_agrees_with_the_exact_one(tmp_path, monkeypatch):
    """Random files, with and without quotes, blank lines, spaces, odd column orders, both
    headers and damaged rows: pandas' fast path reads exactly what the csv module reads, with
    the same values, lines and problems."""
    rnd = random.Random(11)
    columns = list(GRADE_COLUMNS)
    paths = {"fast": 0, "exact": 0}
    monkeypatch.setattr(reader, "FAST_FROM_CHARS", 0)  # the fast path for small files too
    real_fast = reader._tokenize_fast
    for case in range(150):
        names = columns[:9] if case % 4 == 0 else list(columns)  # older files too
        rnd.shuffle(names)
        lines = [",".join(names)]
        for _row in range(rnd.randint(0, 30)):
            values = {
                "challenge": rnd.choice(["barsOne", " barsTwo", "c3"]),
                "model": rnd.choice(["m/a", "m/b "]),
                "sample": rnd.choice(["0", "1", "", " 2"]),
                "artifact_hash": "abc",
                "functionality": rnd.choice(["0", "3", "5", " 4", "05"] + (["6", "x"] if case % 5 == 0 else [])),
                "aesthetics": rnd.choice(["1", "2"]),
                "notes": rnd.choice(
                    ["", "fine", "'=1+1", "a\\nb", "=raw"]
                    + (['"a, b"', '"say ""hi"""', '"two\nlines"'] if case % 2 else [])
                ),
                "grader": rnd.choice(["alice", "bob"]),
                "graded_at": rnd.choice(
                    ["2026-11-28T12:00:00Z", "2026-11-28T12:00:00+00:00", "2026-02-29T12:00:00Z"][
                        : 3 if case % 7 == 0 else 2
                    ]
                ),
                "source": rnd.choice(["app", "cli", "judge:gpt-4o"] + (["robot"] if case % 6 == 0 else [])),
                "blind": rnd.choice(["true", "false", ""]),
            }
            cells = [values[name] for name in names]
            damage = rnd.random()
            if case % 3 == 0 and damage < 0.04:
                cells = cells[:-1]  # a short row
            elif case % 3 == 0 and damage < 0.06:
                cells.append("extra")
            lines.append(",".join(cells))
            if case % 5 == 1 and rnd.random() < 0.2:
                lines.append(rnd.choice(["", "   ", ",,,,,,,,", ",,,,,,,,,,"]))
        path = tmp_path / f"case{case}.csv"
        path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
        monkeypatch.setattr(reader, "_tokenize_fast", real_fast)
        fast = read_judgement_file(KIND, path)
        paths["fast" if real_fast(path.read_text(encoding="utf-8")) is not None else "exact"] += 1
        monkeypatch.setattr(reader, "_tokenize_fast", lambda text: None)
        exact = read_judgement_file(KIND, path)
        assert fast.problems == exact.problems
        assert fast.records() == exact.records()
        assert fast.lines.tolist() == exact.lines.tolist() and fast.unsafe == exact.unsafe
        assert fast.legacy == exact.legacy == (len(names) == 9)
    assert min(paths.values()) >= 30


def test_short_columns_are_factorized_as_pandas_does():
    import numpy as np
    import pandas as pd

    rnd = random.Random(4)
    values = np.array([rnd.choice(["a", "b", " a", "", "é", "2026-11-28T12:00:00Z"]) for _ in range(300)], dtype=object)
    codes, uniques = reader.factorize_in_python(values)
    expected_codes, expected_uniques = pd.factorize(values)
    assert codes.tolist() == expected_codes.tolist() and uniques == expected_uniques.tolist()


def test_short_and_long_rows_are_errors_on_the_fast_path_too(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "FAST_FROM_CHARS", 0)
    header = "challenge,model,sample,artifact_hash,functionality,aesthetics,grader,graded_at,notes"
    row = "barsOne,m/a,0,abc,3,3,alice,2026-11-28T12:00:00Z"
    short = tmp_path / "short.csv"
    short.write_text(f"{header}\n{row},fine\n{row}\n", encoding="utf-8")
    long = tmp_path / "long.csv"
    long.write_text(f"{header}\n{row},fine,extra\n", encoding="utf-8")
    new_short = tmp_path / "new-short.csv"  # the last column (blind) may be empty: the row is still short
    new_short.write_text(f"{header},source,blind\n{row},fine,app,true\n{row},fine,app\n", encoding="utf-8")
    cases = ((short, 3, "expected 9 fields, found 8"), (long, 2, "expected 9 fields, found 10"))
    for path, line, message in cases + ((new_short, 3, "expected 11 fields, found 10"),):
        with pytest.raises(GradeFileError) as caught:
            raise_first_problem(read_judgement_file(KIND, path))
        assert str(caught.value) == f"{path}:{line}: {message}; run `vizhub validate` for the full list of problems"


def test_graded_at_check_is_one_rule_read_fast_or_one_by_one():
    values = [
        "2026-11-28T12:00:00Z",
        "2024-02-29T23:59:59Z",
        "2023-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-11-28T24:00:00Z",
        "2026-11-28T12:00:00+00:00",
        "2026-11-28T12:00:00+01:00",
        "2026-11-28",
        "2026-11-28T12:00:00.5Z",
        "2026-1-28T12:00:00Z",
        "0000-01-01T00:00:00Z",
        "2026-11-28T12:00:00ZZ",
    ]

    def one(value):
        try:
            return parse_utc("graded_at", value)
        except CellError:
            return None

    fast = check_canonical_times(values).tolist()
    assert fast == [one(value) is not None and len(value) == 20 for value in values]
    assert fast[:3] == [True, True, False]
    parsed, errors = UtcTime().parse_many("graded_at", values)
    for index, value in enumerate(values):
        moment = one(value)
        assert (parsed[index], index in errors) == (
            (None, True) if moment is None else (moment.strftime("%Y-%m-%dT%H:%M:%SZ"), False)
        )
    assert (
        errors[2] == "graded_at must be an ISO 8601 UTC time such as 2026-11-28T12:00:00Z, found '2023-02-29T00:00:00Z'"
    )
    assert errors[6] == "graded_at must be in UTC (end in Z), found '2026-11-28T12:00:00+01:00'"
    assert UtcTime().parse_many("graded_at", []) == ([], {})


# --------------------------------------------------------------------------- rows validate rejects

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
GOOD = "barsOne,baseline/reference,0,{h},3,3,fine,{grader},2026-11-28T10:00:00Z,app,true"


def _bad_grade_files(layout: Layout, case: str) -> tuple[str, str]:
    """Write alice's grade 5/5 of barsOne / baseline/reference so that validate rejects it for
    ``case``; return (where excluded.csv lists it, the reason)."""
    h = hash_of("barsOne", MODELS[0])
    header = ",".join(GRADE_COLUMNS)
    row = GOOD.format(h=h, grader="alice").replace(",3,3,", ",5,5,")
    name, text, where = "alice-2026-11-28.csv", f"{header}\n{row}\n", 2
    if case == "grader_mismatch":
        text = text.replace(",alice,", ",zoe,")
    if case == "future":
        name, text = "alice-2026-12-05.csv", f"{header}\n{row.replace('2026-11-28', '2026-12-05')}\n"
    elif case == "wrong_day":
        name = "alice-2026-11-27.csv"
    elif case == "double_bom":
        text = "\ufeff\ufeff" + text
    elif case == "bad_file_name":
        name = "all.csv"
    elif case == "unsafe_notes":
        text = text.replace(",fine,", ",=1+1,")
    elif case == "multiline":
        text = text.replace(",fine,", ',"two\nlines",')
    elif case == "not_read":
        name = "alice-2026-11-28.CSV"
    layout.grades.mkdir(parents=True, exist_ok=True)
    (layout.grades / name).write_bytes(text.encode("utf-8"))
    shown = f"results/grades/{name}"
    return (shown if case == "not_read" else f"{shown}:{where}"), case


@pytest.mark.parametrize(
    "case",
    [
        "future",
        "grader_mismatch",
        "wrong_day",
        "double_bom",
        "bad_file_name",
        "unsafe_notes",
        "multiline",
        "not_read",
    ],
)
@pytest.mark.hostile(area="grade files", guards="escape", outcome="held")
def test_rows_validate_rejects_are_left_out_and_listed(project, case):
    """Each of these rows used to be counted (or its file silently ignored) by aggregate while
    validate rejects it: now aggregate leaves it out and lists it in excluded.csv."""
    from vizhub_pipeline.grading.validate import validate_judgement_files

    layout = add_items(project)
    h = hash_of("barsOne", MODELS[0])
    write_grades(layout, "bob-2026-11-28.csv", [grade("barsOne", MODELS[0], 1, 1, "bob", artifact=h)])
    # alice's own valid grade of the item, earlier: the rejected one must not replace it
    write_grades(
        layout, "alice-2026-11-20.csv", [grade("barsOne", MODELS[0], 2, 2, "alice", at="2026-11-20T09:00:00Z")]
    )
    where, reason = _bad_grade_files(layout, case)
    summary = run_aggregate(layout, FAST, now=NOW)
    row = consensus_of(layout)[("barsOne", MODELS[0], 0)]
    assert (row.n_graders, row.functionality.mean) == (2, 1.5)  # bob 1 and alice's earlier 2, never the 5
    excluded = read_csv(layout.consensus / "excluded.csv")
    assert [(r["reason"], r["file"]) for r in excluded] == [(reason, where)]
    lines = "\n".join(summary.lines())
    if case == "not_read":
        assert f"{where}: not read: only <grader>-<YYYY-MM-DD>.csv files (lower-case .csv) are grade files; " in lines
    else:
        assert f"left out 1 grade(s) that `vizhub validate` rejects (1 {reason}; " in lines
        assert excluded[0]["grader"] == ("zoe" if case == "grader_mismatch" else "alice")
    problems = validate_judgement_files(layout, now=NOW).problems
    assert problems and {Path(problem.path).name for problem in problems} == {where.split(":")[0].rsplit("/", 1)[1]}


def test_aggregate_and_validate_agree_on_every_row(project):
    """A mix of rows with every row-level problem: excluded.csv lists exactly the rows validate reports."""
    from vizhub_pipeline.grading.validate import validate_judgement_files

    layout = add_items(project)
    rnd = random.Random(5)
    header = ",".join(GRADE_COLUMNS)
    for grader in ("alice", "bob", "carol"):
        for day in ("2026-11-28", "2026-11-30"):
            rows = []
            for _ in range(40):
                challenge, model = rnd.choice(["barsOne", "barsTwo", "ghost"]), rnd.choice(MODELS)
                artifact = hash_of(challenge, model) if rnd.random() < 0.85 else "0000000000000000"
                at = f"{day}T{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:00Z"
                notes, who, source = "ok", grader, rnd.choice(["app", "cli", "unknown", "imported"])
                damage = rnd.random()
                if damage < 0.05:
                    at = at.replace(day, "2026-11-29")
                elif damage < 0.1:
                    who = "mallory"
                elif damage < 0.15:
                    notes = "-3 for colours"
                elif damage < 0.2:
                    notes = '"multi\nline"'
                elif damage < 0.25:
                    at = at.replace(day, "2027-01-01")
                f, a = rnd.randint(0, 5), rnd.randint(0, 5)
                rows.append(f"{challenge},{model},0,{artifact},{f},{a},{notes},{who},{at},{source},")
            (layout.grades / f"{grader}-{day}.csv").parent.mkdir(parents=True, exist_ok=True)
            (layout.grades / f"{grader}-{day}.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    run_aggregate(layout, FAST, now=NOW)
    excluded = {r["file"] for r in read_csv(layout.consensus / "excluded.csv")}
    reported = {
        f"{Path(p.path).relative_to(layout.root).as_posix()}:{p.line}"
        for p in validate_judgement_files(layout, now=NOW).problems
    }
    assert excluded == reported and len(excluded) > 40


def test_judge_grades_never_enter_the_human_consensus(project):
    layout = add_items(project)
    h = hash_of("barsOne", MODELS[0])
    header = ",".join(GRADE_COLUMNS)
    judge = f"barsOne,{MODELS[0]},0,{h},5,5,,judge-gpt,2026-11-28T10:00:00Z,judge:gpt-4o,false"
    (layout.grades).mkdir(parents=True)
    (layout.grades / "judge-gpt-2026-11-28.csv").write_text(f"{header}\n{judge}\n")
    write_grades(layout, "bob-2026-11-28.csv", [grade("barsOne", MODELS[0], 1, 1, "bob")])
    older = ",".join(GRADE_COLUMNS[:9])  # an older file: source unknown, counted as human
    (layout.grades / "carol-2026-11-28.csv").write_text(
        f"{older}\nbarsOne,{MODELS[0]},0,{h},3,3,,carol,2026-11-28T10:00:00Z\n"
    )
    summary = run_aggregate(layout, FAST, now=NOW)
    row = consensus_of(layout)[("barsOne", MODELS[0], 0)]
    assert (row.n_graders, row.functionality.mean) == (2, 2.0)
    assert [r["grader"] for r in read_csv(layout.consensus / "graders.csv")] == ["bob", "carol"]
    assert read_csv(layout.consensus / "excluded.csv") == []
    assert (
        "not counted: grades from sources not selected (1 judge:gpt-4o); human grades only by default"
        in summary.lines()
    )
    run_aggregate(layout, FAST, now=NOW, sources=["judge"])  # asked for: the judge alone
    row = consensus_of(layout)[("barsOne", MODELS[0], 0)]
    assert (row.n_graders, row.functionality.mean) == (1, 5.0)


# --------------------------------------------------------------------------- leaderboard, determinism, CLI


def test_ranks_tie_where_intervals_overlap():
    rows = [
        {"model": "a", "overall_mean": 4.0, "overall_ci_low": 3.5, "overall_ci_high": 4.5},
        {"model": "b", "overall_mean": 3.4, "overall_ci_low": 3.0, "overall_ci_high": 3.8},
        {"model": "c", "overall_mean": 2.0, "overall_ci_low": 1.5, "overall_ci_high": 2.5},
        {"model": "d", "overall_mean": None, "overall_ci_low": None, "overall_ci_high": None},
    ]
    _assign_ranks(rows)
    assert [row["rank"] for row in rows] == [1, 1, 3, None]


def graded_project(project) -> Layout:
    layout = add_items(project, challenges=("barsOne", "barsTwo", "lines"), models=MODELS + ("gpt-4o",))
    rnd = random.Random(2)
    grades = []
    for challenge in ("barsOne", "barsTwo", "lines"):
        for quality, model in zip((4, 1, 3), MODELS + ("gpt-4o",), strict=True):
            for grader in ("alice", "bob", "carol"):
                f = min(5, max(0, quality + rnd.randint(-1, 1)))
                grades.append(
                    grade(challenge, model, f, min(5, max(0, quality + rnd.randint(-1, 1))), grader, notes="ok, fine")
                )
    write_grade_files(layout, grades)
    return layout


def test_leaderboard_reliability_and_metrics(project):
    layout = graded_project(project)
    summary = run_aggregate(layout, FAST)
    board = read_csv(layout.consensus / "leaderboard.csv")
    assert [row["model"] for row in board] == ["baseline/reference", "gpt-4o", "baseline/starter"]
    for row in board:
        assert float(row["overall_ci_low"]) <= float(row["overall_mean"]) <= float(row["overall_ci_high"])
    reliability = json.loads((layout.consensus / "reliability.json").read_text())
    assert "t-interval" in reliability["methods"]["item_interval"]
    assert "over grades" in reliability["methods"]["leaderboard_interval"]
    assert reliability["icc"]["items"] == 9 and reliability["icc"]["graders"] == ["alice", "bob", "carol"]
    assert set(reliability["alpha_by_challenge"]) == {"barsOne", "barsTwo", "lines"}
    alpha = reliability["alpha"]["overall"]
    assert alpha["ci_low"] <= alpha["value"] <= alpha["ci_high"] and alpha["units"] == 9
    assert summary.alpha["overall"] == pytest.approx(alpha["value"], abs=1e-4)
    assert len(read_csv(layout.consensus / "pairwise.csv")) == 3
    metrics = json.loads(layout.metrics.read_text())
    # summary numbers only (per-model figures are in leaderboard.csv and plots/): `dvc metrics show` stays one
    # readable row, its width independent of the number of models
    assert metrics["models"] == 3 and metrics["test_pass_rate"] is None
    assert all(value is None or isinstance(value, (int, float)) for value in metrics.values())
    assert metrics["alpha_overall"] == reliability["alpha"]["overall"]["value"]
    assert metrics["icc2_1_overall"] == reliability["icc"]["overall"]["icc2_1"]
    scores = read_csv(layout.consensus / "plots/scores.csv")
    assert sum(int(r["grades"]) for r in scores if r["dimension"] == "overall") == 27
    plot = read_csv(layout.consensus / "plots/leaderboard.csv")
    assert [r["model"] for r in plot] == [r["model"] for r in board]


def test_output_is_byte_identical_on_a_rerun(project):
    layout = graded_project(project)
    run_aggregate(layout, FAST)
    first = output_bytes(layout)
    shutil.rmtree(layout.consensus)
    run_aggregate(layout, FAST)
    assert output_bytes(layout) == first
    assert len(first) == 11


def test_report_command_prints_tables_and_json(project):
    graded_project(project)
    runner = CliRunner()
    result = runner.invoke(cli, ["report", "--project", str(project)], catch_exceptions=False)
    assert result.exit_code == 1 and "run `vizhub aggregate`" in result.output
    result = runner.invoke(cli, ["aggregate", "--project", str(project)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "27 grade(s) counted of 27 read" in result.output
    result = runner.invoke(cli, ["report", "--project", str(project)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split() == [
        "rank",
        "model",
        "overall",
        "functionality",
        "aesthetics",
        "graded",
        "checks",
        "renders",
        "tests",
        "cost/item",
    ]
    assert lines[2].split()[:2] == ["1", "baseline/reference"]
    assert "Grades: 27 counted of 27 read from 3 grader(s)" in result.output
    data = json.loads(
        runner.invoke(cli, ["report", "--json", "--project", str(project)], catch_exceptions=False).output
    )
    assert data["leaderboard"][0]["model"] == "baseline/reference"
    assert set(data["alpha"]) == {"functionality", "aesthetics", "overall"}


def test_dvc_reads_the_metrics_and_plots(project):
    dvc = Path(sys.executable).with_name("dvc")
    if not dvc.exists():
        pytest.skip("dvc is not installed in this environment")
    layout = graded_project(project)
    write_render(
        layout.render_dir("barsOne", "gpt-4o") / "render.json",
        Render(
            "barsOne",
            "gpt-4o",
            0,
            "rendered",
            hash_of("barsOne", "gpt-4o"),
            "r1",
            checks=(CheckResult("bars", "count", True), CheckResult("axis", "count", False)),
        ),
    )
    run_aggregate(layout, FAST)
    templates = Path(__file__).resolve().parents[1] / "vizhub_pipeline" / "analysis" / "plots"
    (project / "dvc.yaml").write_text(
        "metrics:\n  - results/metrics.json\n"
        "plots:\n"
        f"  - leaderboard:\n      template: {templates / 'leaderboard_intervals.json'}\n      x: mean\n"
        "      y:\n        results/consensus/plots/leaderboard.csv: model\n"
        f"  - scores:\n      template: {templates / 'score_distribution.json'}\n      x: score\n"
        "      y:\n        results/consensus/plots/scores.csv: grades\n"
        f"  - rates:\n      template: {templates / 'rates_intervals.json'}\n      x: rate\n"
        "      y:\n        results/consensus/plots/rates.csv: model\n"
    )
    subprocess.run([str(dvc), "init", "--no-scm", "-q"], cwd=project, check=True)
    shown = subprocess.run(
        [str(dvc), "metrics", "show", "--json"], cwd=project, capture_output=True, text=True, check=True
    )
    (revision,) = json.loads(shown.stdout).values()
    metrics = revision["data"]["results/metrics.json"]["data"]
    assert metrics["grades"] == 27 and metrics["models"] == 3
    assert not any(key.startswith(("models.", "baseline")) for key in metrics)
    plots = subprocess.run(
        [str(dvc), "plots", "show", "--json"], cwd=project, capture_output=True, text=True, check=True
    )
    data = json.loads(plots.stdout)["data"]
    board = data["leaderboard"][0]["content"]
    assert [(v["model"], v["ci_low"]) for v in board["data"]["values"]][0][0] == "baseline/reference"
    assert board["layer"][0]["encoding"]["x2"] == {"field": "ci_high"}
    assert len(data["scores"][0]["content"]["data"]["values"]) == 3 * (6 + 6 + 11)
    rates = data["rates"][0]["content"]
    assert rates["facet"]["row"]["field"] == "measure"
    assert {v["measure"] for v in rates["data"]["values"]} == {"rendered", "checks passed"}


def test_bad_params_name_the_key(tmp_path):
    with pytest.raises(Exception) as caught:
        run_aggregate(Layout.at(tmp_path), AggregateParams(confidence=95))
    assert str(caught.value) == f"{tmp_path / 'params.yaml'}: aggregate.confidence: must be between 0 and 1 (e.g. 0.95)"


def test_leftovers_of_an_interrupted_run_are_removed(project):
    layout = add_items(project)
    leftover = layout.consensus.parent / ".consensus.abc123.tmp"
    leftover.mkdir(parents=True)
    (leftover / "half.csv").write_text("x")
    run_aggregate(layout, FAST)
    assert not leftover.exists()
    assert (layout.consensus / "consensus.csv").exists()


# --------------------------------------------------------------------------- results.csv


def test_results_csv_has_a_row_per_output_in_the_original_columns(tmp_path):
    from tests.mixed_project import artifact, make_mixed_project

    layout = make_mixed_project(tmp_path)

    def graded(challenge, model, sample, f, a, notes, grader, at, version=None):
        return Grade(challenge, model, sample, version or artifact(challenge, model, sample), f, a, notes, grader, at)

    write_grade_files(
        layout,
        [
            graded("bars", "model/a", 0, 4, 3, "axis ok;  labels  small", "alice", "2026-11-28T10:00:00Z"),
            graded("bars", "model/a", 0, 5, 4, "", "bob", "2026-11-28T12:00:00Z"),
            graded("bars", "model/a", 0, 2, 2, "first look", "bob", "2026-11-28T09:00:00Z"),  # bob's older grade
            graded("triple", "model/a", 0, 3, 2, 'fine, "quoted"', "carol", "2026-11-28T11:00:00Z"),
            graded("triple", "model/b", 1, 1, 1, "old", "carol", "2026-11-28T11:30:00Z", version="older"),
        ],
    )
    summary = run_aggregate(layout, FAST)
    assert "results/results.csv" in summary.lines()[-1]
    text = layout.results_csv.read_text(encoding="utf-8")
    assert text == (
        "challenge,model,passFail,grade,aesthetics,reviewedBy,reviewedAt,notes,type,sample,artifact_hash,"
        "checks_passed,checks_total\n"
        "bars,model/a,pass,4.5,3.5,alice;bob,2026-11-28T12:00:00Z,alice: axis ok; labels small,visualization,0,"
        "bars-model_a-0,2,2\n"
        "bars,model/b,fail,,,,,,visualization,0,bars-model_b-0,1,2\n"
        'triple,model/a,pass,3,2,carol,2026-11-28T11:00:00Z,"fine, ""quoted""",code,0,triple-model_a-0,1,1\n'
        "triple,model/a,pass,,,,,,code,1,triple-model_a-1,1,1\n"
        "triple,model/a,fail,,,,,,code,2,triple-model_a-2,0,1\n"
        "triple,model/a,fail,,,,,,code,3,triple-model_a-3,0,1\n"
        "triple,model/a,pass,,,,,,code,4,triple-model_a-4,1,1\n"
        "triple,model/b,pass,,,,,,code,0,triple-model_b-0,1,1\n"
        "triple,model/b,fail,,,,,,code,1,triple-model_b-1,0,1\n"
        "triple,model/b,,,,,,,code,2,triple-model_b-2,,\n"  # its test ran on an older artifact
        "triple,model/b,,,,,,,code,3,triple-model_b-3,,\n"  # never tested
    )
    rows = read_csv(layout.results_csv)
    assert [row["grade"] for row in rows[:2]] == ["4.5", ""]
    layout.results_csv.unlink()
    run_aggregate(layout, FAST)
    assert layout.results_csv.read_text(encoding="utf-8") == text


def test_results_csv_of_a_project_without_outputs_is_its_header(project):
    layout = Layout.at(project)
    run_aggregate(layout, FAST)
    assert layout.results_csv.read_text(encoding="utf-8") == (
        "challenge,model,passFail,grade,aesthetics,reviewedBy,reviewedAt,notes,type,sample,artifact_hash,"
        "checks_passed,checks_total\n"
    )


def test_rates_plot_and_metrics_count_tests_apart_from_pages(tmp_path):
    from tests.mixed_project import make_mixed_project
    from tests.test_leaderboard import wilson

    layout = make_mixed_project(tmp_path)
    run_aggregate(layout, FAST)
    rates = {(row["model"], row["measure"]): row for row in read_csv(layout.consensus / "plots/rates.csv")}
    assert sorted(rates) == [
        ("model/a", "checks passed"),
        ("model/a", "rendered"),
        ("model/a", "tests passed"),
        ("model/b", "checks passed"),
        ("model/b", "rendered"),
        ("model/b", "tests passed"),
    ]
    rendered = rates[("model/b", "rendered")]
    low, high = wilson(1, 1)
    assert (rendered["rate"], rendered["n"]) == ("1.0000", "1")
    assert (float(rendered["ci_low"]), float(rendered["ci_high"])) == pytest.approx((low, high), abs=1e-4)
    checks = rates[("model/b", "checks passed")]
    assert (checks["rate"], checks["ci_low"], checks["ci_high"], checks["n"]) == ("0.5000", "", "", "2")
    tests = rates[("model/a", "tests passed")]
    assert (tests["rate"], tests["n"]) == ("0.6000", "5")
    assert (float(tests["ci_low"]), float(tests["ci_high"])) == pytest.approx(wilson(3, 5), abs=1e-4)
    metrics = json.loads(layout.metrics.read_text())
    # pages: 2 rendered of 2, 3 checks of 4; tests: 4 passed of 7 current runs
    assert (metrics["render_rate"], metrics["check_pass_rate"]) == (1.0, 0.75)
    assert metrics["test_pass_rate"] == round(4 / 7, 4) and metrics["models"] == 2
