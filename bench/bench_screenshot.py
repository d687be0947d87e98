"""Screenshot-stage speed on 20 real pages (the shipped challenges' references and starters).

(a) the original vizhub-benchmarks way: a new browser per page, wait for network idle,
    then a fixed 1 s sleep, then the shot;
(b) this stage: `run_screenshot` (one browser, a fresh context per page, virtual time,
    checks and interaction steps, files written atomically), with params.yaml's default
    `concurrency` (N pages at once), and for reference with concurrency 1;
(c) the bare minimum: the same browser, open the page and take the shot, nothing else,
    one page after another (sequential).

All three serve the same files and CDN mirror through a route (no network). Prints the
per-page wall time of each, (a)/(b) (target >= 10) and (b)/(c) (target <= 1.5) for both
concurrency 1 (like for like with the sequential (c)) and N.

Run: .venv/bin/python bench/bench_screenshot.py
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.render_helpers import write_visualization  # noqa: E402
from vizhub_pipeline.core.challenges import discover_challenges  # noqa: E402
from vizhub_pipeline.core.layout import Layout  # noqa: E402
from vizhub_pipeline.core.mirror import Mirror, content_type, find_node_modules  # noqa: E402
from vizhub_pipeline.core.params import ScreenshotParams, load_params  # noqa: E402
from vizhub_pipeline.screenshot.browser import LAUNCH_ARGS, ORIGIN, find_chromium  # noqa: E402
from vizhub_pipeline.screenshot.stage import run_screenshot  # noqa: E402

PAGES = 20


def build_project(tmp: Path) -> tuple[Layout, list[tuple[Path, int, int, str]]]:
    """A project with 20 visualizations: each challenge's reference and starter, in turn."""
    challenges, problems = discover_challenges(ROOT / "challenges")
    if not challenges:
        raise SystemExit(f"no valid challenges in {ROOT / 'challenges'}: {problems}")
    project = tmp / "project"
    shutil.copytree(ROOT / "challenges", project / "challenges")
    variants = [(c, kind) for c in challenges for kind in ("reference", "starter") if kind == "starter" or c.reference]
    pages = []
    for index, (challenge, kind) in zip(range(PAGES), itertools.cycle(variants)):
        files = challenge.reference_files if kind == "reference" else dict(challenge.files)
        folder = write_visualization(project, challenge.id, f"bench/{kind}", files, sample=index // len(variants))
        pages.append((folder, challenge.viewport.width, challenge.viewport.height, challenge.entry))
    return Layout.at(project), pages


def route_handler(folder: Path, mirror: Mirror):
    async def handle(route):
        url = route.request.url
        if url.startswith(ORIGIN + "/"):
            path = folder / url[len(ORIGIN) + 1 :].split("?")[0]
            if path.is_file():
                await route.fulfill(body=path.read_bytes(), headers={"Content-Type": content_type(path)})
            else:
                await route.fulfill(status=404, body=b"")
            return
        if mirror.handles(url):
            resolved = mirror.resolve(url)
            if resolved.path is not None or resolved.body is not None:
                body = resolved.body if resolved.body is not None else resolved.path.read_bytes()
                await route.fulfill(
                    body=body, headers={"Content-Type": resolved.content_type, "Access-Control-Allow-Origin": "*"}
                )
                return
        await route.abort()

    return handle


async def original_way(pages, mirror: Mirror, out: Path) -> float:
    from playwright.async_api import async_playwright

    executable = find_chromium()
    started = time.perf_counter()
    async with async_playwright() as p:
        for index, (folder, width, height, entry) in enumerate(pages):
            browser = await p.chromium.launch(executable_path=executable, args=list(LAUNCH_ARGS))
            page = await browser.new_page(viewport={"width": width, "height": height})
            await page.route("**/*", route_handler(folder, mirror))
            await page.goto(f"{ORIGIN}/{entry}", wait_until="networkidle")
            await asyncio.sleep(1.0)
            await page.screenshot(path=str(out / f"original-{index}.png"))
            await browser.close()
    return (time.perf_counter() - started) / len(pages)


async def bare_minimum(pages, mirror: Mirror, out: Path) -> float:
    from playwright.async_api import async_playwright

    executable = find_chromium()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=list(LAUNCH_ARGS))
        started = time.perf_counter()
        for index, (folder, width, height, entry) in enumerate(pages):
            context = await browser.new_context(viewport={"width": width, "height": height})
            page = await context.new_page()
            await page.route("**/*", route_handler(folder, mirror))
            await page.goto(f"{ORIGIN}/{entry}")
            await page.screenshot(path=str(out / f"bare-{index}.png"))
            await context.close()
        per_page = (time.perf_counter() - started) / len(pages)
        await browser.close()
    return per_page


