"""``vizhub validate``: every problem of a grading pull request, as file:line: message."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.grade_repo import isolated_git, make_grade, make_project  # noqa: F401
from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.records import GRADE_COLUMNS
from vizhub_pipeline.grading.grades import submit_grades, validate_grade_files

pytestmark = pytest.mark.usefixtures("isolated_git")
HEADER = ",".join(GRADE_COLUMNS)
ROW = "barsOne,baseline/starter,0,1111aaaa1111aaaa,3,4,fine,alice,2026-11-28T10:00:00Z"


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
    submit_grades(layout, [make_grade(notes="=not a formula, once written")])
    _file(layout, "bob-2026-11-28.csv", HEADER + "\n" + ROW.replace("alice", "bob") + "\n", bom=True, crlf=True)
    result = _validate(layout)
    assert result.exit_code == 0, result.output
    assert result.output == "OK: 2 grade file(s), no problems.\n"


def test_every_problem_is_listed_with_its_line(layout):
    rows = [
        HEADER,
        ROW,  # 2: fine
        ROW.replace(",3,4,", ",7,4,"),  # 3: out of range
        ROW.replace(",3,4,", ",2.5,4,"),  # 4: not an integer
        ROW.replace("barsOne", "nope"),  # 5: unknown challenge
        ROW.replace("baseline/starter", "gpt-9"),  # 6: unknown model
        ROW.replace("1111aaaa1111aaaa", "ffffffffffffffff"),  # 7: stale
        ROW,  # 8: duplicate of 2
        ROW.replace("fine", '=HYPERLINK("http://x")').replace("T10:", "T11:"),  # 9: raw formula
        ROW.replace(",alice,", ",bob,").replace("T10:", "T12:"),  # 10: another grader
        ROW.replace("2026-11-28T10", "2026-11-29T10"),  # 11: another day
        ROW + ",extra",  # 12: extra field
        '"multi\nline",x',  # 13-14: short row spanning two lines
        ROW.replace("fine", "@cmd").replace("T10:", "T13:"),  # 15: raw formula
    ]
    path = _file(layout, "alice-2026-11-28.csv", "\n".join(rows) + "\n")
    result = _validate(layout, path)
    assert result.exit_code == 1, result.output
    p = str(path)
    assert result.output.splitlines() == [
        f"{p}:3: functionality must be an integer from 0 to 5, found '7'",
        f"{p}:4: functionality must be an integer from 0 to 5, found '2.5'",
        f"{p}:5: unknown challenge 'nope' (no outputs in visualizations/nope/)",
        f"{p}:6: unknown model 'gpt-9' (sample 0) for challenge 'barsOne'",
        f"{p}:7: stale: artifact hash ffffffffffffffff but barsOne/baseline/starter is now 1111aaaa1111aaaa; grade the current output again",
        f"{p}:8: duplicate of line 2: the same grade of barsOne/baseline/starter sample 0 at 2026-11-28T10:00:00Z",
        f"{p}:9: notes start with '=', which a spreadsheet runs as a formula; prefix the note with ' (vizhub writes it so)",
        f"{p}:10: grader 'bob' does not match the file name's grader 'alice'",
        f"{p}:11: graded_at 2026-11-29T10:00:00Z is not on the file name's date 2026-11-28",
        f"{p}:12: expected 9 fields, found 10",
        f"{p}:13: expected 9 fields, found 2",
        f"{p}:15: notes start with '@', which a spreadsheet runs as a formula; prefix the note with ' (vizhub writes it so)",
        "12 problem(s) in 1 of 1 grade file(s).",
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "challenge,model,sample\n",
            "1: missing column(s) artifact_hash, functionality, aesthetics, notes, grader, graded_at (expected "
            + HEADER
            + ")",
        ),
        (HEADER + ",score\n", "1: unknown column(s) score (expected " + HEADER + ")"),
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


def test_allow_stale(layout):
    _file(layout, "alice-2026-11-28.csv", HEADER + "\n" + ROW.replace("1111aaaa1111aaaa", "ffffffffffffffff") + "\n")
    assert _validate(layout).exit_code == 1
    result = _validate(layout, "--allow-stale")
    assert result.exit_code == 0, result.output
    assert len(validate_grade_files(layout)) == 1 and validate_grade_files(layout, allow_stale=True) == []
