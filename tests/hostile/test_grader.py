"""Hostile input against the grader: the terminal script and the web app."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.grade_repo import OUTPUTS, git, isolated_git, make_project  # noqa: F401
from tests.test_grader_app import grading_template  # noqa: F401 (fixture)
from tests.test_grader_browser import CHROMIUM, browser, session  # noqa: F401 (fixtures)
from vizhub_pipeline.core.params import GradeParams, Params
from vizhub_pipeline.core.terminal_text import for_terminal
from vizhub_pipeline.grading.terminal import run_grading_session

pytestmark = pytest.mark.hostile(area="grader", guards="escape", outcome="held")

FAKE = "\nAll 12 checks passed"
# driven in the real Chromium: slow, and skipped where there is none
in_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs a Chromium (set up with `make setup`)")
CLEAR = "\x1b[2J\x1b[H"
TITLE = "\x1b]0;owned\x07"


def test_for_terminal_escapes_c0_c1_escape_sequences_and_bidi_overrides():
    assert for_terminal(CLEAR + "x") == "\\x1b[2J\\x1b[Hx"
    assert for_terminal(TITLE) == "\\x1b]0;owned\\x07"
    assert for_terminal("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert for_terminal("\x9b2J \x85 \x7f") == "\\x9b2J \\x85 \\x7f"  # C1 CSI, NEL and DEL
    assert for_terminal("evil\u202egnp.exe \u2066x\u2069") == "evil\\u202egnp.exe \\u2066x\\u2069"
    assert for_terminal("plain text, é, 中文, 🙂") == "plain text, é, 中文, 🙂"


@pytest.mark.usefixtures("isolated_git")
def test_terminal_grading_prints_a_hostile_render_escaped(tmp_path):
    layout = make_project(tmp_path / "p")
    folder = layout.render_dir("barsOne", "baseline/starter")
    folder.mkdir(parents=True)
    hostile = {
        "challenge": "barsOne",
        "model": "baseline/starter",
        "sample": 0,
        "status": "rendered",
        "artifact_hash": OUTPUTS[("barsOne", "baseline/starter", 0)],
        "render_hash": "r1",
        "screenshots": [],
        "checks": [
            {"name": "count" + TITLE, "type": "count", "passed": False, "message": "0 found" + FAKE, "step": None}
        ],
        "console_errors": [CLEAR + "console" + FAKE],
        "page_errors": [TITLE + "page\x9b2J\u202e"],
        "blocked_requests": [],
        "error": None,
        "viewport": {},
    }
    (folder / "render.json").write_text(json.dumps(hostile), encoding="utf-8")
    output = io.StringIO()
    run_grading_session(
        layout,
        grader="alice",
        challenges=("barsOne",),
        models=("baseline/starter",),
        params=Params(grade=GradeParams(blind=False)),
        input=io.StringIO("q\n"),
        output=output,
    )
    out = output.getvalue()
    assert not any(char in out for char in "\x1b\x07\x9b\u202e\r")
    assert "All 12 checks passed" not in out.splitlines()  # never a line of its own
    assert "    FAIL count\\x1b]0;owned\\x07: 0 found\\nAll 12 checks passed" in out
    assert "    error in page: \\x1b]0;owned\\x07page\\x9b2J\\u202e" in out
    assert "    error in page: \\x1b[2J\\x1b[Hconsole\\nAll 12 checks passed" in out


# --------------------------------------------------------------------------- the web app

NAVIGATOR = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>bars</title></head>
<body><p id="out">about to leave</p>
<script>
const how = new URLSearchParams(location.search).get("how");
window.addEventListener("load", () => {
  document.body.dataset.loaded = "yes";
  try {
    if (how === "top") { window.top.location = "http://example.invalid/top"; }
    if (how === "self") { window.location = "http://example.invalid/self"; }
  } catch (error) {
    document.getElementById("out").textContent = "refused: " + error.name;
  }
});
</script></body></html>
"""


