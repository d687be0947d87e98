"""The screenshot stage end to end, in real Chromium: statuses of hostile pages, determinism,
skipping unchanged pages, interaction steps, pruning, the summary table and the CLI."""

from __future__ import annotations

import csv
from dataclasses import replace

import pytest
from click.testing import CliRunner

from tests.conftest import BAR_REFERENCE, write_challenge
from tests.render_helpers import write_visualization
from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.params import ScreenshotParams
from vizhub_pipeline.core.records import read_render
from vizhub_pipeline.screenshot.stage import decide_status, is_one_colour, run_screenshot

FAST = ScreenshotParams(timeout=10.0, settle_ms=2000, step_ms=500)
DATA = "name,value\na,3\nb,5\nc,9\n"


def page(body: str, head: str = '<script src="https://cdn.jsdelivr.net/npm/d3@7"></script>') -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head>"
        f"<body><div id='chart'></div>\n<script>\n{body}\n</script></body></html>\n"
    )


DRAW = """
d3.csv("data.csv", d3.autoType).then(rows => {
  const svg = d3.select("#chart").append("svg").attr("width", 400).attr("height", 300);
  svg.selectAll("rect").data(rows).join("rect").attr("class", "bar")
    .attr("x", (d, i) => 20 + i * 60).attr("width", 50).attr("y", 280).attr("height", 0)
    .transition().duration(800).attr("y", d => 280 - d.value * 20).attr("height", d => d.value * 20);
});
"""

