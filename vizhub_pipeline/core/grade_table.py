"""Every grade file of ``results/grades/`` as one columnar table, fast enough for a million rows.

The rules are those of :func:`vizhub_pipeline.core.records.parse_grade_file`; this module only
reads faster. A file without a double quote is parsed with pandas' C reader (on such text
it splits fields exactly as Python's csv module does); a file with quotes goes through the
csv module in strict mode. Either way the columns are then checked value by distinct value.
Whenever the fast path meets anything it is not sure about, the file is read again with
``parse_grade_file`` itself, so what is accepted and the error text (file, line, reason)
are always the records module's.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.errors import GradeFileError
from vizhub_pipeline.core.records import GRADE_COLUMNS, SCORE_RANGE, canonical_utc, grade_files, parse_grade_file

TABLE_COLUMNS = ("challenge", "model", "sample", "artifact_hash", "functionality", "aesthetics", "grader", "graded_at")
_REQUIRED_TEXT = ("challenge", "model", "artifact_hash", "grader", "graded_at")
VALIDATE_HINT = "run `vizhub validate` for the full list of problems"


@dataclass
class GradeTable:
    """Grade rows in reading order (files sorted by name, rows in file order).

    ``columns`` maps each name of :data:`TABLE_COLUMNS`, plus ``file`` (an index into
    ``files``), to a numpy array; text is stripped as ``parse_grade_file`` strips it.
    """

    columns: dict[str, Any]
    files: list[str]

    def __len__(self) -> int:
        return len(self.columns["challenge"])


def read_grade_table(folder: Path) -> GradeTable:
    """Read every ``*.csv`` of ``folder``; raises :class:`GradeFileError` at the first bad file."""
    import numpy as np

    files = grade_files(folder) if Path(folder).is_dir() else []
    parts = []
    for index, path in enumerate(files):
        columns = read_grade_columns(path)
        columns["file"] = np.full(len(columns["challenge"]), index, dtype=np.int32)
        parts.append(columns)
    if not parts:
        columns = _empty_columns()
        columns["file"] = np.zeros(0, dtype=np.int32)
    else:
        columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return GradeTable(columns, [str(path) for path in files])


def read_grade_columns(path: Path) -> dict[str, Any]:
    """The grades of one file as columns; raises :class:`GradeFileError` naming the line."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        text = None
    columns = _fast_columns(text) if text is not None else None
    if columns is not None:
        return columns
    grades, problems = parse_grade_file(path)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem(s) in this file)" if len(problems) > 1 else ""
        raise GradeFileError(first.path, f"{first.message}{more}; {VALIDATE_HINT}", line=first.line)
    return _columns_from_grades(grades)


_KINDS = {"sample": "int64", "functionality": "int8", "aesthetics": "int8"}


def _empty_columns() -> dict[str, Any]:
    import numpy as np

    return {name: np.zeros(0, dtype=_KINDS.get(name, object)) for name in TABLE_COLUMNS}


def _columns_from_grades(grades) -> dict[str, Any]:
    import numpy as np

    if not grades:
        return _empty_columns()
    return {
        name: np.asarray([getattr(grade, name) for grade in grades], dtype=_KINDS.get(name, object))
        for name in TABLE_COLUMNS
    }


def _fast_columns(text: str):
    """The validated columns of a file's text, or ``None`` to hand the file to the exact reader."""
    if "\x00" in text:
        return None
    columns = _read_columns(text)
    if columns is None:
        return None
    return _validate_columns(columns)


