"""The typed records that pass between stages, and how each is read from and written to its file.

Every stage, the grader and the exporter speak to each other only through these records and
their files. Grades (and any other kind of judgement) are declared in
:mod:`vizhub_pipeline.core.judgements`; :class:`Grade` and :func:`format_grade_rows` are
named here too, as part of the same contract.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.atomic import write_json_atomic, write_text_atomic
from vizhub_pipeline.core.errors import InputError
from vizhub_pipeline.core.judgements.columns import utc_now_iso as utc_now_iso
from vizhub_pipeline.core.judgements.scores import Grade as Grade
from vizhub_pipeline.core.judgements.scores import format_grade_rows as format_grade_rows

# --------------------------------------------------------------------------- generation


GENERATION_STATUSES = ("ok", "unparseable", "error")


@dataclass(frozen=True)
class Generation:
    """``visualizations/<challenge>/<model>/meta.json``: one model output.

    An output made here has an ``input_hash`` (what generate compares to skip unchanged
    items). An output brought in by ``vizhub import`` has ``origin`` instead (the source
    project, the original path and model id); it was not generated here, so it has no
    input hash, and generate never regenerates, prunes or overwrites it.
    """

    challenge: str
    model: str
    sample: int
    status: str
    input_hash: str | None
    artifact_hash: str | None = None
    files: tuple[str, ...] = ()
    error: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    latency_s: float | None = None
    created_at: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    prompt_hash: str | None = None  # core.prompting.prompt_hash of the messages sent; absent in older files
    origin: dict[str, Any] | None = None  # imported outputs only

    @property
    def imported(self) -> bool:
        return self.origin is not None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = list(self.files)
        for optional in ("prompt_hash", "origin"):
            if data[optional] is None:
                del data[optional]  # not written when absent: older files stay byte for byte
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path | str = "meta.json") -> Generation:
        known = {f.name for f in fields(cls)}
        required = ("challenge", "model", "sample", "status") + (() if data.get("origin") else ("input_hash",))
        missing = [name for name in required if name not in data]
        if missing:
            raise InputError(path, f"missing {', '.join(missing)}", field=missing[0])
        if data["status"] not in GENERATION_STATUSES:
            raise InputError(path, f"status must be one of {', '.join(GENERATION_STATUSES)}", field="status")
        if data.get("origin") is not None and not isinstance(data["origin"], dict):
            raise InputError(path, "origin must be an object (source, path, model)", field="origin")
        values = {key: value for key, value in data.items() if key in known}
        values.setdefault("input_hash", None)
        values["files"] = tuple(values.get("files") or ())
        return cls(**values)


def write_generation(path: Path, generation: Generation) -> None:
    write_json_atomic(path, generation.to_json())


def read_generation(path: Path) -> Generation:
    return Generation.from_json(_read_json(path), path)


# --------------------------------------------------------------------------- render

RENDER_STATUSES = ("rendered", "blank", "error", "timeout")  # a page in the browser
TEST_STATUSES = ("passed", "failed", "error", "timeout")  # a code challenge's test run


@dataclass(frozen=True)
class CheckResult:
    """One automated check run in the page: passed or not, and why."""

    name: str
    type: str
    passed: bool
    message: str = ""
    step: str | None = None  # None for the initial page, else the interaction step's name
    # run in the page's own JavaScript world (``script`` checks), where the page could fake it;
    # written to render.json only when true
    page_world: bool = False


@dataclass(frozen=True)
class Render:
    """``results/renders/<challenge>/<model>/render.json``: one rendered page, or one test run of a
    code challenge's output (status in :data:`TEST_STATUSES`, with a ``test`` section)."""

    challenge: str
    model: str
    sample: int
    status: str
    artifact_hash: str | None
    render_hash: str
    screenshots: tuple[str, ...] = ()
    checks: tuple[CheckResult, ...] = ()
    console_errors: tuple[str, ...] = ()
    page_errors: tuple[str, ...] = ()
    blocked_requests: tuple[str, ...] = ()
    error: str | None = None
    # how long the phases took: printed and logged, never written to render.json (they vary run
    # to run, and a committed file changes only when its content does)
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    viewport: dict[str, int] = field(default_factory=dict)
    test: dict[str, Any] | None = None  # code challenges: command, files, exit code, output (no durations)

    @property
    def checks_passed(self) -> int:
        return sum(1 for check in self.checks if check.passed)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("screenshots", "console_errors", "page_errors", "blocked_requests"):
            data[key] = list(data[key])
        data["checks"] = [_check_json(check) for check in self.checks]
        del data["timings"]
        if data["test"] is None:
            del data["test"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], path: Path | str = "render.json") -> Render:
        known = {f.name for f in fields(cls)}
        missing = [name for name in ("challenge", "model", "sample", "status", "render_hash") if name not in data]
        if missing:
            raise InputError(path, f"missing {', '.join(missing)}", field=missing[0])
        values = {key: value for key, value in data.items() if key in known}
        values["checks"] = tuple(CheckResult(**check) for check in values.get("checks") or ())
        for key in ("screenshots", "console_errors", "page_errors", "blocked_requests"):
            values[key] = tuple(values.get(key) or ())
        values.setdefault("artifact_hash", None)
        return cls(**values)


