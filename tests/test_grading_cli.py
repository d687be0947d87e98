"""The terminal grading script, driven through its input and output streams."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from tests.grade_repo import OUTPUTS, git, isolated_git, make_grade, make_project, status  # noqa: F401
from vizhub_pipeline.core.judgements.scores import read_grade_file
from vizhub_pipeline.core.params import GradeParams, Params
from vizhub_pipeline.core.records import CheckResult, Generation, Render, write_generation, write_render
from vizhub_pipeline.grading.errors import GradeError
from vizhub_pipeline.grading.loading import graded_items
from vizhub_pipeline.grading.submit import submit_judgements as submit_grades
from vizhub_pipeline.grading.terminal import run_grading_session

pytestmark = pytest.mark.usefixtures("isolated_git")
FILE = "results/grades/alice-"


@pytest.fixture
def layout(tmp_path):
    layout = make_project(tmp_path / "p")
    render = Render(
        "barsOne",
        "baseline/starter",
        0,
        "rendered",
        OUTPUTS[("barsOne", "baseline/starter", 0)],
        "r1",
        screenshots=("screenshot.png",),
        checks=(
            CheckResult("count rect.bar", "count", False, "expected 3, found 0"),
            CheckResult("no console errors", "no_console_errors", True),
            CheckResult("bars bound to data", "script", True, "evaluated to true", page_world=True),
        ),
    )
    folder = layout.render_dir("barsOne", "baseline/starter")
    write_render(folder / "render.json", render)
    (folder / "screenshot.png").write_bytes(b"\x89PNG")
    git(layout.root, "add", "-A")
    git(layout.root, "commit", "-q", "-m", "renders")
    return layout


def _session(layout, text, *, params=None, **kwargs):
    output = io.StringIO()
    summary = run_grading_session(
        layout,
        grader="alice",
        challenges=kwargs.pop("challenges", ()),
        models=kwargs.pop("models", ()),
        params=params or Params(grade=GradeParams(blind=False)),
        input=io.StringIO(text),
        output=output,
        **kwargs,
    )
    return summary, output.getvalue()


def test_grades_one_output_shows_render_and_checks_and_commits(layout):
    summary, out = _session(
        layout, '3\n4\nbars missing, "axis" fine\nq\n', challenges=("barsOne",), models=("baseline/starter",)
    )
    assert summary.graded == 1 and len(summary.commits) == 1
    lines = out.splitlines()
    assert lines[:9] == [
        "Grading as alice: 1 output(s) to grade. Type ? for the rubric, s to skip an output, q to stop.",
        "",
        "[1/1] barsOne - baseline/starter",
        "  screenshot: results/renders/barsOne/baseline__starter/screenshot.png",
        "  page: visualizations/barsOne/baseline__starter",
        "  render: rendered, checks 2/3 passed",
        "    FAIL count rect.bar: expected 3, found 0",
        "    pass no console errors",
        "    pass bars bound to data (run in the page: it could fake this one): evaluated to true",
    ]
    assert "Functionality 0-5: Aesthetics 0-5: Notes (Enter for none): Saved 1 grade to" in out
    assert lines[-1] == "Done: 1 graded, 0 skipped, 0 left."
    grades = read_grade_file(next(layout.grades.glob("alice-*.csv")))
    assert [(g.functionality, g.aesthetics, g.notes) for g in grades] == [(3, 4, 'bars missing, "axis" fine')]
    assert [(g.source, g.blind) for g in grades] == [("cli", False)]  # in the terminal, model names shown
    assert git(layout.root, "log", "-1", "--format=%s").strip() == "grade: alice graded 1 output of barsOne"
    assert status(layout.root) == []


def test_walks_only_ungraded_outputs_and_reasks_bad_scores(layout):
    submit_grades(layout, [make_grade("barsOne", "baseline/starter")])
    summary, out = _session(layout, "9\nx\n2\ns\n1\n1\n\n", challenges=("barsOne",))
    assert "[1/1] barsOne - baseline/reference" in out
    assert out.count("  Enter a whole number from 0 to 5, s to skip this output or q to stop.") == 2
    assert summary.graded == 0 and summary.skipped == 1
    assert "Skipped." in out


def test_failed_generations_stay_out_of_the_queue_counted_once(layout):
    for sample in range(12):
        folder = layout.visualization_dir("barsOne", "down/model", sample)
        failed = Generation("barsOne", "down/model", sample, "error", "x", error="APIConnectionError: refused")
        write_generation(folder / "meta.json", failed)
    _, out = _session(layout, "q\n", challenges=("barsOne",))
    assert out.count("APIConnectionError") == 1
    assert (
        "Note: 12 output(s) left out because their generation failed (12x error: APIConnectionError: refused); "
        "grade them too with --include-failed"
    ) in out
    assert "2 output(s) to grade" in out
    _, out = _session(layout, "q\n", challenges=("barsOne",), include_failed=True)
    assert "14 output(s) to grade" in out and "left out" not in out


def test_question_mark_shows_the_rubric_of_the_scale_asked(layout):
    from vizhub_pipeline.core import rubric

    summary, out = _session(layout, "?\n3\n?\n4\n\nq\n", challenges=("barsOne",), models=("baseline/starter",))
    assert summary.graded == 1
    functionality = out.index("  0  " + rubric.FUNCTIONALITY[0])
    aesthetics = out.index("  0  " + rubric.AESTHETICS[0])
    assert functionality < out.index("Aesthetics 0-5") < aesthetics
    assert "  5  " + rubric.AESTHETICS[5] in out


def test_stale_grades_come_back_and_end_of_input_stops(layout):
    stale = make_grade("barsTwo", "baseline/starter", artifact="ffffffffffffffff")
    path = layout.grades / "alice-2026-11-28.csv"
    from vizhub_pipeline.core.records import format_grade_rows

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_grade_rows([stale], header=True), newline="")
    summary, out = _session(layout, "5\n", challenges=("barsTwo",), models=("baseline/starter",))
    assert "  (you graded an earlier version: functionality 3, aesthetics 4)" in out
    assert "  screenshot: missing (run vizhub screenshot)" in out
    assert "  render: not rendered yet (run vizhub screenshot)" in out
    assert summary.graded == 0 and summary.remaining == 1
    assert out.endswith("Done: 0 graded, 0 skipped, 1 left.\n")


def test_batch_mode_makes_one_commit_per_session(layout):
    head = git(layout.root, "rev-list", "--count", "HEAD").strip()
    params = Params(grade=GradeParams(commit="batch", blind=True))
    summary, out = _session(layout, "1\n2\n\n3\n4\nok\n", params=params, challenges=("barsTwo",))
    assert summary.graded == 2 and len(summary.commits) == 1
    assert "baseline" not in out and "gpt-4o" not in out  # blind: no model names
    assert int(git(layout.root, "rev-list", "--count", "HEAD")) == int(head) + 1
    assert git(layout.root, "log", "-1", "--format=%s").strip() == "grade: alice graded 2 outputs of barsTwo"
    assert status(layout.root) == []
    assert {(g.source, g.blind) for g in graded_items(layout, "alice").values()} == {("cli", True)}


def test_blind_screenshots_are_neutral_copies(layout):
    seen = []

    class Peek(io.StringIO):
        def write(self, text):
            if text.startswith("  screenshot: "):
                path = text.split(": ", 1)[1].strip()
                with open(path, "rb") as shot:
                    seen.append((path, shot.read()))
            return super().write(text)

    out = Peek()
    run_grading_session(
        layout,
        grader="alice",
        challenges=("barsOne",),
        models=("baseline/starter",),
        params=Params(),
        input=io.StringIO("q\n"),
        output=out,
    )
    assert len(seen) == 1 and seen[0][0].endswith("/output-1.png") and seen[0][1] == b"\x89PNG"
    assert "baseline" not in out.getvalue()
    assert not __import__("os").path.exists(seen[0][0])  # removed when the session ends


def test_branch_session_and_nothing_left(layout):
    summary, out = _session(
        layout, "2\n2\n\n", challenges=("barsOne",), models=("baseline/reference",), branch="grades/alice-s"
    )
    assert summary.graded == 1
    assert out.splitlines()[-1] == "Share them for review: git push origin grades/alice-s"
    assert status(layout.root) == []
    _summary, again = _session(
        layout, "", challenges=("barsOne",), models=("baseline/reference",), branch="grades/alice-s"
    )
    assert again == "Nothing to grade: alice has graded every selected output.\n"


def test_unknown_challenge_and_detached_head(layout):
    with pytest.raises(GradeError, match=r"no outputs for challenge\(s\) nope in .*; run vizhub generate first"):
        _session(layout, "", challenges=("nope",))
    git(layout.root, "checkout", "-q", "--detach")
    with pytest.raises(GradeError, match="HEAD is detached"):
        _session(layout, "3\n3\n\n")


def test_vizhub_grade_cli_command(layout):
    from vizhub_pipeline.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "grade",
            "--cli",
            "--project",
            str(layout.root),
            "--grader",
            "Alice",
            "--challenge",
            "barsOne",
            "--models",
            "baseline/starter",
        ],
        input="4\n5\nnice\n",
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "Grading as alice: 1 output(s) to grade." in result.output
    assert [g.notes for g in read_grade_file(next(layout.grades.glob("alice-*.csv")))] == ["nice"]


def test_include_failed_is_for_the_terminal_only(layout):
    from vizhub_pipeline.cli import cli

    args = ["grade", "--include-failed", "--no-open", "--project", str(layout.root), "--grader", "alice"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 2
    assert "--include-failed works with --cli" in result.output
