"""The judgement registry and its one reader: a second kind needs only its module and one line,
and every note reads back exactly as it was written."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from tests.grade_repo import AT, OUTPUTS, git, head_files, isolated_git, make_grade, make_project, status  # noqa: F401
from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.judgements import notes, registry
from vizhub_pipeline.core.judgements.columns import Choice, Flag, Notes, Sample, Slug, Source, Text, UtcTime
from vizhub_pipeline.core.judgements.kind import JudgementKind, column
from vizhub_pipeline.core.judgements.reader import read_judgement_file
from vizhub_pipeline.core.judgements.scores import KIND as SCORES
from vizhub_pipeline.grading.diff import diff_judgements
from vizhub_pipeline.grading.errors import GradeError
from vizhub_pipeline.grading.loading import load_judgements
from vizhub_pipeline.grading.submit import submit_judgements
from vizhub_pipeline.grading.validate import validate_judgement_files

pytestmark = pytest.mark.usefixtures("isolated_git")


# --------------------------------------------------------------------------- a second kind, as a test declares it


@dataclass(frozen=True)
class PairVote:
    """A grader's preference between two outputs of one challenge."""

    challenge: str = column(Text())
    model_a: str = column(Text())
    sample_a: int = column(Sample())
    artifact_hash_a: str = column(Text())
    model_b: str = column(Text())
    sample_b: int = column(Sample())
    artifact_hash_b: str = column(Text())
    winner: str = column(Choice("a", "b", "tie", "both_bad"))
    flagged: bool = column(Flag())
    notes: str = column(Notes())
    grader: str = column(Slug())
    decided_at: str = column(UtcTime())  # not voted_at: its header must differ from the real votes kind
    source: str = column(Source())
    blind: bool | None = column(Flag(optional=True), default=None)


class PairVoteKind(JudgementKind):
    name = "test_votes"
    record = PairVote
    folder = "results/test-votes"
    noun = ("vote", "votes")
    verb = "voted on"
    object_noun = ("pair", "pairs")
    time_column = "decided_at"
    subject_columns = ("challenge", "model_a", "sample_a", "model_b", "sample_b")
    shown_columns = ("winner",)

    def row_problem(self, record):
        if (record.model_a, record.sample_a) == (record.model_b, record.sample_b):
            return "a vote compares two different outputs; both sides are the same"
        return None

    def artifacts(self, record):
        return (
            ((record.challenge, record.model_a, record.sample_a), record.artifact_hash_a),
            ((record.challenge, record.model_b, record.sample_b), record.artifact_hash_b),
        )


def vote(winner="a", *, b="baseline/reference", at=AT, notes="", artifact_b=None, flagged=False) -> PairVote:
    return PairVote(
        "barsOne",
        "baseline/starter",
        0,
        OUTPUTS[("barsOne", "baseline/starter", 0)],
        b,
        0,
        artifact_b or OUTPUTS.get(("barsOne", b, 0), "0000000000000000"),
        winner,
        flagged,
        notes,
        "alice",
        at,
        "app",
        True,
    )


@pytest.fixture
def votes():
    with registry.register_temporarily(PairVoteKind()) as kind:
        yield kind


def test_the_scores_kind_is_registered_once():
    assert registry.list_kinds()[0] is SCORES and [kind.name for kind in registry.list_kinds()].count("scores") == 1
    assert registry.find_kind("scores") is SCORES and registry.find_kind_of_folder("results/grades") is SCORES
    with pytest.raises(ValueError, match="clashes with <judgement kind scores>"):
        registry.register(type(SCORES)())


def test_a_second_kind_is_submitted_committed_read_validated_and_diffed(tmp_path, votes):
    layout = make_project(tmp_path / "p")
    assert registry.find_kind_of_header(list(votes.header)) is votes
    first = submit_judgements(layout, [vote("a", notes="a is clearer,\nb has no axis")])
    path = "results/test-votes/alice-2026-11-28.csv"
    assert first.message == f"Saved 1 vote to {path} and committed {first.commit_id[:7]} on main"
    assert head_files(layout.root) == [path] and status(layout.root) == []
    assert git(layout.root, "log", "-1", "--format=%s").strip() == "vote: alice voted on 1 pair of barsOne"
    text = (layout.root / path).read_bytes().decode()
    assert text.splitlines() == [
        ",".join(votes.header),
        "barsOne,baseline/starter,0,1111aaaa1111aaaa,baseline/reference,0,2222bbbb2222bbbb,a,false,"
        '"a is clearer,\\nb has no axis",alice,2026-11-28T10:00:00Z,app,true',
    ]
    submit_judgements(layout, [vote("tie", at="2026-11-28T11:00:00Z")])
    assert [v.winner for v in load_judgements(layout, votes)] == ["a", "tie"]

    diff = diff_judgements(layout, "HEAD~2", "HEAD")
    assert diff.to_table() == (
        "Votes from HEAD~2 to HEAD:\n\nalice: 1 added, 0 changed, 0 removed\n"
        "  + barsOne  baseline/starter 0 baseline/reference 0  winner tie\n"
    )
    data = json.loads(CliRunner().invoke(cli, ["diff", "HEAD~1..HEAD", "--json", "--project", str(layout.root)]).output)
    assert data["graders"] == {} and data["test_votes"]["graders"]["alice"]["changed"][0]["new"]["winner"] == "tie"

    # stale on either side, a winner that is not one, another grader: validate says so, by line
    stale = vote("b", artifact_b="ffffffffffffffff", at="2026-11-28T12:00:00Z")
    rows = votes_text = (layout.root / path).read_text()
    rows += ",".join(str(v) for v in (stale.__dict__.values())).replace("True", "true").replace("False", "false") + "\n"
    rows += votes_text.splitlines()[1].replace(",a,", ",c,") + "\n"
    rows += votes_text.splitlines()[1].replace(",alice,", ",bob,") + "\n"
    rows += (
        votes_text.splitlines()[1].replace(
            "baseline/reference,0,2222bbbb2222bbbb", "baseline/starter,0,1111aaaa1111aaaa"
        )
        + "\n"
    )
    (layout.root / path).write_text(rows)
    problems = [str(p) for p in validate_judgement_files(layout).problems]
    where = layout.root / path
    assert problems == [
        f"{where}:4: stale: artifact hash ffffffffffffffff but barsOne/baseline/reference is now 2222bbbb2222bbbb; "
        "vote the current output again",
        f"{where}:5: winner must be one of a, b, tie, both_bad, found 'c'",
        f"{where}:6: grader 'bob' does not match the file name's grader 'alice'",
        f"{where}:7: a vote compares two different outputs; both sides are the same",
    ]
    with pytest.raises(GradeError, match="both sides are the same"):
        submit_judgements(layout, [vote(b="baseline/starter")])