@pytest.fixture
def hostile_grader(session):  # noqa: F811 (the fixture imported from the browser tests)
    from tests.test_grader_app import write_output

    def plant(layout, server):
        write_output(layout, "barsOne", "evil/model", {"index.html": NAVIGATOR, "data.csv": "name,value\na,1\n"})

    layout, server, page, traffic = session(blind=False, before_start=plant)
    item = server.config.catalog.item_id("barsOne", "evil/model")
    return layout, server, page, traffic, item


def _refused(message) -> bool:
    """Chromium's console message when a policy stops a navigation to example.invalid."""
    text = message.text
    return ("example.invalid" in text and "frame-src" in text) or "allow-top-navigation" in text


def _stayed(page, traffic, starts_at: str) -> None:
    assert traffic.outside == []  # nothing reached the network, not even the (aborted) route
    assert page.url == starts_at
    assert page.context.pages == [page]
    assert not [frame.url for frame in page.frames if "example.invalid" in frame.url]


@pytest.mark.slow
@in_chromium
@pytest.mark.parametrize("how", ["self", "top"])
def test_open_alone_page_cannot_navigate_to_another_host(hostile_grader, how):
    layout, server, page, traffic, item = hostile_grader
    alone = f"{server.url}/alone/{item}"
    page.goto(alone)
    page.frame_locator("#live").locator("body[data-loaded=yes]").wait_for()
    with page.expect_event("console", predicate=_refused):  # reload the output: it tries to leave
        page.evaluate("how => { const live = document.getElementById('live'); live.src += '?how=' + how; }", how)
    _stayed(page, traffic, alone)


@pytest.mark.slow
@in_chromium
def test_output_opened_at_its_sandbox_url_is_framed_by_the_app(hostile_grader):
    layout, server, page, traffic, item = hostile_grader
    page.goto(f"{server.sandbox_url}/v/{item}/index.html")
    assert page.url == f"{server.url}/alone/{item}"  # sent to the app's framing page
    page.frame_locator("#live").locator("body[data-loaded=yes]").wait_for()
    with page.expect_event("console", predicate=_refused):
        page.evaluate("() => { const live = document.getElementById('live'); live.src += '?how=self'; }")
    _stayed(page, traffic, f"{server.url}/alone/{item}")


ATTACKER = """<!DOCTYPE html><html><body><script>
window.steal = url => new Promise(resolve => {
  const frame = document.createElement("iframe");
  frame.sandbox = "allow-scripts";  // an opaque origin: its requests say Origin: null
  window.addEventListener("message", event => resolve(event.data));
  frame.srcdoc = "<script>fetch(" + JSON.stringify(url) + ").then(r => r.text())" +
    ".then(t => parent.postMessage('read: ' + t, '*'), e => parent.postMessage('refused: ' + e.name, '*'))</" +
    "script>";
  document.body.appendChild(frame);
});
</script></body></html>"""


@pytest.fixture
def attacker_origin():
    """A third origin on 127.0.0.1 serving a page that tries to read the grader's outputs."""
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = ATTACKER.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
@in_chromium
def test_another_origin_cannot_read_an_output(hostile_grader, attacker_origin):
    layout, server, page, traffic, item = hostile_grader
    url = f"{server.sandbox_url}/v/{item}/data.csv"
    page.goto(f"{attacker_origin}/")
    plain = "url => fetch(url).then(r => r.text()).then(t => 'read: ' + t, e => 'refused: ' + e.name)"
    assert page.evaluate(plain, url) == "refused: TypeError"
    assert page.evaluate("url => window.steal(url)", url) == "refused: TypeError"  # from an opaque origin
    for origin in ("null", attacker_origin):
        response = page.request.get(url, headers={"Origin": origin})
        assert response.ok and "access-control-allow-origin" not in response.headers


