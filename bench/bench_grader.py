"""Grader latency on a full benchmark: 50 challenges x 20 models (1,000 outputs) in a git repo.

The real server (both sockets, uvicorn, the real grades library with pygit2 commits) runs on
free ports; one keep-alive HTTP connection measures:

- static: ``GET /static/grader.css`` (the baseline: what the same server needs for a file),
- page: ``GET /item/<id>`` of outputs never shown before (highlighting, diff, render.json and
  the grade index all computed cold), and the same pages again (warm),
- submit: ``POST /api/grades`` of distinct outputs, each appended and committed with pygit2.

Each line prints p50 and p95 and the p95's ratio to the static file's p95. Targets: page
p95 <= 150 ms, submit p95 <= 100 ms (including the commit).

Then, in the real Chromium at 1440x900, grading with the keys: from Enter to the next item being
usable (its live frame loaded and its keys bound, the page's ``data-usable``), timed inside the
page from the Enter keydown. Each Enter is pressed once the current item has prefetched where
Enter leads, as it has while a grader looks at an item for a few seconds. The baseline is the
same run with the prefetch switched off (``localStorage["vizhub-prefetch"] = "off"``): a full
navigation to the next item. Target: prefetched p95 <= 300 ms.

Then the same for pairwise voting (``vizhub grade --pairwise``, same project: 190 pairs a
challenge): from a vote key (A, B, T, X in turn) to the next pair usable (both its live frames
loaded, its keys bound), each key pressed once the page has loaded ahead every pair its votes and
skip may lead to (as after a few seconds on a pair), against the same run navigating. Target:
prefetched p95 <= 300 ms.

Run: .venv/bin/python bench/bench_grader.py [--pages 200] [--submits 100] [--browser-submits 30]
     [--browser-votes 30]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHALLENGES, MODELS = 50, 20
STARTER = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Chart</title>
<script src="https://cdn.jsdelivr.net/npm/d3@7"></script>
<style>body { font: 12px sans-serif; } .bar { fill: steelblue; }</style></head>
<body><div id="chart"></div>
<script>
// TODO: draw the chart from data.csv
</script></body></html>
"""
BODY = """// chart {c} by {model}: every output differs, so nothing is highlighted from a cache
const margin = {{top: 20, right: 20, bottom: 30, left: 40}};
const width = 760 - margin.left - margin.right, height = 460 - margin.top - margin.bottom;
const svg = d3.select("#chart").append("svg")
  .attr("width", width + margin.left + margin.right).attr("height", height + margin.top + margin.bottom)
  .append("g").attr("transform", `translate(${{margin.left}},${{margin.top}})`);
d3.csv("data.csv", d3.autoType).then(rows => {{
  rows.sort((a, b) => d3.descending(a.value, b.value));
  const x = d3.scaleBand().domain(rows.map(d => d.name)).range([0, width]).padding({pad});
  const y = d3.scaleLinear().domain([0, d3.max(rows, d => d.value)]).nice().range([height, 0]);
  svg.append("g").attr("transform", `translate(0,${{height}})`).call(d3.axisBottom(x));
  svg.append("g").call(d3.axisLeft(y));
  const tip = d3.select("body").append("div").attr("class", "tip").style("opacity", 0);
  svg.selectAll("rect").data(rows).join("rect").attr("class", "bar")
    .attr("x", d => x(d.name)).attr("width", x.bandwidth())
    .attr("y", d => y(d.value)).attr("height", d => height - y(d.value)).attr("fill", "{color}")
    .on("mouseover", (event, d) => tip.style("opacity", 1).text(`${{d.name}}: ${{d.value}}`))
    .on("mouseout", () => tip.style("opacity", 0));
}});
"""
COLORS = ("steelblue", "tomato", "seagreen", "goldenrod", "slateblue")