def _check_json(check: CheckResult) -> dict[str, Any]:
    data = asdict(check)
    if not check.page_world:
        del data["page_world"]
    return data


def write_render(path: Path, render: Render) -> None:
    write_json_atomic(path, render.to_json())


def read_render(path: Path) -> Render:
    return Render.from_json(_read_json(path), path)


# --------------------------------------------------------------------------- grades
# A grade is one kind of judgement: its record (Grade), columns and file format are declared
# in core.judgements.scores and read and written through core.judgements.


# --------------------------------------------------------------------------- consensus

DIMENSIONS = ("functionality", "aesthetics", "overall")


@dataclass(frozen=True)
class ScoreSummary:
    mean: float
    median: float
    std: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class ConsensusRow:
    """One row of ``results/consensus/consensus.csv``: the human consensus on one output."""

    challenge: str
    model: str
    sample: int
    artifact_hash: str | None
    n_graders: int
    n_stale: int
    functionality: ScoreSummary | None
    aesthetics: ScoreSummary | None
    overall: ScoreSummary | None
    flags: tuple[str, ...] = ()
    render_status: str | None = None
    checks_passed: int | None = None
    checks_total: int | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.challenge, self.model, self.sample)


CONSENSUS_COLUMNS = (
    ["challenge", "model", "sample", "artifact_hash", "n_graders", "n_stale"]
    + [f"{dim}_{stat}" for dim in DIMENSIONS for stat in ("mean", "median", "std", "ci_low", "ci_high")]
    + ["flags", "render_status", "checks_passed", "checks_total"]
)


def format_float(value: float | None, digits: int = 4) -> str:
    """Stable float text for CSV and JSON outputs: fixed digits, no ``-0``, empty for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{value:.{digits}f}"
    return "0." + "0" * digits if text == "-0." + "0" * digits else text


def _consensus_to_row(row: ConsensusRow) -> list[str]:
    out = [row.challenge, row.model, str(row.sample), row.artifact_hash or "", str(row.n_graders), str(row.n_stale)]
    for dim in DIMENSIONS:
        summary = getattr(row, dim)
        for stat in ("mean", "median", "std", "ci_low", "ci_high"):
            out.append(format_float(getattr(summary, stat)) if summary else "")
    out.append(";".join(row.flags))
    out.append(row.render_status or "")
    out.append("" if row.checks_passed is None else str(row.checks_passed))
    out.append("" if row.checks_total is None else str(row.checks_total))
    return out


def write_consensus(path: Path, rows: Iterable[ConsensusRow]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CONSENSUS_COLUMNS)
    for row in sorted(rows, key=lambda r: r.key):
        writer.writerow(_consensus_to_row(row))
    write_text_atomic(path, buffer.getvalue())


def read_consensus(path: Path) -> Iterator[ConsensusRow]:
    """The rows of a consensus file, streamed."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or list(reader.fieldnames) != CONSENSUS_COLUMNS:
            raise InputError(path, "unexpected header; rerun `vizhub aggregate`", line=1)
        for values in reader:
            try:
                yield _consensus_from_row(values)
            except (KeyError, ValueError) as exc:
                raise InputError(path, f"malformed consensus row: {exc}", line=reader.line_num) from None


