"""The kinds of judgement there are, in one place.

Each module named in :data:`KIND_MODULES` defines ``KIND``, an instance of a
:class:`~vizhub_pipeline.core.judgements.kind.JudgementKind`. Adding a kind is a new module
and one line here; reading, validating, diffing and committing then handle it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Any

from vizhub_pipeline.core.judgements.kind import JudgementKind

KIND_MODULES = ("vizhub_pipeline.core.judgements.scores", "vizhub_pipeline.core.judgements.votes")

_kinds: dict[str, JudgementKind] = {}


def _load() -> None:
    if not _kinds:
        for module in KIND_MODULES:
            register(importlib.import_module(module).KIND)


def register(kind: JudgementKind) -> JudgementKind:
    """Add a kind (its name and folder must be new)."""
    for other in _kinds.values():
        if other.name == kind.name or other.folder == kind.folder or other.record is kind.record:
            raise ValueError(f"{kind!r} clashes with {other!r}: a kind needs its own name, folder and record")
    _kinds[kind.name] = kind
    return kind


def unregister(kind: JudgementKind) -> None:
    if _kinds.get(kind.name) is kind:
        del _kinds[kind.name]


@contextmanager
def register_temporarily(kind: JudgementKind) -> Iterator[JudgementKind]:
    """``kind`` registered for the block only."""
    _load()
    register(kind)
    try:
        yield kind
    finally:
        unregister(kind)


def list_kinds() -> list[JudgementKind]:
    """Every kind, in registration order."""
    _load()
    return list(_kinds.values())


def find_kind(name: str) -> JudgementKind:
    _load()
    try:
        return _kinds[name]
    except KeyError:
        raise ValueError(f"no judgement kind {name!r} (known: {', '.join(_kinds)})") from None


def find_kind_of_record(record: Any) -> JudgementKind:
    for kind in list_kinds():
        if isinstance(record, kind.record):
            return kind
    raise ValueError(f"{type(record).__name__} is not the record of a judgement kind")


def find_kind_of_folder(folder: str) -> JudgementKind | None:
    """The kind whose files live in ``folder`` (relative to the project, slash-separated)."""
    wanted = PurePosixPath(folder)
    return next((kind for kind in list_kinds() if PurePosixPath(kind.folder) == wanted), None)


def find_kind_of_header(header: list[str]) -> JudgementKind | None:
    """The kind whose current or older header has exactly these column names."""
    return next((kind for kind in list_kinds() if kind.header_matches(header)), None)