def test_blind_item_ids_are_salted_per_project_and_stable_across_restarts(tmp_path, grading_template):  # noqa: F811
    import hashlib

    from tests.test_grader_app import copy_project, make_clients

    layout = copy_project(grading_template, tmp_path / "one")
    apps, app, _ = make_clients(layout)
    items = app.get("/api/items").json()["items"]
    assert len({item["id"] for item in items}) == 6
    assert all(item["model"] is None for item in items)  # blind: the models stay hidden
    mine = apps.config.catalog.item_id("barsOne", "openai/gpt-4o")
    unsalted = hashlib.sha256(b"barsOne\0openai/gpt-4o\x000").hexdigest()[:16]
    assert mine != unsalted  # cannot be worked out from the names alone
    again, _, _ = make_clients(layout)  # a restart
    assert again.config.catalog.item_id("barsOne", "openai/gpt-4o") == mine
    other, _, _ = make_clients(copy_project(grading_template, tmp_path / "two"))
    assert other.config.catalog.item_id("barsOne", "openai/gpt-4o") != mine  # another project, another secret
    secret = layout.root / ".vizhub" / "grader-secret"
    assert secret.stat().st_mode & 0o077 == 0
    assert git(layout.root, "status", "--porcelain", "--ignored=no") == ""  # the secret stays out of git
    assert git(layout.root, "check-ignore", ".vizhub/grader-secret").strip() == ".vizhub/grader-secret"


