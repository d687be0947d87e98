"""Every judgement of a project as records, for any stage that needs them (the grader, the
pruning of generated outputs, an importer): read by the one reader, and by default only the
rows that may count, exactly those ``vizhub aggregate`` counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vizhub_pipeline.core.judgements.content import assign_row_reasons, check_content
from vizhub_pipeline.core.judgements.files import find_judgement_files, resolve_kind_folder
from vizhub_pipeline.core.judgements.kind import ItemKey, JudgementKind
from vizhub_pipeline.core.judgements.reader import read_judgement_file
from vizhub_pipeline.core.judgements.registry import list_kinds


def read_acceptable_records(kind: JudgementKind, path: Path | str, data: bytes | str | None = None) -> list[Any]:
    """The records of one file that may count (read, and without a content problem)."""
    file = read_judgement_file(kind, path, data)
    reasons = assign_row_reasons(file, check_content(file))
    return [record for record, reason in zip(file.records(), reasons.tolist(), strict=True) if not reason]


def read_project_records(root: Path, kind: JudgementKind, *, acceptable_only: bool = True) -> list[Any]:
    """Every record of ``kind`` in the project at ``root``, in file order; with
    ``acceptable_only`` off, every row that can be read (content problems included)."""
    out: list[Any] = []
    files, _misplaced = find_judgement_files(resolve_kind_folder(root, kind), kind)
    for path in files:
        out.extend(
            read_acceptable_records(kind, path) if acceptable_only else read_judgement_file(kind, path).records()
        )
    return out


def list_judged_outputs(root: Path) -> set[ItemKey]:
    """Every output some readable judgement of any kind names (``(challenge, model, sample)``)."""
    keys: set[ItemKey] = set()
    for kind in list_kinds():
        for record in read_project_records(root, kind, acceptable_only=False):
            keys.update(key for key, _artifact in kind.artifacts(record))
    return keys
