"""The typed records that pass between stages, and how each is read from and written to its file.

This module is the contract of DESIGN.md in code: every stage, the grader and the exporter
speak to each other only through these records and their files.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.atomic import write_json_atomic, write_text_atomic
from vizhub_pipeline.core.errors import GradeFileError, InputError

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
        data["checks"] = [asdict(check) for check in self.checks]
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


def write_render(path: Path, render: Render) -> None:
    write_json_atomic(path, render.to_json())


def read_render(path: Path) -> Render:
    return Render.from_json(_read_json(path), path)


# --------------------------------------------------------------------------- grades

GRADE_COLUMNS = (
    "challenge",
    "model",
    "sample",
    "artifact_hash",
    "functionality",
    "aesthetics",
    "notes",
    "grader",
    "graded_at",
)
SCORE_RANGE = range(0, 6)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Grade:
    """One row of ``results/grades/<grader>-<date>.csv``."""

    challenge: str
    model: str
    sample: int
    artifact_hash: str
    functionality: int
    aesthetics: int
    notes: str
    grader: str
    graded_at: str  # UTC, ISO 8601, e.g. 2026-11-28T12:00:00Z

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.challenge, self.model, self.sample)

    @property
    def overall(self) -> float:
        return (self.functionality + self.aesthetics) / 2


def utc_now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def neutralize_formula(text: str) -> str:
    """Prefix a note that a spreadsheet would run as a formula with ``'``."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def display_note(text: str) -> str:
    """The note as the grader wrote it (undoes :func:`neutralize_formula`)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def format_grade_rows(grades: Iterable[Grade], *, header: bool, lineterminator: str = "\r\n") -> str:
    """RFC 4180 CSV text (CRLF line ends, as the RFC says) of ``grades``, notes neutralised.

    ``lineterminator="\\n"`` matches a file that already uses LF line ends when appending."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=lineterminator)
    if header:
        writer.writerow(GRADE_COLUMNS)
    for grade in grades:
        row = asdict(grade)
        row["notes"] = neutralize_formula(grade.notes)
        writer.writerow([row[column] for column in GRADE_COLUMNS])
    return buffer.getvalue()


@dataclass(frozen=True)
class GradeProblem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class GradeLine:
    """A well-formed grade with the line it starts on and its notes cell exactly as stored."""

    line: int
    grade: Grade
    raw_notes: str


def parse_grade_file(path: Path | str, text: str | None = None) -> tuple[list[Grade], list[GradeProblem]]:
    """Every well-formed grade of a file, and every problem found (with its line)."""
    lines, problems = parse_grade_lines(path, text)
    return [entry.grade for entry in lines], problems


