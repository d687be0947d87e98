"""Absolute scores: a grader scores one output's functionality and aesthetics from 0 to 5.

Files: ``results/grades/<grader>-<YYYY-MM-DD>.csv`` with the columns of :class:`Grade` in
order. Files written before ``source`` and ``blind`` existed have the first nine columns
only; their grades read as source ``unknown`` (counted as human) and blind not known.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.judgements.columns import Flag as FlagCodec
from vizhub_pipeline.core.judgements.columns import (
    LegacyNotes,
    Notes,
    Sample,
    Score,
    Slug,
    Source,
    Text,
    UtcTime,
)
from vizhub_pipeline.core.judgements.kind import ItemKey, JudgementKind, column, pick_latest


@dataclass(frozen=True)
class Grade:
    """One row of ``results/grades/<grader>-<date>.csv``."""

    challenge: str = column(Text())
    model: str = column(Text())
    sample: int = column(Sample())
    artifact_hash: str = column(Text())
    functionality: int = column(Score(0, 5))
    aesthetics: int = column(Score(0, 5))
    notes: str = column(Notes(), legacy=LegacyNotes())
    grader: str = column(Slug())
    graded_at: str = column(UtcTime())  # UTC, ISO 8601, e.g. 2026-11-28T12:00:00Z
    source: str = column(Source(), added=True, default="unknown")  # app, cli, imported, unknown, judge:<model>
    blind: bool | None = column(FlagCodec(optional=True), added=True, default=None)  # None: not known

    @property
    def key(self) -> ItemKey:
        return (self.challenge, self.model, self.sample)

    @property
    def overall(self) -> float:
        return (self.functionality + self.aesthetics) / 2


class ScoresKind(JudgementKind):
    name = "scores"
    record = Grade
    folder = "results/grades"
    noun = ("grade", "grades")
    verb = "graded"
    object_noun = ("output", "outputs")
    time_column = "graded_at"
    subject_columns = ("challenge", "model", "sample")
    shown_columns = ("functionality", "aesthetics")
    has_legacy = True

    def subject(self, record: Any) -> ItemKey:
        return record.key

    def artifacts(self, record: Any) -> tuple[tuple[ItemKey, str], ...]:
        return ((record.key, record.artifact_hash),)

    def label(self, subject: tuple) -> tuple[str, str]:
        challenge, model, sample = subject
        return challenge, model if sample == 0 else f"{model} #{sample}"

    def content_json(self, record: Any) -> dict[str, Any]:
        return {
            "functionality": record.functionality,
            "aesthetics": record.aesthetics,
            "notes": record.notes,
            "artifact_hash": record.artifact_hash,
            "graded_at": record.graded_at,
            "source": record.source,
            "blind": record.blind,
        }


KIND = ScoresKind()
GRADE_COLUMNS = KIND.header
LEGACY_GRADE_COLUMNS = KIND.legacy_header


def format_grade_rows(grades: Iterable[Grade], *, header: bool, lineterminator: str = "\r\n") -> str:
    """CSV text of ``grades`` in the current format, one line each (see
    :func:`vizhub_pipeline.core.judgements.writer.format_rows`)."""
    from vizhub_pipeline.core.judgements.writer import format_rows

    return format_rows(KIND, grades, header=header, lineterminator=lineterminator)


def read_grade_file(path: Path | str) -> list[Grade]:
    """The grades of one file; raises :class:`~vizhub_pipeline.core.errors.GradeFileError` at its first problem."""
    from vizhub_pipeline.core.judgements.reader import read_judgement_file
    from vizhub_pipeline.core.judgements.table import raise_first_problem

    file = read_judgement_file(KIND, path)
    raise_first_problem(file)
    return file.records()


def latest_grades(grades: Iterable[Grade]) -> dict[tuple[str, ItemKey], Grade]:
    """A grader's latest grade of each output: ``{(grader, key): grade}``."""
    return pick_latest(KIND, grades)
