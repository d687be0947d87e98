"""Which grade rows the aggregate stage counts, and how the others are listed in ``excluded.csv``.

A row counts only if ``vizhub validate`` would accept its content (the ``reason`` the
judgement table gives it is empty) and its source is selected: by default the human sources
(``app``, ``cli``, ``imported`` and ``unknown``), so that a judge model's grade never enters
the human consensus, the human reliability or the preference export built on them. Rows
left out for their content, and files that are not read at all, are listed in
``excluded.csv`` with their file and line; rows of sources not selected are only counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.judgements.columns import HUMAN_SOURCES, JUDGE_PREFIX

HUMAN = "human"
NOT_READ = "not_read"
EXCLUDED_FIELDS = ("challenge", "model", "sample", "artifact_hash", "grader", "graded_at")


@dataclass
class Selection:
    """The rows that count (``usable``), and what was left out."""

    usable: Any  # numpy bool per table row
    excluded: list[tuple[tuple, list[str]]] = field(default_factory=list)  # (sort key, excluded.csv row)
    by_reason: dict[str, int] = field(default_factory=dict)  # content reason -> rows
    other_sources: dict[str, int] = field(default_factory=dict)  # source not selected -> rows
    not_read: list[tuple[str, str]] = field(default_factory=list)  # (file, why)


def make_source_filter(sources: Iterable[str] | None = None):
    """A test of a source text: ``None`` or ``human`` selects the human sources, ``judge`` every
    ``judge:<model>``, anything else that exact source."""
    wanted = set(sources or (HUMAN,))

    def selected(source: str) -> bool:
        return (
            source in wanted
            or (HUMAN in wanted and source in HUMAN_SOURCES)
            or ("judge" in wanted and source.startswith(JUDGE_PREFIX))
        )

    return selected


def select_rows(table, sources: Iterable[str] | None = None, *, shown=str) -> Selection:
    """Apply the content reasons and the source filter to a judgement table; ``shown`` turns a
    file path into the text listed in ``excluded.csv``."""
    import numpy as np
    import pandas as pd

    columns = table.columns
    reasons = columns["reason"]
    content_ok = reasons == ""
    codes, uniques = pd.factorize(columns["source"])
    test = make_source_filter(sources)
    picked = np.asarray([test(str(source)) for source in uniques], dtype=bool)
    source_ok = picked[codes] if len(uniques) else np.zeros(0, dtype=bool)
    selection = Selection(usable=content_ok & source_ok)
    for index in np.flatnonzero(~content_ok).tolist():
        reason = str(reasons[index])
        selection.by_reason[reason] = selection.by_reason.get(reason, 0) + 1
        selection.excluded.append(make_excluded_row(table, index, reason, shown))
    for index in np.flatnonzero(content_ok & ~source_ok).tolist():
        source = str(columns["source"][index])
        selection.other_sources[source] = selection.other_sources.get(source, 0) + 1
    for entry in table.misplaced:
        where = shown(entry.path)
        selection.not_read.append((where, entry.message))
        selection.excluded.append(((NOT_READ, where, 0), [NOT_READ, "", "", "", "", "", "", where]))
    return selection


def make_excluded_row(table, index: int, reason: str, shown=str) -> tuple[tuple, list[str]]:
    """A row of ``excluded.csv`` (and the key it sorts by): reason, the grade's fields, ``file:line``."""
    columns = table.columns
    where = shown(Path(table.files[int(columns["file"][index])]))
    line = int(columns["line"][index])
    row = [reason] + [str(columns[name][index]) for name in EXCLUDED_FIELDS] + [f"{where}:{line}"]
    return (reason, where, line), row


def sort_excluded(entries: list[tuple[tuple, list[str]]]) -> list[list[str]]:
    return [row for _key, row in sorted(entries, key=lambda entry: entry[0])]
