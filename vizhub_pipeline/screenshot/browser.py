"""The one module that talks to playwright: find a Chromium, launch it, open sandboxed pages.

A :class:`BrowserSession` is one Chromium for a whole run. Each page gets a fresh context
(:meth:`BrowserSession.open_page`) that is always closed. In that context:

- the page's own files are served under ``http://vizhub.local/`` through a route;
- well-known CDN URLs are answered from the local npm copies (:mod:`vizhub_pipeline.core.mirror`);
- every other request is aborted and recorded, and so are WebSockets;
- service workers are blocked, dialogs and pop-ups neutralised, navigation away refused;
- time is virtual (playwright's clock, paused at a fixed instant), Math.random is seeded.

Every call into the page is bounded in the run's own time (:mod:`.own_time`: on a machine that
others keep busy, the time the run waits for a CPU does not count), so a page's status does not
depend on the load; a hung or crashed browser is closed and launched again by
:meth:`BrowserSession.ensure`. Several pages may be open at
once (the screenshot stage's ``concurrency``); each knows the browser it runs on, so a page
can tell that browser went away under it (:attr:`SandboxedPage.browser_lost`).

Chromium runs in its own sandbox where it can (:mod:`.chromium_sandbox` decides how; the
session checks the renderers really are sandboxed). With a memory cap, a watchdog reads the
resident memory of every renderer a few times a second and kills one that passes the cap; the
page whose renderer it was learns so (:attr:`SandboxedPage.memory_exceeded`): each page tells
its renderer's process id through one request made before any script of the page runs (the
DevTools id of a page's request starts with the process id of the renderer that sent it).
"""

from __future__ import annotations

import asyncio
import functools
import glob
import os
import shutil
import signal
import tempfile
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from vizhub_pipeline.core.errors import PrerequisiteError, VizhubError
from vizhub_pipeline.core.mirror import Mirror, content_type
from vizhub_pipeline.screenshot.chromium_sandbox import (
    SandboxPlan,
    launch_error,
    plan_sandbox,
    renderer_sandboxed,
    resident_mb,
    write_launcher,
)
from vizhub_pipeline.screenshot.own_time import OwnClock

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, CDPSession, Page, Playwright

