"""The report opened in the real Chromium: every page loads with no error and no request outside the
report folder, every link and image resolves inside it, the viewer and the sortable tables work,
and the leaderboard is drawn (a screenshot of it is kept for people to look at)."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
from playwright.sync_api import expect

from tests.conftest import REPO_ROOT
from tests.report_project import build_project
from vizhub_pipeline.core.params import ReportParams
from vizhub_pipeline.report.stage import run_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
GRADER_URL = "http://127.0.0.1:8765"
SHOWN = "img:not(#viewer-image)"  # the viewer's image has a source only while it is open

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs a Chromium (set up with `make setup`)")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    layout = build_project(tmp_path_factory.mktemp("browser") / "project")
    run_report(layout, ReportParams(grader_url=GRADER_URL))
    return layout.report


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def served(report):
    """The report folder on a local web server (what a reader gets from any static host)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(report)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


class Visit:
    """A browser context that answers requests inside the report and records (and aborts) any other."""

    def __init__(self, browser, base: str):
        self.base = base
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1300, "height": 900})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.page.on(
            "console", lambda message: message.type in ("error", "warning") and self.errors.append(message.text)
        )
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("requestfailed", self._failed)
        self.page.on(
            "response",
            lambda response: response.status >= 400 and self.errors.append(f"{response.status}: {response.url}"),
        )

    def _failed(self, request):
        # a load the page itself gave up (the viewer's image replaced before it arrived) is no error
        if request.failure != "net::ERR_ABORTED":
            self.errors.append(f"failed ({request.failure}): {request.url}")

    def _route(self, route):
        if route.request.url.startswith(self.base):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def open(self, name: str):
        response = self.page.goto(self.base + name)
        assert response is not None and response.ok, name
        self.page.wait_for_load_state("load")
        return self.page


@pytest.fixture
def visit(browser, served):
    opened = Visit(browser, served)
    yield opened
    opened.context.close()


def test_every_page_loads_clean_and_every_link_and_image_is_in_the_report(report, visit):
    pages = sorted(path.relative_to(report).as_posix() for path in report.rglob("*.html"))
    assert len(pages) > 5
    review_links = 0
    for name in pages:
        page = visit.open(name)
        images = page.evaluate(
            f"[...document.querySelectorAll('{SHOWN}')].map(i => [i.currentSrc, i.complete, i.naturalWidth])"
        )
        for src, complete, width in images:
            assert complete and width > 0, f"{name}: image {src} did not show"
        targets = page.evaluate(
            "[...document.querySelectorAll('a[href], link[href], script[src], img[src]')].map(e => e.href || e.src)"
        )
        for target in targets:
            if target.startswith(GRADER_URL + "/review/"):
                review_links += 1
                continue
            url, fragment = urldefrag(target)
            assert url.startswith(visit.base), f"{name} links outside the report: {target}"
            path = report / unquote(urlsplit(url).path.removeprefix(urlsplit(visit.base).path))
            assert path.is_file(), f"{name} links to {target}, which is not in the report"
            if fragment and path.suffix == ".html":
                assert f'id="{fragment}"' in path.read_text(), f"{name} links to a missing anchor {target}"
    assert not visit.errors, visit.errors
    assert not visit.outside, visit.outside
    assert review_links >= 26  # one per output card, plus the review queue


def test_the_viewer_opens_full_size_images_moves_with_the_arrows_and_closes_with_escape(visit):
    page = visit.open("challenges/carBrushScatter.html")
    shots = page.locator("a.shot")
    count = shots.count()
    assert count >= 3  # a screenshot and interaction steps
    shots.nth(0).click()
    viewer = page.locator("#viewer")
    assert viewer.is_visible()
    first = shots.nth(0).get_attribute("href")
    assert page.locator("#viewer-image").get_attribute("src") == first
    # Waits for the image to load without evaluating a string in the page (its CSP forbids eval).
    expect(page.locator("#viewer-image")).to_have_js_property("naturalWidth", 800, timeout=60_000)  # full size
    assert page.locator("#viewer-position").inner_text() == f"1 / {count}"
    page.keyboard.press("ArrowRight")
    assert page.locator("#viewer-image").get_attribute("src") == shots.nth(1).get_attribute("href")
    assert page.locator("#viewer-position").inner_text() == f"2 / {count}"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # wraps around to the last
    assert page.locator("#viewer-position").inner_text() == f"{count} / {count}"
    page.keyboard.press("Escape")
    assert not viewer.is_visible()
    assert not visit.errors and not visit.outside


