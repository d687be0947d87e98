"""The one reader of judgement files: CSV text to typed columns, with file:line problems.

A file is cut into cells by one of two tokenizers: pandas' C reader for text without a
double quote, a blank line or a lone carriage return (on such text it splits exactly as
Python's csv module does, and each row is the line after the previous one), or the csv
module in strict mode, which also says on which line each row starts and ends. Either way
the cells are then checked column by column, each distinct text once, by the column's codec
(:mod:`~vizhub_pipeline.core.judgements.columns`). Rows that cannot be read are reported with
their line and left out; so is a whole file whose header is wrong or whose CSV breaks.

Whether a readable row may count (its file's name, its grader, its day, a time in the
future) is the business of :mod:`~vizhub_pipeline.core.judgements.content`.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.judgements.kind import JudgementKind

BOM = "\ufeff"
FAST_FROM_CHARS = 200_000  # smaller files are read by the csv module alone
PANDAS_FROM_ROWS = 5_000  # smaller columns are factorized in Python unless pandas is loaded already


@dataclass(frozen=True)
class JudgementProblem:
    """Something wrong in a file, at a line (0: the file as a whole)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class JudgementFile:
    """One file as read: the rows that could be read as typed columns, and what could not.

    ``columns`` maps each column of the kind to a numpy array (text stripped, times in their
    canonical form, absent columns of an older-format file filled with their default);
    ``lines`` holds each row's first line, ``multiline`` whether the row spans more lines;
    ``unsafe`` lists ``(row, message)`` for stored text a codec flags (a note that a
    spreadsheet would run as a formula)."""

    path: str
    kind: JudgementKind
    legacy: bool = False
    boms: int = 0
    columns: dict[str, Any] = field(default_factory=dict)
    lines: Any = None
    multiline: Any = None
    unsafe: list[tuple[int, str]] = field(default_factory=list)
    problems: list[JudgementProblem] = field(default_factory=list)

    def __len__(self) -> int:
        return 0 if self.lines is None else len(self.lines)

    def records(self) -> list[Any]:
        """The rows as the kind's records, in file order."""
        if not len(self):
            return []
        names = [col.name for col in self.kind.columns]
        values = [self.columns[name].tolist() for name in names]
        make = self.kind.record
        return [make(**dict(zip(names, row, strict=True))) for row in zip(*values, strict=True)]


def read_judgement_file(kind: JudgementKind, path: Path | str, data: bytes | str | None = None) -> JudgementFile:
    """Read ``path`` (or ``data``, its content, e.g. from a git revision) as a file of ``kind``."""
    result = JudgementFile(str(path), kind)
    text = _decode(result, path, data)
    if text is None:
        return result
    stripped = text.lstrip(BOM)
    result.boms = len(text) - len(stripped)
    fast = _tokenize_fast(stripped)
    if fast is not None:
        _read_tokens(result, fast)
        if not result.problems:
            return result
        # a fast read that found a problem is done again by the exact reader, which also skips
        # blank rows and knows on which line each row starts
        result = JudgementFile(result.path, kind, boms=result.boms)
    tokens = _tokenize_exact(result, stripped)
    if tokens is not None:
        _read_tokens(result, tokens)
    return result


def _read_tokens(result: JudgementFile, tokens: Tokens) -> None:
    header, cells, lines, multiline = tokens
    format_columns = _check_header(result, header)
    if format_columns is not None:
        _read_columns(result, header, format_columns, cells, lines, multiline)


# --------------------------------------------------------------------------- text


