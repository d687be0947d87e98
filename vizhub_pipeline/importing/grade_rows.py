"""Imported grades into the project's grade files: ``results/grades/<grader>-<YYYY-MM-DD>.csv``.

Each grade lands in the file of its grader and (UTC) day, as ``source=imported`` and not
blind, keeping the grader and the time it was given. A row that is already there is not
written again, so importing twice changes nothing. Files go through the one judgement
reader and writer, like every other grade file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vizhub_pipeline.core.atomic import write_bytes_atomic
from vizhub_pipeline.core.judgements.reader import read_judgement_file
from vizhub_pipeline.core.judgements.scores import KIND, Grade
from vizhub_pipeline.core.judgements.writer import append_rows
from vizhub_pipeline.core.layout import Layout


def append_imported_grades(layout: Layout, grades: Sequence[Grade]) -> tuple[int, int]:
    """Write ``grades`` into their graders' day files; ``(added, already there)``."""
    by_file: dict[Path, list[Grade]] = {}
    for grade in grades:
        path = layout.grades / f"{grade.grader}-{grade.graded_at[:10]}.csv"
        by_file.setdefault(path, []).append(grade)
    added = present = 0
    for path, rows in sorted(by_file.items()):
        existing = path.read_bytes() if path.is_file() else None
        here = set(read_judgement_file(KIND, path, existing).records()) if existing else set()
        new = [grade for grade in dict.fromkeys(rows) if grade not in here]
        present += len(rows) - len(new)
        if new:
            write_bytes_atomic(path, append_rows(KIND, existing, new, path))
            added += len(new)
    return added, present
