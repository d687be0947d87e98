"""``params.yaml``, loaded once into typed objects and passed inward as plain arguments.

One section per stage (``generate``, ``screenshot``, ``aggregate``, ``export``, ``report``) plus
``grade`` for the grading tools. A DVC stage depends on its own section's keys only.

The sections are pydantic dataclasses: pydantic checks every value's type when
``params.yaml`` is read (strictly: ``true`` is not a number, ``1.5`` is not a whole number,
a number is not text), and they stay frozen standard dataclasses, so ``dataclasses.replace``
derives a changed copy. A bad value is reported as an :class:`InputError` that names the
file and the key (``params.yaml: generate.samples: expected a whole number, found 'two'``);
with several bad values, the one written first in the file.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BeforeValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from vizhub_pipeline.core.errors import InputError

DEFAULT_MODELS = ("baseline/starter", "baseline/reference")


def _split_commas(value: Any) -> Any:
    """``models: a, b`` is the list ``[a, b]``."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]  # strict still takes a whole number (30 -> 30.0), never true/false
Bool = Annotated[bool, Strict()]
Text = Annotated[str, Strict()]
Models = Annotated[tuple[Text, ...], BeforeValidator(_split_commas)]

SECTION = ConfigDict(extra="forbid")


@dataclass(frozen=True, config=SECTION)
class GenerateParams:
    models: Models = DEFAULT_MODELS
    samples: Int = 1
    temperature: Float = 0.0
    max_tokens: Int = 8192
    seed: Int | None = 42
    concurrency: Int = 8  # in-flight requests per provider
    timeout: Float = 120.0  # seconds per model call
    retries: Int = 4  # extra attempts on rate limits, 5xx and timeouts
    backoff: Float = 2.0  # first retry delay in seconds, doubled each time (jittered)
    max_reply_bytes: Annotated[Int, Field(ge=1)] = 2_000_000  # a longer reply is an error, not parsed nor kept whole


@dataclass(frozen=True, config=SECTION)
class ScreenshotParams:
    width: Int = 800  # default viewport when a challenge does not set one
    height: Int = 600
    timeout: Float = 15.0  # seconds per page, of the run's own time (screenshot/own_time.py), not wall clock
    settle_ms: Int = 5000  # virtual time run before the screenshot, for transitions
    step_ms: Int = 1000  # virtual time run after each interaction step
    seed: Int = 1  # Math.random seed
    concurrency: Annotated[Int, Field(ge=1)] = 2  # pages rendered at once (not in the render hash)
    max_page_memory_mb: Annotated[Int, Field(ge=0)] = 2048  # a renderer past this is stopped; 0: no cap


@dataclass(frozen=True, config=SECTION)
class AggregateParams:
    min_graders: Int = 2
    high_variance: Float = 1.5  # standard deviation of overall score that flags an item
    confidence: Float = 0.95
    bootstrap: Int = 1000
    seed: Int = 0
    bt_rounds: Int = 1000  # bootstrap rounds of the Bradley-Terry fits (votes, grade-implied pairs)
    bt_seed: Int = 0


@dataclass(frozen=True, config=SECTION)
class ExportParams:
    output: Text = "exports/preferences.jsonl"
    min_votes: Int = 1
    min_margin: Float = 0.5
    format: Text = "standard"
    pairs: Text = "all"
    images: Bool = False
    kto_desirable: Float = 3.5  # overall mean at or above: label true in the KTO file
    kto_undesirable: Float = 2.0  # overall mean at or below: label false (between: left out)
    sft_min_score: Float = 3.5  # the best item of a challenge joins the SFT file only from this score
    version: Text = "0.1.0"  # dataset version, written into every row and the card
    license: Text = "mit"  # dataset licence id for the card's YAML header


@dataclass(frozen=True, config=SECTION)
class GradeParams:
    commit: Text = "submission"  # "submission": one commit per grade; "batch": one per session
    blind: Bool = True
    pairwise_seed: Int = 0  # `vizhub grade --pairwise`: ties in the pair order are drawn from it
    pairwise_repeat_share: Annotated[Float, Field(ge=0.0, lt=1.0)] = 0.1  # share of a grader's votes that repeat


@dataclass(frozen=True)
class ReportParams:
    grader_url: Text = "http://127.0.0.1:8765"  # where `vizhub grade` serves: review links open <url>/review/...
    thumbnail_width: Annotated[Int, Field(ge=64)] = 400  # gallery thumbnails, in pixels


@dataclass(frozen=True, config=ConfigDict(extra="ignore"))  # other tools may keep their own sections here
class Params:
    generate: GenerateParams = dataclasses.field(default_factory=GenerateParams)
    screenshot: ScreenshotParams = dataclasses.field(default_factory=ScreenshotParams)
    aggregate: AggregateParams = dataclasses.field(default_factory=AggregateParams)
    export: ExportParams = dataclasses.field(default_factory=ExportParams)
    grade: GradeParams = dataclasses.field(default_factory=GradeParams)
    report: ReportParams = dataclasses.field(default_factory=ReportParams)


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
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda error: _file_position(data, error["loc"]))
        raise _input_error(path, errors[0]) from None


_ADAPTER = TypeAdapter(Params)
_SECTIONS = typing.get_type_hints(Params)  # section name -> its class


def _file_position(data: dict[str, Any], loc: tuple[Any, ...]) -> tuple[int, ...]:
    """Where the key at ``loc`` is written in the file, to report the first bad key first."""
    position = []
    node: Any = data
    for part in loc:
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        position.append(keys.index(part) if part in keys else len(keys))
        node = node[part] if part in keys else None
    return tuple(position)


_BOUNDS = {
    "greater_than_equal": "of at least",
    "greater_than": "above",
    "less_than_equal": "of at most",
    "less_than": "below",
}


def _input_error(path: Path, error: Any) -> InputError:
    loc, kind, value = error["loc"], error["type"], error.get("input")
    where = ".".join(str(part) for part in loc[:2])
    if len(loc) == 1:
        return InputError(path, "expected a mapping", field=where)
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        known = ", ".join(sorted(field.name for field in dataclasses.fields(_SECTIONS[loc[0]])))
        return InputError(path, f"unknown key (known: {known})", field=where)
    if len(loc) > 2 or kind == "tuple_type":
        return InputError(path, "expected a list of strings", field=where)
    expected = {
        "int_type": "a whole number",
        "float_type": "a number",
        "bool_type": "true or false",
        "string_type": "text",
    }
    if kind == "greater_than_equal" and not isinstance(error["ctx"]["ge"], float):
        least = error["ctx"]["ge"]
        return InputError(path, f"expected a whole number of at least {least}, found {value!r}", field=where)
    if kind in _BOUNDS:
        limit = next(iter(error["ctx"].values()))
        return InputError(path, f"expected a number {_BOUNDS[kind]} {limit}, found {value!r}", field=where)
    if kind in expected:
        return InputError(path, f"expected {expected[kind]}, found {value!r}", field=where)
    return InputError(path, f"{error['msg']}, found {value!r}", field=where)
