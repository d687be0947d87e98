"""Each check type run in a real page, passing and failing, with its message."""

from __future__ import annotations

import pytest

from tests.render_helpers import BrowserThread
from vizhub_pipeline.core.challenges import Check
from vizhub_pipeline.screenshot.checks import check_console, run_checks

HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title>
<style>.big { font-size: 30px; } circle { fill: rgb(255, 0, 0); }</style></head>
<body><h1>Monthly Temperature</h1>
<svg id="chart" width="300" height="200">
  <rect class="bar" fill="steelblue" width="10" height="10"></rect>
  <rect class="bar" fill="steelblue" width="10" height="20"></rect>
  <rect class="bar" fill="orange" width="10" height="30"></rect>
  <circle r="5" cx="10" cy="10"></circle>
  <text class="label" x="5" y="50">Oslo °C</text>
</svg>
<div id="wide" style="position:absolute; left: 700px; top: 10px; width: 200px; height: 20px;">wide</div>
<p class="big">Hello</p>
</body></html>
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from vizhub_pipeline.screenshot.browser import Site

    folder = tmp_path_factory.mktemp("checks")
    (folder / "index.html").write_text(HTML, encoding="utf-8")
    browser = BrowserThread()
    opened = browser.run(
        browser.session.open_page(Site({"index.html": folder / "index.html"}), width=800, height=600, seed=1)
    )
    browser.run(opened.load(10))
    yield browser, opened
    browser.run(opened.close())
    browser.close()


def check(page, type_: str, **spec):
    browser, opened = page
    result = browser.run(run_checks(opened, [Check(type=type_, name="c", spec=spec)]))[0]
    return result.passed, result.message


@pytest.mark.slow
@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"selector": "rect.bar", "equals": 3}, (True, "3 element(s) match rect.bar (expected exactly 3)")),
        ({"selector": "rect.bar", "min": 4}, (False, "3 element(s) match rect.bar (expected at least 4)")),
        (
            {"selector": "rect.bar", "min": 1, "max": 2},
            (False, "3 element(s) match rect.bar (expected at least 1 and at most 2)"),
        ),
        ({"selector": "rect..bar", "min": 1}, (False, 'invalid selector "rect..bar"')),
    ],
)
def test_count(page, spec, expected):
    assert check(page, "count", **spec) == expected


@pytest.mark.slow
def test_text(page):
    assert check(page, "text", text="Monthly Temperature") == (True, 'found "Monthly Temperature" in body')
    assert check(page, "text", text="monthly temperature") == (
        False,
        '"monthly temperature" not found in the text of body',
    )
    assert check(page, "text", text="monthly temperature", ignore_case=True)[0] is True
    assert check(page, "text", text="°C", selector="text.label") == (True, 'found "°C" in text.label')  # SVG text
    assert check(page, "text", text="Oslo", selector="h1") == (False, '"Oslo" not found in the text of h1')
    assert check(page, "text", text="x", selector="table") == (False, "no element matches table")


@pytest.mark.slow
def test_attribute(page):
    assert check(page, "attribute", selector="rect.bar", attribute="fill", distinct_min=2) == (
        True,
        "2 distinct value(s) of fill on rect.bar (expected at least 2)",
    )
    assert check(page, "attribute", selector="rect.bar", attribute="fill", distinct_min=3)[0] is False
    assert check(page, "attribute", selector="rect.bar", attribute="fill", equals="steelblue") == (
        False,
        'fill of rect.bar #3 of 3 is "orange", expected equal to "steelblue"',
    )
    assert check(page, "attribute", selector="rect.bar", attribute="height", matches="^[123]0$") == (
        True,
        "height of all 3 rect.bar matching /^[123]0$/",
    )
    # no attribute: the computed style of that name
    assert check(page, "attribute", selector="circle", attribute="fill", equals="rgb(255, 0, 0)")[0] is True
    assert check(page, "attribute", selector="p.big", attribute="font-size", equals="30px")[0] is True
    assert check(page, "attribute", selector="g", attribute="fill", equals="red") == (False, "no element matches g")


@pytest.mark.slow
def test_in_viewport(page):
    assert check(page, "in_viewport") == (True, "all 1 svg, canvas inside the 800x600 viewport")
    assert check(page, "in_viewport", selector="#wide") == (
        False,
        "#wide #1 spans (700, 10, 900, 30), outside the 800x600 viewport",
    )
    assert check(page, "in_viewport", selector="canvas") == (False, "no element matches canvas")


@pytest.mark.slow
def test_script(page):
    assert check(page, "script", expr="document.querySelectorAll('rect').length === 3") == (True, "evaluated to true")
    assert check(page, "script", expr="document.title === 'x'") == (False, "evaluated to false")
    assert check(page, "script", expr="Promise.resolve(42)") == (True, "evaluated to 42")
    assert check(page, "script", expr="document.querySelector('table').id") == (
        False,
        "threw Cannot read properties of null (reading 'id')",
    )


@pytest.mark.slow
def test_checks_keep_their_order_and_step(page):
    browser, opened = page
    checks = [
        Check("count", "bars", {"selector": "rect.bar", "equals": 3}),
        Check("no_console_errors", "quiet", {}),
        Check("text", "title", {"text": "Hello"}),
    ]
    results = browser.run(run_checks(opened, checks, console_errors=["oops"], step="hover"))
    assert [(r.name, r.passed, r.step) for r in results] == [
        ("bars", True, "hover"),
        ("quiet", False, "hover"),
        ("title", True, "hover"),
    ]


def test_no_console_errors():
    rule = Check("no_console_errors", "quiet", {})
    assert check_console(rule, [], [], None).passed
    failed = check_console(rule, ["Failed to load resource"], ["Error: boom"], "s")
    assert (failed.passed, failed.step) == (False, "s")
    assert failed.message == "1 uncaught error(s) and 1 console error(s); first: Error: boom"
