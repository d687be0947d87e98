"""Every file of a kind's folder as one columnar table: what the aggregate stage reads.

Each file goes through the one reader (:mod:`~vizhub_pipeline.core.judgements.reader`); a
file with a row that cannot be read stops everything with its file and line, because its
meaning is unknown. Rows that can be read but may not count get their reason from
:mod:`~vizhub_pipeline.core.judgements.content` in the ``reason`` column, exactly as
``vizhub validate`` reports them; files that are not read are listed in ``misplaced``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.errors import GradeFileError
from vizhub_pipeline.core.judgements.content import assign_row_reasons, check_content
from vizhub_pipeline.core.judgements.files import MisplacedFile, find_judgement_files, resolve_kind_folder
from vizhub_pipeline.core.judgements.kind import JudgementKind
from vizhub_pipeline.core.judgements.reader import JudgementFile, read_judgement_file

VALIDATE_HINT = "run `vizhub validate` for the full list of problems"


@dataclass
class JudgementTable:
    """Rows in reading order (files sorted by name, rows in file order).

    ``columns`` maps each column of the kind to a numpy array, plus ``file`` (an index into
    ``files``), ``line`` (the row's first line) and ``reason`` (``""`` when the row may count,
    else the content reason it may not)."""

    kind: JudgementKind
    columns: dict[str, Any]
    files: list[str]
    misplaced: list[MisplacedFile] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.columns["line"])


def read_judgement_table(root: Path, kind: JudgementKind, *, now: datetime | None = None) -> JudgementTable:
    """Read every file of ``kind`` under the project ``root``; raises :class:`GradeFileError`
    at the first file with a row that cannot be read."""
    import numpy as np

    files, misplaced = find_judgement_files(resolve_kind_folder(root, kind), kind)
    parts = []
    for index, path in enumerate(files):
        file = read_judgement_file(kind, path)
        raise_first_problem(file)
        columns = dict(file.columns)
        columns["file"] = np.full(len(file), index, dtype=np.int32)
        columns["line"] = file.lines
        columns["reason"] = assign_row_reasons(file, check_content(file, now))
        parts.append(columns)
    if parts:
        merged = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    else:
        merged = {col.name: np.zeros(0, dtype=col.codec.dtype) for col in kind.columns}
        merged.update(
            file=np.zeros(0, dtype=np.int32), line=np.zeros(0, dtype=np.int64), reason=np.zeros(0, dtype=object)
        )
    return JudgementTable(kind, merged, [str(path) for path in files], misplaced)


def raise_first_problem(file: JudgementFile) -> None:
    """Raise :class:`GradeFileError` naming the file's first problem (and how many more) if it has one."""
    if not file.problems:
        return
    first = file.problems[0]
    count = len(file.problems)
    more = f" (and {count - 1} more problem(s) in this file)" if count > 1 else ""
    raise GradeFileError(first.path, f"{first.message}{more}; {VALIDATE_HINT}", line=first.line)