def this_stage(layout: Layout, concurrency: int) -> tuple[float, float]:
    """(per page with the browser launch, per page without it)."""
    params = ScreenshotParams(concurrency=concurrency)
    run_screenshot(layout, params, progress=False)  # warm-up: file caches, first launch
    started = time.perf_counter()
    summary = run_screenshot(layout, params, force=True, progress=False)
    wall = time.perf_counter() - started
    rendered = sum(summary.counts.values())
    assert rendered == PAGES, summary.lines()
    launch = measure_launch()
    return wall / PAGES, (wall - launch) / PAGES


def measure_launch() -> float:
    from vizhub_pipeline.screenshot.browser import BrowserSession

    async def launch() -> float:
        started = time.perf_counter()
        session = BrowserSession()
        await session.ensure()
        took = time.perf_counter() - started
        await session.close()
        return took

    return asyncio.run(launch())


def main() -> None:
    n = load_params(ROOT / "params.yaml").screenshot.concurrency
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        layout, pages = build_project(tmp)
        mirror = Mirror(find_node_modules(ROOT))
        stage, stage_no_launch = this_stage(layout, n)
        one, one_no_launch = this_stage(layout, 1)
        bare = asyncio.run(bare_minimum(pages, mirror, tmp))
        original = asyncio.run(original_way(pages, mirror, tmp))
        shots = sum(1 for _ in layout.renders.glob("*/*/*.png"))
        cores = os.cpu_count()
        print(
            f"screenshot: {PAGES} pages ({len({p[0].parent.name for p in pages})} challenges, "
            f"references and starters), {cores} cores"
        )
        print(
            f"  (a) original way (browser per page, network idle + 1 s, sequential): {original * 1000:6.0f} ms per page"
        )
        print(f"  (b) this stage ({shots} shots with the interaction steps, checks, writes):")
        print(
            f"      concurrency {n} (params.yaml default):   {stage * 1000:6.0f} ms per page, "
            f"{stage_no_launch * 1000:6.0f} without its one launch"
        )
        print(
            f"      concurrency 1 (one page at a time):    {one * 1000:6.0f} ms per page, "
            f"{one_no_launch * 1000:6.0f} without its one launch"
        )
        print(
            f"  (c) bare minimum (same browser, new context, open + shot, sequential): {bare * 1000:6.0f} ms per page"
        )
        print(
            f"  (a)/(b) = {original / stage:.1f}x faster with concurrency {n}, "
            f"{original / one:.1f}x with 1 (target >= 10;"
        )
        print(
            f"      (a)/(c) = {original / bare:.1f}x bounds a stage that opens a fresh context per page, "
            "one after another)"
        )
        print(
            f"  (b)/(c) with concurrency 1, like for like with the sequential (c): {one / bare:.2f} "
            f"(target <= 1.5); without the launch {one_no_launch / bare:.2f}"
        )
        print(
            f"  (b)/(c) with concurrency {n} against the sequential (c): {stage / bare:.2f}; "
            f"without the launch {stage_no_launch / bare:.2f}"
        )


if __name__ == "__main__":
    main()
