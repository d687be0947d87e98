"""The second origin that serves generated pages to the grader's iframe.

Generated code is untrusted. The grader page embeds it in
``<iframe sandbox="allow-scripts allow-same-origin">`` whose URL is on another port: another
origin than the app's, so the page cannot reach the grader page, and its own origin, so it
loads its data files with same-origin requests and this server sends no CORS header at all
(another origin, or an opaque one, cannot read an output). Every response carries a
Content-Security-Policy that lets the page load only its own files and the local copies of CDN
libraries, connect nowhere else, open no popups and navigate no top window. A page is only
ever shown inside a frame: opened on its own (a top-level navigation, ``Sec-Fetch-Dest:
document``) it is sent to the app's ``/alone/<item>`` page, which frames it, so its navigations
stay within the app's ``frame-src``. Service worker scripts are refused. Only the files listed
in an item's meta.json are served, from inside its folder.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from vizhub_pipeline.grading.web.guard import HostGuard, safe_join
from vizhub_pipeline.grading.web.items import Catalog

CDN_HOSTS = (
    "d3js.org",
    "unpkg.com",
    "cdn.jsdelivr.net",
    "fastly.jsdelivr.net",
    "gcore.jsdelivr.net",
    "cdnjs.cloudflare.com",
    "cdn.plot.ly",
)
_CDN_URL = re.compile(r"(?:https?:)?//(" + "|".join(re.escape(host) for host in CDN_HOSTS) + r")/", re.IGNORECASE)
RESERVED_FILES = ("meta.json", "response.md")  # the pipeline's own files (they name the model)
REWRITTEN_SUFFIXES = (".html", ".htm", ".js", ".mjs", ".css", ".svg")
TEXT_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".json": "application/json",
    ".geojson": "application/json",
    ".topojson": "application/json",
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".md": "text/plain",
}


def content_security_policy(origin: str) -> str:
    """The policy of every sandboxed response; ``origin`` is the sandbox's own origin."""
    own = f"'self' {origin}"
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {own} 'unsafe-inline' 'unsafe-eval' blob:",
            f"style-src {own} 'unsafe-inline'",
            f"img-src {own} data: blob:",
            f"font-src {own} data:",
            f"media-src {own} data: blob:",
            f"connect-src {own}",
            f"worker-src {own} blob:",
            "frame-src 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "sandbox allow-scripts allow-same-origin",
        )
    )


def rewrite_cdn_urls(text: str) -> str:
    """Point CDN URLs (``https://cdn.jsdelivr.net/npm/d3@7``) at this origin's ``/lib/`` copies."""
    return _CDN_URL.sub(lambda match: f"/lib/{match.group(1)}/", text)


def _content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    kind = TEXT_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/json", "image/svg+xml"):
        kind += "; charset=utf-8"
    return kind


def create_sandbox_app(
    catalog: Catalog, origin: str, allowed_hosts: set[str], node_modules: Path, *, app_origin: str
) -> Callable:
    """The sandbox's ASGI app: ``/v/<item id>/<file>``, and ``/lib/<cdn host>/<path>`` answered by
    :class:`vizhub_pipeline.core.mirror.Mirror` from ``node_modules``. A page opened on its own
    goes to ``<app_origin>/alone/<item id>``."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, RedirectResponse, Response
    from starlette.routing import Route

    from vizhub_pipeline.core.mirror import Mirror

    modules = Path(node_modules).resolve()
    mirror = Mirror(modules)
    policy = content_security_policy(origin)
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
    }

    def refuse(status: int, message: str) -> Response:
        return PlainTextResponse(message, status_code=status, headers=headers)

    def serve(path: Path, *, rewrite: bool, cache: str) -> Response:
        try:
            data = path.read_bytes()
        except OSError:
            return refuse(404, "not found")
        if rewrite and path.suffix.lower() in REWRITTEN_SUFFIXES:
            try:
                data = rewrite_cdn_urls(data.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:
                pass
        return Response(data, media_type=_content_type(path), headers={**headers, "Cache-Control": cache})

    async def item_file(request):
        if request.headers.get("service-worker"):
            return refuse(403, "service workers are not allowed in the sandbox")
        if request.headers.get("sec-fetch-dest") == "document":  # top level: only ever inside a frame
            return RedirectResponse(f"{app_origin}/alone/{quote(request.path_params['item_id'])}", headers=headers)
        if request.path_params["path"] in ("", "index.html") or request.path_params["path"].endswith((".html", ".htm")):
            catalog.refresh()  # a page load: notice a regenerated output
        item = catalog.get(request.path_params["item_id"])
        if item is None:
            return refuse(404, "unknown item")
        name = request.path_params["path"]
        if not name:
            challenge = catalog.challenges.get(item.challenge)
            return RedirectResponse(f"/v/{item.id}/{challenge.entry if challenge else 'index.html'}", headers=headers)
        if name not in item.files or name in RESERVED_FILES:
            return refuse(404, "not a file of this output")
        path = safe_join(item.folder, name)
        if path is None or not path.is_file():
            return refuse(404, "not a file of this output")
        return serve(path, rewrite=True, cache="no-store")

    async def library(request):
        host = request.path_params["host"].lower()
        url = f"https://{host}/{request.path_params['path']}"
        if request.url.query:
            url += f"?{request.url.query}"
        if host not in CDN_HOSTS:
            return refuse(404, "not a mirrored CDN")
        found = mirror.resolve(url)
        if found.body is not None:
            body = rewrite_cdn_urls(found.body.decode("utf-8")).encode("utf-8")
            return Response(
                body, media_type=found.content_type, headers={**headers, "Cache-Control": "public, max-age=3600"}
            )
        if found.path is None:
            return refuse(404, found.reason or f"no local copy of {url}")
        resolved = found.path.resolve()
        if modules not in resolved.parents or not resolved.is_file():
            return refuse(404, f"no local copy of {url}")
        return serve(resolved, rewrite=False, cache="public, max-age=3600")

    async def fallback(request):
        return refuse(404, "not found")

    app = Starlette(
        routes=[
            Route("/v/{item_id}/{path:path}", item_file, methods=["GET", "HEAD"]),
            Route("/lib/{host}/{path:path}", library, methods=["GET", "HEAD"]),
            Route("/{path:path}", fallback, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
        ]
    )
    return HostGuard(app, allowed_hosts)
