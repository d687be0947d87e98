"""``vizhub validate``: every problem of judgement files, as ``file:line: message``.

A file is checked by the kind whose folder holds it (or whose header it has): its rows are
read by the one reader, each readable row gets the content checks the aggregate stage also
applies, and each judged output must exist with the artifact hash the grader saw (else the
judgement is stale). Files that are not read at all (wrong extension, in a subfolder) are
problems too. Older-format files are fine; they get a note saying how they read.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from vizhub_pipeline.core.judgements.content import check_content
from vizhub_pipeline.core.judgements.files import (
    describe_subfolder,
    describe_wrong_extension,
    find_judgement_files,
    is_judgement_file_name,
    resolve_kind_folder,
)
from vizhub_pipeline.core.judgements.kind import ItemKey, JudgementKind
from vizhub_pipeline.core.judgements.reader import BOM, JudgementFile, JudgementProblem, read_judgement_file
from vizhub_pipeline.core.judgements.registry import find_kind_of_header, list_kinds
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.records import iter_generations


@dataclass
class ValidationReport:
    """The files checked, every problem found (sorted by file, then line) and notes to show."""

    files: list[Path]
    problems: list[JudgementProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def list_judgement_files(layout: Layout) -> list[Path]:
    """Every file in the folders of every kind, misplaced ones included (what validate checks by default)."""
    out: list[Path] = []
    for kind in list_kinds():
        files, misplaced = find_judgement_files(resolve_kind_folder(layout.root, kind), kind)
        out.extend(files)
        out.extend(entry.path for entry in misplaced)
    return out


def known_outputs(layout: Layout) -> dict[ItemKey, str | None]:
    """``{(challenge, model, sample): artifact hash}`` of every output in ``visualizations/``."""
    return {
        (generation.challenge, generation.model, generation.sample): generation.artifact_hash
        for _, generation in iter_generations(layout.visualizations, skip_unreadable=True)
    }


def validate_judgement_files(
    layout: Layout, files: list[Path] | None = None, *, allow_stale: bool = False, now: datetime | None = None
) -> ValidationReport:
    """Every problem of the files (default: :func:`list_judgement_files`)."""
    files = list_judgement_files(layout) if files is None else [Path(path) for path in files]
    report = ValidationReport(files)
    outputs = known_outputs(layout)
    challenges = {key[0] for key in outputs}
    for path in files:
        kind, unread = _classify(layout, path)
        if unread:
            report.problems.append(JudgementProblem(str(path), 0, unread))
            continue
        file = read_judgement_file(kind, path)
        found = list(file.problems)
        found.extend(JudgementProblem(str(path), p.line, p.message) for p in check_content(file, now))
        found.extend(_output_problems(file, outputs, challenges, allow_stale))
        report.problems.extend(sorted(found, key=lambda problem: problem.line))
        if file.legacy:
            added = ", ".join(kind.added_columns)
            report.notes.append(
                f"{path}: older format without the {added} columns: its {kind.noun[1]} read as source unknown "
                f"(counted as human) and blind not known; the next {kind.noun[0]} added to it rewrites it "
                "in the current format"
            )
    return report


def _output_problems(file: JudgementFile, outputs, challenges, allow_stale: bool) -> list[JudgementProblem]:
    kind = file.kind
    out: list[JudgementProblem] = []
    if not len(file):
        return out
    for record, line in zip(file.records(), file.lines.tolist(), strict=True):
        for key, artifact in kind.artifacts(record):
            challenge, model, sample = key
            if challenge not in challenges:
                message = f"unknown challenge {challenge!r} (no outputs in visualizations/{challenge}/)"
            elif key not in outputs:
                message = f"unknown model {model!r} (sample {sample}) for challenge {challenge!r}"
            elif outputs[key] != artifact and not allow_stale:
                message = (
                    f"stale: artifact hash {artifact} but {challenge}/{model} is now {outputs[key]}; "
                    f"{kind.noun[0]} the current output again"
                )
            else:
                continue
            out.append(JudgementProblem(file.path, line, message))
    return out


def _classify(layout: Layout, path: Path) -> tuple[JudgementKind, str | None]:
    """The kind to read ``path`` as, and why it is not read at all (``None``: it is read)."""
    every = list_kinds()
    resolved = path.resolve()
    for kind in every:
        folder = resolve_kind_folder(layout.root, kind).resolve()
        if resolved.parent == folder:
            return kind, None if is_judgement_file_name(path.name) else describe_wrong_extension(kind)
        if folder in resolved.parents:
            return kind, describe_subfolder(kind)
    if not path.name.endswith(".csv"):
        return every[0], describe_wrong_extension(every[0])
    return _kind_of_first_line(path) or every[0], None


def _kind_of_first_line(path: Path) -> JudgementKind | None:
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            first = handle.readline()
    except OSError:
        return None
    row = next(csv.reader([first.lstrip(BOM)]), [])
    return find_kind_of_header([name.strip() for name in row])