ORIGIN = "http://vizhub.local"
START_TIME = 1_767_225_600  # 2026-01-01T00:00:00Z in seconds: Date.now() at load; performance.now() starts at 0
LAUNCH_ARGS = (  # --no-sandbox is added by playwright only when the sandbox is off (chromium_sandbox=False)
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
    "--font-render-hinting=none",
    # raster the whole tile each frame: partial re-raster made edge pixels differ run to run
    "--disable-partial-raster",
    # Belt and braces: whatever escapes the routes (they answer before DNS) cannot resolve a host.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)
CLOSE_TIMEOUT = 5.0
MAX_RECORDED = 50  # per list of console errors, page errors and blocked requests
NO_CHROMIUM = "no Chromium found: run `make setup` (installs Debian's chromium) or set VIZHUB_CHROMIUM"
_SYSTEM_CHROMIUMS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
_JS_DIR = Path(__file__).with_name("js")
WATCH_INTERVAL = 0.25  # seconds between two readings of the renderers' memory
RENDERER_MARKER = f"{ORIGIN}/__vizhub__/renderer"  # the request by which a page tells its renderer's process
_MARKER_JS = f"if (window === window.top) fetch({RENDERER_MARKER!r}).catch(() => {{}});"


class PageTimeoutError(VizhubError):
    """The page did not finish within its time limit (an endless loop, a page that never settles).

    ``what`` names the phase ("the page did not load"); the message adds the seconds it had.
    The screenshot stage records ``what`` with the page's whole limit, which does not vary from
    run to run, rather than the seconds that happened to be left.
    """

    def __init__(self, what: str, seconds: float, hint: str = ""):
        self.what, self.hint = what, hint
        super().__init__(self.within(seconds))

    def within(self, seconds: float) -> str:
        return f"{self.what} within {seconds:g} s" + (f" ({self.hint})" if self.hint else "")


class PageCrashedError(VizhubError):
    """The page's renderer crashed or the browser went away."""


class PageMemoryError(PageCrashedError):
    """The memory watchdog stopped the page: its renderer passed the cap. The page's own result."""

    def __init__(self, cap_mb: int):
        self.cap_mb = cap_mb
        super().__init__(memory_error(cap_mb))


def memory_error(cap_mb: int) -> str:
    return f"{MEMORY_ERROR_START} {cap_mb} MB of memory (screenshot.max_page_memory_mb)"


MEMORY_ERROR_START = "the page used more than"


def find_chromium(env: Mapping[str, str] | None = None) -> str:
    """The Chromium to drive: ``$VIZHUB_CHROMIUM``, a system Chromium, Chrome, or playwright's download."""
    env = os.environ if env is None else env
    chosen = env.get("VIZHUB_CHROMIUM")
    if chosen:
        if os.path.isfile(chosen) and os.access(chosen, os.X_OK):
            return chosen
        raise PrerequisiteError(f"VIZHUB_CHROMIUM={chosen} is not an executable file: fix it or unset it")
    for candidate in _SYSTEM_CHROMIUMS:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    for name in ("google-chrome", "google-chrome-stable"):
        found = shutil.which(name, path=env.get("PATH", os.defpath))
        if found:
            return found
    cache = env.get("PLAYWRIGHT_BROWSERS_PATH") or os.path.join(env.get("HOME", "~"), ".cache", "ms-playwright")
    for candidate in sorted(
        glob.glob(os.path.join(os.path.expanduser(cache), "chromium-*", "chrome-linux*", "chrome")), reverse=True
    ):
        if os.access(candidate, os.X_OK):
            return candidate
    raise PrerequisiteError(NO_CHROMIUM)


def read_js(name: str) -> str:
    return (_JS_DIR / name).read_text(encoding="utf-8")


@dataclass
class Site:
    """What one page may load: its own files (``name -> path``) and the CDN mirror."""

    files: Mapping[str, Path]
    mirror: Mirror | None = None


@dataclass
class PageLog:
    """What happened in a page: console errors, uncaught errors, refused requests."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    crashed: bool = False

    def add(self, kind: str, text: str) -> None:
        items = getattr(self, kind)
        if len(items) < MAX_RECORDED:
            items.append(text[:2000])
        elif len(items) == MAX_RECORDED:
            items.append("... (more not recorded)")


class BrowserSession:
    """One Chromium for a run. Use ``async with BrowserSession() as browser:``.

    Pages may be open at the same time, each in its own context; a relaunch happens once
    however many pages ask for it.
    """

    def __init__(
        self,
        executable: str | None = None,
        *,
        headless: bool = True,
        max_page_memory_mb: int = 0,
        sandbox: SandboxPlan | None = None,
    ):
        self.executable = executable
        self.headless = headless
        self.max_page_memory_mb = max_page_memory_mb  # 0: no cap, no watchdog
        self.sandbox = sandbox  # decided at the first launch (plan_sandbox) unless given
        self.sandbox_verified: bool | None = None  # read from the renderers after the first sandboxed launch
        self.memory_kills = 0  # renderers the watchdog killed
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._launching = asyncio.Lock()
        self._launcher_dir: str | None = None
        self._watchdog: asyncio.Task | None = None
        self._pages_by_pid: dict[int, list[SandboxedPage]] = {}
        self._killed: dict[int, int] = {}  # renderer process id -> the cap it passed (the watchdog's kills)
        self.launches = 0
        self.clock = OwnClock()  # every page's limit is seconds of the run's own time (see own_time)

    @property
    def sandbox_line(self) -> str:
        """Which sandbox ran, for the run's summary (empty before the first launch)."""
        return "" if self.sandbox is None else self.sandbox.describe(self.sandbox_verified)

    async def __aenter__(self) -> BrowserSession:
        await self.ensure()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    async def ensure(self) -> None:
        """Launch the browser, or launch it again if it crashed or was closed."""
        if self.connected:
            return
        async with self._launching:
            if not self.connected:  # another page may have relaunched it meanwhile
                await self._launch()

    async def _launch(self) -> None:
        await self.close()
        from playwright.async_api import async_playwright

        executable = self.executable or find_chromium()
        if self.sandbox is None:
            self.sandbox = plan_sandbox()
        playwright = self._playwright = await async_playwright().start()
        try:
            try:
                self._browser = await self._start(playwright, executable, self.sandbox)
            except Exception as exc:
                if not self.sandbox.sandbox:
                    raise
                self.sandbox = self.sandbox.off(f"Chromium did not start with its sandbox: {launch_error(exc)}")
                self._browser = await self._start(playwright, executable, self.sandbox)
        except Exception as exc:
            await self.close()
            raise PrerequisiteError(f"cannot launch Chromium at {executable}: {launch_error(exc)}") from None
        self.launches += 1
        browser = self._browser
        if self.sandbox.sandbox and self.sandbox_verified is None:
            self.sandbox_verified = await self._verify_sandbox(browser)
        if self.max_page_memory_mb > 0:
            cdp = await browser.new_browser_cdp_session()
            self._watchdog = asyncio.ensure_future(self._watch(browser, cdp))

    async def _start(self, playwright: Playwright, executable: str, plan: SandboxPlan) -> Browser:
        path = executable
        if plan.setpriv:
            self._launcher_dir = tempfile.mkdtemp(prefix="vizhub-chromium-")
            path = str(write_launcher(Path(self._launcher_dir), executable, plan.setpriv))
        return await playwright.chromium.launch(
            executable_path=path, args=list(LAUNCH_ARGS), headless=self.headless, chromium_sandbox=plan.sandbox
        )

    async def _verify_sandbox(self, browser: Browser) -> bool | None:
        """Whether every renderer of ``browser`` is sandboxed (a blank page is opened if none runs
        yet); None if that could not be read."""
        from playwright.async_api import Error

        try:
            cdp = await browser.new_browser_cdp_session()
            try:
                pids = await _renderer_pids(cdp)
                if not pids:
                    context = await browser.new_context()
                    try:
                        await context.new_page()
                        pids = await _renderer_pids(cdp)
                    finally:
                        await _quiet(context.close())
            finally:
                await _quiet(cdp.detach())
        except Error:
            return None
        found = [renderer_sandboxed(pid) for pid in pids]
        if not found or all(state is None for state in found):
            return None
        return all(state is not False for state in found)

    async def _watch(self, browser: Browser, cdp: CDPSession) -> None:
        """The memory watchdog: kill a renderer whose resident memory passes the cap, and tell its page."""
        cap = self.max_page_memory_mb
        while browser.is_connected():
            try:
                pids = await _renderer_pids(cdp)
            except Exception:
                return  # the browser went away
            for pid in pids:
                used = resident_mb(pid)
                if used is None or used <= cap:
                    continue
                for page in self._pages_by_pid.get(pid, ()):
                    page.memory_exceeded = cap  # before the kill: the page's error is already decided
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    continue
                self._killed[pid] = cap  # for a page that learns its renderer only after the kill
                self.memory_kills += 1
            await asyncio.sleep(WATCH_INTERVAL)

    def _register(self, page: SandboxedPage, pid: int) -> None:
        self._pages_by_pid.setdefault(pid, []).append(page)
        if pid in self._killed:  # on a loaded machine the page may hear of its renderer after the kill
            page.memory_exceeded = self._killed[pid]

    def _unregister(self, page: SandboxedPage) -> None:
        pid = page.renderer_pid
        if pid is not None and page in self._pages_by_pid.get(pid, ()):
            self._pages_by_pid[pid].remove(page)
            if not self._pages_by_pid[pid]:
                del self._pages_by_pid[pid]

    async def discard(self, browser: Browser | None) -> bool:
        """Close ``browser`` if it is still this session's (a hung one); the next page relaunches.

        True when this call took a live browser down: the pages still open on it are lost.
        """
        if browser is None or self._browser is not browser:
            return False
        alive = browser.is_connected()
        await self.close()
        return alive

    async def close(self) -> None:
        """Close the browser (bounded in time: a hung one is left to the driver's exit)."""
        browser, playwright, watchdog = self._browser, self._playwright, self._watchdog
        self._browser, self._playwright, self._watchdog = None, None, None
        if watchdog is not None:
            watchdog.cancel()
            await asyncio.gather(watchdog, return_exceptions=True)
        if browser is not None:
            try:
                await asyncio.wait_for(browser.close(), CLOSE_TIMEOUT)
            except Exception:
                pass
        if playwright is not None:
            try:
                await asyncio.wait_for(playwright.stop(), CLOSE_TIMEOUT)
            except Exception:
                pass
        if self._launcher_dir is not None:
            shutil.rmtree(self._launcher_dir, ignore_errors=True)
            self._launcher_dir = None

    async def open_page(
        self, site: Site, *, width: int, height: int, seed: int, entry: str = "index.html"
    ) -> SandboxedPage:
        """A fresh context and page for ``site``; close it with :meth:`SandboxedPage.close`.

        If the browser goes away while the page is being opened (another page took it down),
        it is opened once more on a new browser.
        """
        for attempt in (1, 2):
            try:
                return await self._open_page(site, width, height, seed, entry)
            except _LostWhileOpeningError:
                if attempt == 2:
                    raise VizhubError("cannot open a page: the browser went away twice") from None
        raise AssertionError("unreachable")

    async def _open_page(self, site: Site, width: int, height: int, seed: int, entry: str) -> SandboxedPage:
        from playwright.async_api import Error

        await self.ensure()
        browser = self._browser
        if browser is None:  # ensure() launched it or raised; nothing ran in between
            raise _LostWhileOpeningError()
        try:
            context = await browser.new_context(
                viewport={"width": width, "height": height},
                device_scale_factor=1,
                service_workers="block",
                accept_downloads=False,
                locale="en-US",
                timezone_id="UTC",
                color_scheme="light",
                reduced_motion="no-preference",
            )
        except Error as exc:
            if self._lost(browser):
                raise _LostWhileOpeningError() from None
            await self.discard(browser)  # a browser that cannot open a context is relaunched for the next page
            raise VizhubError(f"cannot open a browser context: {str(exc).splitlines()[0]}") from None
        page = SandboxedPage(self, context, browser)
        page.assign(site, entry)
        try:
            await page.setup(seed)
        except Error as exc:
            await page.close()
            if page.browser_lost and not page.took_browser_down:
                raise _LostWhileOpeningError() from None
            raise VizhubError(f"cannot set up the page: {str(exc).splitlines()[0]}") from None
        except BaseException:
            await page.close()
            raise
        return page

    def _lost(self, browser: Browser) -> bool:
        """Whether ``browser`` went away (closed by the session, or disconnected)."""
        return self._browser is not browser or not browser.is_connected()


class _LostWhileOpeningError(Exception):
    """The browser went away while a page was being opened on it."""


class SandboxedPage:
    """One page in its own context, with its routes, clock and log."""

    def __init__(self, session: BrowserSession, context: BrowserContext, browser: Browser):
        self.session = session
        self.context = context
        self.browser = browser
        self.took_browser_down = False  # its context would not close, so the browser was closed
        self.site = Site({})
        self.entry = "index.html"
        self.url = f"{ORIGIN}/index.html"
        self.log = PageLog()
        self.page: Page | None = None  # made by setup()
        self.inflight: set[Any] = set()
        self.requests_seen = 0
        self._navigated = False
        self._closed = False
        self._cdp: CDPSession | None = None  # made by setup (with a memory cap) or the first evaluate_isolated
        self.renderer_pid: int | None = None  # told by the page's first request (with a memory cap)
        self.memory_exceeded: int | None = None  # the cap, when the watchdog killed the page's renderer

    def assign(self, site: Site, entry: str) -> None:
        """What this page serves (set before it loads anything)."""
        self.site = site
        self.entry = entry
        self.url = f"{ORIGIN}/{entry}"

    async def setup(self, seed: int) -> None:
        context = self.context
        # Virtual time, paused from the start. Only pause_at, no install: an install lets real
        # time flow until the pause, and performance.now() would start at that gap (varies).
        await context.clock.pause_at(START_TIME)
        await context.add_init_script(script=read_js("sandbox.js").replace("__SEED__", str(int(seed))))
        await context.route("**/*", self._route)
        await context.route_web_socket("**/*", self._websocket)
        context.on("page", self._on_extra_page)
        if self.session.max_page_memory_mb > 0:
            await context.add_init_script(script=_MARKER_JS)
        page = self.page = await context.new_page()
        if self.session.max_page_memory_mb > 0:
            cdp = self._cdp = await context.new_cdp_session(page)
            cdp.on("Network.requestWillBeSent", self._on_devtools_request)
            await cdp.send("Network.enable")
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.log.add("page_errors", _error_text(error)))
        page.on("crash", lambda _page: setattr(self.log, "crashed", True))
        page.on("dialog", lambda dialog: asyncio.ensure_future(_quiet(dialog.dismiss())))
        page.on("request", self._on_request)
        page.on("requestfinished", self._on_request_done)
        page.on("requestfailed", self._on_request_done)

    # ----------------------------------------------------------------- events and routes

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.log.add("console_errors", message.text)

    def _on_devtools_request(self, event: dict) -> None:
        """The marker request's DevTools id is ``<renderer process id>.<n>``: remember the process."""
        prefix, dot, _ = str(event.get("requestId", "")).partition(".")
        if self.renderer_pid is None and dot and prefix.isdigit() and event["request"]["url"] == RENDERER_MARKER:
            self.renderer_pid = int(prefix)
            self.session._register(self, self.renderer_pid)
            if self._cdp is not None:
                asyncio.ensure_future(_quiet(self._cdp.send("Network.disable")))

    def _on_request(self, request) -> None:
        if request.url == RENDERER_MARKER:
            return
        self.inflight.add(request)
        self.requests_seen += 1

    def _on_request_done(self, request) -> None:
        self.inflight.discard(request)

    def _on_extra_page(self, page) -> None:
        if page is not self.page and self.page is not None:
            self.log.add("blocked_requests", f"pop-up window closed: {page.url}")
            asyncio.ensure_future(_quiet(page.close()))

    async def _websocket(self, ws) -> None:
        self.log.add("blocked_requests", f"websocket {ws.url}")
        await _quiet(ws.close())

    async def _route(self, route) -> None:
        request = route.request
        url = request.url
        try:
            if url == RENDERER_MARKER:
                await route.fulfill(status=204, body=b"")
                return
            if request.is_navigation_request() and request.frame.parent_frame is None:
                if self._navigated or url.split("#")[0] != self.url:
                    self.log.add("blocked_requests", f"navigation away to {url}")
                    # an aborted navigation would commit an error page; 204 No Content keeps the page
                    await route.fulfill(status=204, body=b"")
                    return
                self._navigated = True
            if url.startswith(ORIGIN + "/"):
                await self._serve_own(route, url)
                return
            mirror = self.site.mirror
            if mirror is not None and mirror.handles(url):
                resolved = mirror.resolve(url)
                if resolved.body is not None or resolved.path is not None:
                    body = resolved.body if resolved.body is not None else _read_cached(resolved.path)
                    await route.fulfill(
                        status=200,
                        body=body,
                        headers={"Content-Type": resolved.content_type, "Access-Control-Allow-Origin": "*"},
                    )
                    return
                self.log.add("blocked_requests", f"{url} ({resolved.reason})")
                await route.abort("blockedbyclient")
                return
            if not url.startswith(("data:", "blob:")):
                self.log.add("blocked_requests", url)
            await route.abort("blockedbyclient")
        except Exception:
            # the page went away while answering, or the request was odd: refuse it quietly
            await _quiet(route.abort())

    async def _serve_own(self, route, url: str) -> None:
        name = unquote(urlsplit(url).path).lstrip("/") or self.entry
        path = self.site.files.get(name)
        if path is None or not path.is_file():
            if name == "favicon.ico":
                await route.fulfill(status=204, body=b"")
                return
            await route.fulfill(status=404, body=f"{name} not found".encode(), headers={"Content-Type": "text/plain"})
            return
        await route.fulfill(status=200, body=path.read_bytes(), headers={"Content-Type": content_type(name)})

    # ----------------------------------------------------------------- driving the page

    @property
    def browser_lost(self) -> bool:
        """Whether the browser this page runs on went away (crashed, or closed as hung)."""
        return self.session._lost(self.browser)

    def _opened(self) -> Page:
        """The page made by :meth:`setup` (every page the session hands out has one)."""
        if self.page is None:
            raise VizhubError("the page was used before it was set up")
        return self.page

    def _check_alive(self) -> None:
        if self.memory_exceeded is not None:
            raise PageMemoryError(self.memory_exceeded)
        if self.log.crashed:
            raise PageCrashedError("the page crashed (out of memory or a renderer fault)")
        if self.browser_lost:
            raise PageCrashedError("the browser went away")

    async def load(self, timeout: float) -> None:
        """Navigate to the entry file and wait for its load event (at most ``timeout`` seconds).

        Playwright's own wait for ``load`` loses track when the page tries to navigate away
        while loading (the refused navigation), so the page is asked directly.
        """
        from playwright.async_api import Error
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        clock = self.session.clock
        deadline = clock.now() + timeout
        try:  # no limit of playwright's own (wall clock): the page's clock bounds the call
            await clock.wait_for(self._opened().goto(self.url, wait_until="commit", timeout=0), timeout)
        except (PlaywrightTimeout, TimeoutError):
            raise PageTimeoutError("the page did not load", timeout) from None
        except Error as exc:
            self._check_alive()
            raise VizhubError(f"loading failed: {str(exc).splitlines()[0]}") from None
        try:
            await self.evaluate(_LOADED_JS, timeout=max(0.05, deadline - clock.now()))
        except PageTimeoutError:
            raise PageTimeoutError("the page did not load", timeout) from None

    async def _answer(self, call: Awaitable[Any], timeout: float) -> Any:
        """Await a call into the page: a timeout is the page's, a failure names its first line."""
        from playwright.async_api import Error

        try:
            return await self.session.clock.wait_for(call, timeout)
        except TimeoutError:
            raise PageTimeoutError("the page did not answer", timeout) from None
        except Error as exc:
            self._check_alive()
            raise VizhubError(str(exc).splitlines()[0]) from None

    async def evaluate(self, expression: str, arg: Any = None, *, timeout: float = 10.0) -> Any:
        return await self._answer(self._opened().evaluate(expression, arg), timeout)

    async def evaluate_isolated(self, function: str, arg: Any = None, *, timeout: float = 10.0) -> Any:
        """Call ``function`` (the source of a JavaScript function of one argument) with ``arg`` in an
        isolated world of the page's main frame, and return its (awaited, JSON) value.

        An isolated world shares the page's DOM but none of its JavaScript: its own globals,
        prototypes and DOM bindings. A page that replaces ``Boolean``, ``Array.prototype.some``,
        ``querySelectorAll``, ``getComputedStyle`` or ``console`` changes nothing seen here, and
        expando properties a page sets on nodes (such as D3's ``__data__``) are not visible either.
        """

        async def call() -> Any:
            if self._cdp is None:
                self._cdp = await self.context.new_cdp_session(self._opened())
            tree = await self._cdp.send("Page.getFrameTree")
            world = await self._cdp.send(
                "Page.createIsolatedWorld", {"frameId": tree["frameTree"]["frame"]["id"], "worldName": "vizhub-checks"}
            )
            return await self._cdp.send(
                "Runtime.callFunctionOn",
                {
                    "functionDeclaration": function,
                    "executionContextId": world["executionContextId"],
                    "arguments": [{"value": arg}],
                    "returnByValue": True,
                    "awaitPromise": True,
                },
            )

        answer = await self._answer(call(), timeout)
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            text = (details.get("exception") or {}).get("description") or details.get("text") or "an exception"
            raise VizhubError(f"the checks threw: {str(text).splitlines()[0]}")
        return answer["result"].get("value")

    async def wait_network_idle(self, timeout: float) -> None:
        """Wait until no request of the page is in flight, then let callbacks run."""
        clock = self.session.clock
        deadline = clock.now() + timeout
        while True:
            while self.inflight:
                if clock.now() > deadline:
                    raise PageTimeoutError("its requests did not finish", timeout)
                await asyncio.sleep(0.005)
            seen = self.requests_seen
            # two macrotask turns in the page, so .then() of a finished fetch has run
            await self.evaluate(_YIELD_JS, timeout=max(0.1, deadline - clock.now()))
            if not self.inflight and self.requests_seen == seen:
                return

    async def run_clock(self, ms: int, timeout: float, *, chunk: int = 1000) -> None:
        """Advance virtual time by ``ms``, firing timers and frames; pause while requests are pending."""
        from playwright.async_api import Error

        clock = self.session.clock
        deadline = clock.now() + timeout
        remaining = int(ms)
        await self.wait_network_idle(max(0.1, deadline - clock.now()))
        while remaining > 0:
            step = min(chunk, remaining)
            seen = self.requests_seen
            try:
                await clock.wait_for(self._opened().clock.run_for(step), max(0.1, deadline - clock.now()))
            except TimeoutError:
                raise PageTimeoutError(
                    "the page did not settle", timeout, "timers that never end, or an endless loop"
                ) from None
            except Error as exc:
                self._check_alive()
                raise VizhubError(f"running timers failed: {str(exc).splitlines()[0]}") from None
            remaining -= step
            if self.inflight or self.requests_seen != seen:
                await self.wait_network_idle(max(0.1, deadline - clock.now()))

    async def screenshot(self, path: Path, timeout: float) -> bytes:
        from playwright.async_api import Error

        try:
            return await self.session.clock.wait_for(
                self._opened().screenshot(path=str(path), type="png", animations="disabled", caret="hide", timeout=0),
                timeout,
            )
        except TimeoutError:
            raise PageTimeoutError("the screenshot did not finish", timeout) from None
        except Error as exc:
            self._check_alive()
            if "Timeout" in str(exc):
                raise PageTimeoutError("the screenshot did not finish", timeout) from None
            raise VizhubError(f"screenshot failed: {str(exc).splitlines()[0]}") from None

    async def element_box(self, selector: str, nth: int, timeout: float) -> dict | str:
        """The viewport box (x, y, width, height) of the ``nth`` match, scrolled into view, or why not."""
        return await self.evaluate(_BOX_JS, {"selector": selector, "nth": nth}, timeout=timeout)

    async def mouse(self, action: str, timeout: float, *points, delta_y: float = 0.0) -> None:
        async def act() -> None:
            mouse = self._opened().mouse
            if action == "hover":
                await mouse.move(*points[0])
            elif action == "click":
                await mouse.move(*points[0])
                await mouse.click(*points[0])
            elif action == "drag":
                await mouse.move(*points[0])
                await mouse.down()
                await mouse.move(*points[1], steps=10)
                await mouse.up()
            elif action == "wheel":
                await mouse.move(*points[0])
                await mouse.wheel(0, delta_y)
            else:
                raise ValueError(action)

        await self._bounded(act(), timeout, action)

    async def press(self, key: str, timeout: float) -> None:
        await self._bounded(self._opened().keyboard.press(key), timeout, f"press {key}")

    async def _bounded(self, coro, timeout: float, what: str) -> None:
        from playwright.async_api import Error

        try:
            await self.session.clock.wait_for(coro, timeout)
        except TimeoutError:
            raise PageTimeoutError(f"{what} did not finish", timeout) from None
        except Error as exc:
            self._check_alive()
            raise VizhubError(f"{what} failed: {str(exc).splitlines()[0]}") from None

    async def close(self) -> bool:
        """Close the context; False if it would not close (then the browser is closed too, and
        launched again for the next page)."""
        if self._closed:
            return True
        self._closed = True
        self.session._unregister(self)
        try:
            await self.session.clock.wait_for(self.context.close(), CLOSE_TIMEOUT)
            return True
        except Exception:
            self.took_browser_down = await self.session.discard(self.browser)
            return False