@pytest.mark.parametrize("notes", ["\ud800", "fine \udfff then", "\udc80\ud800"])
@pytest.mark.hostile(area="grader", guards="loss", outcome="clear_error")
def test_a_note_with_a_lone_surrogate_is_refused_naming_the_field(tmp_path, grading_template, notes):  # noqa: F811
    from tests.test_grader_app import copy_project, item_id_of, make_clients

    layout = copy_project(grading_template, tmp_path / "p")
    apps, app, _ = make_clients(layout)
    body = {"item": item_id_of(apps, "barsOne", "baseline/reference"), "functionality": 3, "aesthetics": 3}
    # the JSON text carries the escape ("\ud800"), as a browser sends it
    content = json.dumps({**body, "notes": notes})
    headers = {"Origin": "http://127.0.0.1:8765", "X-Vizhub-Token": apps.config.token}
    response = app.post("/api/grades", content=content, headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["error"].startswith("notes: character ")
    assert "lone surrogate" in response.json()["error"]
    assert not layout.grades.exists() or not any(layout.grades.iterdir())


def test_sandbox_refuses_service_workers_and_sends_top_level_loads_to_the_app(tmp_path, grading_template):  # noqa: F811
    from tests.test_grader_app import copy_project, item_id_of, make_clients

    layout = copy_project(grading_template, tmp_path / "p")
    apps, app, sandbox = make_clients(layout)
    item = item_id_of(apps, "barsOne", "baseline/reference")
    worker = sandbox.get(f"/v/{item}/index.html", headers={"Service-Worker": "script"})
    assert worker.status_code == 403 and "service workers" in worker.text
    top = sandbox.get(f"/v/{item}/index.html", headers={"Sec-Fetch-Dest": "document"})
    assert top.status_code in (302, 307) and top.headers["location"] == f"http://127.0.0.1:8765/alone/{item}"
    framed = sandbox.get(f"/v/{item}/index.html", headers={"Sec-Fetch-Dest": "iframe"})
    assert (
        framed.status_code == 200
        and "sandbox allow-scripts allow-same-origin" in framed.headers["content-security-policy"]
    )
    alone = app.get(f"/alone/{item}")
    assert alone.status_code == 200
    assert f'src="http://127.0.0.1:8766/v/{item}/index.html"' in alone.text
    assert 'sandbox="allow-scripts allow-same-origin" credentialless' in alone.text
    assert "frame-src http://127.0.0.1:8766" in alone.headers["content-security-policy"]
    assert "baseline" not in alone.text  # blind: nothing names the model
    assert app.get("/alone/0123456789abcdef").status_code == 404


@pytest.mark.usefixtures("isolated_git")
def test_validate_prints_a_hostile_grade_file_escaped(tmp_path):
    from click.testing import CliRunner

    from vizhub_pipeline.cli import cli
    from vizhub_pipeline.core.judgements.scores import GRADE_COLUMNS

    layout = make_project(tmp_path / "p")
    row = f"barsOne,baseline/starter,0,1111aaaa1111aaaa,{TITLE}9,4,fine,alice,2026-11-28T10:00:00Z,app,true"
    layout.grades.mkdir(parents=True)
    (layout.grades / "alice-2026-11-28.csv").write_text(",".join(GRADE_COLUMNS) + "\n" + row + "\n", encoding="utf-8")
    (layout.grades / f"{CLEAR}bob.csv").write_text("x\n", encoding="utf-8")  # a badly named file
    result = CliRunner().invoke(cli, ["validate", "--project", str(layout.root)], catch_exceptions=False)
    assert result.exit_code == 1
    assert "\\x1b]0;owned\\x07" in result.output and "\\x1b[2J\\x1b[Hbob.csv" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output


def test_stage_output_lines_are_printed_escaped(capsys):
    from vizhub_pipeline.cli.common import say

    say(f"openai/gpt-4o: error (APIError: {CLEAR}{FAKE})", err=True)
    say("a plain line")
    captured = capsys.readouterr()
    assert captured.err == "openai/gpt-4o: error (APIError: \\x1b[2J\\x1b[H\\nAll 12 checks passed)\n"
    assert captured.out == "a plain line\n"


@pytest.mark.hostile(area="grader", guards="escape", outcome="clear_error")
def test_a_damaged_grader_secret_is_a_clear_error_naming_the_file(tmp_path):
    from vizhub_pipeline.core.errors import InputError
    from vizhub_pipeline.grading.web.items import project_secret

    first = project_secret(tmp_path)
    assert len(first) == 64 and project_secret(tmp_path) == first  # made once, then read
    (tmp_path / ".vizhub" / "grader-secret").write_bytes(b"short")
    with pytest.raises(InputError, match="grader-secret.*shorter than 32 bytes: delete the file"):
        project_secret(tmp_path)


# --------------------------------------------------------------------------- pairwise voting


def _pairwise(tmp_path, grading_template, grader="alice"):  # noqa: F811 (the fixture imported above)
    from tests.test_grader_app import copy_project, make_clients

    layout = copy_project(grading_template, tmp_path / grader)
    apps, app, _ = make_clients(layout, grader, pairwise=True)
    pair_id = app.get("/pairs").headers["location"].removeprefix("/pair/")
    return layout, apps, app, pair_id


def _no_votes(layout) -> bool:
    folder = layout.root / "results" / "votes"
    return not folder.exists() or not any(folder.iterdir())


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Origin": "http://evil.example"}, "cross-site check failed: Origin 'http://evil.example' is not this grader"),
        (
            {"Origin": "http://127.0.0.1:8766"},
            "cross-site check failed: Origin 'http://127.0.0.1:8766' is not this grader",
        ),
        ({"Origin": None}, "cross-site check failed: the request has no Origin header"),
        ({"X-Vizhub-Token": None}, "missing session token (header x-vizhub-token)"),
        ({"X-Vizhub-Token": "guessed"}, "wrong session token: reload the grader page"),
        ({"Sec-Fetch-Site": "cross-site"}, "cross-site check failed: Sec-Fetch-Site is 'cross-site'"),
    ],
)
@pytest.mark.parametrize("path", ["/api/votes", "/api/pairs/skip"])
def test_a_cross_site_vote_or_skip_is_refused(tmp_path, grading_template, headers, message, path):  # noqa: F811
    layout, apps, app, pair_id = _pairwise(tmp_path, grading_template)
    sent = {"Origin": "http://127.0.0.1:8765", "X-Vizhub-Token": apps.config.token, **headers}
    body = {"pair": pair_id, "winner": "a"} if path == "/api/votes" else {"pair": pair_id}
    response = app.post(path, json=body, headers={k: v for k, v in sent.items() if v is not None})
    assert response.status_code == 403, response.text
    assert response.json()["error"] == message
    assert _no_votes(layout) and apps.config.pairs.progress()["skipped"] == 0
    assert app.get("/pairs").headers["location"] == f"/pair/{pair_id}"  # nothing moved on


