"""Every model output the report shows: its generation, render, checks, code test, consensus and notes.

An output is any folder found in ``visualizations/``, ``results/renders/`` or a row of
``consensus.csv``; each source fills what it knows and an absent one leaves its part
empty. Files are read by key and column name, so added fields do not break the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.layout import Layout, item_dirname, parse_item_dirname
from vizhub_pipeline.core.records import DIMENSIONS
from vizhub_pipeline.report.provenance import Note
from vizhub_pipeline.report.tables import Table, Unavailable, read_json_object, to_float, to_int

CODE_TEST_STATUSES = ("passed", "failed", "error", "timeout")
_STEP_FILE = re.compile(r"^step-(\d+)-(.+)\.png$")


@dataclass
class Shot:
    """One screenshot of an output; ``image`` is filled in when the report's copy is made."""

    label: str
    source: Path
    image: Any = None  # images.Picture


@dataclass(frozen=True)
class CheckLine:
    name: str
    passed: bool
    message: str
    step: str | None
    page_world: bool = False  # a script check, run where the page could fake it


@dataclass(frozen=True)
class CodeTest:
    status: str
    message: str
    output: str


@dataclass(frozen=True)
class Score:
    mean: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass
class Output:
    challenge: str
    folder: str
    model: str
    sample: int
    artifact_hash: str | None = None
    generation_status: str | None = None
    generation_error: str | None = None
    imported_from: str | None = None
    original_result: str | None = None  # pass/fail recorded by the project it was imported from
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    render_status: str | None = None
    render_outdated: bool = False  # the render is of an earlier version of the files
    render_error: str | None = None
    checks: list[CheckLine] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    shots: list[Shot] = field(default_factory=list)
    code_test: CodeTest | None = None
    n_graders: int = 0
    scores: dict[str, Score] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    notes: list[Note] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.challenge, self.model, self.sample)

    @property
    def checks_passed(self) -> int:
        return sum(1 for check in self.checks if check.passed)

    @property
    def overall(self) -> float | None:
        score = self.scores.get("overall")
        return score.mean if score else None


def collect_outputs(
    layout: Layout, consensus: Table | Unavailable, notes: dict[tuple[str, str, int], list[Note]]
) -> list[Output]:
    """Every output, sorted by challenge and folder name."""
    outputs: dict[tuple[str, str], Output] = {}

    def output_at(challenge: str, folder: str, data: dict[str, Any] | None = None) -> Output:
        key = (challenge, folder)
        if key not in outputs:
            try:
                model, sample = parse_item_dirname(folder)
            except ValueError:
                model, sample = folder, 0
            if data and isinstance(data.get("model"), str) and data["model"]:
                model = data["model"]
            outputs[key] = Output(challenge, folder, model, sample)
        return outputs[key]

    generation_hashes: dict[tuple[str, str], str | None] = {}
    for meta in _item_files(layout.visualizations, "meta.json"):
        challenge, folder = meta.parent.parent.name, meta.parent.name
        data = read_json_object(meta, layout.root)
        output = output_at(challenge, folder, data if isinstance(data, dict) else None)
        if isinstance(data, Unavailable):
            output.problems.append(data.reason)
            continue
        generation_hashes[(challenge, folder)] = data.get("artifact_hash")
        _fill_generation(output, data)

    for path in _item_files(layout.renders, "render.json"):
        challenge, folder = path.parent.parent.name, path.parent.name
        data = read_json_object(path, layout.root)
        output = output_at(challenge, folder, data if isinstance(data, dict) else None)
        if isinstance(data, Unavailable):
            output.problems.append(data.reason)
            continue
        current = generation_hashes.get((challenge, folder))
        output.render_outdated = bool(current and data.get("artifact_hash") and data["artifact_hash"] != current)
        _fill_render(output, data, path.parent)

    if isinstance(consensus, Table):
        for row in consensus.rows:
            try:
                folder = item_dirname(row.get("model", ""), to_int(row.get("sample")) or 0)
            except ValueError:
                continue
            if row.get("challenge"):
                _fill_consensus(output_at(row["challenge"], folder, {"model": row.get("model")}), row)

    for output in outputs.values():
        output.notes = notes.get(output.key, [])
    return [outputs[key] for key in sorted(outputs)]


