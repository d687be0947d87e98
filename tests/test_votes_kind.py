"""The registered pairwise-votes kind: results/votes/<grader>-<date>.csv, committed, validated and
diffed through the same code as grades."""

from __future__ import annotations

import pytest

from tests.grade_repo import AT, OUTPUTS, git, head_files, isolated_git, make_project, status  # noqa: F401
from vizhub_pipeline.core.judgements import registry
from vizhub_pipeline.core.judgements.votes import KIND, Vote
from vizhub_pipeline.core.judgements.writer import format_rows
from vizhub_pipeline.grading.diff import diff_judgements
from vizhub_pipeline.grading.loading import load_judgements
from vizhub_pipeline.grading.submit import submit_judgements
from vizhub_pipeline.grading.validate import validate_judgement_files

pytestmark = pytest.mark.usefixtures("isolated_git")


def vote(winner: str, *, artifact_b: str | None = None, at: str = AT) -> Vote:
    return Vote(
        challenge="barsOne",
        model_a="baseline/starter",
        sample_a=0,
        artifact_hash_a=OUTPUTS[("barsOne", "baseline/starter", 0)],
        model_b="baseline/reference",
        sample_b=0,
        artifact_hash_b=artifact_b or OUTPUTS[("barsOne", "baseline/reference", 0)],
        winner=winner,
        flagged=winner == "both_bad",
        notes="",
        grader="alice",
        voted_at=at,
        source="app",
        blind=True,
    )


def test_votes_are_a_registered_kind_with_their_own_folder():
    assert registry.find_kind("votes") is KIND and registry.find_kind_of_folder("results/votes") is KIND
    assert KIND.header[-3:] == ("voted_at", "source", "blind")
    assert vote("a").pair == (("barsOne", "baseline/reference", 0), ("barsOne", "baseline/starter", 0))


def test_votes_are_committed_validated_and_diffed(tmp_path):
    layout = make_project(tmp_path / "p")
    result = submit_judgements(layout, [vote("b")])
    assert head_files(layout.root) == ["results/votes/alice-2026-11-28.csv"] and status(layout.root) == []
    assert git(layout.root, "log", "-1", "--format=%s").strip() == "vote: alice voted on 1 pair of barsOne"
    assert result.commit_id
    submit_judgements(layout, [vote("tie", at="2026-11-28T11:00:00Z")])
    assert [v.winner for v in load_judgements(layout, KIND)] == ["b", "tie"]
    assert diff_judgements(layout, "HEAD~1", "HEAD").to_table() == (
        "Votes from HEAD~1 to HEAD:\n\nalice: 0 added, 1 changed, 0 removed\n"
        "  ~ barsOne  baseline/starter vs baseline/reference  winner b -> tie\n"
    )
    assert validate_judgement_files(layout).problems == []


def test_a_vote_is_stale_when_either_side_changed(tmp_path):
    layout = make_project(tmp_path / "p")
    path = layout.root / "results" / "votes" / "alice-2026-11-28.csv"
    path.parent.mkdir(parents=True)
    path.write_text(format_rows(KIND, [vote("a", artifact_b="ffffffffffffffff")], header=True), encoding="utf-8")
    problems = [str(p) for p in validate_judgement_files(layout).problems]
    assert problems == [
        f"{path}:2: stale: artifact hash ffffffffffffffff but barsOne/baseline/reference is now 2222bbbb2222bbbb; "
        "vote the current output again"
    ]
