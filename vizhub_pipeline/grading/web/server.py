"""Run the grader: one uvicorn server listening on two sockets, the app's and the sandbox's.

Requests are told apart by the socket they arrived on (the local port), never by a header,
so a generated page can never be served from the app's origin or the app from the sandbox's.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from vizhub_pipeline.core.challenges import discover_challenges
from vizhub_pipeline.core.errors import PrerequisiteError, VizhubError
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.mirror import find_node_modules
from vizhub_pipeline.grading.web.app import GraderConfig, create_app
from vizhub_pipeline.grading.web.guard import allowed_hosts_for
from vizhub_pipeline.grading.web.items import Catalog
from vizhub_pipeline.grading.web.sandbox import create_sandbox_app


class GraderServerError(VizhubError):
    """The grader could not start (a port in use, nothing to grade, ...)."""


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP proto: asyncio then sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        hint = " (is another grader running? pick another --port)" if port else ""
        raise GraderServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class PortDispatcher:
    """ASGI app that sends each request to the app of the port it arrived on."""

    def __init__(self, apps: dict[int, Callable]):
        self.apps = apps

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        server = scope.get("server") or (None, None)
        app = self.apps.get(server[1]) if isinstance(server[1], int) else None
        if app is None:  # pragma: no cover - uvicorn always reports the listening socket
            raise RuntimeError(f"request on an unknown port {server!r}")
        await app(scope, receive, send)


@dataclass
class GraderServer:
    """A bound, configured grader; :meth:`run` blocks, :meth:`start` runs it in a thread."""

    config: GraderConfig
    sockets: list[socket.socket]
    url: str
    sandbox_url: str
    app: Callable

    _server: Any = None  # uvicorn.Server once run
    _thread: threading.Thread | None = None

    def run(self):
        """Serve until Ctrl+C; then commit a batch-mode session. Returns that commit's result."""
        try:
            self._uvicorn().run(sockets=self.sockets)
        except KeyboardInterrupt:  # uvicorn re-raises Ctrl+C once it has shut down: a normal stop
            pass
        finally:
            for sock in self.sockets:
                sock.close()
        return self.config.finish()

    def start(self, timeout: float = 10.0) -> GraderServer:
        server = self._uvicorn()
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": self.sockets}, daemon=True, name="vizhub-grader"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise GraderServerError("the grader server did not start")
            time.sleep(0.01)
        return self

    def stop(self):
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()
        return self.config.finish()

    def _uvicorn(self):
        import uvicorn

        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        return self._server


@dataclass
class GraderApps:
    """The two ASGI apps of one session, and what the CLI should warn about."""

    config: GraderConfig
    app: Callable
    sandbox: Callable
    warnings: list[str]


def build_apps(
    layout: Layout,
    grader: str,
    *,
    challenges: Iterable[str] = (),
    models: Iterable[str] = (),
    blind: bool = True,
    host: str = "127.0.0.1",
    port: int,
    sandbox_port: int,
    commit: bool = True,
    branch: str | None = None,
    pairwise: bool = False,
    pair_seed: int = 0,
    repeat_share: float = 0.0,
) -> GraderApps:
    """The grader app for ``http://host:port`` and the sandbox app for ``http://host:sandbox_port``;
    ``pairwise``: a session of votes on pairs (``/pairs``) instead of grades."""
    challenges = tuple(challenges)
    found, problems = discover_challenges(layout.challenges, challenges)
    if challenges and not found:
        raise GraderServerError("; ".join(str(problem) for problem in problems) or "no such challenge")
    warnings = [f"challenge skipped: {problem}" for problem in problems]
    try:
        node_modules = find_node_modules(layout.root)
    except PrerequisiteError as exc:
        warnings.append(f"{exc}; pages that load libraries from a CDN will not work in the grader")
        node_modules = layout.root / "node_modules"
    catalog = Catalog(
        layout, grader, blind=blind, challenges={c.id: c for c in found}, only_models=models, branch=branch
    )
    shown = _url_host(host)
    sandbox_origin = f"http://{shown}:{sandbox_port}"
    named = host if host not in ("0.0.0.0", "::", "") else shown.strip("[]")
    app_hosts = allowed_hosts_for(named, port)
    config = GraderConfig(
        layout=layout,
        grader=grader,
        catalog=catalog,
        sandbox_origin=sandbox_origin,
        allowed_hosts=app_hosts,
        allowed_origins={f"http://{name}" for name in app_hosts},
        commit=commit,
        branch=branch,
    )
    if pairwise:
        from vizhub_pipeline.grading.pairing import PairQueue

        config.pairs = PairQueue(catalog, layout, grader, seed=pair_seed, repeat_share=repeat_share)
    sandbox = create_sandbox_app(
        catalog,
        sandbox_origin,
        allowed_hosts_for(named, sandbox_port),
        node_modules,
        app_origin=f"http://{shown}:{port}",
    )
    return GraderApps(config=config, app=create_app(config), sandbox=sandbox, warnings=warnings)


def build_server(
    layout: Layout,
    grader: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    sandbox_port: int = 0,
    **options,
) -> tuple[GraderServer, list[str]]:
    """Bind both sockets (port 0: any free port) and build the apps; returns the server and
    warnings for the user. ``options`` are those of :func:`build_apps`."""
    app_socket = bind_socket(host, port)
    try:
        sandbox_socket = bind_socket(host, sandbox_port)
    except GraderServerError:
        app_socket.close()
        raise
    app_port = app_socket.getsockname()[1]
    box_port = sandbox_socket.getsockname()[1]
    try:
        apps = build_apps(layout, grader, host=host, port=app_port, sandbox_port=box_port, **options)
    except BaseException:
        app_socket.close()
        sandbox_socket.close()
        raise
    server = GraderServer(
        config=apps.config,
        sockets=[app_socket, sandbox_socket],
        url=f"http://{_url_host(host)}:{app_port}",
        sandbox_url=apps.config.sandbox_origin,
        app=PortDispatcher({app_port: apps.app, box_port: apps.sandbox}),
    )
    return server, apps.warnings
