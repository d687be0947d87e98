"""``vizhub grade --pairwise --cli``: pairwise votes in the terminal, in a real git repository."""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner

from tests.conftest import write_challenge
from tests.grade_repo import OUTPUTS, git, head_files, isolated_git, make_project, status  # noqa: F401
from vizhub_pipeline.core.atomic import replace_dir_atomic, staging_dir
from vizhub_pipeline.core.judgements.votes import KIND as VOTES
from vizhub_pipeline.core.params import GradeParams, Params
from vizhub_pipeline.core.records import CheckResult, Generation, Render, write_generation, write_render
from vizhub_pipeline.grading.errors import GradeError
from vizhub_pipeline.grading.loading import load_judgements
from vizhub_pipeline.grading.pairwise_terminal import run_pairwise_session

pytestmark = pytest.mark.usefixtures("isolated_git")
HOSTILE = "Uncaught \x1b[2J\x1b]0;owned\x07boom\nAll 12 checks passed"


@pytest.fixture
def layout(tmp_path):
    layout = make_project(tmp_path / "p", commit=False)
    folder = write_challenge(layout.root, "barsOne", prompt="Draw one bar per row.\nLabel the axes.")
    with (folder / "challenge.yaml").open("a", encoding="utf-8") as handle:
        handle.write("interactions:\n  - {name: hover-first-bar, action: hover, selector: rect.bar, nth: 1}\n")
    write_challenge(layout.root, "barsTwo", prompt="Draw bars, sorted.")
    render = Render(
        "barsOne",
        "baseline/reference",
        0,
        "rendered",
        OUTPUTS[("barsOne", "baseline/reference", 0)],
        "r1",
        screenshots=("screenshot.png", "screenshot-hover-first-bar.png"),
        checks=(
            CheckResult("count rect.bar", "count", True, "3 found"),
            CheckResult("tooltip shown", "text", False, "no text 'a: 3'", step="hover-first-bar"),
        ),
        console_errors=(HOSTILE,),
    )
    folder = layout.render_dir("barsOne", "baseline/reference")
    write_render(folder / "render.json", render)
    (folder / "screenshot.png").write_bytes(b"\x89PNG one")
    (folder / "screenshot-hover-first-bar.png").write_bytes(b"\x89PNG two")
    git(layout.root, "add", "-A")
    git(layout.root, "commit", "-q", "-m", "outputs")
    return layout


def _session(layout, text, *, blind=False, commit="submission", **kwargs):
    output = io.StringIO()
    params = Params(grade=GradeParams(blind=blind, commit=commit, pairwise_repeat_share=0.0))
    summary = run_pairwise_session(
        layout, grader="alice", params=params, input=io.StringIO(text), output=output, **kwargs
    )
    return summary, output.getvalue()


def _votes(layout, branch=None):
    return load_judgements(layout, VOTES, branch=branch)


