"""A project to build reports from: this repository's challenges, outputs and real Chromium renders,
graded by three graders (scores drawn with a fixed seed), aggregated by the real aggregate stage."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from pathlib import Path

from tests.conftest import REPO_ROOT
from vizhub_pipeline.core.layout import Layout

GRADERS = ("alice", "bob", "carol")
HOSTILE_NOTE = '<script>alert("x")</script> & <img src=https://example.com/x.png>'
MULTILINE_NOTE = "Bars are right.\nThe title is cut off."
HEADER = (
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


def copy_inputs(root: Path) -> Layout:
    """challenges/ and params.yaml of this repository, with the built-in baselines' outputs and renders
    of the visualization challenges (not the imported real outputs, nor code test results: these
    tests count pages, grades and sections per model), copied to ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO_ROOT / "challenges", root / "challenges")
    code = {
        path.parent.name
        for path in (REPO_ROOT / "challenges").glob("*/challenge.yaml")
        if "type: code" in path.read_text()
    }
    for folder in ("visualizations", "results/renders"):
        for output in sorted((REPO_ROOT / folder).glob("*/baseline__*")):
            if output.parent.name not in code:
                shutil.copytree(output, root / output.relative_to(REPO_ROOT))
    shutil.copy(REPO_ROOT / "params.yaml", root / "params.yaml")
    (root / "results" / "grades").mkdir(parents=True, exist_ok=True)
    return Layout.at(root)


def items(layout: Layout) -> list[tuple[str, str, int, str]]:
    """(challenge, model, sample, artifact hash) of every output, sorted."""
    found = []
    for meta in sorted(layout.visualizations.glob("*/*/meta.json")):
        data = json.loads(meta.read_text())
        found.append((data["challenge"], data["model"], data["sample"], data["artifact_hash"]))
    return found


def write_grades(layout: Layout, *, seed: int = 7) -> None:
    """Every output graded by three graders: the reference scores high, the starter low, with noise;
    one output split the graders wide apart (so it needs review), and two notes are awkward text."""
    rng = random.Random(seed)
    outputs = items(layout)
    for index, grader in enumerate(GRADERS):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(HEADER)
        for number, (challenge, model, sample, artifact) in enumerate(outputs):
            base = 4 if model == "baseline/reference" else 1
            functionality = min(5, max(0, base + rng.choice((-1, 0, 0, 1))))
            aesthetics = min(5, max(0, base + rng.choice((-1, 0, 1))))
            if number == 0:  # the graders disagree completely on the first output
                functionality = aesthetics = (0, 5, 2)[index]
            notes = ""
            if grader == "bob" and number == 1:
                notes = HOSTILE_NOTE
            elif grader == "alice" and number == 1:
                notes = MULTILINE_NOTE
            writer.writerow(
                [
                    challenge,
                    model,
                    sample,
                    artifact,
                    functionality,
                    aesthetics,
                    notes,
                    grader,
                    f"2026-11-2{index}T10:00:{number % 60:02d}Z",
                ]
            )
        (layout.grades / f"{grader}-2026-11-2{index}.csv").write_text(buffer.getvalue(), encoding="utf-8")


def build_project(root: Path) -> Layout:
    """The copied, graded and aggregated project (no report yet)."""
    from vizhub_pipeline.analysis.aggregate import run_aggregate
    from vizhub_pipeline.core.params import load_params

    layout = copy_inputs(root)
    write_grades(layout)
    run_aggregate(layout, load_params(layout.params).aggregate)
    return layout


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()
    }