HOSTILE = {
    "t/01-missing-entry": None,  # no index.html at all
    "t/02-endless-loop": page("while (true) {}"),
    "t/03-after-loop": page(DRAW),
    "t/04-loop-in-callback": page('d3.csv("data.csv").then(() => { while (true) {} });'),
    "t/05-alert-loop": page("for (let i = 0; i < 20000; i++) { alert(i); confirm('sure?'); prompt('name'); }\n" + DRAW),
    "t/06-navigate-away": page(DRAW + '\nsetTimeout(() => { window.location = "https://evil.example/steal"; }, 100);'),
    "t/07-fetch-outside": page('fetch("https://api.example.com/data.json").catch(() => {});\n' + DRAW),
    "t/08-throws-first": page('throw new Error("boom before drawing");\n' + DRAW),
    "t/09-huge-dom": page(
        "const f = document.createDocumentFragment();\n"
        "for (let i = 0; i < 20000; i++) {\n"
        "  const d = document.createElement('div'); d.textContent = i; f.appendChild(d);\n"
        "}\n"
        "document.body.appendChild(f);"
    ),
    "t/10-blank": page("/* draws nothing */"),
    "t/11-popup-and-socket": page(
        "window.open('https://evil.example/'); try { new WebSocket('wss://evil.example/socket'); } catch (e) {}\n"
        + DRAW
    ),
}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "project"
    root.mkdir()
    write_challenge(root, "barsOne")
    for model, html in HOSTILE.items():
        files = {"data.csv": DATA} if html is None else {"index.html": html, "data.csv": DATA}
        write_visualization(root, "barsOne", model, files)
    write_visualization(
        root, "barsOne", "t/12-unparseable", {}, status="unparseable", error="the reply has no file blocks"
    )
    broken = write_visualization(root, "barsOne", "t/13-broken-meta", {"index.html": page(DRAW)})
    (broken / "meta.json").write_text("{not json", encoding="utf-8")
    layout = Layout.at(root)
    lines = []
    summary = run_screenshot(layout, FAST, echo=lines.append, progress=False)
    renders = {r.model: r for r in (read_render(p) for p in sorted(layout.renders.glob("*/*/render.json")))}
    return layout, summary, renders, lines


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="hang", outcome="held")
def test_every_hostile_page_ends_as_a_recorded_status(hostile_run):
    layout, summary, renders, _ = hostile_run
    statuses = {model: render.status for model, render in renders.items()}
    details = {model: (render.status, render.error) for model, render in renders.items()}
    assert statuses == {
        "t/01-missing-entry": "error",
        "t/02-endless-loop": "timeout",
        "t/03-after-loop": "rendered",
        "t/04-loop-in-callback": "timeout",
        "t/05-alert-loop": "rendered",
        "t/06-navigate-away": "rendered",
        "t/07-fetch-outside": "rendered",
        "t/08-throws-first": "error",
        "t/09-huge-dom": "rendered",
        "t/10-blank": "blank",
        "t/11-popup-and-socket": "rendered",
        "t/12-unparseable": "error",
    }, details
    assert summary.failures == [
        f"{layout.visualizations}/barsOne/t__13-broken-meta/meta.json:1: "
        "not valid JSON: Expecting property name enclosed in double quotes"
    ]
    assert not summary.ok and summary.lines()[-1].startswith("failed: ")
    assert summary.counts == {"rendered": 6, "blank": 1, "error": 3, "timeout": 2}
    # the two endless loops time out beside another page, then again alone: that is recorded
    assert summary.rendered_again >= 2


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="hang", outcome="clear_error")
def test_failures_say_why(hostile_run):
    _, _, renders, lines = hostile_run
    missing = renders["t/01-missing-entry"]
    assert missing.error.startswith("entry file index.html is missing from ")
    assert missing.screenshots == ()
    assert [c.passed for c in missing.checks] == [False, False]
    assert (
        renders["t/12-unparseable"].error == "generation unparseable: nothing to render: the reply has no file blocks"
    )
    # timeouts name the page's limit (the same on every run), not the seconds that were left
    assert renders["t/02-endless-loop"].error == "the page did not load within 10 s"
    callback = renders["t/04-loop-in-callback"]
    assert callback.error in (
        "the page did not settle within 10 s (timers that never end, or an endless loop)",
        "the page did not answer within 10 s",
    ), callback
    thrown = renders["t/08-throws-first"]
    assert thrown.page_errors and "boom before drawing" in thrown.page_errors[0]
    assert thrown.screenshots == ("screenshot.png",)
    assert any(line.startswith("barsOne/t__02-endless-loop: timeout") for line in lines)


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="hang", outcome="held")
def test_the_page_after_an_endless_loop_renders_normally(hostile_run):
    layout, _, renders, _ = hostile_run
    after = renders["t/03-after-loop"]
    assert after.checks_passed == len(after.checks) == 2
    assert after.console_errors == () and after.blocked_requests == ()
    png = (layout.renders / "barsOne" / "t__03-after-loop" / "screenshot.png").read_bytes()
    assert png.startswith(b"\x89PNG") and not is_one_colour(png)


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="escape", outcome="held")
def test_network_and_navigation_are_cut_off_and_recorded(hostile_run):
    _, _, renders, _ = hostile_run
    assert renders["t/07-fetch-outside"].blocked_requests == ("https://api.example.com/data.json",)
    navigate = renders["t/06-navigate-away"]
    assert navigate.blocked_requests == ("navigation away to https://evil.example/steal",)
    assert navigate.checks_passed == 2  # still the page: the bars are there, nothing logged
    popup = renders["t/11-popup-and-socket"]
    assert popup.blocked_requests == ("websocket wss://evil.example/socket",)  # window.open is a no-op
    alerts = renders["t/05-alert-loop"]
    assert alerts.checks_passed == 2 and alerts.page_errors == ()


