"""Aggregate-stage time on 1,000,000 grade rows against 100,000, measured in the same run.

Two synthetic projects, each graded by 100 graders (one grade file per grader):
- 1,000 items (10 challenges x 25 models x 4 samples) -> 100,000 grade rows
- 10,000 items (100 challenges x 25 models x 4 samples) -> 1,000,000 grade rows
Every item has a meta.json and a render.json with three checks. The timed part is the whole
`run_aggregate` (read every file, count, consensus, reliability with 1,000 bootstrap
resamples, leaderboard, write every output), after a warm-up run on an empty project so that
library imports (about 1.5 s, paid once per process) are timed apart. Prints both times and
their ratio: growth should be about linear (about 10); the target is <= 15 s for the million.

Run: .venv/bin/python bench/bench_aggregate.py
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GRADERS, MODELS, SAMPLES = 100, 25, 4
HEADER = "challenge,model,sample,artifact_hash,functionality,aesthetics,notes,grader,graded_at,source,blind\r\n"


def build_project(root: Path, challenges: int) -> int:
    """Write generations, renders and grade files; return the number of grade rows."""
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.core.records import CheckResult, Generation, Render, write_generation, write_render

    layout = Layout.at(root)
    rnd = random.Random(7)
    items = []
    for c in range(challenges):
        challenge = f"challenge{c:03d}"
        for m in range(MODELS):
            model = f"provider/model-{m:02d}"
            for sample in range(SAMPLES):
                artifact = f"{c:04d}{m:04d}{sample:08d}"
                quality = 0.5 + 4 * m / (MODELS - 1) + rnd.uniform(-1, 1)
                items.append((challenge, model, sample, artifact, quality))
                write_generation(
                    layout.visualization_dir(challenge, model, sample) / "meta.json",
                    Generation(
                        challenge,
                        model,
                        sample,
                        "ok",
                        "in" + artifact,
                        artifact_hash=artifact,
                        tokens_in=1200,
                        tokens_out=800,
                        cost=0.002,
                    ),
                )
                checks = tuple(CheckResult(f"check{k}", "count", rnd.random() < 0.8) for k in range(3))
                write_render(
                    layout.render_dir(challenge, model, sample) / "render.json",
                    Render(challenge, model, sample, "rendered", artifact, "r" + artifact, checks=checks),
                )
    layout.grades.mkdir(parents=True, exist_ok=True)
    rows = 0
    for g in range(GRADERS):
        grader = f"grader{g:03d}"
        day = f"2026-11-{1 + g % 28:02d}"
        bias = rnd.uniform(-0.7, 0.7)
        lines = [HEADER]
        for index, (challenge, model, sample, artifact, quality) in enumerate(items):
            f = min(5, max(0, round(quality + bias + rnd.gauss(0, 0.8))))
            a = min(5, max(0, round(quality + bias + rnd.gauss(0, 1.0))))
            minute, second = divmod(index, 60)
            lines.append(
                f"{challenge},{model},{sample},{artifact},{f},{a},looks fine,{grader},"
                f"{day}T{minute // 60 % 24:02d}:{minute % 60:02d}:{second:02d}Z,app,true\r\n"
            )
        (layout.grades / f"{grader}-{day}.csv").write_text("".join(lines), encoding="utf-8")
        rows += len(items)
    return rows


def time_aggregate(root: Path) -> tuple[float, float, object]:
    """Wall time and this process's CPU time of ``run_aggregate`` (the CPU time is less sensitive
    to other programs running on the machine), and its summary."""
    from vizhub_pipeline.analysis.aggregate import run_aggregate
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.core.params import AggregateParams

    start, cpu = time.perf_counter(), time.process_time()
    summary = run_aggregate(Layout.at(root), AggregateParams())
    return time.perf_counter() - start, time.process_time() - cpu, summary


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        time_aggregate(Path(tmp))  # imports numpy, pandas, scipy, krippendorff once
        print(f"warm-up on an empty project (library imports): {time.perf_counter() - started:.2f} s", flush=True)
    results = {}
    for challenges in (10, 100):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            started = time.perf_counter()
            rows = build_project(root, challenges)
            print(f"set-up: {rows:,} grade rows written in {time.perf_counter() - started:.1f} s", flush=True)
            elapsed, cpu, summary = time_aggregate(root)
            results[rows] = elapsed
            assert summary.rows_read == rows and not summary.left_out, summary.lines()  # every row read and usable
            print(
                f"aggregate {rows:>9,} rows: {elapsed:6.2f} s (CPU {cpu:6.2f} s)  ({summary.grades:,} counted, "
                f"alpha overall {summary.alpha['overall']:.3f})",
                flush=True,
            )
    small, large = sorted(results)
    ratio = results[large] / results[small]
    print(f"ratio {large:,} / {small:,} rows: {ratio:.1f} (linear growth would be about 10)")
    print(f"target <= 15 s for {large:,} rows: {'met' if results[large] <= 15 else 'NOT met'} ({results[large]:.2f} s)")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