def test_an_unknown_or_forged_pair_id_is_a_404(tmp_path, grading_template):  # noqa: F811
    layout, apps, app, pair_id = _pairwise(tmp_path, grading_template)
    _, _, bob_app, bob_pair = _pairwise(tmp_path, grading_template, "bob")
    headers = {"Origin": "http://127.0.0.1:8765", "X-Vizhub-Token": apps.config.token}
    forged = ["0" * 20, pair_id[:-1] + ("0" if pair_id[-1] != "0" else "1"), "<script>alert(1)</script>"]
    assert bob_pair != pair_id  # ids are per grader and per project: another one's id is unknown here
    for wrong in [*forged, bob_pair]:
        page = app.get(f"/pair/{wrong}")
        assert page.status_code == 404, wrong
        assert "<script>alert" not in page.text  # named escaped
        for path in ("/api/votes", "/api/pairs/skip"):
            response = app.post(
                path, json={"pair": wrong, "winner": "a"} if path == "/api/votes" else {"pair": wrong}, headers=headers
            )
            assert response.status_code == 404, response.text
            assert response.json()["error"] == f"unknown pair {wrong!r}: it is not a pair of this grading session"
    assert _no_votes(layout)


@pytest.mark.parametrize("notes", ["\ud800", "fine \udfff then"])
def test_a_vote_note_with_a_lone_surrogate_is_refused_naming_the_field(tmp_path, grading_template, notes):  # noqa: F811
    layout, apps, app, pair_id = _pairwise(tmp_path, grading_template)
    content = json.dumps({"pair": pair_id, "winner": "tie", "notes": notes})  # the escape, as a browser sends it
    headers = {"Origin": "http://127.0.0.1:8765", "X-Vizhub-Token": apps.config.token}
    response = app.post("/api/votes", content=content, headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["error"].startswith("notes: character ") and "lone surrogate" in response.json()["error"]
    assert _no_votes(layout)
    assert app.get("/pairs").headers["location"] == f"/pair/{pair_id}"  # the refused vote did not count


# reload one output of the pair page with ?how=...: it then tries to leave
REFRAME = "([sel, how]) => { const f = document.querySelector(sel); f.src = f.src.split('?')[0] + '?how=' + how; }"


@pytest.mark.slow
@in_chromium
def test_an_output_on_the_pair_page_cannot_navigate_away(tmp_path, browser, grading_template):  # noqa: F811
    from tests.test_grader_app import copy_project, write_output
    from tests.test_grader_browser import Traffic
    from vizhub_pipeline.grading.web.server import build_server

    layout = copy_project(grading_template, tmp_path / "p")
    write_output(layout, "barsOne", "evil/model", {"index.html": NAVIGATOR, "data.csv": "name,value\na,1\n"})
    server, _ = build_server(layout, "alice", blind=True, pairwise=True, challenges=("barsOne",))
    server.start()
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        traffic = Traffic(context)
        page = context.new_page()
        page.set_default_timeout(60_000)
        queue = server.config.pairs
        while "evil/model" not in ((pair := queue.next()).left.model, pair.right.model):
            queue.skip(pair)
        side = "a" if pair.left.model == "evil/model" else "b"
        url = f"{server.url}/pair/{pair.id}"
        page.goto(url, wait_until="domcontentloaded")
        frame = f"#side-{side} iframe"
        page.frame_locator(frame).locator("body[data-loaded=yes]").wait_for()
        for how in ("top", "self"):
            with page.expect_event("console", predicate=_refused):
                page.evaluate(REFRAME, [frame, how])
            _stayed(page, traffic, url)
    finally:
        context.close()
        server.stop()


def test_a_hostile_render_is_shown_escaped_on_the_pair_page(tmp_path, grading_template):  # noqa: F811
    layout, apps, app, _ = _pairwise(tmp_path, grading_template)
    render = layout.render_dir("barsOne", "baseline/reference") / "render.json"
    data = json.loads(render.read_text(encoding="utf-8"))
    data["checks"][0]["message"] = '<img src=x onerror="alert(1)">'
    data["page_errors"] = ["</script><script>alert(2)</script>"]
    render.write_text(json.dumps(data), encoding="utf-8")
    queue = apps.config.pairs
    while ("barsOne", "baseline/reference", 0) not in ((pair := queue.next()).left.key, pair.right.key):
        queue.skip(pair)
    text = app.get(f"/pair/{pair.id}").text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in text and "<img src=x" not in text
    assert "&lt;/script&gt;&lt;script&gt;alert(2)" in text and "<script>alert" not in text
