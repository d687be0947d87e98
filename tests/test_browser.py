"""The playwright seam: finding Chromium, and the sandbox of each page, in real Chromium."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.render_helpers import BrowserThread
from vizhub_pipeline.core.errors import PrerequisiteError
from vizhub_pipeline.core.mirror import Mirror, find_node_modules
from vizhub_pipeline.screenshot import browser as browser_module
from vizhub_pipeline.screenshot.browser import (
    NO_CHROMIUM,
    START_TIME,
    PageCrashedError,
    PageTimeoutError,
    Site,
    find_chromium,
)
from vizhub_pipeline.screenshot.chromium_sandbox import (
    SANDBOX_ENV,
    UNPRIVILEGED_ID,
    SandboxPlan,
    plan_sandbox,
    renderer_sandboxed,
)

MIRROR = Mirror(find_node_modules(Path(__file__).resolve().parents[1]))

# --------------------------------------------------------------------------- finding Chromium


def executable(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def no_system_chromium(monkeypatch, tmp_path):
    monkeypatch.setattr(browser_module, "_SYSTEM_CHROMIUMS", (str(tmp_path / "usr-bin-chromium"),))
    return {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path / "home")}


def test_find_chromium_order(no_system_chromium, tmp_path, monkeypatch):
    env = dict(no_system_chromium)
    with pytest.raises(PrerequisiteError) as caught:
        find_chromium(env)
    assert (
        str(caught.value)
        == NO_CHROMIUM
        == ("no Chromium found: run `make setup` (installs Debian's chromium) or set VIZHUB_CHROMIUM")
    )
    downloaded = executable(
        tmp_path / "home" / ".cache" / "ms-playwright" / "chromium-1200" / "chrome-linux" / "chrome"
    )
    assert find_chromium(env) == downloaded
    chrome = executable(tmp_path / "bin" / "google-chrome")
    assert find_chromium(env) == chrome
    system = executable(tmp_path / "usr-bin-chromium")
    assert find_chromium(env) == system
    chosen = executable(tmp_path / "mine" / "chromium")
    assert find_chromium({**env, "VIZHUB_CHROMIUM": chosen}) == chosen


def test_a_wrong_vizhub_chromium_is_an_error_not_a_fallback(no_system_chromium, tmp_path):
    executable(tmp_path / "usr-bin-chromium")
    env = {**no_system_chromium, "VIZHUB_CHROMIUM": str(tmp_path / "missing")}
    with pytest.raises(PrerequisiteError) as caught:
        find_chromium(env)
    assert str(caught.value) == f"VIZHUB_CHROMIUM={tmp_path / 'missing'} is not an executable file: fix it or unset it"


# --------------------------------------------------------------------------- the sandbox


@pytest.fixture(scope="module")
def browser():
    thread = BrowserThread()
    yield thread
    thread.close()


def open_site(browser, folder: Path, files: dict[str, str], *, seed: int = 1, entry: str = "index.html", mirror=MIRROR):
    paths = {}
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
        paths[name] = folder / name
    page = browser.run(browser.session.open_page(Site(paths, mirror), width=400, height=300, seed=seed, entry=entry))
    return page


def loaded(browser, folder, files, **kwargs):
    page = open_site(browser, folder, files, **kwargs)
    browser.run(page.load(10))
    browser.run(page.run_clock(100, 10))
    return page


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="escape", outcome="held")
def test_own_files_under_the_page_origin_and_nothing_else(browser, tmp_path):
    html = """<body><script>
    window.results = {};
    fetch("data/values.json").then(r => r.json()).then(v => { window.results.relative = v.n; });
    fetch("/data/values.json").then(r => r.json()).then(v => { window.results.absolute = v.n; });
    fetch("missing.csv").then(r => { window.results.missing = r.status; });
    fetch("meta.json").then(r => { window.results.meta = r.status; });
    fetch("https://api.example.com/x.json").catch(e => { window.results.outside = "refused"; });
    </script><img src="http://192.168.1.1/pixel.gif"></body>"""
    page = loaded(browser, tmp_path, {"index.html": html, "data/values.json": '{"n": 7}'})
    try:
        results = browser.run(page.evaluate("() => window.results"))
        assert results == {"relative": 7, "absolute": 7, "missing": 404, "meta": 404, "outside": "refused"}
        assert sorted(page.log.blocked_requests) == ["http://192.168.1.1/pixel.gif", "https://api.example.com/x.json"]
        assert browser.run(page.evaluate("() => location.href")) == "http://vizhub.local/index.html"
    finally:
        browser.run(page.close())


@pytest.mark.slow
def test_cdn_libraries_load_from_the_mirror(browser, tmp_path):
    html = """<head>
    <script src="https://d3js.org/d3.v7.min.js"></script>
    <script src="https://unpkg.com/topojson-client@3"></script>
    <script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
    <script src="https://cdn.jsdelivr.net/npm/vega-lite@5"></script>
    <script src="https://cdn.jsdelivr.net/npm/vega-embed@6"></script>
    <script src="https://cdnjs.cloudflare.com/ajax/libs/Chart.js/4.4.1/chart.umd.min.js"></script>
    <script src="https://cdn.plot.ly/plotly-2.35.2.min.js"></script>
    <script src="https://d3js.org/d3.v5.min.js"></script>
    <script type="module">
      import * as esm from "https://cdn.jsdelivr.net/npm/d3@7/+esm";
      import {scaleLinear} from "https://cdn.jsdelivr.net/npm/d3-scale@4/+esm";
      window.esm = [typeof esm.select, scaleLinear().domain([0, 1]).range([0, 10])(0.5)];
    </script></head><body></body>"""
    page = loaded(browser, tmp_path, {"index.html": html})
    try:
        found = browser.run(
            page.evaluate(
                "() => [d3.version, typeof topojson.feature, vega.version, vegaLite.version, typeof vegaEmbed,"
                " Chart.version, typeof Plotly.newPlot, window.esm]"
            )
        )
        assert found == ["7.9.0", "function", "5.30.0", "5.21.0", "function", "4.4.6", "function", ["function", 5]]
        assert page.log.blocked_requests == [
            "https://d3js.org/d3.v5.min.js (no local copy of d3@5 (the mirror has d3@7.9.0))"
        ]
    finally:
        browser.run(page.close())


@pytest.mark.slow
def test_time_is_virtual_and_random_is_seeded(browser, tmp_path):
    html = """<body><script>
    window.fired = [];
    window.first = [[Date.now(), performance.now()], Math.random(), Math.random()];
    setTimeout(() => window.fired.push("timeout"), 1000);
    requestAnimationFrame(() => window.fired.push("frame"));
    </script></body>"""
    pages = [open_site(browser, tmp_path / str(seed), {"index.html": html}, seed=seed) for seed in (1, 1, 2)]
    try:
        for page in pages:
            browser.run(page.load(10))
        firsts = [browser.run(page.evaluate("() => window.first")) for page in pages]
        assert firsts[0] == firsts[1] and firsts[0][1:] != firsts[2][1:]
        assert firsts[0][0] == [START_TIME * 1000, 0]  # Date.now(), performance.now()
        page = pages[0]
        import time

        time.sleep(0.3)
        assert browser.run(page.evaluate("() => window.fired")) == []  # real time passing changes nothing
        browser.run(page.run_clock(999, 10))
        assert browser.run(page.evaluate("() => window.fired")) == ["frame"]
        browser.run(page.run_clock(1, 10))
        assert browser.run(
            page.evaluate("() => [window.fired, Date.now() - window.first[0][0], performance.now()]")
        ) == [
            ["frame", "timeout"],
            1000,
            1000,
        ]
    finally:
        for page in pages:
            browser.run(page.close())


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="escape", outcome="held")
def test_dialogs_popups_service_workers_and_navigation_are_neutralised(browser, tmp_path):
    html = """<body><p>still here</p><script>
    window.answers = [alert("hi"), confirm("ok?"), prompt("name?"), window.open("https://evil.example/")];
    window.sw = "pending";
    if (!navigator.serviceWorker) window.sw = "unavailable";  // not a secure origin, and blocked besides
    else navigator.serviceWorker.register("sw.js").then(
      () => { window.sw = "registered"; }, e => { window.sw = "refused"; });
    setTimeout(() => { location.href = "https://evil.example/"; }, 50);
    setTimeout(() => { location.href = "other.html"; }, 1500);
    setTimeout(() => { location.reload(); }, 2500);
    </script></body>"""
    page = loaded(browser, tmp_path, {"index.html": html, "sw.js": "self.addEventListener('fetch', () => {});"})
    try:
        for _ in range(3):
            browser.run(page.run_clock(1000, 10))
        state = browser.run(page.evaluate("() => [window.answers, window.sw, location.href, document.body.innerText]"))
        assert state == [[None, False, None, None], "unavailable", "http://vizhub.local/index.html", "still here"]
        assert page.log.blocked_requests == [
            "navigation away to https://evil.example/",
            "navigation away to http://vizhub.local/other.html",
            "navigation away to http://vizhub.local/index.html",
        ]
    finally:
        browser.run(page.close())


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="escape", outcome="held")
def test_webrtc_cannot_reach_a_stun_server(browser, tmp_path):
    """STUN/TURN traffic is not a request routes can see: WebRTC is taken away, in child frames too."""
    import socket
    import time

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    port = udp.getsockname()[1]
    html = f"""<body><script>
    window.tried = [];
    function probe(win, where) {{
      try {{
        const pc = new win.RTCPeerConnection({{iceServers: [{{urls: "stun:127.0.0.1:{port}"}}]}});
        pc.createDataChannel("x");
        pc.createOffer().then(o => pc.setLocalDescription(o));
        window.tried.push(where + ": connected");
      }} catch (e) {{ window.tried.push(where + ": refused"); }}
    }}
    probe(window, "page");
    const frame = document.createElement("iframe");
    document.body.appendChild(frame);
    probe(frame.contentWindow, "child frame");
    </script></body>"""
    page = loaded(browser, tmp_path, {"index.html": html})
    try:
        assert browser.run(page.evaluate("() => window.tried")) == ["page: refused", "child frame: refused"]
        time.sleep(2)  # ICE gathering is real time, not the page's virtual clock
        with pytest.raises(BlockingIOError):
            udp.recvfrom(2048)
    finally:
        udp.close()
        browser.run(page.close())


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="hang", outcome="held")
def test_endless_loop_times_out_and_the_next_page_is_fine(browser, tmp_path):
    page = open_site(browser, tmp_path / "loop", {"index.html": "<body><script>while (true) {}</script></body>"})
    with pytest.raises(PageTimeoutError, match="the page did not load within 1 s"):
        browser.run(page.load(1))
    browser.run(page.close())
    after = loaded(browser, tmp_path / "after", {"index.html": "<body><p>fine</p></body>"})
    try:
        assert browser.run(after.evaluate("() => document.body.innerText")) == "fine"
    finally:
        browser.run(after.close())


@pytest.mark.slow
@pytest.mark.hostile(area="pages", guards="hang", outcome="clear_error")
def test_crashed_page_and_lost_browser(browser, tmp_path):
    page = loaded(browser, tmp_path / "crash", {"index.html": "<body>x</body>"})

    async def crash():
        cdp = await page.context.new_cdp_session(page.page)
        try:
            await asyncio.wait_for(cdp.send("Page.crash"), 1)
        except Exception:
            pass  # the renderer dies before it answers

    browser.run(crash())
    with pytest.raises(PageCrashedError, match="the page crashed"):
        browser.run(page.evaluate("() => 1", timeout=5))
    browser.run(page.close())
    launches = browser.session.launches
    browser.run(browser.session._browser.close())  # the browser goes away between pages
    again = loaded(browser, tmp_path / "again", {"index.html": "<body><p>back</p></body>"})
    try:
        assert browser.session.launches == launches + 1
        assert browser.run(again.evaluate("() => document.body.innerText")) == "back"
    finally:
        browser.run(again.close())


# --------------------------------------------------------------------------- Chromium's own sandbox


def test_plan_sandbox_by_user_and_environment():
    setpriv = "/usr/bin/setpriv"
    assert plan_sandbox({}, euid=1000) == SandboxPlan(sandbox=True)
    assert plan_sandbox({}, euid=0, setpriv=setpriv) == SandboxPlan(sandbox=True, setpriv=setpriv)
    assert plan_sandbox({"PATH": "/nowhere"}, euid=0) == SandboxPlan(
        sandbox=False, why_off="running as root, and setpriv (util-linux) is missing to start Chromium as nobody"
    )
    off = plan_sandbox({SANDBOX_ENV: "off"}, euid=1000)
    assert off == SandboxPlan(sandbox=False, why_off="turned off by VIZHUB_CHROMIUM_SANDBOX=off")
    assert off.describe(None) == "browser sandbox: OFF (--no-sandbox): turned off by VIZHUB_CHROMIUM_SANDBOX=off"
    on = SandboxPlan(sandbox=True)
    assert on.describe(True) == "browser sandbox: on (Chromium's own: seccomp and namespaces in every renderer)"
    assert on.describe(False) == (
        "browser sandbox: OFF: Chromium was asked for its sandbox, but its renderers are not sandboxed"
    )
    assert on.describe(None).endswith("; not confirmed: the renderers could not be read)")
    with pytest.raises(PrerequisiteError) as caught:
        plan_sandbox({SANDBOX_ENV: "maybe"}, euid=0)
    assert str(caught.value) == "VIZHUB_CHROMIUM_SANDBOX=maybe: expected on, off or auto"


def renderer_uid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


async def page_renderer(session, folder: Path) -> tuple[int | None, bool | None, int | None]:
    """(pid, sandboxed, uid) of the renderer of a page opened in ``session``."""
    (folder / "index.html").write_text("<body><p>here</p></body>", encoding="utf-8")
    page = await session.open_page(Site({"index.html": folder / "index.html"}), width=200, height=100, seed=1)
    try:
        await page.load(20)
        await page.wait_network_idle(20)  # the request that names the renderer has been answered
        pid = page.renderer_pid
        return pid, None if pid is None else renderer_sandboxed(pid), None if pid is None else renderer_uid(pid)
    finally:
        await page.close()


@pytest.mark.slow
def test_pages_render_in_chromiums_own_sandbox(tmp_path, monkeypatch):
    """Read from the renderer process itself: a seccomp filter and a PID namespace of its own
    (and, as root, the user nobody). With the sandbox turned off the same reading says so."""
    from vizhub_pipeline.screenshot.browser import BrowserSession

    async def run(env_value: str):
        monkeypatch.setenv(SANDBOX_ENV, env_value)
        async with BrowserSession(max_page_memory_mb=4096) as session:
            return session.sandbox_line, await page_renderer(session, tmp_path)

    line, (pid, sandboxed, uid) = asyncio.run(run("auto"))
    assert pid is not None and sandboxed is True
    if os.geteuid() == 0:
        assert line == (
            "browser sandbox: on (Chromium's own: seccomp and namespaces in every renderer, "
            "as user nobody through setpriv)"
        )
        assert uid == UNPRIVILEGED_ID
    else:
        assert line == "browser sandbox: on (Chromium's own: seccomp and namespaces in every renderer)"
    line, (pid, sandboxed, uid) = asyncio.run(run("off"))
    assert line == "browser sandbox: OFF (--no-sandbox): turned off by VIZHUB_CHROMIUM_SANDBOX=off"
    assert pid is not None and sandboxed is False and uid == os.geteuid()


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="the launcher through setpriv is used as root only")
def test_a_sandbox_that_does_not_start_falls_back_and_says_so(tmp_path):
    """The sandboxed launch fails (here: setpriv cannot be run): Chromium runs with --no-sandbox
    and the summary line says so and why."""
    from vizhub_pipeline.screenshot.browser import BrowserSession

    broken = SandboxPlan(sandbox=True, setpriv=str(tmp_path / "no-setpriv"))

    async def run():
        async with BrowserSession(max_page_memory_mb=4096, sandbox=broken) as session:
            return session.sandbox_line, await page_renderer(session, tmp_path)

    line, (pid, sandboxed, _uid) = asyncio.run(run())
    assert line.startswith("browser sandbox: OFF (--no-sandbox): Chromium did not start with its sandbox: "), line
    assert pid is not None and sandboxed is False
