"""Report-stage time and size: 100 challenges x 20 models, 3 graders, real-size screenshots.

The project is synthetic and written here: every output has a screenshot made from one of this
repository's real Chromium screenshots with a mark drawn on it (so every image is distinct and
as large as a real one), every fifth challenge adds an interaction step shot, three graders grade
every output, and the real aggregate stage writes the consensus. Then:

- baseline: copying the PNG files alone into a folder (what any report that shows the images
  must at least do), its time and size;
- cold: ``run_report`` with no previous report (every image decoded and encoded);
- warm: ``run_report`` again (images taken from the previous report: the usual rebuild after
  new grades).

Targets: cold <= 30 s, report folder <= 50 MB. Figures are printed beside the baseline, with
their ratios, both measured in this run on this machine.

The synthetic project is kept in bench/.work/report/ (git-ignored) for the next run; delete it to
build it again.

Run: .venv/bin/python bench/bench_report.py
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHALLENGES, MODELS, GRADERS = 100, 20, ("ana", "ben", "chen")
TIME_TARGET, SIZE_TARGET = 30.0, 50e6


def real_screenshots() -> list[bytes]:
    shots = sorted((ROOT / "results" / "renders").glob("*/*/*.png"))
    if not shots:
        sys.exit("no screenshot in results/renders/: run `dvc repro` first")
    return [path.read_bytes() for path in shots]


def marked(base: bytes, label: str, rng: random.Random) -> bytes:
    """``base`` with a small unique mark, saved as PNG (Pillow's default level, like Chromium's)."""
    from PIL import Image, ImageDraw

    with Image.open(io.BytesIO(base)) as image:
        image = image.convert("RGB")
    draw = ImageDraw.Draw(image)
    x, y = rng.randrange(20, image.width - 220), rng.randrange(20, image.height - 40)
    draw.rectangle((x, y, x + 200, y + 22), fill=(255, 255, 255), outline=(120, 120, 120))
    draw.text((x + 6, y + 5), label, fill=(rng.randrange(160), rng.randrange(160), rng.randrange(160)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _score(quality: float, rng: random.Random) -> int:
    """One grader's score of an output of the given quality: noisy, on the 0-5 scale."""
    return min(5, max(0, round(quality + rng.gauss(0, 0.8))))


def build_project(root: Path) -> list[Path]:
    """The synthetic project; returns every screenshot written."""
    from vizhub_pipeline.core.layout import item_dirname

    rng = random.Random(11)
    bases = real_screenshots()
    shots: list[Path] = []
    jobs: list[tuple[Path, bytes, str, float]] = []
    grade_rows: dict[str, list[list]] = {grader: [] for grader in GRADERS}
    root.mkdir(parents=True)
    params = (ROOT / "params.yaml").read_text(encoding="utf-8")
    (root / "params.yaml").write_text(params, encoding="utf-8")
    for c in range(CHALLENGES):
        challenge = f"chart{c:03d}"
        folder = root / "challenges" / challenge
        (folder / "files").mkdir(parents=True)
        (folder / "challenge.yaml").write_text(
            f"title: Chart number {c}\ndescription: A synthetic chart.\ntags: [d3, bench]\ndifficulty: easy\n"
            "checks:\n  - {type: count, selector: rect.bar, min: 3}\n",
            encoding="utf-8",
        )
        (folder / "prompt.md").write_text(f"Draw chart {c} as bars, with axes and a title.\n", encoding="utf-8")
        (folder / "files" / "index.html").write_text("<!DOCTYPE html><title>x</title>\n", encoding="utf-8")
        for m in range(MODELS):
            model = f"provider/model-{m:02d}"
            artifact = f"{c:03d}{m:02d}".ljust(16, "0")
            viz = root / "visualizations" / challenge / item_dirname(model)
            viz.mkdir(parents=True)
            (viz / "index.html").write_text("<!DOCTYPE html><title>x</title>\n", encoding="utf-8")
            meta = {
                "challenge": challenge,
                "model": model,
                "sample": 0,
                "status": "ok",
                "input_hash": "0" * 16,
                "artifact_hash": artifact,
                "files": ["index.html"],
                "tokens_in": 2000 + m,
                "tokens_out": 900 + c,
                "cost": 0.001 * (m + 1),
            }
            (viz / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            render = root / "results" / "renders" / challenge / item_dirname(model)
            render.mkdir(parents=True)
            names = ["screenshot.png"] + (["step-1-hover-first-bar.png"] if c % 5 == 0 else [])
            for n, name in enumerate(names):
                jobs.append(
                    (render / name, bases[(c * MODELS + m + n) % len(bases)], f"{challenge} {model} {n}", rng.random())
                )
                shots.append(render / name)
            passed = rng.random() < 0.7
            record = {
                "challenge": challenge,
                "model": model,
                "sample": 0,
                "status": "rendered",
                "artifact_hash": artifact,
                "render_hash": "0" * 16,
                "screenshots": names,
                "console_errors": [],
                "page_errors": [],
                "blocked_requests": [],
                "error": None,
                "viewport": {"width": 800, "height": 600},
                "checks": [
                    {
                        "name": f"check {k}",
                        "type": "count",
                        "passed": passed or k > 0,
                        "step": None,
                        "message": f"{k + 3} element(s) match rect.bar (expected at least 3)",
                    }
                    for k in range(8)
                ],
            }
            (render / "render.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            quality = rng.uniform(0, 5)
            for g, grader in enumerate(GRADERS):
                note = "Axis labels overlap on the left." if (c + m + g) % 9 == 0 else ""
                grade_rows[grader].append(
                    [
                        challenge,
                        model,
                        0,
                        artifact,
                        _score(quality, rng),
                        _score(quality, rng),
                        note,
                        grader,
                        f"2026-11-2{g}T10:{c % 60:02d}:{m:02d}Z",
                    ]
                )
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda job: job[0].write_bytes(marked(job[1], job[2], random.Random(job[3]))), jobs))
    (root / "results" / "grades").mkdir(parents=True)
    for g, (grader, rows) in enumerate(grade_rows.items()):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(
            [
                "challenge",
                "model",
                "sample",
                "artifact_hash",
                "functionality",
                "aesthetics",
                "notes",
                "grader",
                "graded_at",
            ]
        )
        writer.writerows(rows)
        (root / "results" / "grades" / f"{grader}-2026-11-2{g}.csv").write_text(buffer.getvalue(), encoding="utf-8")
    return shots