def _read_columns(text: str) -> dict[str, Any] | None:
    import pandas as pd

    if '"' not in text:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                frame = pd.read_csv(
                    io.StringIO(text),
                    dtype=object,
                    keep_default_na=False,
                    index_col=False,
                    engine="c",
                    skip_blank_lines=True,
                )
        except Exception:  # any parser complaint: let the exact reader name it
            return None
        header = [str(name).strip() for name in frame.columns]
        if sorted(header) != sorted(GRADE_COLUMNS):
            return None
        # A short row is padded with "" by pandas; the last column must then be one that
        # cannot be empty, so the padding is caught as an empty value below.
        if header[-1] not in _REQUIRED_TEXT + ("functionality", "aesthetics"):
            return None
        return {name: frame[original].to_numpy(dtype=object) for name, original in zip(header, frame.columns)}
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        return None
    if not rows:
        return None
    header = [name.strip() for name in rows[0]]
    if sorted(header) != sorted(GRADE_COLUMNS):
        return None
    body = [row for row in rows[1:] if row and any(cell.strip() for cell in row)]
    if any(len(row) != len(header) for row in body):
        return None
    import numpy as np

    if not body:
        return {name: np.array([], dtype=object) for name in header}
    return {name: np.array(values, dtype=object) for name, values in zip(header, zip(*body))}


def _validate_columns(columns: dict[str, Any]):
    """Check and convert the columns value by distinct value; ``None`` at the first doubt."""
    import numpy as np
    import pandas as pd

    if not len(columns["challenge"]):
        return _empty_columns()
    out: dict[str, Any] = {}
    for name in _REQUIRED_TEXT:
        codes, uniques = pd.factorize(columns[name])
        stripped = [value.strip() for value in uniques]
        if not all(stripped):
            return None
        if name == "graded_at":
            stripped = canonical_times(stripped)
            if stripped is None:
                return None
        out[name] = np.asarray(stripped, dtype=object)[codes]
    for name in ("functionality", "aesthetics"):
        codes, uniques = pd.factorize(columns[name])
        scores = [_score(value) for value in uniques]
        if any(score is None for score in scores):
            return None
        out[name] = np.asarray(scores, dtype=np.int8)[codes]
    codes, uniques = pd.factorize(columns["sample"])
    samples = [_sample(value) for value in uniques]
    if any(sample is None for sample in samples):
        return None
    out["sample"] = np.asarray(samples, dtype=np.int64)[codes]
    return {name: out[name] for name in TABLE_COLUMNS}


def _score(value: str) -> int | None:
    raw = value.strip()
    if len(raw) == 1 and raw in "012345":
        return int(raw)
    if raw.isascii() and raw.isdigit() and int(raw) in SCORE_RANGE:
        return int(raw)
    return None


def _sample(value: str) -> int | None:
    raw = value.strip() or "0"
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _utc_moment(value: str) -> datetime | None:
    """``value`` as a time if ``parse_grade_file`` accepts it as ``graded_at`` (ISO 8601, UTC)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None and parsed.utcoffset().total_seconds() == 0 else None


def canonical_times(values: list[str]) -> list[str] | None:
    """``values`` as ``graded_at`` reads (``records.canonical_utc``), or None if one is not an
    accepted time. The usual form is checked with numpy all at once; any other form one by one."""
    import numpy as np

    out = list(values)
    for index in np.flatnonzero(~_canonical_and_valid(values)):
        moment = _utc_moment(values[index])
        if moment is None:
            return None
        out[index] = canonical_utc(moment)
    return out


def _canonical_and_valid(values: list[str]):
    """For each text, whether it is a valid time written ``YYYY-MM-DDTHH:MM:SSZ``."""
    import numpy as np

    if not values:
        return np.zeros(0, dtype=bool)
    chars = np.asarray(values, dtype="U21").view(np.uint32).reshape(len(values), 21)
    digits = chars - ord("0")
    digit_at = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
    canonical = (chars[:, 20] == 0) & (digits[:, digit_at] <= 9).all(axis=1)
    for position, char in ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "Z")):
        canonical &= chars[:, position] == ord(char)
    d = np.where(canonical[:, None], digits[:, :19], 0).astype(np.int64)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 5] * 10 + d[:, 6]
    day = d[:, 8] * 10 + d[:, 9]
    hour, minute, second = d[:, 11] * 10 + d[:, 12], d[:, 14] * 10 + d[:, 15], d[:, 17] * 10 + d[:, 18]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    lengths = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)] + (
        leap & (month == 2)
    )
    valid = canonical & (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= lengths)
    return valid & (hour <= 23) & (minute <= 59) & (second <= 59)
