"""CDN URLs of visualization libraries, answered from the local npm copies.

Generated pages load D3, Vega, Plotly, Chart.js ... from public CDNs. The screenshot stage
cuts the network off, so :func:`resolve_cdn_url` maps such a URL to a file of the package
installed under ``node_modules`` (by ``npm ci``, see package.json). The forms understood:

- ``https://d3js.org/d3.v7.min.js``, ``https://d3js.org/d3-scale.v4.js``, ``https://d3js.org/d3.min.js``
- ``https://unpkg.com/<pkg>[@<version>][/<file>]`` and ``https://cdn.jsdelivr.net/npm/<pkg>[@<version>][/<file>]``
  (scoped ``@scope/pkg`` too; jsdelivr's ``/+esm`` for the D3 modules)
- ``https://cdnjs.cloudflare.com/ajax/libs/<name>/<version>/<file>``
- ``https://cdn.plot.ly/plotly-<version>.min.js`` and ``plotly-latest.min.js``

A version is served when it is absent, ``latest``, or has the installed major version; another
major version is refused (its API differs) and the page records the blocked request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from vizhub_pipeline.core.errors import PrerequisiteError

# cdnjs and d3js.org library names that differ from the npm package name
ALIASES = {
    "topojson": "topojson-client",
    "Chart.js": "chart.js",
    "chartjs": "chart.js",
    "plotly.js": "plotly.js-dist-min",
    "plotly": "plotly.js-dist-min",
    "plotly.js-dist": "plotly.js-dist-min",
}
MIME_TYPES = {
    ".js": "application/javascript; charset=utf-8",
    ".mjs": "application/javascript; charset=utf-8",
    ".cjs": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".tsv": "text/tab-separated-values; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
_PKG_RE = re.compile(r"^(?P<name>(?:@[A-Za-z0-9._-]+/)?[A-Za-z0-9._-]+?)(?:@(?P<version>[^/]+))?(?:/(?P<rest>.*))?$")
_D3JS_RE = re.compile(r"^/(?P<name>[a-z0-9-]+?)(?:\.v(?P<major>\d+))?(?P<min>\.min)?\.js$")
_PLOTLY_RE = re.compile(r"^/plotly-(?:(?P<version>\d[\w.-]*?)|latest)(?:\.min)?\.js$")


@dataclass(frozen=True)
class Resolved:
    """A CDN URL's answer: a local file, or why there is none."""

    path: Path | None
    reason: str = ""
    body: bytes | None = None  # generated content (an ES module wrapper) instead of a file

    @property
    def content_type(self) -> str:
        if self.body is not None:
            return MIME_TYPES[".js"]
        if self.path is None:
            raise ValueError(f"no local answer, so no content type: {self.reason}")
        return content_type(self.path)


def content_type(path: Path | str) -> str:
    return MIME_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")


def find_node_modules(root: Path | None) -> Path:
    """``<root>/node_modules``, else the one beside the installed package; one-line error if none."""
    candidates = []
    if root is not None:
        candidates.append(Path(root) / "node_modules")
    candidates.append(Path(__file__).resolve().parents[2] / "node_modules")
    for candidate in candidates:
        if (candidate / "d3" / "package.json").is_file():
            return candidate
    raise PrerequisiteError(
        f"no JavaScript libraries at {candidates[0]}: run `make setup` (npm ci) to install the local CDN mirror"
    )


