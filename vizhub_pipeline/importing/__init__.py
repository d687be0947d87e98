"""Importers: bring another benchmark's challenges, outputs and grades into this project.

Each source layout is one module that registers itself with :func:`importer`; ``vizhub import
NAME PATH`` runs it. An importer writes the project's own files (``challenges/``,
``visualizations/`` with an ``origin`` in meta.json, ``results/grades/`` with
``source=imported``), never overwrites what is there, and says what it imported, what it
skipped and why. Running it twice changes nothing the second time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vizhub_pipeline.core.errors import VizhubError
from vizhub_pipeline.core.layout import Layout

# name -> module that registers it (imported when asked for, so `vizhub --help` stays fast)
KNOWN_IMPORTERS = {"vizhub-benchmarks": "vizhub_pipeline.importing.vizhub_benchmarks"}
_registered: dict[str, Importer] = {}

KINDS = ("challenges", "outputs", "grades")


@dataclass
class ImportSummary:
    """What one import did, per kind of thing: imported, already there, skipped (with why)."""

    source: str
    imported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    skipped: list[tuple[str, str, str, int]] = field(default_factory=list)  # (kind, what, why, how many)
    problems: list[str] = field(default_factory=list)  # file:line: message; that file imported nothing
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def skip(self, kind: str, what: str, why: str, count: int = 1) -> None:
        self.skipped.append((kind, what, why, count))

    def skipped_count(self, kind: str) -> int:
        return sum(entry[3] for entry in self.skipped if entry[0] == kind)

    def lines(self) -> list[str]:
        out = [f"import {self.source}:"]
        for kind in KINDS:
            out.append(
                f"  {kind}: {self.imported[kind]} imported, {self.unchanged[kind]} already here, "
                f"{self.skipped_count(kind)} skipped"
            )
        reasons: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for kind, what, why, count in self.skipped:
            reasons.setdefault((kind, why), []).append((what, count))
        for (kind, why), whats in reasons.items():
            count = sum(n for _, n in whats)
            names = [what for what, _ in whats]
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            out.append(f"  skipped {count} {kind[:-1] if count == 1 else kind} ({why}): {shown}")
        out += [f"  note: {note}" for note in self.notes]
        out += [f"  problem: {problem}" for problem in self.problems]
        return out


@dataclass(frozen=True)
class Importer:
    name: str
    description: str
    run: Callable[[Path, Layout], ImportSummary]


def importer(name: str, description: str) -> Callable[[Callable[[Path, Layout], ImportSummary]], Callable]:
    """Register ``func(source_path, layout) -> ImportSummary`` as the importer ``name``."""

    def register(func: Callable[[Path, Layout], ImportSummary]) -> Callable[[Path, Layout], ImportSummary]:
        _registered[name] = Importer(name, description, func)
        return func

    return register


def get_importer(name: str) -> Importer:
    if name not in _registered and name in KNOWN_IMPORTERS:
        importlib.import_module(KNOWN_IMPORTERS[name])
    if name not in _registered:
        raise VizhubError(f"unknown importer {name!r}: known importers are {', '.join(sorted(KNOWN_IMPORTERS))}")
    return _registered[name]


def run_import(name: str, source: Path, layout: Layout) -> ImportSummary:
    """Run the importer ``name`` on the folder ``source`` into the project ``layout``."""
    chosen = get_importer(name)
    source = Path(source)
    if not source.is_dir():
        raise VizhubError(f"{source}: no such folder (give the path of a {name} checkout)")
    return chosen.run(source, layout)
