"""The aggregate stage on small projects whose numbers are worked out by hand."""

from __future__ import annotations

import csv
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from vizhub_pipeline.analysis.aggregate import run_aggregate
from vizhub_pipeline.analysis.leaderboard import _assign_ranks
from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.errors import GradeFileError
from vizhub_pipeline.core.grade_table import _canonical_and_valid, _utc_moment, canonical_times, read_grade_columns
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.params import AggregateParams
from vizhub_pipeline.core.records import (
    GRADE_COLUMNS,
    CheckResult,
    Generation,
    Grade,
    Render,
    format_grade_rows,
    parse_grade_file,
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
    assert metrics["alpha"] == {"aesthetics": None, "functionality": None, "overall": None}


def test_no_generations_and_no_grades(tmp_path):
    summary = run_aggregate(Layout.at(tmp_path), FAST)
    assert summary.items == 0
    assert (tmp_path / "results" / "consensus" / "consensus.csv").read_text().startswith("challenge,model,sample,")


# --------------------------------------------------------------------------- consensus


def test_consensus_statistics_worked_by_hand(project):
    layout = add_items(project)
    write_grades(
        layout,
        "all.csv",
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
    write_grades(
        layout, "all.csv", [grade("barsOne", MODELS[1], 0, 0, "alice"), grade("barsOne", MODELS[1], 5, 5, "bob")]
    )
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
        [
            grade("barsOne", MODELS[0], 1, 1, "alice", at="2026-11-27T09:00:00Z"),
            grade("barsOne", MODELS[0], 5, 5, "alice", at="2026-11-29T09:00:00Z"),  # latest, in the older file
        ],
    )
    write_grades(
        layout,
        "alice-2026-11-28.csv",
        [
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
    from vizhub_pipeline.core.records import latest_grades, read_grade_file

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
    path = write_grades(
        layout,
        "g.csv",
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
        ("stale", "alice", "results/grades/g.csv"),
        ("stale_regraded", "bob", "results/grades/g.csv"),
    ]
    graders = {r["grader"]: r for r in read_csv(layout.consensus / "graders.csv")}
    assert (graders["alice"]["grades"], graders["alice"]["stale"]) == ("0", "1")
    assert json.loads(layout.metrics.read_text())["stale"] == 1
    assert path.exists()


def test_grades_of_unknown_items_are_reported_and_left_out(project):
    layout = add_items(project)
    write_grades(
        layout,
        "g.csv",
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


def test_malformed_grade_file_stops_the_stage_with_file_line_and_reason(project):
    layout = add_items(project)
    path = write_grades(layout, "bad.csv", [grade("barsOne", MODELS[0], 3, 3, "alice")])
    path.write_text(path.read_text() + "barsOne,baseline/starter,0,abc,9,3,,alice,2026-11-28T12:00:00Z\r\n")
    with pytest.raises(GradeFileError) as caught:
        run_aggregate(layout, FAST)
    assert str(caught.value) == (
        f"{path}:3: functionality must be an integer from 0 to 5, found '9'; run `vizhub validate` for the full list of problems"
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


def test_fast_reader_agrees_with_the_records_module(tmp_path):
    """Random files, with and without quotes, blank lines, spaces and odd columns orders:
    the fast reader accepts exactly what parse_grade_file accepts, with the same values."""
    rnd = random.Random(11)
    columns = list(GRADE_COLUMNS)
    paths = {"pandas": 0, "csv": 0}
    for case in range(90):
        rnd.shuffle(columns)
        lines = [",".join(columns)]
        for row in range(rnd.randint(0, 30)):
            values = {
                "challenge": rnd.choice(["barsOne", " barsTwo", "c3"]),
                "model": rnd.choice(["m/a", "m/b "]),
                "sample": rnd.choice(["0", "1", "", " 2"]),
                "artifact_hash": "abc",
                "functionality": rnd.choice(["0", "3", "5", " 4", "05"] + (["6", "x"] if case % 5 == 0 else [])),
                "aesthetics": rnd.choice(["1", "2"]),
                "notes": rnd.choice(
                    ["", "fine", "'=1+1"] + (['"a, b"', '"say ""hi"""', '"two\nlines"'] if case % 2 else [])
                ),
                "grader": rnd.choice(["alice", "bob"]),
                "graded_at": rnd.choice(
                    ["2026-11-28T12:00:00Z", "2026-11-28T12:00:00+00:00", "2026-02-29T12:00:00Z"][
                        : 3 if case % 7 == 0 else 2
                    ]
                ),
            }
            cells = [values[name] for name in columns]
            damage = rnd.random()
            if case % 3 == 0 and damage < 0.04:
                cells = cells[:-1]  # a short row
            elif case % 3 == 0 and damage < 0.06:
                cells.append("extra")
            lines.append(",".join(cells))
            if rnd.random() < 0.1:
                lines.append(rnd.choice(["", "   ", ",,,,,,,,"]))
        path = tmp_path / f"case{case}.csv"
        path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
        paths["csv" if '"' in path.read_text() else "pandas"] += 1
        grades, problems = parse_grade_file(path)
        if problems:
            with pytest.raises(GradeFileError) as caught:
                read_grade_columns(path)
            assert (caught.value.path, caught.value.line) == (problems[0].path, problems[0].line)
            continue
        table = read_grade_columns(path)
        got = list(
            zip(
                *(
                    table[name].tolist()
                    for name in ("challenge", "model", "sample", "functionality", "aesthetics", "grader", "graded_at")
                )
            )
        )
        assert got == [
            (g.challenge, g.model, g.sample, g.functionality, g.aesthetics, g.grader, g.graded_at) for g in grades
        ]
    assert min(paths.values()) >= 30


def test_short_and_long_rows_are_errors_on_the_fast_path_too(tmp_path):
    header = "challenge,model,sample,artifact_hash,functionality,aesthetics,grader,graded_at,notes"
    row = "barsOne,m/a,0,abc,3,3,alice,2026-11-28T12:00:00Z"
    short = tmp_path / "short.csv"
    short.write_text(f"{header}\n{row},fine\n{row}\n", encoding="utf-8")
    long = tmp_path / "long.csv"
    long.write_text(f"{header}\n{row},fine,extra\n", encoding="utf-8")
    for path, message in ((short, "expected 9 fields, found 8"), (long, "expected 9 fields, found 10")):
        with pytest.raises(GradeFileError) as caught:
            read_grade_columns(path)
        assert (
            str(caught.value)
            == f"{path}:{3 if path == short else 2}: {message}; run `vizhub validate` for the full list of problems"
        )


def test_graded_at_check_matches_the_records_rule():
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
    fast = _canonical_and_valid(values).tolist()
    assert fast == [_utc_moment(value) is not None and len(value) == 20 for value in values]
    assert fast[:3] == [True, True, False]
    for value in values:  # one by one: a single refused value makes the whole column None
        moment = _utc_moment(value)
        assert canonical_times([value]) == (None if moment is None else [moment.strftime("%Y-%m-%dT%H:%M:%SZ")])
    assert canonical_times([]) == []


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
        for quality, model in zip((4, 1, 3), MODELS + ("gpt-4o",)):
            for grader in ("alice", "bob", "carol"):
                f = min(5, max(0, quality + rnd.randint(-1, 1)))
                grades.append(
                    grade(challenge, model, f, min(5, max(0, quality + rnd.randint(-1, 1))), grader, notes="ok, fine")
                )
    write_grades(layout, "all.csv", grades)
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
    assert "bootstrap over challenges" in reliability["methods"]["leaderboard_interval"]
    assert reliability["icc"]["items"] == 9 and reliability["icc"]["graders"] == ["alice", "bob", "carol"]
    assert set(reliability["alpha_by_challenge"]) == {"barsOne", "barsTwo", "lines"}
    alpha = reliability["alpha"]["overall"]
    assert alpha["ci_low"] <= alpha["value"] <= alpha["ci_high"] and alpha["units"] == 9
    assert summary.alpha["overall"] == pytest.approx(alpha["value"], abs=1e-4)
    assert len(read_csv(layout.consensus / "pairwise.csv")) == 3
    metrics = json.loads(layout.metrics.read_text())
    assert metrics["models"]["baseline/reference"]["overall"] == float(board[0]["overall_mean"])
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
    assert len(first) == 10


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
    run_aggregate(layout, FAST)
    templates = Path(__file__).resolve().parents[1] / "vizhub_pipeline" / "analysis" / "plots"
    (project / "dvc.yaml").write_text(
        "metrics:\n  - results/metrics.json\n"
        "plots:\n"
        f"  - leaderboard:\n      template: {templates / 'leaderboard_intervals.json'}\n      x: mean\n"
        "      y:\n        results/consensus/plots/leaderboard.csv: model\n"
        f"  - scores:\n      template: {templates / 'score_distribution.json'}\n      x: score\n"
        "      y:\n        results/consensus/plots/scores.csv: grades\n"
    )
    subprocess.run([str(dvc), "init", "--no-scm", "-q"], cwd=project, check=True)
    shown = subprocess.run(
        [str(dvc), "metrics", "show", "--json"], cwd=project, capture_output=True, text=True, check=True
    )
    (revision,) = json.loads(shown.stdout).values()
    metrics = revision["data"]["results/metrics.json"]["data"]
    assert metrics["grades"] == 27 and metrics["models"]["baseline/starter"]["rank"] == 3
    plots = subprocess.run(
        [str(dvc), "plots", "show", "--json"], cwd=project, capture_output=True, text=True, check=True
    )
    data = json.loads(plots.stdout)["data"]
    board = data["leaderboard"][0]["content"]
    assert [(v["model"], v["ci_low"]) for v in board["data"]["values"]][0][0] == "baseline/reference"
    assert board["layer"][0]["encoding"]["x2"] == {"field": "ci_high"}
    assert len(data["scores"][0]["content"]["data"]["values"]) == 3 * (6 + 6 + 11)


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