def test_a_kind_checks_each_side_before_writing(tmp_path, votes):
    layout = make_project(tmp_path / "p")
    with pytest.raises(GradeError) as info:
        submit_judgements(layout, [vote(b="openai/gpt-5")])
    assert str(info.value).startswith(
        "nothing written: vote 1 (barsOne/baseline/starter): unknown model 'openai/gpt-5' (sample 0)"
    )
    with pytest.raises(GradeError, match="one kind of judgement per submission, got scores, test_votes"):
        submit_judgements(layout, [vote(), make_grade()])


# --------------------------------------------------------------------------- notes


@pytest.mark.parametrize(
    "note, stored",
    [
        ("plain", "plain"),
        ("=1+1", "'=1+1"),
        ("'=1+1", "''=1+1"),  # was ambiguous: read back as =1+1
        ("'", "''"),
        ("'quoted'", "''quoted'"),
        ("two\nlines", "two\\nlines"),
        ("\r\n", "\\r\\n"),
        ("a\\nb", "a\\\\nb"),
        ("-\n", "'-\\n"),
        ("\\", "\\\\"),
        ("\tTAB", "'\tTAB"),
    ],
)
def test_notes_are_one_line_and_read_back_exactly(note, stored):
    assert notes.encode_note(note) == stored
    assert notes.decode_note(stored) == note


@pytest.mark.hostile(area="grade files", guards="loss", outcome="held")
def test_random_notes_read_back_exactly_through_a_file(tmp_path):
    rnd = random.Random(3)
    alphabet = ["a", " ", ",", '"', "'", "=", "+", "-", "@", "\t", "\n", "\r", "\\", "n", "r", "é", "\u2028"]
    written = [make_grade(notes="".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))) for _ in range(400)]
    path = tmp_path / "alice-2026-11-28.csv"
    from vizhub_pipeline.core.records import format_grade_rows

    data = format_grade_rows(written, header=True).encode("utf-8")
    path.write_bytes(data)
    assert data.count(b"\n") == len(written) + 1 and b"\n" not in data.replace(b"\r\n", b"")
    file = read_judgement_file(SCORES, path)
    assert file.problems == [] and file.unsafe == [] and not file.multiline.any()
    assert [grade.notes for grade in file.records()] == [grade.notes for grade in written]


def test_older_files_keep_their_reading_of_notes():
    assert notes.decode_legacy_note("'=1+1") == "=1+1"
    assert notes.decode_legacy_note("'quoted") == "'quoted"
    assert notes.decode_legacy_note("a\\nb") == "a\\nb"


def test_project_records_for_other_stages(tmp_path, votes):
    """What the grader and the pruning of outputs read: the rows that count, or every readable row."""
    from vizhub_pipeline.core.judgements.collect import list_judged_outputs, read_project_records

    layout = make_project(tmp_path / "p")
    submit_judgements(layout, [make_grade()])
    submit_judgements(layout, [vote(b="baseline/reference")])
    other = layout.grades / "alice-2026-11-27.csv"  # a row on the wrong day: readable, does not count
    other.write_text(
        ",".join(SCORES.header) + "\nbarsTwo,openai/gpt-4o,0,4444dddd4444dddd,1,1,,alice,2026-11-28T09:00:00Z,cli,\n"
    )
    assert read_project_records(layout.root, SCORES) == [make_grade()]
    assert len(read_project_records(layout.root, SCORES, acceptable_only=False)) == 2
    assert list_judged_outputs(layout.root) == {
        ("barsOne", "baseline/starter", 0),
        ("barsOne", "baseline/reference", 0),
        ("barsTwo", "openai/gpt-4o", 0),
    }