_LOADED_JS = """() => document.readyState === "complete" ||
  new Promise(done => window.addEventListener("load", () => done(true), {once: true}))"""

_YIELD_JS = """() => new Promise(done => {
  const channel = new MessageChannel();
  let turns = 0;
  channel.port1.onmessage = () => {
    if (++turns >= 2) { channel.port1.close(); done(true); } else channel.port2.postMessage(0);
  };
  channel.port2.postMessage(0);
})"""

_BOX_JS = """({selector, nth}) => {
  let found;
  try { found = document.querySelectorAll(selector); } catch (e) { return `invalid selector ${selector}`; }
  const el = found[nth];
  if (!el) return `no element matches ${selector}` + (nth ? ` (nth ${nth}, found ${found.length})` : "");
  if (el.scrollIntoView) el.scrollIntoView({block: "nearest", inline: "nearest"});
  const r = el.getBoundingClientRect();
  return {x: r.x, y: r.y, width: r.width, height: r.height};
}"""


async def _renderer_pids(cdp: CDPSession) -> list[int]:
    """The process ids of the browser's renderers (a browser-level DevTools session)."""
    info = await cdp.send("SystemInfo.getProcessInfo")
    return [int(process["id"]) for process in info["processInfo"] if process.get("type") == "renderer"]


@functools.lru_cache(maxsize=64)
def _read_cached(path: Path) -> bytes:
    """Library files of the mirror, read once per run (they do not change under it)."""
    return path.read_bytes()


def _error_text(error) -> str:
    name = getattr(error, "name", "") or "Error"
    message = getattr(error, "message", None) or str(error)
    return f"{name}: {message}" if not message.startswith(name) else message


async def _quiet(coro) -> None:
    try:
        await coro
    except Exception:
        pass
