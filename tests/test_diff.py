"""``vizhub diff``: how grades changed between two commits or branches, per grader."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.grade_repo import git, isolated_git, make_grade, make_project  # noqa: F401
from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.records import format_grade_rows
from vizhub_pipeline.grading.diff import diff_judgements as diff_grades
from vizhub_pipeline.grading.submit import submit_judgements as submit_grades

pytestmark = pytest.mark.usefixtures("isolated_git")


@pytest.fixture
def history(tmp_path):
    """main: alice grades two outputs, then changes one, bob adds one and alice's other is
    removed (her file rewritten by hand); tag s1 marks the first session."""
    layout = make_project(tmp_path / "p")
    submit_grades(layout, [make_grade(functionality=2), make_grade("barsTwo", "openai/gpt-4o", aesthetics=1)])
    git(layout.root, "tag", "s1")
    submit_grades(layout, [make_grade(functionality=4, notes="better on a second look", at="2026-11-28T11:00:00Z")])
    submit_grades(layout, [make_grade("barsOne", "baseline/reference", grader="bob", functionality=5, aesthetics=5)])
    path = layout.grades / "alice-2026-11-28.csv"
    kept = [
        make_grade(functionality=2),
        make_grade(functionality=4, notes="better on a second look", at="2026-11-28T11:00:00Z"),
    ]
    path.write_text(format_grade_rows(kept, header=True), encoding="utf-8", newline="")
    git(layout.root, "commit", "-q", "-am", "drop a grade")
    return layout


def _diff(layout, *args):
    return CliRunner().invoke(cli, ["diff", "--project", str(layout.root), *args], catch_exceptions=False)


def test_table(history):
    result = _diff(history, "s1", "HEAD")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Grades from s1 to HEAD:\n"
        "\n"
        "alice: 0 added, 1 changed, 1 removed\n"
        "  ~ barsOne  baseline/starter  functionality 2 -> 4, aesthetics 4 -> 4, notes changed\n"
        "  - barsTwo  openai/gpt-4o     functionality 3, aesthetics 1\n"
        "\n"
        "bob: 1 added, 0 changed, 0 removed\n"
        "  + barsOne  baseline/reference  functionality 5, aesthetics 5\n"
    )
    assert _diff(history, "s1..HEAD").output == result.output


def test_json(history):
    result = _diff(history, "s1..HEAD", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["from"] == "s1" and data["to"] == "HEAD"
    assert sorted(data["graders"]) == ["alice", "bob"]
    changed = data["graders"]["alice"]["changed"]
    assert changed == [
        {
            "challenge": "barsOne",
            "model": "baseline/starter",
            "sample": 0,
            "old": {
                "functionality": 2,
                "aesthetics": 4,
                "notes": "",
                "artifact_hash": "1111aaaa1111aaaa",
                "graded_at": "2026-11-28T10:00:00Z",
                "source": "app",
                "blind": True,
            },
            "new": {
                "functionality": 4,
                "aesthetics": 4,
                "notes": "better on a second look",
                "artifact_hash": "1111aaaa1111aaaa",
                "graded_at": "2026-11-28T11:00:00Z",
                "source": "app",
                "blind": True,
            },
        }
    ]
    assert [item["model"] for item in data["graders"]["alice"]["removed"]] == ["openai/gpt-4o"]
    assert data["graders"]["bob"]["added"][0]["new"]["functionality"] == 5


def test_branches_and_the_working_tree(history):
    submit_grades(
        history, [make_grade("barsTwo", "baseline/starter", grader="carol")], branch="grades/carol-2026-11-28"
    )
    diff = diff_grades(history, "main", "grades/carol-2026-11-28")
    assert [(c.grader, c.change, c.key) for c in diff.changes] == [
        ("carol", "added", ("barsTwo", "baseline/starter", 0))
    ]
    submit_grades(history, [make_grade("barsTwo", "baseline/starter", functionality=0)], commit=False)
    result = _diff(history, "HEAD")
    assert result.output.splitlines()[:3] == [
        "Grades from HEAD to the working tree:",
        "",
        "alice: 1 added, 0 changed, 0 removed",
    ]
    assert _diff(history, "HEAD", "HEAD").output == "No grade changes from HEAD to HEAD.\n"


def test_unknown_revision_and_no_git(history, tmp_path):
    result = CliRunner().invoke(cli, ["diff", "--project", str(history.root), "s1", "nope"], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.output == f"Error: unknown revision 'nope' in {history.root}\n"
    plain = make_project(tmp_path / "plain", init=False)
    result = _diff(plain, "HEAD~1..HEAD")
    assert result.exit_code == 1
    assert result.output == f"Error: {plain.root} is not in a git repository: nothing to compare\n"
    assert _diff(history, "a...b").output == "Error: 'a...b': use REV1..REV2 (two dots) or two revisions\n"