@pytest.mark.slow
def test_summary_table_lists_every_render(hostile_run):
    layout, _, renders, _ = hostile_run
    with open(layout.renders / "summary.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["model"] for row in rows] == sorted(renders)
    fetch = next(row for row in rows if row["model"] == "t/07-fetch-outside")
    assert fetch["status"] == "rendered" and fetch["blocked_requests"] == "1" and fetch["checks_total"] == "2"
    assert fetch["artifact_hash"] == renders["t/07-fetch-outside"].artifact_hash


# --------------------------------------------------------------------------- determinism and skipping

RANDOM_DOTS = """
const svg = d3.select("#chart").append("svg").attr("width", 300).attr("height", 200);
svg.selectAll("circle").data(d3.range(40)).join("circle").attr("class", "dot")
  .attr("cx", () => Math.random() * 300).attr("cy", () => Math.random() * 200).attr("r", 0)
  .attr("fill", () => d3.interpolateTurbo(Math.random()))
  .transition().delay((d, i) => i * 20).duration(700).attr("r", 6);
svg.append("text").attr("x", 10).attr("y", 190).text(new Date().toISOString());
"""


@pytest.fixture
def small_project(project):
    write_visualization(project, "barsOne", "baseline/reference", {"index.html": BAR_REFERENCE, "data.csv": DATA})
    write_visualization(project, "barsOne", "random/dots", {"index.html": page(RANDOM_DOTS), "data.csv": DATA})
    write_visualization(project, "barsTwo", "baseline/reference", {"index.html": BAR_REFERENCE, "data.csv": DATA})
    return project


def shots(layout: Layout) -> dict[str, bytes]:
    return {str(p.relative_to(layout.renders)): p.read_bytes() for p in sorted(layout.renders.glob("*/*/*.png"))}


@pytest.mark.slow
def test_same_page_same_png_bytes_and_unchanged_pages_are_skipped(small_project):
    layout = Layout.at(small_project)
    first = run_screenshot(layout, FAST, progress=False)
    assert first.counts["rendered"] == 3 and first.skipped == 0
    before = shots(layout)
    render_json = (layout.renders / "barsOne" / "random__dots" / "render.json").read_bytes()

    again = run_screenshot(layout, FAST, progress=False)
    assert again.skipped == 3 and sum(again.counts.values()) == 0
    assert (layout.renders / "barsOne" / "random__dots" / "render.json").read_bytes() == render_json

    records = records_of(layout)
    forced = run_screenshot(layout, FAST, force=True, progress=False)
    assert forced.counts["rendered"] == 3
    assert shots(layout) == before  # virtual time, seeded Math.random: byte-identical screenshots
    assert records_of(layout) == records  # render.json too: rendering again changes no committed byte
    assert forced.lines()[1].startswith("time per page: median ")  # timings are printed instead

    # a hand edit of a served file renders that page again, and only it
    (layout.visualizations / "barsTwo" / "baseline__reference" / "data.csv").write_text("name,value\na,1\nb,2\nc,3\n")
    edited = run_screenshot(layout, FAST, progress=False)
    assert (edited.counts["rendered"], edited.skipped) == (1, 2)
    assert (
        shots(layout)["barsTwo/baseline__reference/screenshot.png"]
        != before["barsTwo/baseline__reference/screenshot.png"]
    )

    # other parameters: everything renders again
    changed = run_screenshot(
        layout, ScreenshotParams(timeout=10.0, settle_ms=2000, step_ms=500, seed=7), progress=False
    )
    assert changed.counts["rendered"] == 3
    assert shots(layout)["barsOne/random__dots/screenshot.png"] != before["barsOne/random__dots/screenshot.png"]


@pytest.mark.slow
def test_filters_and_pruning(small_project):
    layout = Layout.at(small_project)
    only = run_screenshot(layout, FAST, challenges=["barsTwo"], progress=False)
    assert only.counts["rendered"] == 1
    assert [p.parent.name for p in layout.renders.glob("*/*/render.json")] == ["baseline__reference"]
    run_screenshot(layout, FAST, models=["random/dots"], progress=False)
    assert sorted(str(p.parent.relative_to(layout.renders)) for p in layout.renders.glob("*/*/render.json")) == [
        "barsOne/random__dots",
        "barsTwo/baseline__reference",
    ]
    import shutil

    shutil.rmtree(layout.visualizations / "barsOne" / "random__dots")
    pruned = run_screenshot(layout, FAST, models=["nobody/else"], progress=False)
    assert pruned.pruned == ["results/renders/barsOne/random__dots"]
    assert not (layout.renders / "barsOne").exists()
    rows = (layout.renders / "summary.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].startswith("barsTwo,baseline/reference,0,rendered,2,2,")


# --------------------------------------------------------------------------- interaction steps

STEPS_YAML = """\
title: Interactive bars
viewport: {width: 640, height: 400}
checks:
  - type: count
    selector: "rect.bar"
    equals: 3
  - type: script
    name: tooltip hidden
    expr: "getComputedStyle(document.querySelector('#tip')).opacity === '0'"
interactions:
  - name: hover-bar
    action: hover
    selector: "rect.bar"
    nth: 2
    checks:
      - type: text
        name: tooltip names the bar
        selector: "#tip"
        text: "c: 9"
      - type: script
        name: tooltip faded in
        expr: "getComputedStyle(document.querySelector('#tip')).opacity === '1'"
  - name: click-bar
    action: click
    selector: "rect.bar"
    nth: 0
    checks:
      - type: count
        name: one selected
        selector: "rect.selected"
        equals: 1
  - name: brush
    action: drag
    selector: "svg"
    from: [0.02, 0.5]
    to: [0.25, 0.9]
    checks:
      - type: text
        name: brushed count shown
        selector: "#status"
        text: "2 brushed"
  - name: escape
    action: press
    key: Escape
    checks:
      - type: count
        name: selection cleared
        selector: "rect.selected"
        equals: 0
  - name: zoom
    action: wheel
    selector: "svg"
    delta_y: -300
    checks:
      - type: attribute
        name: zoomed in
        selector: "g.plot"
        attribute: transform
        matches: "scale\\\\(1\\\\.[0-9]"
  - name: later
    action: wait
    wait_ms: 6000
    checks:
      - type: text
        name: timer fired
        selector: "#status"
        text: "late"
  - name: missing
    action: hover
    selector: "circle.none"
"""

STEPS_HTML = page(
    """
const rows = [{name: "a", value: 3}, {name: "b", value: 5}, {name: "c", value: 9}];
const svg = d3.select("#chart").append("svg").attr("width", 600).attr("height", 300);
const brushLayer = svg.append("g");  // under the bars, so hovering a bar reaches the bar
const plot = svg.append("g").attr("class", "plot");
const tip = d3.select("body").append("div").attr("id", "tip").style("position", "absolute").style("opacity", 0);
const status = d3.select("body").append("div").attr("id", "status");
const bars = plot.selectAll("rect").data(rows).join("rect").attr("class", "bar")
  .attr("x", (d, i) => 20 + i * 60).attr("width", 50).attr("y", d => 280 - d.value * 20)
  .attr("height", d => d.value * 20).attr("fill", "steelblue")
  .on("mouseover", (event, d) => tip.text(`${d.name}: ${d.value}`).transition().duration(300).style("opacity", 1))
  .on("click", function () { d3.select(this).classed("selected", true); });
brushLayer.call(d3.brushX().extent([[0, 0], [600, 300]]).on("end", ({selection}) => {
  if (!selection) return;
  const n = rows.filter((d, i) => 20 + i * 60 + 25 >= selection[0] && 20 + i * 60 + 25 <= selection[1]).length;
  status.text(`${n} brushed`);
}));
d3.select(window).on("keydown", event => { if (event.key === "Escape") bars.classed("selected", false); });
svg.call(d3.zoom().on("zoom", event => plot.attr("transform", event.transform)));
setTimeout(() => status.text(status.text() + " late"), 10000);
"""
)


@pytest.mark.slow
def test_interaction_steps_each_shot_and_checked(project):
    folder = project / "challenges" / "steps"
    folder.mkdir()
    (folder / "challenge.yaml").write_text(STEPS_YAML)
    (folder / "prompt.md").write_text("Make the bars interactive.\n")
    (folder / "files").mkdir()
    (folder / "files" / "index.html").write_text(page("// TODO"))
    write_visualization(project, "steps", "baseline/reference", {"index.html": STEPS_HTML})
    layout = Layout.at(project)
    summary = run_screenshot(layout, FAST, challenges=["steps"], progress=False)
    assert summary.ok, summary.lines()
    render = read_render(layout.renders / "steps" / "baseline__reference" / "render.json")
    assert render.status == "rendered", render
    assert render.viewport == {"width": 640, "height": 400}
    failed = [(c.step, c.name, c.message) for c in render.checks if not c.passed]
    assert failed == [("missing", "missing performed", "no element matches circle.none")]
    assert {c.step for c in render.checks} == {
        None,
        "hover-bar",
        "click-bar",
        "brush",
        "escape",
        "zoom",
        "later",
        "missing",
    }
    names = ["screenshot.png"] + [
        f"step-{n}-{s}.png"
        for n, s in enumerate(["hover-bar", "click-bar", "brush", "escape", "zoom", "later", "missing"], 1)
    ]
    assert list(render.screenshots) == names
    pngs = [(layout.renders / "steps" / "baseline__reference" / name).read_bytes() for name in names]
    assert pngs[0] != pngs[1]  # the tooltip shows in the hover shot


# --------------------------------------------------------------------------- pure parts and the CLI


def test_status_precedence():
    assert decide_status(timed_out=True, error="x", page_errors=["e"], blank=True) == "timeout"
    assert decide_status(timed_out=False, error=None, page_errors=["e"], blank=True) == "error"
    assert decide_status(timed_out=False, error="crashed", page_errors=[], blank=False) == "error"
    assert decide_status(timed_out=False, error=None, page_errors=[], blank=True) == "blank"
    assert decide_status(timed_out=False, error=None, page_errors=[], blank=False) == "rendered"


@pytest.mark.slow
def test_cli_screenshot(small_project):
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["screenshot", "--project", str(small_project), "--challenge", "barsTwo", "--no-progress"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "screenshot: 1 rendered, 0 blank, 0 error, 0 timeout, 0 skipped (unchanged); "
        "checks passed 2/2 (in the pages rendered now)"
    )
    result = runner.invoke(
        cli, ["screenshot", "--project", str(small_project), "--challenge", "nope"], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert (
        "challenge skipped: " in result.output and "nope: no such challenge (known: barsOne, barsTwo)" in result.output
    )


def test_cli_without_chromium_says_how_to_fix(small_project, monkeypatch):
    monkeypatch.setenv("VIZHUB_CHROMIUM", str(small_project / "no-such-chromium"))
    result = CliRunner().invoke(cli, ["screenshot", "--project", str(small_project)], catch_exceptions=False)
    assert result.exit_code == 1
    chromium = small_project / "no-such-chromium"
    assert result.output == f"Error: VIZHUB_CHROMIUM={chromium} is not an executable file: fix it or unset it\n"
    assert not (small_project / "results" / "renders" / "barsOne").exists()


@pytest.mark.slow
def test_vizhub_benchmark_generates_then_renders_only_the_selection(project, loopback):
    """The original's command: a real model call (the loopback server) then a real render."""
    import json

    from click.testing import CliRunner

    from tests.conftest import BAR_REFERENCE
    from tests.loopback_server import Behaviour
    from vizhub_pipeline.cli import cli

    loopback.default = Behaviour(reply=f"Done.\n\n**index.html**\n```html\n{BAR_REFERENCE}```\n")
    result = CliRunner().invoke(
        cli,
        ["benchmark", "--project", str(project), "--challenge", "barsOne", "--models", "openai/loop-model"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "generate: 1 done" in result.output
    assert "screenshot: 1 rendered" in result.output
    assert len(loopback.requests) == 1
    render = json.loads(
        (project / "results" / "renders" / "barsOne" / "openai__loop-model" / "render.json").read_text()
    )
    assert render["status"] == "rendered"
    assert [check["passed"] for check in render["checks"]] == [True, True]
    rendered = sorted(
        p.relative_to(project / "results" / "renders").parent.as_posix()
        for p in (project / "results" / "renders").rglob("render.json")
    )
    assert rendered == ["barsOne/openai__loop-model"]


# --------------------------------------------------------------------------- several pages at once

CONCURRENT = ScreenshotParams(timeout=10.0, settle_ms=2000, step_ms=500, concurrency=3)


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="escape", outcome="held")
def test_hostile_pages_beside_normal_ones_at_once(project):
    hostile = {
        "h/endless-loop": page("while (true) {}"),
        "h/alert-loop": page("for (let i = 0; i < 20000; i++) { alert(i); confirm('sure?'); }\n" + DRAW),
        "h/throws": page('throw new Error("boom");\n' + DRAW),
    }
    for model, html in hostile.items():
        write_visualization(project, "barsOne", model, {"index.html": html, "data.csv": DATA})
    for number in range(4):
        write_visualization(project, "barsOne", f"normal/{number}", {"index.html": BAR_REFERENCE, "data.csv": DATA})
    layout = Layout.at(project)
    summary = run_screenshot(layout, CONCURRENT, progress=False)
    renders = {r.model: r for r in (read_render(p) for p in layout.renders.glob("*/*/render.json"))}
    details = {model: (render.status, render.error) for model, render in renders.items()}
    assert {model: render.status for model, render in renders.items()} == {
        "h/endless-loop": "timeout",
        "h/alert-loop": "rendered",
        "h/throws": "error",
        **{f"normal/{number}": "rendered" for number in range(4)},
    }, details
    assert all(renders[f"normal/{n}"].checks_passed == 2 for n in range(4)), details
    assert "boom" in renders["h/throws"].page_errors[0] and renders["h/throws"].error is None
    assert renders["h/endless-loop"].error == "the page did not load within 10 s"
    assert summary.ok and summary.counts == {"rendered": 5, "blank": 0, "error": 1, "timeout": 1}
    assert summary.rendered_again >= 1  # the endless loop, at least
    assert summary.checks_total == 14
    with open(layout.renders / "summary.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["model"] for row in rows] == sorted(renders)
    assert not list(layout.renders.glob("*/.*"))  # no staging folder left behind


def records_of(layout: Layout) -> dict[str, bytes]:
    """Every render.json, byte for byte: nothing in them may vary from run to run."""
    return {str(p.relative_to(layout.renders)): p.read_bytes() for p in sorted(layout.renders.glob("*/*/render.json"))}


@pytest.mark.slow
def test_concurrency_one_and_three_give_the_same_bytes(small_project):
    for number in range(3):
        write_visualization(
            small_project, "barsTwo", f"random/dots-{number}", {"index.html": page(RANDOM_DOTS), "data.csv": DATA}
        )
    layout = Layout.at(small_project)
    # a roomy limit: on a busy machine three pages on two cores must not reach it
    params = ScreenshotParams(timeout=30.0, settle_ms=2000, step_ms=500, concurrency=1)
    one = run_screenshot(layout, params, progress=False)
    assert one.counts["rendered"] == 6, one.lines()
    before = shots(layout)
    records = records_of(layout)
    three = run_screenshot(layout, replace(params, concurrency=3), progress=False)
    assert three.skipped == 6  # concurrency is not part of the render hash
    three = run_screenshot(layout, replace(params, concurrency=3), force=True, progress=False)
    assert three.counts["rendered"] == 6, three.lines()
    assert shots(layout) == before
    assert records_of(layout) == records  # same bytes: no timings or other run-dependent field


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="escape", outcome="held")
def test_pages_on_a_browser_another_page_took_down_render_again(project, monkeypatch):
    """A context that will not close takes the browser down; the pages in flight beside it
    are not blamed: they render again on the new browser, and the page itself keeps its result."""
    import asyncio
    from collections import Counter

    from vizhub_pipeline.screenshot.browser import SandboxedPage

    for model in ("t/culprit", "t/victim-1", "t/victim-2"):
        write_visualization(project, "barsOne", model, {"index.html": BAR_REFERENCE, "data.csv": DATA})
    state = {"waiting": 0, "closed": 0, "killed": False, "runs": Counter()}
    run_clock, close = SandboxedPage.run_clock, SandboxedPage.close

    def name(page) -> str:
        return page.site.files["index.html"].parent.name

    async def patched_run_clock(self, ms, timeout, **kwargs):
        if name(self) != "t__culprit" and not state["killed"]:
            state["waiting"] += 1  # hold the other pages in flight until the browser is gone
            while not state["killed"]:
                await asyncio.sleep(0.01)
        return await run_clock(self, ms, timeout, **kwargs)

    async def patched_close(self):
        state["runs"][name(self)] += 1
        if name(self) == "t__culprit" and not state["killed"]:
            # no cap in time: a loaded machine may take long to bring both victims that far; a victim
            # that ended without getting there (it is then closed) ends the wait too, and fails below
            while state["waiting"] + state["closed"] < 2:
                await asyncio.sleep(0.01)

            async def will_not_close():
                raise TimeoutError("the context would not close")

            self.context.close = will_not_close
            closed = await close(self)
            state["killed"] = True
            return closed
        if name(self) != "t__culprit" and not state["killed"]:
            state["closed"] += 1
        return await close(self)

    monkeypatch.setattr(SandboxedPage, "run_clock", patched_run_clock)
    monkeypatch.setattr(SandboxedPage, "close", patched_close)
    layout = Layout.at(project)
    summary = run_screenshot(layout, CONCURRENT, progress=False)
    renders = {r.model: r for r in (read_render(p) for p in layout.renders.glob("*/*/render.json"))}
    assert {model: (r.status, r.error) for model, r in renders.items()} == {
        "t/culprit": ("rendered", None),
        "t/victim-1": ("rendered", None),
        "t/victim-2": ("rendered", None),
    }
    # the victims lost their browser and rendered again alone; the culprit's own result stood
    # (on a loaded machine its first try may also have run out of time: then it rendered again too)
    assert state["waiting"] == 2 and state["runs"]["t__victim-1"] == state["runs"]["t__victim-2"] == 2
    assert summary.relaunches == 1 and summary.counts["rendered"] == 3 and summary.ok, summary.lines()
    assert summary.rendered_again == 2 + (state["runs"]["t__culprit"] - 1)


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="escape", outcome="held")
def test_a_page_beside_a_history_flood_renders_as_it_does_alone(project):
    """A page that floods history.pushState stalls the browser for its neighbours; the
    neighbour's result must still be its own (rendered), at any concurrency."""
    flood = page("for (;;) { history.pushState({}, '', '#' + Math.random()); }")
    write_visualization(project, "barsOne", "h/flood", {"index.html": flood, "data.csv": DATA})
    write_visualization(project, "barsOne", "baseline/reference", {"index.html": BAR_REFERENCE, "data.csv": DATA})
    layout = Layout.at(project)
    summary = run_screenshot(layout, replace(CONCURRENT, concurrency=2), progress=False)
    reference = read_render(layout.renders / "barsOne" / "baseline__reference" / "render.json")
    assert (reference.status, reference.error, reference.checks_passed) == ("rendered", None, 2), summary.lines()
    flooded = read_render(layout.renders / "barsOne" / "h__flood" / "render.json")
    assert flooded.status == "timeout", flooded


@pytest.mark.slow
def test_a_renderer_killed_from_outside_renders_again_and_the_crash_is_not_kept(project, monkeypatch):
    """SIGKILL of the page's renderer process mid-render: the page renders again alone, the
    recorded (and cached) result is the real one, and the next run skips it."""
    import os
    import signal

    from vizhub_pipeline.screenshot.browser import SandboxedPage

    write_visualization(project, "barsOne", "baseline/reference", {"index.html": BAR_REFERENCE, "data.csv": DATA})
    run_clock = SandboxedPage.run_clock
    killed: list[int] = []

    async def killing_run_clock(self, ms, timeout, **kwargs):
        if not killed:
            cdp = await self.browser.new_browser_cdp_session()
            processes = (await cdp.send("SystemInfo.getProcessInfo"))["processInfo"]
            for process in processes:
                if process["type"] == "renderer":  # one page open: its renderer and spares
                    os.kill(process["id"], signal.SIGKILL)
                    killed.append(process["id"])
            await cdp.detach()
        return await run_clock(self, ms, timeout, **kwargs)

    monkeypatch.setattr(SandboxedPage, "run_clock", killing_run_clock)
    layout = Layout.at(project)
    params = replace(CONCURRENT, concurrency=1)
    summary = run_screenshot(layout, params, progress=False)
    assert killed
    render = read_render(layout.renders / "barsOne" / "baseline__reference" / "render.json")
    assert (render.status, render.error, render.checks_passed) == ("rendered", None, 2)
    assert summary.rendered_again == 1 and summary.counts["rendered"] == 1, summary.lines()
    assert "1 page(s) rendered again alone after a timeout or crash (the second result is recorded)" in summary.lines()
    assert run_screenshot(layout, params, progress=False).skipped == 1


@pytest.mark.slow
def test_a_result_that_stays_suspect_is_never_cached(project, monkeypatch):
    """A run interrupted before a suspect page rendered again alone leaves no record of it,
    so the next run renders it instead of keeping the doubtful result."""
    from vizhub_pipeline.screenshot import stage

    write_visualization(project, "barsOne", "h/endless-loop", {"index.html": page("while (true) {}"), "data.csv": DATA})
    layout = Layout.at(project)
    original = stage.render_item
    calls = []

    async def interrupted_on_retry(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user stops the run before the page renders alone
        return await original(*args, **kwargs)

    monkeypatch.setattr(stage, "render_item", interrupted_on_retry)
    params = ScreenshotParams(timeout=2.0, settle_ms=500, step_ms=100)
    with pytest.raises(KeyboardInterrupt):
        run_screenshot(layout, params, progress=False)
    assert not (layout.renders / "barsOne" / "h__endless-loop").exists()
    assert not list(layout.renders.glob("*/.*"))  # no staging folder left behind
    monkeypatch.setattr(stage, "render_item", original)
    summary = run_screenshot(layout, params, progress=False)
    assert summary.counts["timeout"] == 1 and summary.skipped == 0


# --------------------------------------------------------------------------- Chromium's own sandbox

SHIPPED = (  # real outputs of the benchmark: a chart with interaction steps, a library chart, a tooltip
    "sensorZoomLine/baseline__reference",
    "ticketsHeatmapVegaLite/baseline__reference",
    "visitorsTooltip/baseline__reference",
)


@pytest.mark.slow
def test_shipped_outputs_render_the_same_bytes_in_and_out_of_chromiums_sandbox(tmp_path, monkeypatch):
    """The sandbox (as nobody, through setpriv, when root) changes nothing a page renders, and the
    run's summary says which sandbox ran."""
    import shutil

    from tests.conftest import REPO_ROOT
    from vizhub_pipeline.screenshot.chromium_sandbox import SANDBOX_ENV

    root = tmp_path / "project"
    for item in SHIPPED:
        challenge, name = item.split("/")
        shutil.copytree(REPO_ROOT / "challenges" / challenge, root / "challenges" / challenge)
        shutil.copytree(REPO_ROOT / "visualizations" / challenge / name, root / "visualizations" / challenge / name)
    layout = Layout.at(root)
    params = ScreenshotParams(timeout=30.0)  # the shipped settle and step times; a roomy limit
    monkeypatch.setenv(SANDBOX_ENV, "off")
    off = run_screenshot(layout, params, progress=False)
    assert off.counts["rendered"] == 3, off.lines()
    assert "browser sandbox: OFF (--no-sandbox): turned off by VIZHUB_CHROMIUM_SANDBOX=off" in off.lines()
    before, records = shots(layout), records_of(layout)
    assert len(before) == 8  # and their interaction steps: two of sensorZoomLine, three of visitorsTooltip
    monkeypatch.delenv(SANDBOX_ENV)
    on = run_screenshot(layout, params, force=True, progress=False)
    assert on.counts["rendered"] == 3, on.lines()
    assert any(line.startswith("browser sandbox: on (Chromium's own") for line in on.lines()), on.lines()
    assert shots(layout) == before
    assert records_of(layout) == records
