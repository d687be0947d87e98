"""CDN URL -> local npm file: the forms of each CDN, with and without versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from vizhub_pipeline.core import mirror as mirror_module
from vizhub_pipeline.core.errors import PrerequisiteError
from vizhub_pipeline.core.mirror import Mirror, find_node_modules

NODE_MODULES = find_node_modules(Path(__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def mirror() -> Mirror:
    return Mirror(NODE_MODULES)


def served(mirror: Mirror, url: str) -> str | None:
    resolved = mirror.resolve(url)
    return resolved.path.relative_to(NODE_MODULES).as_posix() if resolved.path else None


@pytest.mark.parametrize(
    "url, path",
    [
        ("https://d3js.org/d3.v7.min.js", "d3/dist/d3.min.js"),
        ("https://d3js.org/d3.v7.js", "d3/dist/d3.js"),
        ("https://d3js.org/d3.min.js", "d3/dist/d3.min.js"),
        ("https://d3js.org/d3-scale.v4.min.js", "d3-scale/dist/d3-scale.min.js"),
        ("https://d3js.org/d3-scale-chromatic.v3.min.js", "d3-scale-chromatic/dist/d3-scale-chromatic.min.js"),
        ("https://unpkg.com/d3", "d3/dist/d3.min.js"),
        ("https://unpkg.com/d3@7", "d3/dist/d3.min.js"),
        ("https://unpkg.com/d3@^7.8.0", "d3/dist/d3.min.js"),
        ("https://unpkg.com/d3@7.9.0/dist/d3.min.js", "d3/dist/d3.min.js"),
        ("https://unpkg.com/d3-array@3/dist/d3-array.js", "d3-array/dist/d3-array.js"),
        ("https://unpkg.com/topojson-client@3", "topojson-client/dist/topojson-client.min.js"),
        ("https://unpkg.com/topojson@3", "topojson-client/dist/topojson-client.min.js"),
        ("https://cdn.jsdelivr.net/npm/d3@7", "d3/dist/d3.min.js"),
        ("https://cdn.jsdelivr.net/npm/d3@latest/dist/d3.js", "d3/dist/d3.js"),
        ("https://cdn.jsdelivr.net/npm/d3-geo@3", "d3-geo/dist/d3-geo.min.js"),
        ("https://cdn.jsdelivr.net/npm/vega@5", "vega/build/vega.min.js"),
        ("https://cdn.jsdelivr.net/npm/vega-lite@5.21.0", "vega-lite/build/vega-lite.min.js"),
        ("https://cdn.jsdelivr.net/npm/vega-embed@6", "vega-embed/build/vega-embed.min.js"),
        ("https://cdn.jsdelivr.net/npm/chart.js", "chart.js/dist/chart.umd.js"),
        ("https://cdn.jsdelivr.net/npm/chart.js@4.4.1/dist/chart.umd.min.js", "chart.js/dist/chart.umd.js"),
        ("https://cdnjs.cloudflare.com/ajax/libs/d3/7.8.5/d3.min.js", "d3/dist/d3.min.js"),
        ("https://cdnjs.cloudflare.com/ajax/libs/Chart.js/4.4.1/chart.umd.min.js", "chart.js/dist/chart.umd.js"),
        (
            "https://cdnjs.cloudflare.com/ajax/libs/topojson/3.0.2/topojson.min.js",
            "topojson-client/dist/topojson-client.min.js",
        ),
        ("https://cdnjs.cloudflare.com/ajax/libs/vega/5.25.0/vega.min.js", "vega/build/vega.min.js"),
        ("https://cdnjs.cloudflare.com/ajax/libs/plotly.js/2.35.2/plotly.min.js", "plotly.js-dist-min/plotly.min.js"),
        ("https://cdn.plot.ly/plotly-2.35.2.min.js", "plotly.js-dist-min/plotly.min.js"),
        ("https://cdn.plot.ly/plotly-latest.min.js", "plotly.js-dist-min/plotly.min.js"),
    ],
)
def test_cdn_forms_map_to_local_files(mirror, url, path):
    assert mirror.handles(url)
    assert served(mirror, url) == path


@pytest.mark.parametrize(
    "url, reason",
    [
        ("https://d3js.org/d3.v5.min.js", "no local copy of d3@5 (the mirror has d3@7.9.0)"),
        ("https://unpkg.com/d3@6.7.0/dist/d3.min.js", "no local copy of d3@6.7.0 (the mirror has d3@7.9.0)"),
        (
            "https://unpkg.com/world-atlas@2/countries-110m.json",
            f"no local copy of world-atlas: not installed in {NODE_MODULES}",
        ),
        ("https://cdn.jsdelivr.net/npm/d3@7/dist/nothing.js", "no local copy of d3/dist/nothing.js"),
        (
            "https://cdn.jsdelivr.net/gh/user/repo/file.js",
            "no local copy of https://cdn.jsdelivr.net/gh/user/repo/file.js",
        ),
        ("https://cdn.jsdelivr.net/npm/vega@5/+esm", "no local ES module for https://cdn.jsdelivr.net/npm/vega@5/+esm"),
    ],
)
@pytest.mark.hostile(area="pages", guards="escape", outcome="clear_error")
def test_what_the_mirror_refuses_says_why(mirror, url, reason):
    resolved = mirror.resolve(url)
    assert (resolved.path, resolved.body, resolved.reason) == (None, None, reason)


@pytest.mark.hostile(area="pages", guards="escape", outcome="held")
def test_other_hosts_are_not_the_mirrors(mirror):
    assert not mirror.handles("https://example.com/d3.v7.min.js")
    assert not mirror.handles("http://vizhub.local/index.html")


def test_esm_wrapper_reexports_the_module_names(mirror):
    whole = mirror.resolve("https://cdn.jsdelivr.net/npm/d3@7/+esm").body.decode()
    assert whole.startswith('import "https://cdn.jsdelivr.net/npm/d3/dist/d3.min.js";\n')
    assert "export const scaleLinear = lib.scaleLinear;" in whole and "export default lib;" in whole
    scale = mirror.resolve("https://cdn.jsdelivr.net/npm/d3-scale@4/+esm").body.decode()
    assert "export const scaleLinear = lib.scaleLinear;" in scale and "export const select =" not in scale
    assert mirror.resolve("https://unpkg.com/d3@7?module").body == whole.encode()


def test_fingerprint_names_the_library_versions(mirror):
    versions = mirror.fingerprint()
    assert versions["d3"] == "7.9.0" and set(versions) >= {
        "vega",
        "vega-lite",
        "vega-embed",
        "chart.js",
        "topojson-client",
    }


def test_missing_node_modules_says_to_run_make_setup(tmp_path, monkeypatch):
    monkeypatch.setattr(mirror_module, "__file__", str(tmp_path / "pkg" / "vizhub_pipeline" / "mirror.py"))
    with pytest.raises(PrerequisiteError) as caught:
        find_node_modules(tmp_path / "project")
    assert str(caught.value) == (
        f"no JavaScript libraries at {tmp_path / 'project' / 'node_modules'}: "
        "run `make setup` (npm ci) to install the local CDN mirror"
    )


def test_a_symlinked_node_modules_serves_paths_inside_it(tmp_path):
    """A node_modules that is a link (a shared copy) answers with paths under the link, ES modules too."""
    link = tmp_path / "node_modules"
    link.symlink_to(NODE_MODULES.resolve(), target_is_directory=True)
    linked = Mirror(link)
    resolved = linked.resolve("https://d3js.org/d3.v7.min.js")
    assert resolved.path == link / "d3" / "dist" / "d3.min.js"
    wrapper = linked.resolve("https://cdn.jsdelivr.net/npm/d3@7/+esm").body
    assert wrapper is not None and wrapper.startswith(b'import "https://cdn.jsdelivr.net/npm/d3/dist/d3.min.js";\n')