def _decode(result: JudgementFile, path: Path | str, data: bytes | str | None) -> str | None:
    if isinstance(data, str):
        return data
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            result.problems.append(JudgementProblem(result.path, 0, f"cannot read: {exc.strerror or exc}"))
            return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        result.problems.append(JudgementProblem(result.path, 1, f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return None


Tokens = tuple[list[str], list[Any], Any, Any]  # header, a cell array per column, lines, multiline


def _tokenize_fast(text: str) -> Tokens | None:
    """Cells by pandas' C reader, or ``None`` whenever the exact reader should decide (and for a
    small file, which the csv module reads as fast without loading pandas). Rows are taken to
    be the lines after the header: a blank line would make a row with empty cells, which is a
    problem, and any problem sends the file to the exact reader."""
    if len(text) < FAST_FROM_CHARS or '"' in text or "\x00" in text or text.startswith(("\n", "\r")):
        return None
    import numpy as np
    import pandas as pd

    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            frame = pd.read_csv(
                io.StringIO(text),
                dtype=object,
                keep_default_na=False,
                na_filter=False,
                index_col=False,
                engine="c",
                skip_blank_lines=False,
            )
    except Exception:  # any parser complaint: let the exact reader name it
        return None
    end = text.find("\n")
    header = (text if end < 0 else text[:end]).rstrip("\r").split(",")
    if len(header) != len(frame.columns):
        return None
    # pandas pads a short row with empty cells: every row has all its commas only if the
    # commas of the file add up (a long row already made pandas complain).
    if text.count(",") != (len(header) - 1) * (len(frame) + 1):
        return None
    cells = [frame[name].to_numpy(dtype=object) for name in frame.columns]
    lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    return header, cells, lines, np.zeros(len(frame), dtype=bool)


def _tokenize_exact(result: JudgementFile, text: str) -> Tokens | None:
    """Cells by the csv module; rows with the wrong number of fields are reported and left out."""
    import numpy as np

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    expected = ",".join(result.kind.header)
    try:
        header = next(reader)
    except StopIteration:
        result.problems.append(JudgementProblem(result.path, 1, f"empty file: expected the header {expected}"))
        return None
    except csv.Error as exc:
        result.problems.append(JudgementProblem(result.path, 1, f"malformed CSV: {exc}"))
        return None
    rows: list[list[str]] = []
    starts: list[int] = []
    ends: list[int] = []
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.problems.append(JudgementProblem(result.path, line, f"malformed CSV: {exc}"))
            break
        start, line = line, reader.line_num + 1
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            result.problems.append(
                JudgementProblem(result.path, start, f"expected {len(header)} fields, found {len(row)}")
            )
            continue
        rows.append(row)
        starts.append(start)
        ends.append(reader.line_num)
    columns = [np.array(values, dtype=object) for values in zip(*rows, strict=True)] if rows else []
    if not rows:
        columns = [np.zeros(0, dtype=object) for _ in header]
    lines = np.asarray(starts, dtype=np.int64)
    return header, columns, lines, np.asarray(ends, dtype=np.int64) > lines


# --------------------------------------------------------------------------- header and columns


def _check_header(result: JudgementFile, raw_header: list[str]):
    """The columns of the file's format (current or older), or ``None`` with the problem noted."""
    kind = result.kind
    header = [name.strip() for name in raw_header]
    older = kind.legacy_header is not None and not set(kind.added_columns) & set(header)
    wanted = kind.legacy_header if older and kind.legacy_header is not None else kind.header
    missing = [name for name in wanted if name not in header]
    extra = [name for name in header if name not in kind.header]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if missing or extra or duplicated:
        parts = []
        if missing:
            parts.append("missing column(s) " + ", ".join(missing))
        if extra:
            parts.append("unknown column(s) " + ", ".join(extra))
        if duplicated:
            parts.append("repeated column(s) " + ", ".join(duplicated))
        expected = "expected " + ",".join(kind.header)
        if kind.legacy_header is not None:
            expected += " (older files: without " + ",".join(kind.added_columns) + ")"
        result.problems.append(JudgementProblem(result.path, 1, "; ".join(parts) + f" ({expected})"))
        return None
    result.legacy = older
    return [(col, col.legacy if older else col.codec) for col in kind.columns]


def _read_columns(result: JudgementFile, header: list[str], format_columns, cells, lines, multiline) -> None:
    """Check every column, each distinct text once; keep the rows without a problem."""
    import numpy as np

    n_rows = len(lines)
    position = {name.strip(): index for index, name in enumerate(header)}
    parsed: dict[str, tuple[Any, list[Any]]] = {}  # name -> (codes, value of each distinct text)
    unsafe: list[tuple[Any, list[str | None]]] = []
    first_error = np.full(n_rows, -1, dtype=np.int64)  # per row: index into messages of its first problem
    rank = np.full(n_rows, np.iinfo(np.int64).max, dtype=np.int64)
    messages: list[str] = []
    for order, (col, codec) in enumerate(format_columns):
        if codec is None:
            continue
        codes, texts = factorize_values(cells[position[col.name]])
        value_of, problem_of = _parse_distinct(col.name, codec, texts)
        for index, (level, message) in problem_of.items():
            row_rank = level * len(format_columns) + order
            better = (codes == index) & (row_rank < rank)
            if better.any():
                rank[better] = row_rank
                first_error[better] = len(messages)
                messages.append(message)
        parsed[col.name] = (codes, value_of)
        if codec.flags_text:
            flagged = [codec.unsafe(col.name, text) for text in texts]
            if any(flagged):
                unsafe.append((codes, flagged))
    for row in np.flatnonzero(first_error >= 0).tolist():
        result.problems.append(JudgementProblem(result.path, int(lines[row]), messages[first_error[row]]))
    result.problems.sort(key=lambda problem: problem.line)
    keep = first_error < 0
    every = bool(keep.all())
    result.lines = lines if every else lines[keep]
    result.multiline = multiline if every else multiline[keep]
    kept = len(result.lines)
    for col, codec in format_columns:
        if codec is None:
            result.columns[col.name] = np.full(kept, col.default, dtype=object)
            continue
        codes, value_of = parsed[col.name]
        if not kept:
            result.columns[col.name] = np.zeros(0, dtype=codec.dtype)
            continue
        filler = 0 if codec.dtype != "object" else None
        if codec.dtype != "object" and None in value_of:
            value_of = [filler if value is None else value for value in value_of]
        table = np.empty(len(value_of), dtype=object) if codec.dtype == "object" else None
        if table is not None:
            table[:] = value_of  # element by element: a list of tuples or lists stays a list of objects
        else:
            table = np.asarray(value_of, dtype=codec.dtype)
        result.columns[col.name] = table[codes if every else codes[keep]]
    for codes, flagged in unsafe:
        kept_codes = codes if every else codes[keep]
        for index, flag in enumerate(flagged):
            if flag:
                result.unsafe.extend((int(row), flag) for row in np.flatnonzero(kept_codes == index))
    result.unsafe.sort()


def factorize_values(values) -> tuple[Any, list[Any]]:
    """``(codes, distinct values)`` of a numpy object array, distinct values in order of first
    appearance (as ``pandas.factorize``, which does it for long columns)."""
    import sys

    if len(values) >= PANDAS_FROM_ROWS or "pandas" in sys.modules:
        import pandas as pd

        codes, uniques = pd.factorize(values)
        return codes, uniques.tolist()
    return factorize_in_python(values)


def factorize_in_python(values) -> tuple[Any, list[Any]]:
    """:func:`factorize_values` with a dict, for short columns (no pandas to load)."""
    import numpy as np

    index: dict[Any, int] = {}
    codes = np.fromiter((index.setdefault(value, len(index)) for value in values.tolist()), np.int64, len(values))
    return codes, list(index)


def _parse_distinct(name: str, codec, texts: list[str]) -> tuple[list[Any], dict[int, tuple[int, str]]]:
    """The value of each distinct text, and ``{index: (level, message)}`` of those that are none
    (level 0: a required cell is empty, reported before any other problem of the row)."""
    values, errors = codec.parse_many(name, texts)
    problems = {index: (1, message) for index, message in errors.items()}
    if codec.required:
        empty = (0, f"{name} is empty")
        for index in errors:
            if not texts[index].strip():
                problems[index] = empty
        if "" in values:  # text codecs read a blank cell as ""
            for index, value in enumerate(values):
                if value == "":
                    problems[index] = empty
    return values, problems