def _item_files(folder: Path, name: str) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.glob(f"*/*/{name}")
        if not path.parent.name.startswith(".") and not path.parent.parent.name.startswith(".")
    )


def _fill_generation(output: Output, data: dict[str, Any]) -> None:
    output.generation_status = str(data["status"]) if data.get("status") else None
    output.artifact_hash = str(data["artifact_hash"]) if data.get("artifact_hash") else None
    output.generation_error = str(data["error"]) if data.get("error") else None
    output.tokens_in = to_int(data.get("tokens_in"))
    output.tokens_out = to_int(data.get("tokens_out"))
    output.cost = to_float(data.get("cost"))
    origin = data.get("origin")
    if isinstance(origin, dict):
        output.imported_from = str(origin.get("source") or "another project")
        result = origin.get("pass_fail")
        output.original_result = str(result) if result else None


def _fill_render(output: Output, data: dict[str, Any], folder: Path) -> None:
    output.render_status = str(data["status"]) if data.get("status") else None
    output.render_error = str(data["error"]) if data.get("error") else None
    for check in data.get("checks") or ():
        if isinstance(check, dict):
            step = check.get("step")
            output.checks.append(
                CheckLine(
                    name=str(check.get("name") or check.get("type") or "check"),
                    passed=check.get("passed") is True,
                    message=str(check.get("message") or ""),
                    step=str(step) if step else None,
                    page_world=check.get("page_world") is True,
                )
            )
    output.console_errors = [str(text) for text in data.get("console_errors") or ()]
    output.page_errors = [str(text) for text in data.get("page_errors") or ()]
    for name in data.get("screenshots") or ():
        # a plain file name inside the render folder, nothing else
        if isinstance(name, str) and name == Path(name).name and name.endswith(".png") and not name.startswith("."):
            output.shots.append(Shot(shot_label(name), folder / name))
    output.code_test = read_code_test(data)


def shot_label(name: str) -> str:
    """``screenshot.png`` -> ``Screenshot``; ``step-2-click-to-clear.png`` -> ``Step 2: click-to-clear``."""
    match = _STEP_FILE.match(name)
    if match:
        return f"Step {int(match.group(1))}: {match.group(2)}"
    return "Screenshot" if name == "screenshot.png" else name.removesuffix(".png")


def read_code_test(render: dict[str, Any]) -> CodeTest | None:
    """The code challenge's test result kept in render.json under ``test`` (``status`` passed,
    failed, error or timeout; ``message``; ``stdout``/``stderr``), or ``None`` when there is none."""
    test = render.get("test")
    if not isinstance(test, dict) or test.get("status") not in CODE_TEST_STATUSES:
        return None
    streams = [str(test.get(name) or "") for name in ("stdout", "stderr")]
    return CodeTest(
        status=test["status"],
        message=str(test.get("message") or ""),
        output="\n".join(text.rstrip() for text in streams if text.strip()),
    )


def _fill_consensus(output: Output, row: dict[str, str]) -> None:
    output.n_graders = to_int(row.get("n_graders")) or 0
    output.flags = tuple(flag for flag in row.get("flags", "").split(";") if flag)
    for dim in DIMENSIONS:
        mean = to_float(row.get(f"{dim}_mean"))
        if mean is not None:
            output.scores[dim] = Score(mean, to_float(row.get(f"{dim}_ci_low")), to_float(row.get(f"{dim}_ci_high")))
    if output.render_status is None and row.get("render_status"):
        output.render_status = row["render_status"]


def best_first(outputs: list[Output]) -> list[Output]:
    """Graded outputs by overall consensus (highest first), then the rest; ties by model."""
    return sorted(outputs, key=lambda o: (o.overall is None, -(o.overall or 0.0), o.model, o.sample, o.challenge))


def code_test_summary(outputs: list[Output]) -> dict[str, tuple[int, int]]:
    """Per model: (outputs whose code test passed, outputs with a code test result of their current
    version); a test run of an earlier version of the files is not counted, as in the leaderboard."""
    out: dict[str, tuple[int, int]] = {}
    for output in outputs:
        if output.code_test is not None and not output.render_outdated:
            passed, total = out.get(output.model, (0, 0))
            out[output.model] = (passed + (output.code_test.status == "passed"), total + 1)
    return out
