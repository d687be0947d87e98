"""A page that eats memory is stopped by the watchdog (``screenshot.max_page_memory_mb``): its
result is an error of its own, the same every run, never rendered again as suspect, and the
pages rendered beside it come out byte for byte as they do without it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.conftest import BAR_REFERENCE
from tests.render_helpers import write_visualization
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.params import ScreenshotParams
from vizhub_pipeline.core.records import read_render
from vizhub_pipeline.screenshot.stage import run_screenshot

DATA = "name,value\na,3\nb,5\nc,9\n"
CAP_MB = 512
PARAMS = ScreenshotParams(timeout=30.0, settle_ms=1000, step_ms=500, concurrency=2, max_page_memory_mb=CAP_MB)
MEMORY_ERROR = "the page used more than 512 MB of memory (screenshot.max_page_memory_mb)"

# Grows ArrayBuffers (touched, so really resident) to 4 GB: far past the cap, yet bounded, so a
# watchdog that failed would show as a page that rendered, not as a machine out of memory.
GROW = (
    "const kept = []; for (let i = 0; i < 64; i++) "
    "{ const b = new ArrayBuffer(64 << 20); new Uint8Array(b).fill(1); kept.push(b); }"
)
BOMBS = {
    "bomb/at-load": f"<!DOCTYPE html><html><body><script>{GROW}</script><p>survived</p></body></html>\n",
    "bomb/in-a-timer": (
        "<!DOCTYPE html><html><body><p>first</p><script>"
        f"setTimeout(() => {{ {GROW} document.body.textContent = 'survived'; }}, 200);"
        "</script></body></html>\n"
    ),
}


def renders_of(layout: Layout) -> dict:
    return {render.model: render for render in (read_render(p) for p in layout.renders.glob("*/*/render.json"))}


def pngs(layout: Layout, prefix: str) -> dict[str, bytes]:
    return {
        str(path.relative_to(layout.renders)): path.read_bytes()
        for path in sorted(layout.renders.glob(f"*/{prefix}*/*.png"))
    }


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="escape", outcome="held")
def test_a_memory_bomb_is_stopped_and_its_neighbours_render_as_without_it(project):
    for number in range(3):
        write_visualization(project, "barsOne", f"normal/{number}", {"index.html": BAR_REFERENCE, "data.csv": DATA})
    layout = Layout.at(project)
    alone = run_screenshot(layout, PARAMS, progress=False)
    assert alone.counts["rendered"] == 3 and alone.memory_kills == 0, alone.lines()
    before = pngs(layout, "normal")

    for model, html in BOMBS.items():
        write_visualization(project, "barsOne", model, {"index.html": html})
    beside = run_screenshot(layout, PARAMS, force=True, progress=False)
    renders = renders_of(layout)
    assert {model: (r.status, r.error) for model, r in renders.items()} == {
        "bomb/at-load": ("error", MEMORY_ERROR),
        "bomb/in-a-timer": ("error", MEMORY_ERROR),
        **{f"normal/{number}": ("rendered", None) for number in range(3)},
    }
    assert all(renders[f"normal/{number}"].checks_passed == 2 for number in range(3))
    assert pngs(layout, "normal") == before  # the neighbours' shots, byte for byte
    # the watchdog's stop is the page's own result: recorded at once, not rendered again
    assert beside.rendered_again == 0 and beside.memory_kills == 2, beside.lines()
    assert "2 page renderer(s) stopped for passing the memory cap" in beside.lines()
    bomb = renders["bomb/at-load"]
    assert bomb.screenshots == () and {c.message for c in bomb.checks} == {f"not run: {MEMORY_ERROR}"}

    # the same record on every run, alone or beside others
    records = {path: path.read_bytes() for path in sorted(layout.renders.glob("*/bomb__*/render.json"))}
    again = run_screenshot(layout, replace(PARAMS, concurrency=1), force=True, progress=False)
    assert again.memory_kills == 2, again.lines()
    assert {path: path.read_bytes() for path in records} == records


@pytest.mark.slow
@pytest.mark.hostile(area="pages", outcome="control")
def test_without_a_cap_the_page_is_not_stopped(project):
    """Cap 0 turns the watchdog off: a page past the cap (1 GB here, twice the cap) then renders."""
    html = BOMBS["bomb/at-load"].replace("i < 64", "i < 16")
    write_visualization(project, "barsOne", "bomb/at-load", {"index.html": html})
    capped = run_screenshot(Layout.at(project), PARAMS, progress=False)
    assert capped.memory_kills == 1, capped.lines()
    layout = Layout.at(project)
    summary = run_screenshot(layout, replace(PARAMS, max_page_memory_mb=0), progress=False)  # a new hash
    render = renders_of(layout)["bomb/at-load"]
    assert render.error is None and render.screenshots == ("screenshot.png",), render
    assert summary.memory_kills == 0


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="escape", outcome="held")
def test_a_page_that_hears_of_its_renderer_after_the_kill_is_still_stopped_for_memory(project, monkeypatch):
    """On a loaded machine the page's word about its renderer (a DevTools event) may reach the run
    only after the watchdog killed that renderer: the stop is still the page's own, recorded at once."""
    from vizhub_pipeline.screenshot.browser import SandboxedPage

    told = SandboxedPage._on_devtools_request

    def told_late(self, event: dict) -> None:
        self.page.on("crash", lambda _page: told(self, event))  # heard only once the renderer is gone

    monkeypatch.setattr(SandboxedPage, "_on_devtools_request", told_late)
    write_visualization(project, "barsOne", "bomb/at-load", {"index.html": BOMBS["bomb/at-load"]})
    layout = Layout.at(project)
    summary = run_screenshot(layout, replace(PARAMS, concurrency=1), progress=False)
    render = renders_of(layout)["bomb/at-load"]
    assert (render.status, render.error) == ("error", MEMORY_ERROR)
    assert summary.rendered_again == 0 and summary.memory_kills == 1, summary.lines()