def parse_grade_lines(path: Path | str, text: str | None = None) -> tuple[list[GradeLine], list[GradeProblem]]:
    """Like :func:`parse_grade_file`, with each grade's line and raw notes (for ``vizhub validate``)."""
    path = Path(path)
    if text is None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            return [], [GradeProblem(str(path), 0, f"cannot read: {exc.strerror or exc}")]
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return [], [GradeProblem(str(path), 1, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
    elif text.startswith("\ufeff"):
        text = text[1:]
    grades: list[GradeLine] = []
    problems: list[GradeProblem] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return [], [GradeProblem(str(path), 1, "empty file: expected the header " + ",".join(GRADE_COLUMNS))]
    except csv.Error as exc:
        return [], [GradeProblem(str(path), 1, f"malformed CSV: {exc}")]
    header = [name.strip() for name in header]
    missing = [name for name in GRADE_COLUMNS if name not in header]
    extra = [name for name in header if name not in GRADE_COLUMNS]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if missing or extra or duplicated:
        parts = []
        if missing:
            parts.append("missing column(s) " + ", ".join(missing))
        if extra:
            parts.append("unknown column(s) " + ", ".join(extra))
        if duplicated:
            parts.append("repeated column(s) " + ", ".join(duplicated))
        return [], [GradeProblem(str(path), 1, "; ".join(parts) + " (expected " + ",".join(GRADE_COLUMNS) + ")")]
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(GradeProblem(str(path), line, f"malformed CSV: {exc}"))
            break
        start, line = line, reader.line_num + 1
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(GradeProblem(str(path), start, f"expected {len(header)} fields, found {len(row)}"))
            continue
        values = dict(zip(header, row))
        grade, message = _grade_from_row(values)
        if message:
            problems.append(GradeProblem(str(path), start, message))
        else:
            grades.append(GradeLine(start, grade, values["notes"]))
    return grades, problems


def _grade_from_row(values: dict[str, str]) -> tuple[Grade | None, str | None]:
    for name in ("challenge", "model", "artifact_hash", "grader", "graded_at"):
        if not values[name].strip():
            return None, f"{name} is empty"
    scores = {}
    for name in ("functionality", "aesthetics"):
        raw = values[name].strip()
        if not (raw.isascii() and raw.isdigit() and int(raw) in SCORE_RANGE):
            return None, f"{name} must be an integer from 0 to 5, found {raw!r}"
        scores[name] = int(raw)
    sample = values["sample"].strip() or "0"
    if not (sample.isascii() and sample.isdigit()):
        return None, f"sample must be a whole number, found {values['sample']!r}"
    graded_at = values["graded_at"].strip()
    try:
        parsed = datetime.fromisoformat(graded_at.replace("Z", "+00:00"))
    except ValueError:
        return None, f"graded_at must be an ISO 8601 UTC time such as 2026-11-28T12:00:00Z, found {graded_at!r}"
    if parsed.tzinfo is None or parsed.utcoffset().total_seconds() != 0:
        return None, f"graded_at must be in UTC (end in Z), found {graded_at!r}"
    grade = Grade(
        challenge=values["challenge"].strip(),
        model=values["model"].strip(),
        sample=int(sample),
        artifact_hash=values["artifact_hash"].strip(),
        functionality=scores["functionality"],
        aesthetics=scores["aesthetics"],
        notes=display_note(values["notes"]),
        grader=values["grader"].strip(),
        graded_at=canonical_utc(parsed),
    )
    return grade, None


def canonical_utc(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``: the one form of ``graded_at`` once read, so that comparing the
    texts compares the times (``12:00:00.5Z`` or ``+00:00`` would sort wrongly as written)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_grade_file(path: Path | str) -> list[Grade]:
    """The grades of one file; raises :class:`GradeFileError` at the first problem."""
    grades, problems = parse_grade_file(path)
    if problems:
        first = problems[0]
        raise GradeFileError(first.path, first.message, line=first.line)
    return grades


def grade_files(folder: Path) -> list[Path]:
    return sorted(path for path in Path(folder).glob("*.csv") if not path.name.startswith("."))


def latest_grades(grades: Iterable[Grade]) -> dict[tuple[str, str, tuple[str, str, int]], Grade]:
    """A grader's latest grade of each item: ``{(grader, key): grade}`` (later ``graded_at`` wins;
    on a tie, the later row read wins)."""
    latest: dict[Any, Grade] = {}
    for grade in grades:
        slot = (grade.grader, grade.key)
        current = latest.get(slot)
        if current is None or grade.graded_at >= current.graded_at:
            latest[slot] = grade
    return latest


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

    summaries = {}
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

PAIR_COLUMNS = (
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
    "dataset_version",
)


@dataclass(frozen=True)
class PreferencePair:
    """One row of ``exports/preferences.jsonl``: within one challenge, the output humans scored
    higher (``chosen``) over one they scored lower (``rejected``), by at least the margin.

    Both sides are consensus rows with an overall score; the row's text (prompt and replies)
    is added by the export stage, which writes the columns of :data:`PAIR_COLUMNS`.
    """

    challenge: str
    chosen: ConsensusRow
    rejected: ConsensusRow

    @property
    def margin(self) -> float:
        """How much higher the chosen output's overall mean is (rounded to 4 digits, as stored)."""
        return round(self.chosen.overall.mean - self.rejected.overall.mean, 4)
