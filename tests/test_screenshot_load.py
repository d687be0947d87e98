"""A page's status does not depend on the machine's load: time in which other programs keep every
CPU busy and the page is kept from running does not count against its limit."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import BAR_REFERENCE
from tests.render_helpers import write_visualization
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.params import ScreenshotParams
from vizhub_pipeline.core.records import read_render
from vizhub_pipeline.screenshot.stage import run_screenshot

DATA = "name,value\na,3\nb,5\nc,9\n"
PARAMS = ScreenshotParams(timeout=3.0, settle_ms=1000, step_ms=500, concurrency=1)
HELD = 8.0  # seconds the page's renderer is stopped: more than its whole limit (timeout + 2 s)


@contextlib.contextmanager
def others_keep_every_cpu_busy():
    """Busy loops that are not the run's (no process of the test is their parent), two for each
    CPU, at the lowest priority so that the tests beside this one hardly feel them. Killed on the
    way out."""
    pids = []
    try:
        for _ in range(2 * (os.cpu_count() or 1)):
            started = subprocess.run(
                ["sh", "-c", f"nice -n 19 {sys.executable} -c 'while 1: pass' >/dev/null 2>&1 & echo $!"],
                capture_output=True,
                text=True,
                check=True,
            )
            pids.append(int(started.stdout))
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_time_a_page_is_kept_from_running_on_a_busy_machine_does_not_count(project, monkeypatch):
    """On every try the page's renderer is stopped for longer than the page's whole limit, as a
    loaded machine may keep it from running: it renders, byte for byte as when left alone."""
    import asyncio

    from vizhub_pipeline.screenshot.browser import SandboxedPage

    write_visualization(project, "barsOne", "baseline/reference", {"index.html": BAR_REFERENCE, "data.csv": DATA})
    layout = Layout.at(project)
    record = layout.renders / "barsOne" / "baseline__reference" / "render.json"
    alone = run_screenshot(layout, PARAMS, progress=False)
    assert alone.counts["rendered"] == 1, alone.lines()
    before = (record.read_bytes(), (record.parent / "screenshot.png").read_bytes())

    run_clock = SandboxedPage.run_clock
    held: list[int] = []

    async def kept_from_running(self, ms, timeout, **kwargs):
        assert self.renderer_pid is not None  # told by the page (the memory cap is on by default)
        os.kill(self.renderer_pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(HELD)
        finally:
            os.kill(self.renderer_pid, signal.SIGCONT)
        held.append(self.renderer_pid)
        return await run_clock(self, ms, timeout, **kwargs)

    monkeypatch.setattr(SandboxedPage, "run_clock", kept_from_running)
    with others_keep_every_cpu_busy():
        busy = run_screenshot(layout, PARAMS, force=True, progress=False)
    render = read_render(record)
    assert (render.status, render.error, render.checks_passed) == ("rendered", None, 2), busy.lines()
    assert len(held) == 1 and busy.rendered_again == 0, busy.lines()  # the first try stood
    assert (record.read_bytes(), (record.parent / "screenshot.png").read_bytes()) == before
