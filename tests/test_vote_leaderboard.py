"""The aggregate stage ranks models by pairwise votes when results/votes/ has votes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from vizhub_pipeline.analysis.aggregate import run_aggregate
from vizhub_pipeline.analysis.bradley_terry import rank_votes
from vizhub_pipeline.analysis.vote_ranking import _seed
from vizhub_pipeline.analysis.vote_table import count_votes
from vizhub_pipeline.core.judgements.scores import format_grade_rows
from vizhub_pipeline.core.judgements.votes import KIND as VOTES
from vizhub_pipeline.core.judgements.votes import Vote
from vizhub_pipeline.core.judgements.writer import format_rows
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.params import AggregateParams
from vizhub_pipeline.core.records import Generation, Grade, write_generation

PARAMS = AggregateParams(bootstrap=50, bt_rounds=100, bt_seed=3)
MODELS = ("model/a", "model/b", "model/c", "model/d")
DAY = "2026-11-28"


def artifact(challenge: str, model: str) -> str:
    return f"{challenge}-{model}".replace("/", "_")


def make_outputs(root: Path, challenges=("bars", "lines"), models=MODELS) -> Layout:
    layout = Layout.at(root)
    for challenge in challenges:
        for model in models:
            write_generation(
                layout.visualization_dir(challenge, model) / "meta.json",
                Generation(challenge, model, 0, "ok", "in", artifact_hash=artifact(challenge, model)),
            )
    return layout


def vote(a, b, winner, grader="alice", at="12:00:00", challenge="bars", source="app", hash_a=None) -> Vote:
    return Vote(
        challenge,
        a,
        0,
        hash_a or artifact(challenge, a),
        b,
        0,
        artifact(challenge, b),
        winner,
        False,
        "",
        grader,
        f"{DAY}T{at}Z",
        source,
        True,
    )


def write_votes(layout: Layout, votes: list[Vote]) -> None:
    folder = layout.root / "results" / "votes"
    folder.mkdir(parents=True, exist_ok=True)
    for grader in sorted({one.grader for one in votes}):
        mine = [one for one in votes if one.grader == grader]
        (folder / f"{grader}-{DAY}.csv").write_text(format_rows(VOTES, mine, header=True), encoding="utf-8")


def read_board(layout: Layout) -> list[dict[str, str]]:
    with open(layout.consensus / "votes_leaderboard.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def ladder(challenge: str = "bars", at: str = "12:00:00") -> list[Vote]:
    """a beats b, c, d; b beats c, d; c beats d: alice and bob vote for the better side (each
    seeing it on another side), erin calls it a tie; one vote per grader and pair."""
    out = []
    for i, better in enumerate(MODELS):
        for worse in MODELS[i + 1 :]:
            out.append(vote(better, worse, "a", "alice", at, challenge))
            out.append(vote(worse, better, "b", "bob", at, challenge))
            out.append(vote(better, worse, "tie", "erin", at, challenge))
    return out


def test_votes_give_a_bradley_terry_leaderboard_of_the_votes_that_count(tmp_path):
    layout = make_outputs(tmp_path)
    counted = ladder("bars") + ladder("lines")
    left_out = [
        vote("model/d", "model/a", "a", "alice", at="09:00:00", challenge="bars", hash_a="an older artifact"),  # stale
        vote("model/d", "model/a", "a", "carol", source="judge:gpt-4o"),  # a judge's vote: not a human source
        vote("model/d", "model/x", "a", "alice", at="09:30:00"),  # an output that does not exist
    ]
    # a grader's latest vote on a pair counts: dave's first vote is replaced by his second
    repeated = [vote("model/d", "model/c", "a", "dave", at="10:00:00"), vote("model/c", "model/d", "a", "dave")]
    write_votes(layout, counted + left_out + repeated)
    summary = run_aggregate(layout, PARAMS)

    expected = counted + repeated[1:]
    direct = rank_votes(
        count_votes([v.model_a for v in expected], [v.model_b for v in expected], [v.winner for v in expected]),
        rounds=PARAMS.bt_rounds,
        confidence=PARAMS.confidence,
        seed=_seed(PARAMS.bt_seed, "votes"),
    )
    board = read_board(layout)
    assert [row["model"] for row in board] == list(MODELS)
    assert board == [
        {
            key: "" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)
            for key, value in row.items()
        }
        for row in (one.to_json() for one in direct.rows)
    ]
    assert [int(row["votes"]) for row in board] == [18, 18, 19, 19]  # 36 ladder votes of 2 sides, plus dave's
    for row in board:
        assert float(row["ci_low"]) <= float(row["score"]) <= float(row["ci_high"])
    document = json.loads((layout.consensus / "votes.json").read_text())
    assert document["votes"] == {
        "read": 41,
        "counted": 37,
        "stale": 1,
        "rejected": 0,
        "other_sources": 1,
        "unknown_item": 1,
        "same_model": 0,
    }
    # dave's two votes, compared in the order cast: d better, then c better (sides swapped)
    assert (document["grader_agreement"]["retest_pairs"], document["grader_agreement"]["retest_agreement"]) == (1, 0.0)
    assert "votes: 37 counted of 41 read (1 stale" in "\n".join(summary.lines())


def test_grades_are_ranked_too_and_compared_with_the_votes(tmp_path):
    layout = make_outputs(tmp_path)
    write_votes(layout, ladder("bars") + ladder("lines"))
    quality = dict(zip(MODELS, (5, 4, 2, 1), strict=True))
    grades = [
        Grade(
            challenge,
            model,
            0,
            artifact(challenge, model),
            quality[model],
            quality[model],
            "",
            grader,
            f"{DAY}T12:00:00Z",
        )
        for challenge in ("bars", "lines")
        for model in MODELS
        for grader in ("alice", "bob")
    ]
    layout.grades.mkdir(parents=True)
    for grader in ("alice", "bob"):
        mine = [one for one in grades if one.grader == grader]
        (layout.grades / f"{grader}-{DAY}.csv").write_text(format_grade_rows(mine, header=True), encoding="utf-8")
    summary = run_aggregate(layout, PARAMS)
    document = json.loads((layout.consensus / "votes.json").read_text())
    assert [row["model"] for row in document["grades"]["leaderboard"]["rows"]] == list(MODELS)
    tau = document["kendall_tau"]
    assert (tau["models"], tau["tau"]) == (4, 1.0)  # both put the models in the same order
    assert tau["ci_low"] <= tau["tau"] <= tau["ci_high"]
    assert any(line.startswith("votes vs grades: Kendall's tau 1.00 [") for line in summary.lines())


def test_a_disconnected_comparison_graph_names_its_parts_and_writes_no_leaderboard(tmp_path):
    layout = make_outputs(tmp_path)
    write_votes(layout, [vote("model/a", "model/b", "a"), vote("model/d", "model/c", "b")])
    summary = run_aggregate(layout, PARAMS)
    assert not (layout.consensus / "votes_leaderboard.csv").exists()
    message = (
        "no vote leaderboard: votes: the comparison graph is not connected: no vote links these 2 groups of "
        "models: {model/a, model/b}; {model/c, model/d}"
    )
    assert message in summary.lines()
    assert json.loads((layout.consensus / "votes.json").read_text())["error"] == message.removeprefix(
        "no vote leaderboard: "
    )


def test_without_vote_files_nothing_about_votes_is_written(tmp_path):
    layout = make_outputs(tmp_path)
    (layout.root / "results" / "votes").mkdir(parents=True)
    (layout.root / "results" / "votes" / ".gitkeep").write_text("")
    summary = run_aggregate(layout, PARAMS)
    assert not (layout.consensus / "votes.json").exists()
    assert not (layout.consensus / "votes_leaderboard.csv").exists()
    assert not any(line.startswith("votes") for line in summary.lines())


def test_the_vote_leaderboard_is_byte_identical_on_a_rerun(tmp_path):
    layout = make_outputs(tmp_path)
    write_votes(layout, ladder("bars") + ladder("lines"))
    run_aggregate(layout, PARAMS)
    names = ("votes_leaderboard.csv", "votes_by_challenge.csv", "votes.json")
    first = [(layout.consensus / name).read_bytes() for name in names]
    run_aggregate(layout, PARAMS)
    assert [(layout.consensus / name).read_bytes() for name in names] == first


def test_negative_bt_rounds_name_the_key(tmp_path):
    with pytest.raises(Exception) as caught:
        run_aggregate(Layout.at(tmp_path), AggregateParams(bt_rounds=-1))
    assert str(caught.value) == (
        f"{tmp_path / 'params.yaml'}: aggregate.bt_rounds: must be 0 (no intervals) or more rounds (e.g. 1000)"
    )


def test_the_text_report_shows_the_vote_leaderboard_or_why_there_is_none(tmp_path):
    from vizhub_pipeline.analysis.report import format_report, read_report

    layout = make_outputs(tmp_path / "ranked")
    write_votes(layout, ladder("bars") + ladder("lines"))
    run_aggregate(layout, PARAMS)
    lines = format_report(read_report(layout.consensus, layout.metrics)).splitlines()
    start = lines.index("Pairwise votes: 36 counted of 36 read")
    assert lines[start + 1].split() == ["rank", "model", "rating", "votes"]
    board = read_board(layout)
    for row, line in zip(board, lines[start + 2 : start + 6], strict=True):
        low, high = round(float(row["ci_low"])), round(float(row["ci_high"]))
        assert line.split() == [
            row["rank"],
            row["model"],
            str(round(float(row["score"]))),
            f"[{low},",
            f"{high}]",
            "18",
        ]

    apart = make_outputs(tmp_path / "apart")
    write_votes(apart, [vote("model/a", "model/b", "a"), vote("model/d", "model/c", "b")])
    run_aggregate(apart, PARAMS)
    text = format_report(read_report(apart.consensus, apart.metrics))
    assert "no vote leaderboard: votes: the comparison graph is not connected" in text


def test_each_challenge_is_ranked_on_its_own_votes_and_one_in_parts_is_named(tmp_path):
    layout = make_outputs(tmp_path)
    bars = ladder("bars")
    lines = [vote("model/a", "model/b", "a", challenge="lines"), vote("model/d", "model/c", "b", challenge="lines")]
    write_votes(layout, bars + lines)
    summary = run_aggregate(layout, PARAMS)
    with open(layout.consensus / "votes_by_challenge.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    direct = rank_votes(
        count_votes([v.model_a for v in bars], [v.model_b for v in bars], [v.winner for v in bars]),
        rounds=PARAMS.bt_rounds,
        confidence=PARAMS.confidence,
        seed=_seed(PARAMS.bt_seed, "votes bars"),
    )
    assert rows == [
        {
            "challenge": "bars",
            **{k: "" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v) for k, v in row.items()},
        }
        for row in (one.to_json() for one in direct.rows)
    ]
    message = (
        "no vote ranking for challenge lines: the comparison graph is not connected: no vote links these 2 groups "
        "of models: {model/a, model/b}; {model/c, model/d}"
    )
    assert message in summary.lines()
    assert (layout.consensus / "votes_leaderboard.csv").is_file()  # overall, bars links every model