def test_a_vote_shows_both_sides_and_is_committed_alone(layout):
    summary, out = _session(layout, "a\n", challenges=("barsOne",))
    assert (summary.voted, summary.skipped, summary.flagged) == (1, 0, 0)
    assert "Voting as alice: 1 pair(s) to vote on." in out
    assert "  | Draw one bar per row.\n  | Label the axes.\n" in out
    (vote,) = _votes(layout)
    sides = {"A": vote.model_a, "B": vote.model_b}
    assert f"  Side A (left): {sides['A']}\n" in out and f"  Side B (right): {sides['B']}\n" in out
    assert (vote.winner, vote.source, vote.blind, vote.grader, vote.flagged) == ("a", "cli", False, "alice", False)
    assert {vote.model_a, vote.model_b} == {"baseline/starter", "baseline/reference"}
    hashes = {vote.model_a: vote.artifact_hash_a, vote.model_b: vote.artifact_hash_b}
    assert hashes == {m: h for (c, m, _), h in OUTPUTS.items() if c == "barsOne"}
    assert "    render: rendered, checks 1/2 passed" in out
    assert "    FAIL tooltip shown [hover-first-bar]: no text 'a: 3'" in out
    assert "  Interaction steps (screenshots after each):\n    1. hover-first-bar: hover rect.bar #2\n" in out
    shots = "results/renders/barsOne/baseline__reference/"
    assert f"    screenshot (initial page): {shots}screenshot.png\n" in out
    assert f"    screenshot (after step hover-first-bar): {shots}screenshot-hover-first-bar.png\n" in out
    assert "Not rendered yet" in out  # the starter has no render
    # the page's console error is shown escaped: no escape code reaches the terminal, no fake line
    assert "error in page: Uncaught \\x1b[2J\\x1b]0;owned\\x07boom\\nAll 12 checks passed" in out
    assert "\x1b" not in out and "\nAll 12 checks passed" not in out
    assert re.search(r"Done: 1 voted, 0 skipped, 0 flagged, 0 pair\(s\) left; time \d+:\d\d\.", out)
    assert head_files(layout.root) == [vote_file(layout)]
    assert status(layout.root) == []
    validated = CliRunner().invoke(_cli(), ["validate", "--project", str(layout.root)], catch_exceptions=False)
    assert validated.exit_code == 0, validated.output
    assert validated.output == "OK: 1 grade file(s), no problems.\n"


def vote_file(layout) -> str:
    (path,) = (layout.root / "results" / "votes").glob("alice-*.csv")
    return path.relative_to(layout.root).as_posix()


def _cli():
    from vizhub_pipeline.cli import cli

    return cli


def test_flag_note_skip_tie_and_both_bad(layout):
    summary, out = _session(layout, "s\nf\nn\nclose call\nq?\nt\nx\n")
    assert (summary.voted, summary.skipped, summary.flagged) == (2, 1, 1)
    assert "Skipped: this pair comes back at the end." in out
    assert "  Flagged for review." in out and "  Note: close call" in out
    assert "  Type a, b, t or x to vote" in out  # "q?" is no key
    votes = _votes(layout)
    assert [(v.winner, v.flagged, v.notes) for v in votes] == [("tie", True, "close call"), ("both_bad", False, "")]
    assert votes[0].challenge != votes[1].challenge  # the skipped pair came back last
    assert "Done: 2 voted, 1 skipped, 1 flagged, 0 pair(s) left" in out
    assert len(git(layout.root, "log", "--format=%H").split()) == 3  # a commit per vote


def test_blind_hides_the_models_and_copies_screenshots(layout):
    _, out = _session(layout, "b\nq\n", blind=True)
    for model in ("baseline", "starter", "reference", "gpt-4o"):
        assert model not in out
    assert "Side A (left)\n" in out and "Side B (right)\n" in out
    assert re.search(r"screenshot \(initial page\): /\S+/pair-\d-[AB]-1\.png", out)
    (vote,) = _votes(layout)
    assert vote.blind is True and vote.winner == "b"


def test_stop_keeps_votes_and_the_next_session_skips_voted_pairs(layout):
    _session(layout, "a\nq\n")
    summary, out = _session(layout, "b\n")
    assert summary.voted == 1
    assert "Voting as alice: 1 pair(s) to vote on." in out
    _, out = _session(layout, "")
    assert "Nothing to vote on: alice has voted on all 2 pair(s)." in out
    assert len({v.pair for v in _votes(layout)}) == 2


def test_branch_and_batch(layout):
    summary, out = _session(layout, "a\nt\n", branch="votes/alice-s")
    assert summary.voted == 2 and len(summary.commits) == 2
    assert "Share them for review: git push origin votes/alice-s" in out
    assert status(layout.root) == [] and _votes(layout) == []
    assert len(_votes(layout, branch="votes/alice-s")) == 2
    _, out = _session(layout, "", branch="votes/alice-s")
    assert "has voted on all 2 pair(s)" in out
    before = git(layout.root, "rev-parse", "HEAD")
    summary, out = _session(layout, "a\nb\n", commit="batch")
    assert git(layout.root, "rev-list", "--count", f"{before.strip()}..HEAD").strip() == "1"
    assert "(not committed yet)" in out and len(summary.commits) == 1


