"""``vizhub import vizhub-benchmarks``: the original project's layout, from a small fixture in it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.challenges import load_challenge
from vizhub_pipeline.core.judgements.scores import read_grade_file
from vizhub_pipeline.core.layout import Layout, hash_files
from vizhub_pipeline.core.prompting import build_messages, prompt_hash
from vizhub_pipeline.core.records import read_generation
from vizhub_pipeline.importing import run_import

FIXTURE = Path(__file__).parent / "fixtures" / "vizhub-benchmarks-mini"


@pytest.fixture
def empty_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "challenges").mkdir(parents=True)
    return root


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_imports_challenges_outputs_and_grades(empty_project):
    layout = Layout.at(empty_project)
    summary = run_import("vizhub-benchmarks", FIXTURE, layout)

    assert summary.imported == {"challenges": 2, "outputs": 4, "grades": 2}
    assert summary.problems == [
        f"{FIXTURE}/benchmarks/challenges/broken/challenge.json:2: not valid JSON: Expecting value",
        f"{FIXTURE}/benchmarks/results/grades/bob.csv:3: grade: expected a whole number from 0 to 5, found '7'",
    ]
    assert ("grades", "alice.csv", "no score given", 1) in summary.skipped
    assert not (layout.challenges / "broken").exists()

    code = load_challenge(layout.challenges / "double")  # recognised by its files
    assert code.type == "code" and code.entry == "functions.mjs"
    assert code.test is not None and code.test.command == ("node", "index.mjs")
    assert code.prompt == (FIXTURE / "benchmarks/challenges/double/prompt.md").read_text()
    assert load_challenge(layout.challenges / "barChart").type == "visualization"

    folder = layout.visualization_dir("barChart", "openrouter/acme/model-a")
    meta = read_generation(folder / "meta.json")
    assert meta.model == "openrouter/acme/model-a" and meta.status == "ok" and meta.input_hash is None
    assert meta.origin == {
        "source": "vizhub-benchmarks",
        "path": "benchmarks/challenges/barChart/acme/model-a",
        "model": "acme/model-a",
        "response": "llmResponse.md",
        "pass_fail": "pass",
    }
    assert meta.files == ("data.csv", "index.html")
    assert meta.artifact_hash == hash_files({n: (folder / n).read_bytes() for n in meta.files})
    assert meta.prompt_hash == prompt_hash(build_messages(load_challenge(layout.challenges / "barChart")))
    original = FIXTURE / "benchmarks/challenges/barChart/acme/model-a"
    assert (folder / "response.md").read_bytes() == (original / "llmResponse.md").read_bytes()

    # an output without llmResponse.md: recorded, not invented; the extra file a model wrote is kept
    other = layout.visualization_dir("barChart", "openrouter/acme/model-b")
    assert read_generation(other / "meta.json").origin["response"] is None
    assert not (other / "response.md").exists()
    assert (other / "fileA.js").read_text() == "export const helper = 1;\n"
    assert (
        "barChart/acme/model-b: the original has no llmResponse.md; recorded in meta.json, none made up"
        in summary.notes
    )

    # the rewritten test file is imported as the model left it
    rewritten = layout.visualization_dir("double", "openrouter/acme/model-b") / "index.mjs"
    assert "!== 23" in rewritten.read_text()

    grades = sorted(layout.grades.glob("*.csv"))
    assert [p.name for p in grades] == ["alice-2025-06-03.csv"]
    records = read_grade_file(grades[0])
    assert [(g.model, g.functionality, g.aesthetics, g.notes, g.graded_at, g.source, g.blind) for g in records] == [
        ("openrouter/acme/model-a", 4, 3, "clean bars, no axes", "2025-06-03T14:53:00Z", "imported", False),
        ("openrouter/acme/model-b", 1, 1, "", "2025-06-03T14:55:10Z", "imported", False),
    ]
    assert records[0].artifact_hash == meta.artifact_hash
    assert all(g.grader == "alice" for g in records)  # nothing of bob's malformed file


def test_a_second_import_changes_nothing(empty_project):
    layout = Layout.at(empty_project)
    run_import("vizhub-benchmarks", FIXTURE, layout)
    before = tree(empty_project)
    summary = run_import("vizhub-benchmarks", FIXTURE, layout)
    assert tree(empty_project) == before
    assert summary.imported == {"challenges": 0, "outputs": 0, "grades": 0}
    assert summary.unchanged == {"challenges": 2, "outputs": 4, "grades": 2}


def test_nothing_here_is_overwritten(empty_project, tmp_path):
    layout = Layout.at(empty_project)
    source = tmp_path / "original"
    shutil.copytree(FIXTURE, source)
    run_import("vizhub-benchmarks", source, layout)
    # the original changes under us: an output and a prompt
    (source / "benchmarks/challenges/barChart/acme/model-a/index.html").write_text("<p>changed</p>")
    (source / "benchmarks/challenges/double/prompt.md").write_text("Another prompt.")
    before = tree(empty_project)
    summary = run_import("vizhub-benchmarks", source, layout)
    assert tree(empty_project) == before
    assert (
        "outputs",
        "barChart/acme/model-a",
        "an output imported from elsewhere is here "
        "(visualizations/barChart/openrouter__acme__model-a); not overwritten",
        1,
    ) in summary.skipped
    assert (
        "challenges",
        "double",
        "a challenge of that name with another prompt or starter is here",
        1,
    ) in summary.skipped


def test_cli_prints_what_happened_and_fails_on_a_malformed_file(empty_project):
    result = CliRunner().invoke(
        cli, ["import", "vizhub-benchmarks", str(FIXTURE), "--project", str(empty_project)], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[:4] == [
        "import vizhub-benchmarks:",
        "  challenges: 2 imported, 0 already here, 0 skipped",
        "  outputs: 4 imported, 0 already here, 0 skipped",
        "  grades: 2 imported, 0 already here, 1 skipped",
    ]
    assert "  skipped 1 grade (no score given): alice.csv" in lines
    assert lines[-1] == "Error: 2 file(s) could not be imported (see problem lines above)"


def test_an_unknown_layout_or_folder_is_refused(empty_project, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["import", "nope", str(FIXTURE), "--project", str(empty_project)])
    assert (
        result.exit_code == 1
        and result.output == "Error: unknown importer 'nope': known importers are vizhub-benchmarks\n"
    )
    result = runner.invoke(cli, ["import", "vizhub-benchmarks", str(tmp_path), "--project", str(empty_project)])
    assert result.exit_code == 1
    assert (
        result.output
        == f"Error: {tmp_path}: not a vizhub-benchmarks checkout: no benchmarks/challenges/ folder in it\n"
    )


def test_meta_json_of_an_import_round_trips(empty_project):
    layout = Layout.at(empty_project)
    run_import("vizhub-benchmarks", FIXTURE, layout)
    path = layout.visualization_dir("double", "openrouter/acme/model-a") / "meta.json"
    data = json.loads(path.read_text())
    assert "input_hash" in data and data["input_hash"] is None
    assert read_generation(path).to_json() == data
