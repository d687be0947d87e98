"""Imported grades into the project's grade files: ``results/grades/<grader>-<YYYY-MM-DD>.csv``.

Each grade lands in the file of its grader and (UTC) day, as ``source=imported`` and not
blind, keeping the grader and the time it was given. A row that is already there is not
written again, so importing twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vizhub_pipeline.core.atomic import write_bytes_atomic
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.records import Grade, format_grade_rows, parse_grade_file


def append_imported_grades(layout: Layout, grades: Sequence[Grade]) -> tuple[int, int]:
    """Write ``grades`` into their graders' day files; ``(added, already there)``."""
    by_file: dict[Path, list[Grade]] = {}
    for grade in grades:
        path = layout.grades / f"{grade.grader}-{grade.graded_at[:10]}.csv"
        by_file.setdefault(path, []).append(grade)
    added = present = 0
    for path, rows in sorted(by_file.items()):
        existing = set(parse_grade_file(path)[0]) if path.is_file() else set()
        new = [grade for grade in dict.fromkeys(rows) if grade not in existing]
        present += len(rows) - len(new)
        if not new:
            continue
        before = path.read_bytes() if path.is_file() else b""
        text = format_grade_rows(new, header=not before)
        if before and not before.endswith(b"\n"):
            before += b"\r\n"
        write_bytes_atomic(path, before + text.encode("utf-8"))
        added += len(new)
    return added, present