def build_project(root: Path) -> list[tuple[str, str]]:
    from vizhub_pipeline.core.layout import Layout, hash_files
    from vizhub_pipeline.core.records import CheckResult, Generation, Render, write_generation, write_render

    layout = Layout.at(root)
    outputs = []
    for c in range(CHALLENGES):
        data = "name,value\n" + "".join(f"item{i},{(i * 37 + c) % 91 + 5}\n" for i in range(40))
        challenge = f"chart{c:02d}"
        folder = layout.challenge_dir(challenge)
        (folder / "files").mkdir(parents=True)
        (folder / "challenge.yaml").write_text(
            f"title: Chart {c}\ndescription: Sorted bars with a tooltip.\n"
            "checks:\n  - type: count\n    selector: rect.bar\n    min: 1\n  - type: no_console_errors\n"
            "interactions:\n  - name: hover-bar\n    action: hover\n    selector: rect.bar\n",
            encoding="utf-8",
        )
        (folder / "prompt.md").write_text(
            f"Draw one bar per row of data.csv, sorted, with axes and a tooltip (chart {c}).\n"
        )
        (folder / "files" / "index.html").write_text(STARTER, encoding="utf-8")
        (folder / "files" / "data.csv").write_text(data, encoding="utf-8")
        for m in range(MODELS):
            model = f"provider{m % 4}/model-{m:02d}"
            page = STARTER.replace(
                "// TODO: draw the chart from data.csv\n",
                BODY.format(pad=0.05 + m / 100, color=COLORS[m % 5], c=c, model=model),
            )
            files = {"index.html": page, "data.csv": data}
            out = layout.visualization_dir(challenge, model)
            out.mkdir(parents=True)
            for name, text in files.items():
                (out / name).write_text(text, encoding="utf-8")
            artifact = hash_files(files)
            write_generation(
                out / "meta.json",
                Generation(challenge, model, 0, "ok", f"in{c}-{m}", artifact, tuple(sorted(files))),
            )
            shots = layout.render_dir(challenge, model)
            shots.mkdir(parents=True)
            (shots / "screenshot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 2000)
            (shots / "step-hover-bar.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 2000)
            write_render(
                shots / "render.json",
                Render(
                    challenge,
                    model,
                    0,
                    "rendered",
                    artifact,
                    f"r{c}-{m}",
                    screenshots=("screenshot.png", "step-hover-bar.png"),
                    checks=(
                        CheckResult("count rect.bar", "count", True, "40 found"),
                        CheckResult("no console errors", "no_console_errors", m % 3 != 0, "" if m % 3 else "1 error"),
                    ),
                    console_errors=() if m % 3 else ("TypeError: x is undefined",),
                ),
            )
            outputs.append((challenge, model))
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (
        ["init", "-q", "-b", "main"],
        ["config", "user.name", "Bench Grader"],
        ["config", "user.email", "bench@example.com"],
        ["add", "-A"],
        ["commit", "-q", "-m", "benchmark outputs"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, env=env)
    return outputs


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def timed(
    conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None, headers=None
) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return (time.perf_counter() - start) * 1000, response.status, data


def line(label: str, times: list[float], baseline: float | None, target: float | None = None) -> str:
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    text = f"{label:<34} n={len(times):<4} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms"
    if baseline:
        text += f"   p95 / static p95 = {p95 / baseline:6.1f}x"
    if target is not None:
        text += f"   target <= {target:.0f} ms: {'met' if p95 <= target else 'MISSED'}"
    return text


# Runs in the grading page (not in its frames): when Enter (or a vote key) went down, and when each
# item (or pair) became usable.
TIMING_SCRIPT = """
if (window === window.top) {
  document.addEventListener("keydown", function (event) {
    if (["Enter", "a", "b", "t", "x"].indexOf(event.key) < 0) { return; }
    sessionStorage.setItem("bench-enter", String(performance.timeOrigin + performance.now()));
  }, true);
  new MutationObserver(function () {
    var item = document.documentElement.dataset.usable;
    if (item) { sessionStorage.setItem("bench-usable-" + item, String(performance.timeOrigin + performance.now())); }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-usable"] });
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (entry) {
      if (/\\/api\\/(grades|votes)$/.test(entry.name)) { sessionStorage.setItem("bench-post", String(entry.duration)); }
    });
  }).observe({ type: "resource" });
}
"""


def serve_alone(root: str, grader: str, urls, stop, pairwise: bool = False) -> None:
    """A grader server in a process of its own, as `vizhub grade` runs it: the browser's driver in
    the benchmark's process does not share the server's interpreter."""
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.grading.web.server import build_server

    server, _ = build_server(Layout.at(Path(root)), grader, blind=True, pairwise=pairwise)
    server.start()
    urls.put(server.url)
    stop.wait()
    server.stop()


@contextlib.contextmanager
def bench_page(url: str, prefetch: bool, start: str):
    """A Chromium page at 1440x900 with the timing script, the prefetch switched on or off, at ``start``."""
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        page.add_init_script(TIMING_SCRIPT)
        page.goto(f"{url}/healthz")
        page.evaluate("on => localStorage.setItem('vizhub-prefetch', on ? 'on' : 'off')", prefetch)
        page.goto(f"{url}{start}")
        yield page
        browser.close()


class Moves:
    """The times of the moves made on one page: key to next usable, the POSTs seen, the swaps."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.posts: list[float] = []
        self.swapped = 0

    def arm(self, page) -> None:
        """Call just before the key: a move that swaps in keeps this mark, a navigation loses it."""
        page.evaluate("() => { window.benchSamePage = true; }")

    def record(self, page, url: str, following: str, next_id: str) -> None:
        """Wait until the move to ``following`` is usable, and note its times."""
        page.wait_for_url(f"{url}{following}")
        page.wait_for_function("id => document.documentElement.dataset.usable === id", arg=next_id, polling=100)
        pressed, ready = page.evaluate(
            "id => [sessionStorage.getItem('bench-enter'), sessionStorage.getItem('bench-usable-' + id)]", next_id
        )
        self.times.append(float(ready) - float(pressed))
        same_page = bool(page.evaluate("() => window.benchSamePage === true"))
        post = page.evaluate(
            "() => { const d = sessionStorage.getItem('bench-post'); "
            "sessionStorage.removeItem('bench-post'); return d; }"
        )
        if same_page and post:
            self.posts.append(float(post))
        self.swapped += same_page

    def result(self) -> tuple[list[float], list[float], int]:
        return self.times, self.posts, self.swapped


def grade_in_browser(url: str, submits: int, prefetch: bool) -> tuple[list[float], list[float], int]:
    """Grade ``submits`` items with the keys in Chromium: the times from Enter to the next item usable,
    the times of the POST /api/grades among them (as the page saw it; only when it did not navigate
    away), and how many of the moves swapped a prefetched item in (the rest navigated)."""
    moves = Moves()
    with bench_page(url, prefetch, "/") as page:
        for index in range(submits):
            state = page.evaluate("() => JSON.parse(document.getElementById('grader-data').textContent)")
            here, following = state["item"], state["nextOpenUrl"]
            page.wait_for_function("id => document.documentElement.dataset.usable === id", arg=here, polling=100)
            if prefetch:
                page.wait_for_function(
                    "url => (document.documentElement.dataset.prefetched || '').split(' ').includes(url)",
                    arg=following,
                    polling=100,
                )
            moves.arm(page)
            page.keyboard.press(str(index % 6))
            page.keyboard.press(f"Shift+Digit{(index * 5) % 6}")
            page.keyboard.press("Enter")
            moves.record(page, url, following, following.split("/item/", 1)[1].split("?", 1)[0])
    return moves.result()


def vote_in_browser(url: str, votes: int, prefetch: bool) -> tuple[list[float], list[float], int]:
    """Vote on ``votes`` pairs with the keys in Chromium: the times from the key to the next pair usable,
    the times of the POST /api/votes among them (only when the page did not navigate away), and how
    many moves swapped a pair loaded ahead in (the rest navigated)."""
    winners = {"a": "a", "b": "b", "t": "tie", "x": "both_bad"}
    moves = Moves()
    with bench_page(url, prefetch, "/pairs") as page:
        for index in range(votes):
            here = page.evaluate("() => JSON.parse(document.getElementById('pair-data').textContent).pair")
            page.wait_for_function("id => document.documentElement.dataset.usable === id", arg=here, polling=100)
            key = "abtx"[index % 4]
            following = page.request.get(f"{url}/api/pairs/{here}/next").json()["next"][winners[key]]
            if prefetch:  # as after a few seconds on the pair: every pair it may lead to is loaded ahead
                page.wait_for_function("id => document.documentElement.dataset.aheadOf === id", arg=here, polling=100)
            moves.arm(page)
            page.keyboard.press(key)
            moves.record(page, url, following, following.removeprefix("/pair/"))
    return moves.result()


def in_browser(root: Path, grader: str, pairwise: bool, run) -> tuple:
    """``run(url, prefetch)`` without and with the prefetch, against a server in its own process."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    urls, stop = context.Queue(), context.Event()
    alone = context.Process(target=serve_alone, args=(str(root), grader, urls, stop, pairwise))
    alone.start()
    try:
        url = urls.get(timeout=120)
        return run(url, False), run(url, True)
    finally:
        stop.set()
        alone.join(30)


def report_browser(what: str, count: int, slow, fast, post: str) -> None:
    baseline, _, navigated = slow
    times, posts, swapped = fast
    print(f"Chromium 1440x900, {what}:")
    print(line(f"  navigation, no prefetch ({count - navigated} navigated)", baseline, None))
    print(
        line(f"  prefetched ({swapped} swapped in)", times, None, 300)
        + f"   p50 / no-prefetch p50 = {statistics.median(times) / statistics.median(baseline):.2f}x"
    )
    if posts:
        print(line(f"    of which {post}", posts, None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200, help="distinct item pages to load")
    parser.add_argument("--submits", type=int, default=100, help="grades to submit (each one commit)")
    parser.add_argument(
        "--browser-submits", type=int, default=30, help="grades given with the keys in Chromium, per mode (0: none)"
    )
    parser.add_argument(
        "--browser-votes", type=int, default=30, help="pairwise votes with the keys in Chromium, per mode (0: none)"
    )
    args = parser.parse_args()

    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.grading.web.server import build_server

    with tempfile.TemporaryDirectory(prefix="bench-grader-") as tmp:
        root = Path(tmp) / "project"
        started = time.perf_counter()
        build_project(root)
        print(
            f"project: {CHALLENGES} challenges x {MODELS} models = {CHALLENGES * MODELS} outputs, "
            f"each with render.json and 2 screenshots, in git ({time.perf_counter() - started:.1f} s to build)"
        )
        server, warnings = build_server(Layout.at(root), "bench", blind=True)
        server.start()
        try:
            port = int(server.url.rsplit(":", 1)[1])
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            first, status, data = timed(conn, "GET", "/api/items")
            assert status == 200, data
            items = json.loads(data)["items"]
            print(f"first request (scans the 1,000 outputs, reads the grades): {first:.1f} ms")

            for _ in range(20):
                timed(conn, "GET", "/static/grader.css")
            static = [timed(conn, "GET", "/static/grader.css")[0] for _ in range(300)]
            static_p95 = percentile(static, 0.95)

            pages = []
            for item in items[: args.pages]:
                elapsed, status, _ = timed(conn, "GET", f"/item/{item['id']}")
                assert status == 200, status
                pages.append(elapsed)
            warm = [timed(conn, "GET", f"/item/{item['id']}")[0] for item in items[: args.pages]]
            listing = [timed(conn, "GET", "/api/items")[0] for _ in range(50)]

            headers = {"Content-Type": "application/json", "Origin": server.url, "X-Vizhub-Token": server.config.token}
            submits = []
            for index, item in enumerate(items[args.pages : args.pages + args.submits]):
                body = json.dumps(
                    {
                        "item": item["id"],
                        "functionality": index % 6,
                        "aesthetics": (index * 7) % 6,
                        "notes": f"bench note {index}, with a comma",
                    }
                ).encode()
                elapsed, status, data = timed(conn, "POST", "/api/grades", body, headers)
                assert status == 200, data
                submits.append(elapsed)
            after = [
                timed(conn, "GET", f"/item/{item['id']}")[0]
                for item in items[args.pages + args.submits : args.pages * 2 + args.submits]
            ]

            print(line("static file GET /static/grader.css", static, None))
            print(line("page, first view (cold)", pages, static_p95, 150))
            print(line("page, second view (warm)", warm, static_p95, 150))
            print(line(f"page, first view, {args.submits} grades in git", after, static_p95, 150))
            print(line("GET /api/items (1,000 items)", listing, static_p95))
            print(line("submit incl. pygit2 commit", submits, static_p95, 100))
            log = subprocess.run(
                ["git", "rev-list", "--count", "HEAD"], cwd=root, capture_output=True, text=True
            ).stdout.strip()
            print(f"commits in the repository after the run: {log} (1 + {args.submits} grades)")
            if args.browser_submits:
                slow, fast = in_browser(
                    root, "keys", False, lambda url, on: grade_in_browser(url, args.browser_submits, prefetch=on)
                )
                report_browser(
                    "from Enter to the next item usable (its frame loaded, its keys bound)",
                    args.browser_submits,
                    slow,
                    fast,
                    "POST /api/grades",
                )
            if args.browser_votes:
                slow, fast = in_browser(
                    root, "voter", True, lambda url, on: vote_in_browser(url, args.browser_votes, prefetch=on)
                )
                report_browser(
                    "pairwise, from a vote key to the next pair usable (both frames loaded, keys bound)",
                    args.browser_votes,
                    slow,
                    fast,
                    "POST /api/votes",
                )
            print(f"load average (1, 5, 15 min) at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
