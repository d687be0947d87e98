"""Importing the whole original benchmark (vizhub-benchmarks): 6 challenges, 90 outputs of 15
models, a grade file; target: at most 5 s.

The original's layout is rebuilt from the copy this project ships (challenges/, the imported
folders under visualizations/ with their raw replies, the imported grades), so the bench needs
nothing outside the repository. It then times, in the same run:

- the baseline: copying that tree with shutil.copytree (what moving the bytes costs);
- ``vizhub import vizhub-benchmarks`` into an empty project, in-process (the import itself);
- a second import of the same tree into the same project (nothing to do: everything is there).

Run: .venv/bin/python bench/bench_import.py
"""

from __future__ import annotations

import csv
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ROUNDS = 5


def rebuild_original(target: Path) -> int:
    """The original's layout from the shipped imports; the number of outputs written."""
    from vizhub_pipeline.core.records import iter_generations

    challenges = target / "benchmarks" / "challenges"
    outputs = 0
    for folder, generation in iter_generations(ROOT / "visualizations"):
        if generation.origin is None:
            continue
        challenge = generation.challenge
        source = ROOT / "challenges" / challenge
        home = challenges / challenge
        if not home.exists():
            (home / "files").mkdir(parents=True)
            shutil.copy(source / "prompt.md", home / "prompt.md")
            for path in (source / "files").iterdir():
                shutil.copy(path, home / "files" / path.name)
            (home / "challenge.json").write_text(json.dumps({"name": challenge}, indent=2), encoding="utf-8")
        out = home / generation.origin["model"]
        out.mkdir(parents=True)
        for name in generation.files:
            shutil.copy(folder / name, out / name)
        if (folder / "response.md").is_file():
            shutil.copy(folder / "response.md", out / "llmResponse.md")
        outputs += 1
    grades = target / "benchmarks" / "results" / "grades"
    grades.mkdir(parents=True)
    with open(grades / "ej-fox.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["challenge", "model", "type", "passFail", "grade", "aesthetics", "reviewedBy", "reviewedAt", "notes"]
        )
        from vizhub_pipeline.core.judgements.scores import read_grade_file

        for path in sorted((ROOT / "results" / "grades").glob("*.csv")):
            for grade in read_grade_file(path):
                if grade.source == "imported":
                    original = grade.model.removeprefix("openrouter/")
                    writer.writerow(
                        [
                            grade.challenge,
                            original,
                            "visualization",
                            "pass",
                            grade.functionality,
                            grade.aesthetics,
                            grade.grader,
                            grade.graded_at,
                            grade.notes,
                        ]
                    )
    return outputs


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.importing import run_import

    with tempfile.TemporaryDirectory(prefix="vizhub-bench-import-") as scratch:
        base = Path(scratch)
        original = base / "original"
        outputs = rebuild_original(original)
        run_import("vizhub-benchmarks", original, Layout.at(base / "warm"))  # imports warm the modules once
        copies, imports, again = [], [], []
        for round_ in range(ROUNDS):
            copies.append(timed(lambda copy=base / f"copy{round_}": shutil.copytree(original, copy)))
            project = base / f"project{round_}"
            (project / "challenges").mkdir(parents=True)
            layout = Layout.at(project)
            started = time.perf_counter()
            summary = run_import("vizhub-benchmarks", original, layout)
            imports.append(time.perf_counter() - started)
            assert summary.imported["outputs"] == outputs, summary.lines()
            again.append(timed(lambda layout=layout: run_import("vizhub-benchmarks", original, layout)))
    copy, full, second = (statistics.median(values) for values in (copies, imports, again))
    print(f"original rebuilt from the shipped copy: {outputs} outputs")
    print(f"baseline, copying the tree:  {copy * 1000:8.1f} ms (median of {ROUNDS})")
    print(f"import into an empty project: {full * 1000:8.1f} ms  ({full / copy:.1f}x the copy; target <= 5 s)")
    print(f"second import (nothing to do): {second * 1000:7.1f} ms  ({second / copy:.1f}x the copy)")


if __name__ == "__main__":
    main()
