"""Grade files read for what the report shows about them: who graded, when, how, and their notes.

The aggregate stage validates grades and computes the statistics; the report only shows
where they came from, read through the one judgement reader: newer files carry ``source``
(``app``, ``cli``, ``imported``, ``judge:<model>``) and ``blind``; older files lack them, and
they read as ``unknown``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from vizhub_pipeline.report.tables import relative_name

UNKNOWN = "unknown"


@dataclass(frozen=True)
class GradeRow:
    file: str
    line: int
    challenge: str
    model: str
    sample: int
    artifact_hash: str
    functionality: int | None
    aesthetics: int | None
    notes: str
    grader: str
    graded_at: str  # as canonical UTC text when it parses, else as written
    source: str
    blind: str  # "true", "false" or "unknown"

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.challenge, self.model, self.sample)

    @property
    def human(self) -> bool:
        return not self.source.startswith("judge:")


@dataclass(frozen=True)
class GradeFile:
    name: str
    rows: int
    has_source: bool
    has_blind: bool


@dataclass
class Grades:
    rows: list[GradeRow] = field(default_factory=list)
    files: list[GradeFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "file:line: reason", shown on the data page


@dataclass(frozen=True)
class GraderInfo:
    grader: str
    grades: int
    items: int
    first: str
    last: str
    sources: tuple[tuple[str, int], ...]
    blind: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Note:
    grader: str
    text: str
    graded_at: str
    artifact_hash: str
    source: str


def read_grades(folder: Path, root: Path) -> Grades:
    """Every readable row of the grade files (sorted by file name), through the project's one
    judgement reader; what it cannot read is listed as a problem, with its file and line."""
    from vizhub_pipeline.core.judgements.files import find_judgement_files
    from vizhub_pipeline.core.judgements.reader import read_judgement_file
    from vizhub_pipeline.core.judgements.scores import KIND

    grades = Grades()
    files, misplaced = find_judgement_files(folder, KIND)
    for entry in misplaced:
        grades.problems.append(f"{relative_name(entry.path, root)}: {entry.message}")
    for path in files:
        name = relative_name(path, root)
        read = read_judgement_file(KIND, path)
        grades.problems.extend(f"{name}:{problem.line}: {problem.message}" for problem in read.problems)
        lines = [] if read.lines is None else read.lines.tolist()
        for line, grade in zip(lines, read.records(), strict=True):
            blind = UNKNOWN if grade.blind is None else str(grade.blind).lower()
            grades.rows.append(
                GradeRow(
                    file=name,
                    line=int(line),
                    challenge=grade.challenge,
                    model=grade.model,
                    sample=grade.sample,
                    artifact_hash=grade.artifact_hash,
                    functionality=grade.functionality,
                    aesthetics=grade.aesthetics,
                    notes=grade.notes,
                    grader=grade.grader,
                    graded_at=grade.graded_at,
                    source=grade.source,
                    blind=blind,
                )
            )
        grades.files.append(GradeFile(name, len(read), not read.legacy, not read.legacy))
    return grades


def summarize_graders(rows: list[GradeRow]) -> list[GraderInfo]:
    """Per grader (sorted by name): rows, distinct items, first and last time, sources, blind."""
    by_grader: dict[str, list[GradeRow]] = defaultdict(list)
    for row in rows:
        by_grader[row.grader].append(row)
    out = []
    for grader in sorted(by_grader):
        mine = by_grader[grader]
        times = sorted(row.graded_at for row in mine)
        out.append(
            GraderInfo(
                grader=grader,
                grades=len(mine),
                items=len({row.key for row in mine}),
                first=times[0],
                last=times[-1],
                sources=tuple(sorted(Counter(row.source for row in mine).items())),
                blind=tuple(sorted(Counter(row.blind for row in mine).items())),
            )
        )
    return out


def count_by(rows: list[GradeRow], attribute: str) -> list[tuple[str, int]]:
    return sorted(Counter(str(getattr(row, attribute)) for row in rows).items())


def latest_notes(rows: list[GradeRow]) -> dict[tuple[str, str, int], list[Note]]:
    """Per item, each grader's note from their latest grade of it (when that note is not empty)."""
    latest: dict[tuple[str, tuple[str, str, int]], GradeRow] = {}
    for row in rows:
        slot = (row.grader, row.key)
        current = latest.get(slot)
        if current is None or row.graded_at >= current.graded_at:
            latest[slot] = row
    notes: dict[tuple[str, str, int], list[Note]] = defaultdict(list)
    for (grader, key), row in sorted(latest.items()):
        if row.notes.strip():
            notes[key].append(Note(grader, row.notes, row.graded_at, row.artifact_hash, row.source))
    return dict(notes)