def folder_size(folder: Path, shared: set[tuple[int, int]] = frozenset()) -> tuple[int, int]:
    """(bytes of the files, bytes on disk of the files that are not hard links to ``shared`` inodes)."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    own = {}
    for path in files:
        stat = path.stat()
        if (stat.st_dev, stat.st_ino) not in shared:
            own[(stat.st_dev, stat.st_ino)] = stat.st_blocks * 512
    return sum(path.stat().st_size for path in files), sum(own.values())


def timed(run):
    """(wall seconds, CPU seconds of this process, result) of ``run()``: the thumbnail workers'
    CPU is not in it (they are children of multiprocessing's fork server), see ``thumbnail_cpu``."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def thumbnail_cpu(shots: list[Path], work: Path, width: int, count: int = 200) -> float:
    """CPU seconds per thumbnail, made in this process for ``count`` of the screenshots."""
    from vizhub_pipeline.report.images import make_pictures

    sample = shots[:: max(1, len(shots) // count)][:count]
    started = time.process_time()
    make_pictures(sample, work / "thumbnail-sample", None, width, workers=1)
    return (time.process_time() - started) / len(sample)


def main() -> None:
    from vizhub_pipeline.analysis.aggregate import run_aggregate
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.core.params import load_params
    from vizhub_pipeline.report.stage import run_report

    work = ROOT / "bench" / ".work" / "report"
    project = work / "project"
    started = time.perf_counter()
    if not (project / ".built").is_file():  # the synthetic project is kept for the next run
        shutil.rmtree(work, ignore_errors=True)
        build_project(project)
        layout = Layout.at(project)
        run_aggregate(layout, load_params(layout.params).aggregate)
        (project / ".built").write_text("complete\n")
    layout = Layout.at(project)
    shutil.copyfile(ROOT / "params.yaml", layout.params)  # the report settings of this checkout
    params = load_params(layout.params)
    shots = sorted(layout.renders.glob("*/*/*.png"))
    shutil.rmtree(layout.report, ignore_errors=True)
    shutil.rmtree(work / "png-copy", ignore_errors=True)
    shutil.rmtree(work / "thumbnail-sample", ignore_errors=True)
    try:
        png = sum(p.stat().st_size for p in shots)
        print(
            f"project: {CHALLENGES} challenges x {MODELS} models, {len(GRADERS)} graders, "
            f"{len(shots)} screenshots ({png / 1e6:.1f} MB of PNG); ready in {time.perf_counter() - started:.1f} s"
        )
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")

        copy = work / "png-copy"
        copy.mkdir()
        started = time.perf_counter()
        for index, path in enumerate(shots):
            shutil.copyfile(path, copy / f"{index}.png")
        baseline = time.perf_counter() - started

        cold, cold_cpu, summary = timed(lambda: run_report(layout, params.report))
        renders = {(p.stat().st_dev, p.stat().st_ino) for p in shots}
        size, disk = folder_size(layout.report, renders)
        html = sum(p.stat().st_size for p in layout.report.rglob("*.html"))
        thumbs = sum(p.stat().st_size for p in (layout.report / "thumbs").iterdir())
        warm, warm_cpu, rebuilt = timed(lambda: run_report(layout, params.report))
        pictures = summary.pictures
        per_thumbnail = thumbnail_cpu(shots, work, params.report.thumbnail_width)

        print(f"baseline, copy the PNGs: {baseline:6.2f} s, {png / 1e6:.1f} MB")
        print(
            f"report, cold:            {cold:6.2f} s ({cold / baseline:.1f}x the copy); "
            f"{len(summary.pages)} pages ({html / 1e6:.1f} MB of HTML), {pictures.encoded} thumbnails made "
            f"({thumbs / 1e6:.1f} MB), {pictures.linked} screenshots hard-linked"
        )
        print(
            f"  CPU: {cold_cpu:.1f} s in the main process (reading, pages); thumbnails {per_thumbnail * 1000:.1f} ms "
            f"each, {per_thumbnail * pictures.encoded:.1f} s in all, shared by {os.cpu_count()} worker processes"
        )
        print(
            f"report, warm rebuild:    {warm:6.2f} s ({warm / baseline:.1f}x the copy; CPU {warm_cpu:.1f} s); "
            f"{rebuilt.pictures.reused} thumbnails reused, {rebuilt.pictures.encoded} made"
        )
        after = folder_size(layout.report, renders)[1]
        print(
            f"size: {disk / 1e6:.1f} MB of its own on disk (after the rebuild: {after / 1e6:.1f} MB); "
            f"{size / 1e6:.1f} MB counting the linked screenshots"
        )
        print(
            f"targets: cold <= {TIME_TARGET:.0f} s: {'met' if cold <= TIME_TARGET else 'MISSED'}; "
            f"<= {SIZE_TARGET / 1e6:.0f} MB on disk: {'met' if disk <= SIZE_TARGET else 'MISSED'}"
        )
    finally:
        for name in ("png-copy", "thumbnail-sample"):
            shutil.rmtree(work / name, ignore_errors=True)


if __name__ == "__main__":
    main()
