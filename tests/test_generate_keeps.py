"""Nothing graded or imported is ever deleted by generate: imported outputs are never asked for
again, overwritten or pruned; graded outputs are kept; grades that lost their output fail the run."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from tests.test_import import FIXTURE, tree
from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.params import GenerateParams
from vizhub_pipeline.core.records import Grade, format_grade_rows, read_generation
from vizhub_pipeline.generate.stage import run_generate
from vizhub_pipeline.importing import run_import


def imported_project(tmp_path: Path) -> Layout:
    root = tmp_path / "project"
    (root / "challenges").mkdir(parents=True)
    layout = Layout.at(root)
    run_import("vizhub-benchmarks", FIXTURE, layout)
    return layout


def test_a_full_pruning_run_keeps_every_imported_output(tmp_path):
    layout = imported_project(tmp_path)
    before = tree(layout.visualizations)
    summary = run_generate(layout, GenerateParams(models=("baseline/starter",)), prune=True, progress=False)
    assert summary.ok, summary.lines()
    assert summary.pruned.removed == []
    assert len(summary.pruned.kept_imported) == 4
    assert "kept 4 imported output folder(s) (never pruned)" in summary.lines()
    after = tree(layout.visualizations)
    assert {name: data for name, data in after.items() if "baseline__starter" not in name} == before


def test_an_imported_model_is_never_asked_again(tmp_path, loopback, monkeypatch):
    """Even listed by name, with a key and a live endpoint, the imported items are not requested."""
    layout = imported_project(tmp_path)
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-test")
    monkeypatch.setenv("OPENROUTER_API_BASE", loopback.url)
    meta = layout.visualization_dir("double", "openrouter/acme/model-a") / "meta.json"
    before = meta.read_bytes()
    summary = run_generate(layout, GenerateParams(models=("openrouter/acme/model-a",)), progress=False)
    assert (summary.imported, summary.done, summary.failed) == (2, 0, 0), summary.lines()
    assert summary.lines()[0].startswith("generate: 0 done, 0 skipped (unchanged), 2 imported (kept as they are)")
    assert loopback.requests == []
    assert meta.read_bytes() == before


def write_grade(layout: Layout, challenge: str, model: str) -> Path:
    generation = read_generation(layout.visualization_dir(challenge, model) / "meta.json")
    grade = Grade(challenge, model, 0, generation.artifact_hash or "", 3, 2, "", "alice", "2026-11-30T10:00:00Z")
    path = layout.grades / "alice-2026-11-30.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_grade_rows([grade], header=True), encoding="utf-8")
    return path


def test_a_graded_output_of_a_dropped_model_is_kept(project):
    layout = Layout.at(project)
    run_generate(layout, GenerateParams(), progress=False)
    grades = write_grade(layout, "barsOne", "baseline/starter")
    summary = run_generate(layout, GenerateParams(models=("baseline/reference",)), prune=True, progress=False)
    assert summary.ok, summary.lines()
    assert summary.pruned.removed == ["visualizations/barsTwo/baseline__starter"]
    assert summary.pruned.kept_graded == ["visualizations/barsOne/baseline__starter"]
    assert (layout.visualization_dir("barsOne", "baseline/starter") / "meta.json").is_file()
    assert grades.is_file()


def test_grades_that_lost_their_output_fail_the_run_unless_allowed(project):
    layout = Layout.at(project)
    run_generate(layout, GenerateParams(), progress=False)
    write_grade(layout, "barsOne", "baseline/starter")
    shutil.rmtree(layout.visualization_dir("barsOne", "baseline/starter"))  # removed by hand
    runner = CliRunner()
    args = ["generate", "--project", str(project), "--models", "baseline/reference"]
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 1, result.output
    message = "1 graded output(s) no longer exist: barsOne / baseline/starter (pass --allow-dropped to accept that)"
    assert message in result.output.splitlines()
    result = runner.invoke(cli, [*args, "--allow-dropped"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (
        "1 graded output(s) no longer exist: barsOne / baseline/starter (allowed by --allow-dropped)" in result.output
    )