def test_tables_sort_by_a_clicked_column(visit):
    page = visit.open("index.html")
    table = page.locator("#challenges + .table-wrap table")
    header = table.locator("th", has_text="Challenge").locator("button")
    names = lambda: table.locator("tbody tr td:first-child").evaluate_all("cells => cells.map(c => c.dataset.sort)")  # noqa: E731
    original = names()
    header.click()
    assert names() == sorted(original, key=str.casefold, reverse=True)
    header.click()
    assert names() == sorted(original, key=str.casefold)
    assert table.locator("th").first.get_attribute("aria-sort") == "ascending"


def test_the_leaderboard_is_drawn(visit, tmp_path):
    from PIL import Image

    page = visit.open("index.html")
    chart = page.locator("#board-human svg.chart")
    assert chart.locator("circle.dot").count() >= 2 * 3  # two models, three dimensions
    shot = tmp_path / "leaderboard.png"
    page.locator("#board-human").screenshot(path=str(shot))
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # text, dots and bars, not a blank box
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)


def test_the_report_opens_from_disk(browser, report):
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    for name in ("index.html", "challenges/stockPriceChart.html"):
        page.goto((report / name).as_uri())
        page.wait_for_load_state("load")
        widths = page.evaluate(f"[...document.querySelectorAll('{SHOWN}')].map(i => i.naturalWidth)")
        assert all(widths), name
    page.locator("a.shot").first.click()
    assert page.locator("#viewer").is_visible()
    assert not errors, errors
    context.close()


@pytest.mark.skipif(not (REPO_ROOT / "node_modules" / "vega-embed").is_dir(), reason="needs node_modules (npm ci)")
def test_dvc_plots_show_draws_offline_from_the_local_vega(browser, report, tmp_path):
    """`dvc plots show` with the project's HTML template: every plot drawn (leaderboard, score distribution,
    automated rates), nothing fetched from a CDN."""
    import os
    import subprocess
    import sys

    project = report.parent.parent
    root = tmp_path / "plots"
    shutil.copytree(project / "results" / "consensus" / "plots", root / "results" / "consensus" / "plots")
    shutil.copy(REPO_ROOT / "dvc.yaml", root / "dvc.yaml")
    (root / "vizhub_pipeline").symlink_to(REPO_ROOT / "vizhub_pipeline", target_is_directory=True)
    (root / "node_modules").symlink_to(REPO_ROOT / "node_modules", target_is_directory=True)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for command in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(command, cwd=root, env=env, check=True, capture_output=True, timeout=120)
    for name in ("config", "offline-plots.html"):
        shutil.copy(REPO_ROOT / ".dvc" / name, root / ".dvc" / name)
    shown = subprocess.run(["dvc", "plots", "show"], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    html = (root / "dvc_plots" / "index.html").read_text()
    assert "cdn.jsdelivr.net" not in html and "../node_modules/vega/build/vega.min.js" in html

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        visit = Visit(browser, f"http://127.0.0.1:{server.server_address[1]}/")
        page = visit.open("dvc_plots/index.html")
        page.wait_for_function("document.querySelectorAll('.vega-embed svg, .vega-embed canvas').length >= 3")
        assert page.locator(".vega-embed").count() == 3
        assert not visit.outside, visit.outside
        assert not visit.errors, visit.errors
        visit.context.close()
    finally:
        server.shutdown()
        server.server_close()