class Mirror:
    """Answers CDN URLs from one ``node_modules`` folder."""

    HOSTS = ("d3js.org", "unpkg.com", "cdn.jsdelivr.net", "cdnjs.cloudflare.com", "cdn.plot.ly")

    def __init__(self, node_modules: Path):
        self.node_modules = Path(node_modules)

    def handles(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return host in self.HOSTS or host.endswith(".jsdelivr.net")

    def resolve(self, url: str) -> Resolved:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        path = parts.path
        if host == "d3js.org":
            match = _D3JS_RE.match(path)
            if not match:
                return Resolved(None, f"no local copy of {url}")
            name = ALIASES.get(match["name"], match["name"])
            return self._package_file(name, match["major"], None, minified=bool(match["min"]))
        if host == "cdn.plot.ly":
            match = _PLOTLY_RE.match(path)
            if not match:
                return Resolved(None, f"no local copy of {url}")
            return self._package_file("plotly.js-dist-min", match["version"], None)
        if host == "cdnjs.cloudflare.com":
            bits = path.split("/")
            # /ajax/libs/<name>/<version>/<file...>
            if len(bits) < 5 or bits[1:3] != ["ajax", "libs"]:
                return Resolved(None, f"no local copy of {url}")
            name = ALIASES.get(bits[3], bits[3])
            rest = "/".join(bits[5:])
            # cdnjs files sit at the package's dist folder level; the default file fits them best
            return self._package_file(name, bits[4], None, hint=rest)
        if host == "unpkg.com" or host.endswith("jsdelivr.net"):
            spec = path.lstrip("/")
            if host.endswith("jsdelivr.net"):
                if not spec.startswith("npm/"):
                    return Resolved(None, f"no local copy of {url}")
                spec = spec[len("npm/") :]
            match = _PKG_RE.match(spec)
            if not match:
                return Resolved(None, f"no local copy of {url}")
            name = ALIASES.get(match["name"], match["name"])
            rest = (match["rest"] or "").strip("/")
            if rest == "+esm" or "module" in parts.query.split("&"):
                return self._esm_wrapper(name, match["version"], url)
            return self._package_file(name, match["version"], rest or None)
        return Resolved(None, f"not a known CDN: {host}")

    # ----------------------------------------------------------------- internals

    def _package_dir(self, name: str) -> Path | None:
        if ".." in name.split("/"):
            return None
        folder = self.node_modules / name
        return folder if (folder / "package.json").is_file() else None

    def _check_version(self, name: str, folder: Path, version: str | None) -> str:
        installed = _package_json(folder).get("version", "")
        if version in (None, "", "latest"):
            return ""
        wanted = re.match(r"^[\^~=v]*(\d+)", version)
        if not wanted or wanted.group(1) != installed.split(".")[0]:
            return f"no local copy of {name}@{version} (the mirror has {name}@{installed})"
        return ""

    def _package_file(
        self, name: str, version: str | None, rest: str | None, *, minified: bool = True, hint: str = ""
    ) -> Resolved:
        folder = self._package_dir(name)
        if folder is None:
            return Resolved(None, f"no local copy of {name}: not installed in {self.node_modules}")
        problem = self._check_version(name, folder, version)
        if problem:
            return Resolved(None, problem)
        if rest:
            found = _existing_variant(folder, rest)
            if found is None:
                return Resolved(None, f"no local copy of {name}/{rest}")
            return Resolved(found)
        if hint and not hint.endswith(".js"):
            found = _existing_variant(folder, hint)
            if found is not None:
                return Resolved(found)
        default = _default_file(folder, minified=minified)
        if default is None:
            return Resolved(None, f"{name} has no browser file to serve")
        return Resolved(default)

    def _esm_wrapper(self, name: str, version: str | None, url: str) -> Resolved:
        """An ES module for jsdelivr's ``/+esm`` (and unpkg's ``?module``) of D3 and its modules.

        It loads the full D3 bundle as a script (which sets ``globalThis.d3``) and re-exports
        the names the requested module has (a D3 module's names are a subset of D3's).
        """
        folder = self._package_dir(name)
        bundle = self._package_dir("d3")
        if folder is None or bundle is None or not (name == "d3" or name.startswith("d3-")):
            return Resolved(None, f"no local ES module for {url}")
        problem = self._check_version(name, folder, version)
        if problem:
            return Resolved(None, problem)
        umd = _default_file(folder, minified=False)
        names = _umd_export_names(umd) if umd else []
        if not names:
            return Resolved(None, f"no local ES module for {url}")
        bundle_file = _default_file(bundle)
        if bundle_file is None:
            return Resolved(None, f"no local ES module for {url}")
        script = bundle_file.relative_to(self.node_modules).as_posix()
        lines = [
            f'import "https://cdn.jsdelivr.net/npm/{script}";',
            "const lib = globalThis.d3;",
            "export default lib;",
        ]
        lines += [f"export const {n} = lib.{n};" for n in names if n != "default"]
        return Resolved(None, body=("\n".join(lines) + "\n").encode("utf-8"))

    def fingerprint(self) -> dict[str, str]:
        """Versions of the mirrored libraries (part of the render hash: new libraries, new renders)."""
        return {name: _package_json(folder).get("version", "") for name, folder in self._roots()}

    def _roots(self):
        for name in ("d3", "topojson-client", "vega", "vega-lite", "vega-embed", "plotly.js-dist-min", "chart.js"):
            folder = self._package_dir(name)
            if folder is not None:
                yield name, folder


@lru_cache(maxsize=256)
def _package_json(folder: Path) -> dict:
    try:
        return json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _inside(folder: Path, rel: str) -> Path | None:
    """``folder / rel`` when it is a file that stays inside ``folder`` once links are followed.

    The path returned is under ``folder`` as given, so a ``node_modules`` that is itself a link
    still yields paths relative to it.
    """
    target = (folder / rel).resolve()
    root = folder.resolve()
    if target != root and root not in target.parents:
        return None
    return folder / target.relative_to(root) if target.is_file() else None


def _existing_variant(folder: Path, rel: str) -> Path | None:
    """``rel`` in the package, or its minified/unminified twin (``.min.js`` <-> ``.js``)."""
    candidates = [rel]
    if rel.endswith(".min.js"):
        candidates.append(rel[: -len(".min.js")] + ".js")
    elif rel.endswith(".js"):
        candidates.append(rel[: -len(".js")] + ".min.js")
    elif "." not in rel.rsplit("/", 1)[-1]:
        candidates += [rel + ".js", rel + "/index.js"]
    for candidate in candidates:
        found = _inside(folder, candidate)
        if found is not None:
            return found
    return None


def _default_file(folder: Path, *, minified: bool = True) -> Path | None:
    meta = _package_json(folder)
    for key in ("jsdelivr", "unpkg", "browser", "main"):
        value = meta.get(key)
        if isinstance(value, str) and value:
            found = _inside(folder, value)
            if found is None:
                continue
            if not minified and found.name.endswith(".min.js"):
                plain = found.with_name(found.name[: -len(".min.js")] + ".js")
                if plain.is_file():
                    return plain
            return found
    return None


@lru_cache(maxsize=64)
def _umd_export_names(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return sorted(set(re.findall(r"\bexports\.([A-Za-z_$][\w$]*)\s*=", text)))
