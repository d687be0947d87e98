"""``vizhub validate``: every problem of a grading pull request, as file:line: message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from tests.grade_repo import isolated_git, make_grade, make_project  # noqa: F401
from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.judgements.scores import GRADE_COLUMNS, LEGACY_GRADE_COLUMNS
from vizhub_pipeline.grading.submit import submit_judgements as submit_grades
from vizhub_pipeline.grading.validate import validate_judgement_files

pytestmark = pytest.mark.usefixtures("isolated_git")
HEADER = ",".join(GRADE_COLUMNS)
OLDER = ",".join(LEGACY_GRADE_COLUMNS)
ROW = "barsOne,baseline/starter,0,1111aaaa1111aaaa,3,4,fine,alice,2026-11-28T10:00:00Z,app,true"
OLD_ROW = "barsOne,baseline/starter,0,1111aaaa1111aaaa,3,4,fine,alice,2026-11-28T10:00:00Z"
EXPECTED = HEADER + " (older files: without source,blind)"
PREFIX = "prefix the note with ' (vizhub writes it so)"


@pytest.fixture
def layout(tmp_path):
    return make_project(tmp_path / "p")


def _validate(layout, *args):
    return CliRunner().invoke(cli, ["validate", "--project", str(layout.root), *map(str, args)], catch_exceptions=False)


def _file(layout, name, text, *, bom=False, crlf=False):
    path = layout.grades / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if crlf:
        text = text.replace("\n", "\r\n")
    path.write_bytes((("\ufeff" if bom else "") + text).encode("utf-8"))
    return path


def test_clean_files_exit_0(layout):
    submit_grades(layout, [make_grade(notes="=not a formula, once written\nand a second line")])
    _file(layout, "bob-2026-11-28.csv", HEADER + "\n" + ROW.replace("alice", "bob") + "\n", bom=True, crlf=True)
    result = _validate(layout)
    assert result.exit_code == 0, result.output
    assert result.output == "OK: 2 grade file(s), no problems.\n"


@pytest.mark.hostile(area="grade files", guards="escape", outcome="clear_error")
def test_every_problem_is_listed_with_its_line(layout):
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [
        HEADER,
        ROW,  # 2: fine
        ROW.replace(",3,4,", ",7,4,"),  # 3: out of range
        ROW.replace(",3,4,", ",2.5,4,"),  # 4: not an integer
        ROW.replace("barsOne", "nope"),  # 5: unknown challenge
        ROW.replace("baseline/starter", "gpt-9"),  # 6: unknown model
        ROW.replace("1111aaaa1111aaaa", "ffffffffffffffff"),  # 7: stale
        ROW,  # 8: the same row again (a merge of two branches with it): fine
        ROW.replace("fine", '=HYPERLINK("http://x")').replace("T10:", "T11:"),  # 9: raw formula
        ROW.replace(",alice,", ",bob,").replace("T10:", "T12:"),  # 10: another grader
        ROW.replace("2026-11-28T10", "2026-11-29T10"),  # 11: another day
        ROW + ",extra",  # 12: extra field
        '"multi\nline",x',  # 13-14: short row spanning two lines
        ROW.replace("fine", "@cmd").replace("T10:", "T13:"),  # 15: raw formula
        ROW.replace("2026-11-28T10:00:00Z", future),  # 16: in the future (and another day)
        ROW.replace(",app,", ",robot,"),  # 17: unknown source
        ROW.replace(",true", ",yes"),  # 18: blind neither true nor false
        ROW.replace("fine", '"two\nlines"').replace("T10:", "T14:"),  # 19-20: a row on two lines
        ROW.replace("fine", "a\\qb"),  # 21: an unknown escape
    ]
    path = _file(layout, "alice-2026-11-28.csv", "\n".join(rows) + "\n")
    result = _validate(layout, path)
    assert result.exit_code == 1, result.output
    p = str(path)
    assert result.output.splitlines()[:-1] == [
        f"{p}:3: functionality must be an integer from 0 to 5, found '7'",
        f"{p}:4: functionality must be an integer from 0 to 5, found '2.5'",
        f"{p}:5: unknown challenge 'nope' (no outputs in visualizations/nope/)",
        f"{p}:6: unknown model 'gpt-9' (sample 0) for challenge 'barsOne'",
        f"{p}:7: stale: artifact hash ffffffffffffffff but barsOne/baseline/starter is now 1111aaaa1111aaaa; "
        "grade the current output again",
        f"{p}:9: notes start with '=', which a spreadsheet runs as a formula; {PREFIX}",
        f"{p}:10: grader 'bob' does not match the file name's grader 'alice'",
        f"{p}:11: graded_at 2026-11-29T10:00:00Z is not on the file name's date 2026-11-28",
        f"{p}:12: expected 11 fields, found 12",
        f"{p}:13: expected 11 fields, found 2",
        f"{p}:15: notes start with '@', which a spreadsheet runs as a formula; {PREFIX}",
        f"{p}:16: graded_at {future} is not on the file name's date 2026-11-28",
        f"{p}:16: graded_at {future} is in the future (now {result.output.split('(now ')[1][:20]}); "
        "a later time would replace every grade the grader makes before it",
        f"{p}:17: source must be app, cli, imported, unknown or judge:<model>, found 'robot'",
        f"{p}:18: blind must be true, false or empty (not known), found 'yes'",
        f"{p}:19: the row goes on after line 19: each grade must be one line (write a line break in the notes "
        "as \\n), or a union merge in git cuts it apart",
        f"{p}:21: notes: unknown escape '\\\\q' (write a backslash as \\\\, a line break as \\n, "
        "a carriage return as \\r)",
    ]
    assert result.output.splitlines()[-1] == "17 problem(s) in 1 of 1 grade file(s)."


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "challenge,model,sample\n",
            "1: missing column(s) artifact_hash, functionality, aesthetics, notes, grader, graded_at (expected "
            + EXPECTED
            + ")",
        ),
        (HEADER + ",score\n", "1: unknown column(s) score (expected " + EXPECTED + ")"),
        (OLDER + ",source\n", "1: missing column(s) blind (expected " + EXPECTED + ")"),
        ("", "1: empty file: expected the header " + HEADER),
        (HEADER + '\n"unclosed,quote\n', "2: malformed CSV: unexpected end of data"),
    ],
)
def test_schema_problems(layout, text, message):
    path = _file(layout, "alice-2026-11-28.csv", text)
    result = _validate(layout, path)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == f"{path}:{message}"


def test_file_names_and_unreadable_files(layout, tmp_path):
    bad = _file(layout, "alice.csv", HEADER + "\n")
    missing = tmp_path / "gone-2026-11-28.csv"
    result = _validate(layout, bad, missing)
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [
        f"{bad}:0: file name must be <grader>-<YYYY-MM-DD>.csv (grader: letters, digits, '-', '_')",
        f"{missing}:0: cannot read: No such file or directory",
    ]


@pytest.mark.hostile(area="grade files", guards="escape", outcome="clear_error")
def test_files_that_are_not_read_are_problems_not_ignored(layout, monkeypatch):
    monkeypatch.chdir(layout.root)
    _file(layout, "alice-2026-11-28.csv", HEADER + "\n" + ROW + "\n")
    _file(layout, "bob-2026-11-28.CSV", HEADER + "\n")
    _file(layout, "notes.txt", "to do\n")
    _file(layout, "old/carol-2026-11-28.csv", HEADER + "\n")
    _file(layout, ".hidden/x.csv", "ignored\n")
    _file(layout, ".gitkeep", "")
    result = _validate(layout)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "results/grades/bob-2026-11-28.CSV:0: not read: only <grader>-<YYYY-MM-DD>.csv files (lower-case .csv) "
        "are grade files; rename it or move it out",
        "results/grades/notes.txt:0: not read: only <grader>-<YYYY-MM-DD>.csv files (lower-case .csv) "
        "are grade files; rename it or move it out",
        "results/grades/old/carol-2026-11-28.csv:0: not read: grade files must be directly in results/grades/, "
        "not in a subfolder (move it up, named <grader>-<YYYY-MM-DD>.csv)",
        "3 problem(s) in 3 of 4 grade file(s).",
    ]


@pytest.mark.hostile(area="grade files", guards="escape", outcome="clear_error")
def test_a_double_byte_order_mark_is_a_problem(layout):
    path = _file(layout, "alice-2026-11-28.csv", "\ufeff" + HEADER + "\n" + ROW + "\n", bom=True)
    result = _validate(layout, path)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"{path}:1: the file starts with 2 byte order marks (U+FEFF); keep at most one"
    )


def test_two_identical_submissions_in_the_same_second_are_valid(layout):
    grade = make_grade(notes="same")
    submit_grades(layout, [grade])
    submit_grades(layout, [grade])
    result = _validate(layout)
    assert result.exit_code == 0, result.output


def test_older_files_are_valid_with_a_note(layout):
    path = _file(layout, "alice-2026-11-28.csv", OLDER + "\n" + OLD_ROW.replace("fine", '"two\nlines"') + "\n")
    result = _validate(layout, path)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"note: {path}: older format without the source, blind columns: its grades read as source unknown "
        "(counted as human) and blind not known; the next grade added to it rewrites it in the current format",
        "OK: 1 grade file(s), no problems.",
    ]


def test_allow_stale(layout):
    _file(layout, "alice-2026-11-28.csv", HEADER + "\n" + ROW.replace("1111aaaa1111aaaa", "ffffffffffffffff") + "\n")
    assert _validate(layout).exit_code == 1
    result = _validate(layout, "--allow-stale")
    assert result.exit_code == 0, result.output
    assert len(validate_judgement_files(layout).problems) == 1
    assert validate_judgement_files(layout, allow_stale=True).problems == []
