"""What a kind of judgement declares, once: its record, columns, folder, file names and items.

A kind's record is a frozen dataclass whose fields are its columns, in file order, each made
with :func:`column` (the codec that reads and writes it). Readers, writers, the header and
the older header a kind still reads all derive from that one declaration. The kind also says
where its files live (``results/<folder>/<grader>-<YYYY-MM-DD>.csv``), which outputs a
judgement is about (its subject, the key under which a grader's later judgement replaces an
earlier one) and which artifact hashes make it stale once the outputs change.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from vizhub_pipeline.core.judgements.columns import Codec, UtcTime
from vizhub_pipeline.core.layout import is_safe_slug

ItemKey = tuple[str, str, int]  # (challenge, model, sample): one generated output
FILE_NAME_RE = re.compile(r"^(?P<grader>.+)-(?P<day>\d{4}-\d{2}-\d{2})\.csv$")
FILE_NAME_RULE = "<grader>-<YYYY-MM-DD>.csv"
_NOT_IN_LEGACY = object()


def column(codec: Codec, *, legacy: Codec | None = None, added: bool = False, **options: Any) -> Any:
    """A record field that is a file column read and written by ``codec``.

    ``legacy``: how the column reads in files of the older format (default: as ``codec``);
    ``added``: the column is new, absent from the older format, where the field's default
    stands in for it."""
    metadata = {"codec": codec, "legacy": _NOT_IN_LEGACY if added else (legacy or codec)}
    return dataclasses.field(metadata=metadata, **options)


@dataclass(frozen=True)
class Column:
    name: str
    codec: Codec
    legacy: Codec | None  # None: not in files of the older format
    default: Any  # the value there when absent


class JudgementKind:
    """One kind of judgement. Subclasses set the class attributes and may refine the methods."""

    name: ClassVar[str]  # "scores"
    record: ClassVar[type]  # the frozen dataclass of one row
    folder: ClassVar[str]  # where its files are, relative to the project: "results/grades"
    noun: ClassVar[tuple[str, str]]  # ("grade", "grades")
    verb: ClassVar[str]  # what a grader did, for commit subjects: "graded"
    object_noun: ClassVar[tuple[str, str]]  # what they did it to: ("output", "outputs")
    time_column: ClassVar[str]  # "graded_at"
    subject_columns: ClassVar[tuple[str, ...]]  # what is judged: ("challenge", "model", "sample")
    shown_columns: ClassVar[tuple[str, ...]]  # the judgement itself, as diffs show it
    has_legacy: ClassVar[bool] = False  # files of an older format (without the added columns) are read
    grader_column: ClassVar[str] = "grader"
    file_name_re: ClassVar[re.Pattern] = FILE_NAME_RE

    def __init__(self) -> None:
        self.columns: tuple[Column, ...] = tuple(
            Column(
                field.name,
                field.metadata["codec"],
                None if field.metadata["legacy"] is _NOT_IN_LEGACY else field.metadata["legacy"],
                None if field.default is dataclasses.MISSING else field.default,
            )
            for field in dataclasses.fields(self.record)
        )
        self.by_name = {col.name: col for col in self.columns}
        self.header: tuple[str, ...] = tuple(col.name for col in self.columns)
        self.legacy_header: tuple[str, ...] | None = (
            tuple(col.name for col in self.columns if col.legacy is not None) if self.has_legacy else None
        )
        self.added_columns = tuple(col.name for col in self.columns if col.legacy is None)
        self.time_codec = self.by_name[self.time_column].codec
        assert isinstance(self.time_codec, UtcTime), f"{self.name}: the time column must be a UtcTime"

    def __repr__(self) -> str:
        return f"<judgement kind {self.name}>"

    # -- what is judged
    def subject(self, record: Any) -> tuple:
        """The key of what is judged: a grader's later judgement of it replaces the earlier one."""
        return tuple(getattr(record, name) for name in self.subject_columns)

    def artifacts(self, record: Any) -> tuple[tuple[ItemKey, str], ...]:
        """Each output judged, with the artifact hash the grader saw (another hash: stale)."""
        raise NotImplementedError

    def content(self, record: Any) -> tuple:
        """What a judgement says (not who or when): two with the same content do not differ."""
        skip = {self.grader_column, self.time_column, "source", "blind", *self.subject_columns}
        return tuple(getattr(record, col.name) for col in self.columns if col.name not in skip)

    def label(self, subject: tuple) -> tuple[str, str]:
        """``(challenge, what)`` of a subject, for tables."""
        return str(subject[0]), " ".join(str(part) for part in subject[1:])

    def subject_json(self, subject: tuple) -> dict[str, Any]:
        return dict(zip(self.subject_columns, subject, strict=True))

    def content_json(self, record: Any) -> dict[str, Any]:
        return {
            col.name: getattr(record, col.name)
            for col in self.columns
            if col.name not in (self.grader_column, *self.subject_columns)
        }

    # -- records
    def row_problem(self, record: Any) -> str | None:
        """What is wrong with a row whose cells are each fine (e.g. the two sides of a vote are one
        output), or ``None``. Checked by validate, by aggregate (the row is left out) and before
        writing; a kind without such rules keeps this default."""
        return None

    def check_record(self, record: Any) -> list[str]:
        """What is wrong with a record about to be written (each column's codec asked, then the row)."""
        problems = []
        for col in self.columns:
            problem = col.codec.check(col.name, getattr(record, col.name))
            if problem:
                problems.append(problem)
        if not problems:
            problem = self.row_problem(record)
            if problem:
                problems.append(problem)
        return problems

    def grader_of(self, record: Any) -> str:
        return getattr(record, self.grader_column)

    def time_of(self, record: Any) -> str:
        return getattr(record, self.time_column)

    def describe(self, record: Any) -> str:
        """``functionality 5, aesthetics 4``."""
        return ", ".join(f"{name} {getattr(record, name)}" for name in self.shown_columns)

    def describe_change(self, old: Any, new: Any) -> str:
        """``functionality 2 -> 4, aesthetics 4 -> 4, notes changed``."""
        text = ", ".join(f"{name} {getattr(old, name)} -> {getattr(new, name)}" for name in self.shown_columns)
        shown = {*self.shown_columns, *self.subject_columns, self.grader_column, self.time_column, "source", "blind"}
        changed = [
            col.name
            for col in self.columns
            if col.name not in shown and getattr(old, col.name) != getattr(new, col.name)
        ]
        text += "".join(f", {name} changed" for name in changed if "artifact_hash" not in name)
        if any("artifact_hash" in name for name in changed):
            text += ", regraded a new output"
        return text

    def commit_message(self, grader: str, records: list[Any]) -> str:
        """``grade: alice graded 5 outputs of stockPriceChart`` plus Grader:, Challenges:, Count: trailers."""
        challenges = sorted({record.challenge for record in records})
        count = len(records)
        what = (
            challenges[0]
            if len(challenges) == 1
            else ", ".join(challenges)
            if len(challenges) <= 3
            else f"{len(challenges)} challenges"
        )
        things = self.object_noun[0] if count == 1 else self.object_noun[1]
        return (
            f"{self.noun[0]}: {grader} {self.verb} {count} {things} of {what}\n\n"
            f"Grader: {grader}\nChallenges: {', '.join(challenges)}\nCount: {count}\n"
        )

    # -- files
    def file_name(self, grader: str, day: date) -> str:
        return f"{grader}-{day.isoformat()}.csv"

    def parse_file_name(self, name: str) -> tuple[str, date] | None:
        """``(grader, day)`` from a file's name, or ``None`` when it does not follow the pattern."""
        match = self.file_name_re.match(name)
        if not match or not is_safe_slug(match["grader"]):
            return None
        try:
            return match["grader"], date.fromisoformat(match["day"])
        except ValueError:
            return None

    def header_matches(self, header: Iterable[str]) -> bool:
        names = sorted(header)
        return names == sorted(self.header) or (self.legacy_header is not None and names == sorted(self.legacy_header))


def pick_latest(
    kind: JudgementKind, records: Iterable[Any], *, subject: Callable[[Any], tuple] | None = None
) -> dict[tuple[str, tuple], Any]:
    """Each grader's latest judgement of each subject: ``{(grader, subject): record}`` (the later
    time wins; at the same time, the later record read). ``subject`` replaces the kind's own (a
    vote's pair whichever side each output was on, say)."""
    subject_of = kind.subject if subject is None else subject
    latest: dict[tuple[str, tuple], Any] = {}
    for record in records:
        slot = (kind.grader_of(record), subject_of(record))
        current = latest.get(slot)
        if current is None or kind.time_of(record) >= kind.time_of(current):
            latest[slot] = record
    return latest
