"""``params.yaml``, loaded once into typed objects and passed inward as plain arguments.

One section per stage (``generate``, ``screenshot``, ``aggregate``, ``export``) plus
``grade`` for the grading tools. A DVC stage depends on its own section's keys only.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from vizhub_pipeline.core.errors import InputError

DEFAULT_MODELS = ("baseline/starter", "baseline/reference")


@dataclass(frozen=True)
class GenerateParams:
    models: tuple[str, ...] = DEFAULT_MODELS
    samples: int = 1
    temperature: float = 0.0
    max_tokens: int = 8192
    seed: int | None = 42
    concurrency: int = 8  # in-flight requests per provider
    timeout: float = 120.0  # seconds per model call
    retries: int = 4  # extra attempts on rate limits, 5xx and timeouts
    backoff: float = 2.0  # first retry delay in seconds, doubled each time (jittered)


@dataclass(frozen=True)
class ScreenshotParams:
    width: int = 800  # default viewport when a challenge does not set one
    height: int = 600
    timeout: float = 15.0  # seconds per page, wall clock
    settle_ms: int = 5000  # virtual time run before the screenshot, for transitions
    step_ms: int = 1000  # virtual time run after each interaction step
    seed: int = 1  # Math.random seed
    concurrency: int = field(default=2, metadata={"at_least": 1})  # pages rendered at once (not in the render hash)


@dataclass(frozen=True)
class AggregateParams:
    min_graders: int = 2
    high_variance: float = 1.5  # standard deviation of overall score that flags an item
    confidence: float = 0.95
    bootstrap: int = 1000
    seed: int = 0


@dataclass(frozen=True)
class ExportParams:
    output: str = "exports/preferences.jsonl"
    min_votes: int = 1
    min_margin: float = 0.5
    format: str = "standard"
    pairs: str = "all"
    images: bool = False
    kto_desirable: float = 3.5  # overall mean at or above: label true in the KTO file
    kto_undesirable: float = 2.0  # overall mean at or below: label false (between: left out)
    sft_min_score: float = 3.5  # the best item of a challenge joins the SFT file only from this score
    version: str = "0.1.0"  # dataset version, written into every row and the card
    license: str = "mit"  # dataset licence id for the card's YAML header


@dataclass(frozen=True)
class GradeParams:
    commit: str = "submission"  # "submission": one commit per grade; "batch": one per session
    blind: bool = True


@dataclass(frozen=True)
class Params:
    generate: GenerateParams = field(default_factory=GenerateParams)
    screenshot: ScreenshotParams = field(default_factory=ScreenshotParams)
    aggregate: AggregateParams = field(default_factory=AggregateParams)
    export: ExportParams = field(default_factory=ExportParams)
    grade: GradeParams = field(default_factory=GradeParams)


def load_params(path: Path | str = "params.yaml") -> Params:
    """Read ``params.yaml``; a missing file gives the defaults, a bad key names itself."""
    path = Path(path)
    if not path.exists():
        return Params()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise InputError(
            path, f"not valid YAML: {getattr(exc, 'problem', exc)}", line=None if line is None else line + 1
        ) from None
    if not isinstance(data, dict):
        raise InputError(path, "expected a mapping of sections")
    sections = {}
    hints = typing.get_type_hints(Params)
    for name, value in data.items():
        if name not in hints:
            continue  # other tools may keep their own sections here
        if not isinstance(value, dict):
            raise InputError(path, "expected a mapping", field=name)
        sections[name] = _build(hints[name], value, path, name)
    return Params(**sections)


def _build(cls: type, data: dict[str, Any], path: Path, section: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in data.items():
        where = f"{section}.{key}"
        if key not in known:
            raise InputError(path, f"unknown key (known: {', '.join(sorted(known))})", field=where)
        values[key] = _coerce(hints[key], value, path, where)
        least = known[key].metadata.get("at_least")
        if least is not None and values[key] < least:
            raise InputError(path, f"expected a whole number of at least {least}, found {value!r}", field=where)
    return cls(**values)


def _coerce(hint: Any, value: Any, path: Path, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        hint = next(arg for arg in args if arg is not type(None))
        return _coerce(hint, value, path, where)
    if origin is tuple:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InputError(path, "expected a list of strings", field=where)
        return tuple(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise InputError(path, f"expected true or false, found {value!r}", field=where)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(path, f"expected a whole number, found {value!r}", field=where)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(path, f"expected a number, found {value!r}", field=where)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise InputError(path, f"expected text, found {value!r}", field=where)
        return value
    return value
