"""Which readable rows may count: the checks ``vizhub validate`` and ``vizhub aggregate`` share.

A row can be read and still not be acceptable: its file is badly named or starts with two
byte order marks, its grader is not the file's, its time is not on the file's day or lies in
the future (it would replace every later judgement of the grader), its notes would run as a
formula in a spreadsheet, it spans several lines in a current-format file (a union merge in
git would cut it apart), or its kind's own row rule refuses it. ``vizhub validate`` prints
each of these; ``vizhub aggregate`` leaves such rows out and lists them with the reason in
``excluded.csv``. Both call :func:`check_content`, so they always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vizhub_pipeline.core.judgements.columns import canonical_utc
from vizhub_pipeline.core.judgements.kind import FILE_NAME_RULE, JudgementKind
from vizhub_pipeline.core.judgements.reader import JudgementFile, factorize_values
from vizhub_pipeline.core.layout import is_safe_slug

FUTURE_TOLERANCE = timedelta(minutes=10)  # clocks of graders' machines may run a little ahead

# reason codes, in the order a row's first reason is taken
BAD_FILE_NAME = "bad_file_name"
DOUBLE_BOM = "double_bom"
UNSAFE_NOTES = "unsafe_notes"
UNSAFE_GRADER = "unsafe_grader"
GRADER_MISMATCH = "grader_mismatch"
WRONG_DAY = "wrong_day"
FUTURE = "future"
MULTILINE = "multiline"
INVALID_ROW = "invalid_row"
REASONS = (
    BAD_FILE_NAME,
    DOUBLE_BOM,
    UNSAFE_NOTES,
    UNSAFE_GRADER,
    GRADER_MISMATCH,
    WRONG_DAY,
    FUTURE,
    MULTILINE,
    INVALID_ROW,
)


@dataclass(frozen=True)
class ContentProblem:
    """A reason a row (``row``), or every row of the file (``row`` None), may not count."""

    row: int | None
    line: int
    reason: str
    message: str


def check_content(file: JudgementFile, now: datetime | None = None) -> list[ContentProblem]:
    """Every content problem of a file that was read, file-wide ones first, then by row."""
    import numpy as np

    kind = file.kind
    now = now or datetime.now(UTC)
    out: list[ContentProblem] = []
    named = kind.parse_file_name(Path(file.path).name)
    if named is None:
        message = f"file name must be {FILE_NAME_RULE} (grader: letters, digits, '-', '_')"
        out.append(ContentProblem(None, 0, BAD_FILE_NAME, message))
    if file.boms > 1:
        message = f"the file starts with {file.boms} byte order marks (U+FEFF); keep at most one"
        out.append(ContentProblem(None, 1, DOUBLE_BOM, message))
    if not len(file):
        return out
    by_row: dict[int, list[tuple[str, str]]] = {}

    def flag(rows, reason: str, message_of) -> None:
        for row in rows:
            by_row.setdefault(int(row), []).append((reason, message_of(int(row))))

    for row, message in file.unsafe:
        by_row.setdefault(row, []).append((UNSAFE_NOTES, message))
    graders = file.columns[kind.grader_column]
    times = file.columns[kind.time_column]
    codes, uniques = factorize_values(graders)
    unsafe = np.asarray([not is_safe_slug(name) for name in uniques], dtype=bool)
    if unsafe.any():
        flag(
            np.flatnonzero(unsafe[codes]),
            UNSAFE_GRADER,
            lambda row: f"grader {graders[row]!r} is not a safe name (letters, digits, '-', '_')",
        )
    time_codes, distinct = factorize_values(times)
    distinct_times = np.asarray(distinct, dtype="U20")  # canonical times: text order is time order
    if named is not None:
        owner, day = named
        flag(
            np.flatnonzero(graders != owner),
            GRADER_MISMATCH,
            lambda row: f"grader {graders[row]!r} does not match the file name's grader {owner!r}",
        )
        on_day = day.isoformat()
        wrong = (distinct_times < f"{on_day}T00:00:00Z") | (distinct_times > f"{on_day}T23:59:59Z")
        flag(
            np.flatnonzero(wrong[time_codes]),
            WRONG_DAY,
            lambda row: f"{kind.time_column} {times[row]} is not on the file name's date {on_day}",
        )
    latest = canonical_utc(now + FUTURE_TOLERANCE)
    ahead = distinct_times > latest
    flag(
        np.flatnonzero(ahead[time_codes]),
        FUTURE,
        lambda row: (
            f"{kind.time_column} {times[row]} is in the future (now {canonical_utc(now)}); "
            f"a later time would replace every {kind.noun[0]} the grader makes before it"
        ),
    )
    if not file.legacy:
        lines = file.lines
        flag(
            np.flatnonzero(file.multiline),
            MULTILINE,
            lambda row: (
                f"the row goes on after line {lines[row]}: each {kind.noun[0]} must be one line "
                "(write a line break in the notes as \\n), or a union merge in git cuts it apart"
            ),
        )
    if type(kind).row_problem is not JudgementKind.row_problem:
        for row, record in enumerate(file.records()):
            problem = kind.row_problem(record)
            if problem:
                by_row.setdefault(row, []).append((INVALID_ROW, problem))
    for row in sorted(by_row):
        line = int(file.lines[row])
        out.extend(ContentProblem(row, line, reason, message) for reason, message in by_row[row])
    return out


def assign_row_reasons(file: JudgementFile, problems: list[ContentProblem]):
    """Per row, the first reason it may not count (``""``: it counts), as a numpy array."""
    import numpy as np

    reasons = np.full(len(file), "", dtype=object)
    order = {reason: index for index, reason in enumerate(REASONS)}
    for problem in sorted(problems, key=lambda p: order.get(p.reason, len(order)), reverse=True):
        if problem.row is None:
            reasons[:] = problem.reason
        else:
            reasons[problem.row] = problem.reason
    return reasons
