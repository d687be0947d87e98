"""A page cannot fake its checks: every check but ``script`` runs in an isolated world.

The page is one blue square. Each hostile variant adds a script that replaces built-ins the
checks would use if they ran in the page's own world; the answers must be the same as for the
plain page, word for word. ``script`` checks read the page's own state, run in its world, and
are marked ``page_world`` (the page can fake them: that is stated, not hidden).
"""

from __future__ import annotations

import pytest

from tests.render_helpers import BrowserThread
from vizhub_pipeline.core.challenges import Check
from vizhub_pipeline.screenshot.checks import run_checks

# every case renders in the real Chromium
pytestmark = [pytest.mark.slow, pytest.mark.hostile(area="pages", guards="escape", outcome="held")]

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title>{script}</head>
<body><p id="far" style="position: absolute; left: 1500px; top: 0">far</p>
<div id="chart"><svg width="50" height="50"><rect width="50" height="50" fill="blue"></rect></svg></div>
</body></html>
"""

# Each replaces what an in-page check would lean on, so that every check would pass.
OVERRIDES = {
    "Boolean": "window.Boolean = () => true;",
    "String": "window.String = () => 'passed';",
    "Array.prototype": (
        "Array.prototype.some = () => true; Array.prototype.every = () => true;"
        "Array.prototype.findIndex = () => -1; Array.from = () => new Array(12).fill(document.body);"
        "Array.prototype.push = function () { return 0; };"
    ),
    "querySelectorAll": (
        "const fake = () => new Array(12).fill(document.body);"
        "Document.prototype.querySelectorAll = fake; Element.prototype.querySelectorAll = fake;"
    ),
    "getComputedStyle": "window.getComputedStyle = () => ({getPropertyValue: () => 'steelblue'});",
    "getBoundingClientRect": (
        "Element.prototype.getBoundingClientRect = () => ({left: 0, top: 0, right: 1, bottom: 1});"
    ),
    "console": "console.error = () => {}; console.log = () => {};",
    "text": (
        "Object.defineProperty(HTMLElement.prototype, 'innerText', {get: () => 'AAPL Price (USD)'});"
        "String.prototype.includes = () => true; String.prototype.toLowerCase = function () { return 'aapl'; };"
    ),
    "RegExp and JSON": "RegExp.prototype.test = () => true; JSON.stringify = () => '\"x\"'; window.Set = Map;",
    "Promise": "window.Promise = function () { return {then: (ok) => ok([])}; };",
    "innerWidth": "Object.defineProperty(window, 'innerWidth', {get: () => 100000});",
}

CHECKS = [
    Check(type="count", name="twelve bars", spec={"selector": "#chart svg rect", "min": 12}),
    Check(type="count", name="ticks", spec={"selector": "#chart svg g.tick", "min": 6}),
    Check(type="text", name="title", spec={"text": "AAPL"}),
    Check(type="text", name="label", spec={"text": "price (usd)", "ignore_case": True}),
    Check(type="attribute", name="steel bars", spec={"selector": "rect", "attribute": "fill", "equals": "steelblue"}),
    Check(type="attribute", name="orange-ish", spec={"selector": "rect", "attribute": "fill", "matches": "^orange"}),
    Check(type="attribute", name="colours", spec={"selector": "rect", "attribute": "fill", "distinct_min": 3}),
    Check(type="attribute", name="font", spec={"selector": "svg", "attribute": "font-size", "equals": "30px"}),
    Check(type="in_viewport", name="fits", spec={"selector": "#chart svg"}),
    Check(type="in_viewport", name="far fits", spec={"selector": "#far", "margin": 8}),
]


@pytest.fixture(scope="module")
def browser():
    thread = BrowserThread()
    yield thread
    thread.close()


def answers(browser, tmp_path, script: str, checks=CHECKS):
    from vizhub_pipeline.screenshot.browser import Site

    (tmp_path / "index.html").write_text(PAGE.format(script=script), encoding="utf-8")
    page = browser.run(
        browser.session.open_page(Site({"index.html": tmp_path / "index.html"}), width=1200, height=600, seed=1)
    )
    try:
        browser.run(page.load(30))
        return browser.run(run_checks(page, checks, timeout=30))
    finally:
        browser.run(page.close())


@pytest.fixture(scope="module")
def honest(browser, tmp_path_factory):
    return answers(browser, tmp_path_factory.mktemp("honest"), "")


@pytest.mark.hostile(area="pages", outcome="control")
def test_the_plain_page_fails_what_it_lacks(honest):
    by_name = {result.name: result for result in honest}
    assert {name for name, result in by_name.items() if result.passed} == {"fits"}
    assert by_name["twelve bars"].message == "1 element(s) match #chart svg rect (expected at least 12)"
    assert not any(result.page_world for result in honest)


@pytest.mark.parametrize("name", [*OVERRIDES, "all at once"])
def test_a_page_that_replaces_built_ins_gets_the_same_answers(browser, tmp_path, honest, name):
    code = " ".join(OVERRIDES.values()) if name == "all at once" else OVERRIDES[name]
    assert answers(browser, tmp_path, f"<script>{code}</script>") == honest


def test_script_checks_run_in_the_page_and_say_so(browser, tmp_path):
    checks = [
        Check(type="script", name="page data", spec={"expr": "document.querySelector('rect').__data__ === 7"}),
        Check(type="count", name="one rect", spec={"selector": "rect", "equals": 1}),
    ]
    script = "<script>addEventListener('load', () => { document.querySelector('rect').__data__ = 7; });</script>"
    data, count = answers(browser, tmp_path, script, checks)
    assert data.passed and data.page_world  # it sees the page's own state, and is marked
    assert count.passed and not count.page_world
    faked = answers(browser, tmp_path, "<script>window.Boolean = () => true;</script>", checks[:1])[0]
    assert faked.passed and faked.page_world  # what the mark warns of: the page decides this one
