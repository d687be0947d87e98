"""Where a kind's files are: the files to read, and the files that look misplaced.

A kind's files sit directly in its folder, named ``<grader>-<YYYY-MM-DD>.csv``. Anything
else there (``alice-2026-11-28.CSV``, ``notes.txt``, a file in a subfolder) is not read, and
is reported rather than silently ignored. Hidden files and folders (``.gitkeep``, interrupted
writes) are left alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from vizhub_pipeline.core.judgements.kind import FILE_NAME_RULE, JudgementKind


@dataclass(frozen=True)
class MisplacedFile:
    """A file in a kind's folder that is not read, and why."""

    path: Path
    message: str


def resolve_kind_folder(root: Path, kind: JudgementKind) -> Path:
    return Path(root) / kind.folder


def make_judgement_path(root: Path, kind: JudgementKind, grader: str, day: date | None = None) -> Path:
    """``<folder>/<grader>-<YYYY-MM-DD>.csv`` for ``day`` (default: today, UTC)."""
    return resolve_kind_folder(root, kind) / kind.file_name(grader, day or datetime.now(UTC).date())


def is_judgement_file_name(name: str) -> bool:
    """Read as a judgement file: a visible file whose name ends in ``.csv``."""
    return name.endswith(".csv") and not name.startswith(".")


def find_judgement_files(folder: Path, kind: JudgementKind) -> tuple[list[Path], list[MisplacedFile]]:
    """The files to read (sorted by name) and the misplaced ones (sorted by path)."""
    folder = Path(folder)
    if not folder.is_dir():
        return [], []
    files: list[Path] = []
    misplaced: list[MisplacedFile] = []
    for current, dirs, names in os.walk(folder):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        here = Path(current)
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = here / name
            if here != folder:
                misplaced.append(MisplacedFile(path, describe_subfolder(kind)))
            elif not is_judgement_file_name(name):
                misplaced.append(MisplacedFile(path, describe_wrong_extension(kind)))
            else:
                files.append(path)
    return sorted(files), sorted(misplaced, key=lambda entry: entry.path)


def describe_subfolder(kind: JudgementKind) -> str:
    return (
        f"not read: {kind.noun[0]} files must be directly in {kind.folder}/, not in a subfolder "
        f"(move it up, named {FILE_NAME_RULE})"
    )


def describe_wrong_extension(kind: JudgementKind) -> str:
    return f"not read: only {FILE_NAME_RULE} files (lower-case .csv) are {kind.noun[0]} files; rename it or move it out"