def _consensus_from_row(values: dict[str, str]) -> ConsensusRow:
    def number(text: str) -> float:
        return float(text)

    summaries: dict[str, ScoreSummary | None] = {}
    for dim in DIMENSIONS:
        if values[f"{dim}_mean"] == "":
            summaries[dim] = None
        else:
            summaries[dim] = ScoreSummary(
                *(number(values[f"{dim}_{stat}"] or "nan") for stat in ("mean", "median", "std", "ci_low", "ci_high"))
            )
    return ConsensusRow(
        challenge=values["challenge"],
        model=values["model"],
        sample=int(values["sample"]),
        artifact_hash=values["artifact_hash"] or None,
        n_graders=int(values["n_graders"]),
        n_stale=int(values["n_stale"]),
        functionality=summaries["functionality"],
        aesthetics=summaries["aesthetics"],
        overall=summaries["overall"],
        flags=tuple(flag for flag in values["flags"].split(";") if flag),
        render_status=values["render_status"] or None,
        checks_passed=int(values["checks_passed"]) if values["checks_passed"] else None,
        checks_total=int(values["checks_total"]) if values["checks_total"] else None,
    )


# --------------------------------------------------------------------------- helpers


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError(path, "expected a JSON object")
    return data


# --------------------------------------------------------------------------- discovery


def iter_generations(visualizations: Path, *, skip_unreadable: bool = False) -> Iterator[tuple[Path, Generation]]:
    """Every ``visualizations/<challenge>/<model>/meta.json``, sorted by folder, as
    ``(folder, generation)``. Hidden folders (interrupted writes) are skipped; so is an
    unreadable meta.json with ``skip_unreadable``, which otherwise raises :class:`InputError`."""
    visualizations = Path(visualizations)
    if not visualizations.is_dir():
        return
    for meta in sorted(visualizations.glob("*/*/meta.json")):
        folder = meta.parent
        if folder.name.startswith(".") or folder.parent.name.startswith("."):
            continue
        try:
            generation = read_generation(meta)
        except InputError:
            if skip_unreadable:
                continue
            raise
        yield folder, generation


def iter_renders(renders: Path) -> Iterator[tuple[Path, Render]]:
    """Every ``results/renders/<challenge>/<model>/render.json``, sorted, as ``(folder, render)``."""
    renders = Path(renders)
    if not renders.is_dir():
        return
    for path in sorted(renders.glob("*/*/render.json")):
        folder = path.parent
        if folder.name.startswith(".") or folder.parent.name.startswith("."):
            continue
        yield folder, read_render(path)


# --------------------------------------------------------------------------- preference pairs

PREFERENCE_PAIR_COLUMNS = (
    "prompt",
    "chosen",
    "rejected",
    "margin",
    "score_chosen",
    "score_rejected",
    "challenge",
    "model_chosen",
    "model_rejected",
    "sample_chosen",
    "sample_rejected",
    "n_graders_chosen",
    "n_graders_rejected",
    "scores_chosen",
    "scores_rejected",
    "artifact_hash_chosen",
    "artifact_hash_rejected",
    "pair_source",  # "scores" (derived from absolute grades) or "vote" (pairwise votes)
    "source",  # how the judgements behind the pair were given: app, cli, imported, unknown (comma-separated)
    "votes_chosen",
    "votes_rejected",
    "dataset_version",
)


@dataclass(frozen=True)
class PreferencePair:
    """One row of ``exports/preferences.jsonl``: within one challenge, the output humans scored
    higher (``chosen``) over one they scored lower (``rejected``), by at least the margin.

    Both sides are consensus rows with an overall score; the row's text (prompt and replies)
    is added by the export stage, which writes the columns of :data:`PREFERENCE_PAIR_COLUMNS`.
    """

    challenge: str
    chosen: ConsensusRow
    rejected: ConsensusRow

    @property
    def margin(self) -> float:
        """How much higher the chosen output's overall mean is (rounded to 4 digits, as stored)."""
        chosen, rejected = self.chosen.overall, self.rejected.overall
        if chosen is None or rejected is None:
            raise ValueError(f"{self.challenge}: a preference pair needs two graded outputs")
        return round(chosen.mean - rejected.mean, 4)
