"""The grader's defences: file paths that stay in their folder, Host and cross-site checks.

- :func:`safe_join` resolves a relative path inside a folder and refuses anything that
  leaves it (``..``, absolute paths, backslashes, symlinks that point out).
- :class:`HostGuard` answers only requests addressed to the server's own host and port, so
  a foreign site cannot reach it through DNS rebinding.
- :class:`CrossSiteGuard` lets a state-changing request (POST, PUT, ...) through only with
  the session token in the ``X-Vizhub-Token`` header and an ``Origin`` of the app itself.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

TOKEN_HEADER = "x-vizhub-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def safe_join(folder: Path, relative: str) -> Path | None:
    """``folder / relative`` resolved, or ``None`` if it would leave ``folder``."""
    if not relative or "\\" in relative or "\0" in relative or ":" in relative:
        return None
    pure = PurePosixPath(relative)
    if pure.is_absolute() or any(part in ("..", ".") or part.startswith("~") for part in pure.parts):
        return None
    root = Path(folder).resolve()
    try:
        target = (root / pure).resolve()
    except (OSError, RuntimeError):
        return None
    if root not in target.parents:
        return None
    return target


def allowed_hosts_for(host: str, port: int) -> set[str]:
    """The ``Host`` header values a server bound to ``host:port`` answers."""
    names = {host, "127.0.0.1", "localhost", "[::1]"} if host in ("127.0.0.1", "localhost", "::1") else {host}
    return {f"{name}:{port}" for name in names} | ({f"[{host}]:{port}"} if ":" in host else set())


async def _send_error(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class HostGuard:
    """ASGI middleware: 421 for a request whose Host is not this server."""

    def __init__(self, app: Callable, allowed_hosts: Iterable[str]):
        self.app = app
        self.allowed_hosts = {host.lower() for host in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            host = (_header(scope, b"host") or "").lower()
            if host not in self.allowed_hosts:
                await _send_error(send, 421, f"unexpected Host header {host!r}: open the grader at its own address")
                return
        await self.app(scope, receive, send)


class CrossSiteGuard:
    """ASGI middleware: state-changing requests need the session token and the app's Origin."""

    def __init__(self, app: Callable, token: str, allowed_origins: Iterable[str]):
        self.app = app
        self.token = token
        self.allowed_origins = {origin.lower() for origin in allowed_origins}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            problem = self.check(scope)
            if problem:
                await _send_error(send, 403, problem)
                return
        await self.app(scope, receive, send)

    def check(self, scope) -> str | None:
        origin = _header(scope, b"origin")
        if origin is None:
            return "cross-site check failed: the request has no Origin header"
        if origin.lower() not in self.allowed_origins:
            return f"cross-site check failed: Origin {origin!r} is not this grader"
        fetch_site = _header(scope, b"sec-fetch-site")
        if fetch_site is not None and fetch_site not in ("same-origin", "none"):
            return f"cross-site check failed: Sec-Fetch-Site is {fetch_site!r}"
        token = _header(scope, TOKEN_HEADER.encode())
        if not token:
            return f"missing session token (header {TOKEN_HEADER})"
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return "wrong session token: reload the grader page"
        return None


class SecurityHeaders:
    """ASGI middleware: adds ``headers`` to every response (unless the app set them), and
    ``Cache-Control: no-store`` to everything but static files."""

    def __init__(self, app: Callable, headers: dict[str, str]):
        self.app = app
        self.headers = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                extra = [(name, value) for name, value in self.headers if name not in present]
                if not static and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": list(message.get("headers", ())) + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)