def test_nothing_to_compare_and_unknown_challenge(layout):
    _, out = _session(layout, "", models=("baseline/starter",))
    assert "Nothing to vote on: no challenge of the selection has two outputs to compare." in out
    with pytest.raises(GradeError, match="nope: no such challenge"):
        _session(layout, "", challenges=("nope",))
    (layout.challenges / "broken").mkdir()
    _, out = _session(layout, "q\n")
    assert re.search(r"Note: challenge skipped: \S*broken\S*: ", out)
    args = ["grade", "--pairwise", "--cli", "--project", str(layout.root), "--challenge", "nope"]
    result = CliRunner().invoke(_cli(), args, catch_exceptions=False)
    assert result.exit_code == 1 and "Error: " in result.output and "nope: no such challenge" in result.output


def test_vizhub_grade_pairwise_cli(layout):
    args = ["grade", "--pairwise", "--cli", "--project", str(layout.root), "--grader", "Alice", "--no-blind"]
    result = CliRunner().invoke(_cli(), [*args, "--challenge", "barsTwo"], input="x\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Voting as alice: 1 pair(s) to vote on." in result.output
    (vote,) = _votes(layout)
    assert (vote.challenge, vote.winner, vote.source) == ("barsTwo", "both_bad", "cli")
    refused = CliRunner().invoke(_cli(), [*args, "--include-failed"], catch_exceptions=False)
    assert refused.exit_code == 2 and "--include-failed does not go with --pairwise" in refused.output


class _RegenerateThenAnswer(io.StringIO):
    """Input that regenerates barsTwo's gpt-4o output (a new artifact) just before the first answer."""

    def __init__(self, layout, text: str):
        super().__init__(text)
        self.layout = layout
        self.done = False

    def readline(self, *args) -> str:  # type: ignore[override]
        if not self.done:
            self.done = True
            final = self.layout.visualization_dir("barsTwo", "openai/gpt-4o", 0)
            staging = staging_dir(final)
            (staging / "index.html").write_text("<p>new</p>\n", encoding="utf-8")
            generation = Generation("barsTwo", "openai/gpt-4o", 0, "ok", "in-new", "5555eeee5555eeee", ("index.html",))
            write_generation(staging / "meta.json", generation)
            replace_dir_atomic(staging, final)
        return super().readline(*args)


def test_a_vote_on_an_output_that_changed_meanwhile_is_not_saved_and_the_pair_comes_back(layout):
    output = io.StringIO()
    params = Params(grade=GradeParams(blind=False, pairwise_repeat_share=0.0))
    summary = run_pairwise_session(
        layout,
        grader="alice",
        params=params,
        challenges=("barsTwo",),
        input=_RegenerateThenAnswer(layout, "a\nb\n"),
        output=output,
    )
    out = output.getvalue()
    assert "Not saved: nothing written: " in out and "artifact" in out
    assert out.count("[pair ") == 2  # the same pair, shown again with the new output
    (vote,) = _votes(layout)
    assert vote.winner == "b" and "5555eeee5555eeee" in (vote.artifact_hash_a, vote.artifact_hash_b)
    assert summary.voted == 1


def test_a_vote_that_cannot_be_written_is_forgotten_and_the_pair_comes_back(layout):
    import datetime

    today = datetime.datetime.now(datetime.UTC).date()
    folder = layout.root / "results" / "votes"
    folder.mkdir(parents=True)
    for day in (today, today + datetime.timedelta(days=1)):  # the vote's day, even past midnight
        (folder / f"alice-{day.isoformat()}.csv").write_text("not,a,votes,header\n1,2,3,4\n", encoding="utf-8")
    summary, out = _session(layout, "a\nq\n", challenges=("barsTwo",))
    assert "Not saved: " in out
    assert out.count("[pair ") == 2  # the same pair again: the unsaved vote does not count
    assert summary.voted == 0 and _votes(layout) == []
