"""The grader's JSON API and pages, through FastAPI's TestClient on a real project in git.

Every endpoint's bad input is refused with a 4xx and a message, and writes nothing.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.conftest import BAR_REFERENCE, write_challenge
from vizhub_pipeline.core.atomic import replace_dir_atomic, staging_dir
from vizhub_pipeline.core.challenges import load_challenge
from vizhub_pipeline.core.layout import Layout, hash_files
from vizhub_pipeline.core.records import CheckResult, Generation, Render, write_generation, write_render

MODELS = ("baseline/starter", "baseline/reference", "openai/gpt-4o")
APP = "http://127.0.0.1:8765"
SANDBOX = "http://127.0.0.1:8766"


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def write_output(layout: Layout, challenge: str, model: str, files: dict[str, str], sample: int = 0) -> Path:
    """A visualization folder as the generate stage leaves it (files and meta.json written
    in a staging folder, then renamed into place)."""
    final = layout.visualization_dir(challenge, model, sample)
    folder = staging_dir(final)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    generation = Generation(
        challenge=challenge,
        model=model,
        sample=sample,
        status="ok",
        input_hash="in-" + model,
        artifact_hash=hash_files(files),
        files=tuple(sorted(files)),
    )
    write_generation(folder / "meta.json", generation)
    replace_dir_atomic(folder, final)
    return final


def make_grading_project(root: Path, models=MODELS) -> Layout:
    """A git repository with two challenges, an output per model and a render for one of them."""
    root.mkdir(parents=True)
    write_challenge(root, "barsOne", title="Bars one")
    write_challenge(root, "barsTwo", title="Bars two", prompt="Draw bars, sorted.")
    layout = Layout.at(root)
    for challenge_id in ("barsOne", "barsTwo"):
        challenge = load_challenge(layout.challenge_dir(challenge_id))
        for model in models:
            files = dict(challenge.files)
            if model != "baseline/starter":
                files["index.html"] = BAR_REFERENCE.replace("steelblue", "tomato" if "gpt" in model else "steelblue")
            write_output(layout, challenge_id, model, files)
    item = layout.visualization_dir("barsOne", "baseline/reference")
    meta = Generation.from_json(json.loads((item / "meta.json").read_text()))
    render_dir = layout.render_dir("barsOne", "baseline/reference")
    render_dir.mkdir(parents=True)
    (render_dir / "screenshot.png").write_bytes(tiny_png())
    (render_dir / "screenshot-hover-first-bar.png").write_bytes(tiny_png(5, 5))
    write_render(
        render_dir / "render.json",
        Render(
            challenge="barsOne",
            model="baseline/reference",
            sample=0,
            status="rendered",
            artifact_hash=meta.artifact_hash,
            render_hash="r1",
            screenshots=("screenshot.png", "screenshot-hover-first-bar.png"),
            checks=(
                CheckResult(name="count rect.bar", type="count", passed=True, message="3 found"),
                CheckResult(
                    name="tooltip shown", type="text", passed=False, message="no text 'a: 3'", step="hover-first-bar"
                ),
            ),
            console_errors=("Uncaught TypeError: boom is not a function",),
        ),
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Grading Tester")
    git(root, "config", "user.email", "tester@example.com")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "benchmark outputs")
    return layout


@pytest.fixture(scope="session")
def grading_template(tmp_path_factory) -> Path:
    """One project built per test session; each test works on its own copy."""
    return make_grading_project(tmp_path_factory.mktemp("grading-template") / "project").root


def copy_project(template: Path, destination: Path) -> Layout:
    shutil.copytree(template, destination, symlinks=True)
    return Layout.at(destination)


@pytest.fixture
def layout(tmp_path: Path, grading_template: Path) -> Layout:
    return copy_project(grading_template, tmp_path / "project")


def make_clients(layout: Layout, grader: str = "alice", **options):
    from fastapi.testclient import TestClient

    from vizhub_pipeline.grading.web.server import build_apps

    apps = build_apps(layout, grader, port=8765, sandbox_port=8766, **options)
    app = TestClient(apps.app, base_url=APP, follow_redirects=False)
    sandbox = TestClient(apps.sandbox, base_url=SANDBOX, follow_redirects=False)
    return apps, app, sandbox


@pytest.fixture
def clients(layout):
    return make_clients(layout)


def post_grade(app, apps, body, **headers):
    base = {"Origin": APP, "X-Vizhub-Token": apps.config.token}
    base.update(headers)
    return app.post("/api/grades", json=body, headers={k: v for k, v in base.items() if v is not None})


def items_of(app, **params):
    response = app.get("/api/items", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def item_id_of(apps, challenge: str, model: str) -> str:
    return apps.config.catalog.item_id(challenge, model, 0)


def grade_rows(layout: Layout) -> list[str]:
    files = sorted(layout.grades.glob("*.csv")) if layout.grades.is_dir() else []
    return [line for path in files for line in path.read_text(encoding="utf-8").splitlines()[1:]]


# --------------------------------------------------------------------------- listing and order


def test_items_are_blind_and_in_a_stable_order_per_grader(layout):
    apps, app, _ = make_clients(layout, "alice")
    listing = items_of(app)
    assert listing["blind"] is True and listing["grader"] == "alice"
    assert len(listing["items"]) == 6
    assert all(item["model"] is None for item in listing["items"])
    assert listing["progress"] == {"mine": 0, "everyone": 0, "total": 6, "graders": 0}
    # the same grader gets the same order from a fresh server; the ids do not show the model
    again = items_of(make_clients(layout, "alice")[1])
    assert [i["id"] for i in again["items"]] == [i["id"] for i in listing["items"]]
    assert not any("baseline" in i["id"] or "gpt" in i["id"] for i in listing["items"])
    # a challenge's outputs stay together
    challenges = [i["challenge"] for i in listing["items"]]
    assert challenges == sorted(challenges, key=challenges.index)
    orders = {
        tuple(i["id"] for i in items_of(make_clients(layout, name)[1])["items"])
        for name in ("bob", "carol", "dave", "erin")
    }
    orders.add(tuple(i["id"] for i in listing["items"]))
    assert len(orders) > 1, "every grader got the same order"


def test_not_blind_shows_models_sorted(layout):
    apps, app, _ = make_clients(layout, "alice", blind=False)
    listing = items_of(app)
    assert [(i["challenge"], i["model"]) for i in listing["items"]] == [
        (challenge, model) for challenge in ("barsOne", "barsTwo") for model in sorted(MODELS)
    ]
    first = listing["items"][0]["id"]
    assert post_grade(app, apps, {"item": first, "functionality": 1, "aesthetics": 1}).status_code == 200
    assert grade_rows(layout)[0].split(",")[9:] == ["app", "false"]  # graded with the model names shown


def test_challenge_filter_and_unknown_challenge(clients):
    apps, app, _ = clients
    listing = items_of(app, challenge="barsTwo")
    assert {i["challenge"] for i in listing["items"]} == {"barsTwo"} and len(listing["items"]) == 3
    for path in ("/api/items?challenge=nope", "/?challenge=nope"):
        response = app.get(path)
        assert response.status_code == 404
        assert "unknown challenge 'nope' (this session has: barsOne, barsTwo)" in html.unescape(response.text)


def test_session_selection_by_challenge_and_model(layout):
    _, app, _ = make_clients(layout, "alice", challenges=["barsOne"], models=["openai/gpt-4o", "baseline/starter"])
    listing = items_of(app)
    assert listing["challenges"] == ["barsOne"]
    assert len(listing["items"]) == 2


def test_outputs_without_a_runnable_result_are_left_out_and_counted_once(layout):
    folder = layout.visualization_dir("barsOne", "broken/model")
    folder.mkdir(parents=True)
    write_generation(folder / "meta.json", Generation("barsOne", "broken/model", 0, "unparseable", "x"))
    for sample in range(3):
        folder = layout.visualization_dir("barsTwo", "down/model", sample)
        folder.mkdir(parents=True)
        failed = Generation("barsTwo", "down/model", sample, "error", "x", error="RateLimitError: try later")
        write_generation(folder / "meta.json", failed)
    _, app, _ = make_clients(layout)
    listing = items_of(app)
    assert len(listing["items"]) == 6
    left_out = [note for note in listing["notes"] if "left out" in note]
    assert left_out == [
        "4 output(s) left out because their generation failed (3x error: RateLimitError: try later; 1x unparseable)"
        " and are not shown here: nothing to run"
    ]


def test_item_details_and_missing_item(clients, layout):
    apps, app, _ = clients
    item = item_id_of(apps, "barsOne", "baseline/reference")
    data = app.get(f"/api/items/{item}").json()
    assert data["model"] is None and data["status"] == "ungraded"
    assert data["files"] == ["data.csv", "index.html"] and data["changed_files"] == ["index.html"]
    assert data["sandbox_url"] == f"{SANDBOX}/v/{item}/index.html"
    assert data["render"]["status"] == "rendered"
    assert [c["passed"] for c in data["render"]["checks"]] == [True, False]
    assert data["render"]["console_errors"] == ["Uncaught TypeError: boom is not a function"]
    missing = app.get("/api/items/0123456789abcdef")
    assert missing.status_code == 404 and "unknown item" in missing.json()["error"]
    starter = app.get(f"/api/items/{item_id_of(apps, 'barsTwo', 'baseline/starter')}").json()
    assert starter["render"] == {"status": None, "problem": starter["render"]["problem"]}
    assert "Not rendered yet" in starter["render"]["problem"]


# --------------------------------------------------------------------------- the page


@pytest.mark.hostile(area="grader", guards="escape", outcome="held")
def test_page_embeds_the_output_sandboxed_and_hides_the_model(clients):
    apps, app, _ = clients
    start = app.get("/")
    assert start.status_code == 303
    page = app.get(start.headers["location"])
    assert page.status_code == 200
    text = page.text
    assert 'sandbox="allow-scripts allow-same-origin" credentialless' in text
    assert f'src="{SANDBOX}/v/' in text
    for model in MODELS:
        assert model not in text
    assert apps.config.token in text  # the page sends it back with each grade
    policy = page.headers["content-security-policy"]
    assert f"frame-src {SANDBOX}" in policy and "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert page.headers["x-frame-options"] == "DENY"


def test_page_shows_render_code_and_diff(clients):
    apps, app, _ = clients
    item = item_id_of(apps, "barsOne", "baseline/reference")
    text = app.get(f"/item/{item}").text
    assert "after step hover-first-bar" in text
    assert f"/shots/{item}/screenshot.png" in text
    assert "Uncaught TypeError: boom is not a function" in text
    assert "1/2 passed" in text
    assert 'class="hl"' in text  # highlighted on the server
    assert "starter/index.html" in text and "output/index.html" in text  # the diff
    assert "Draw one bar per row." in text  # the prompt
    unrendered = app.get(f"/item/{item_id_of(apps, 'barsTwo', 'openai/gpt-4o')}").text
    assert "Not rendered yet" in unrendered


def test_unknown_item_page_is_404(clients):
    _, app, _ = clients
    response = app.get("/item/nothere")
    assert response.status_code == 404 and "unknown item" in response.text


def test_review_page_names_the_model_and_shows_every_graders_grade(layout):
    from vizhub_pipeline.core.judgements.scores import Grade
    from vizhub_pipeline.grading.submit import submit_judgements

    item = layout.visualization_dir("barsOne", "baseline/reference")
    artifact = Generation.from_json(json.loads((item / "meta.json").read_text())).artifact_hash

    def grade(grader: str, score: int, notes: str, when: str) -> Grade:
        return Grade("barsOne", "baseline/reference", 0, artifact, score, score, notes, grader, when, "app", True)

    submit_judgements(layout, [grade("bob", 1, "<b>axis</b> missing", "2026-11-30T10:00:00Z")])
    submit_judgements(layout, [grade("carol", 5, "", "2026-11-30T11:00:00Z")])
    apps, app, _ = make_clients(layout, "alice")  # blind by default
    response = app.get("/review/barsOne/baseline__reference")
    assert response.status_code == 200, response.text
    text = response.text
    assert '<b id="model-name">baseline/reference</b>' in text  # named: this is review, not blind grading
    assert "bob" in text and "carol" in text and "&lt;b&gt;axis&lt;/b&gt; missing" in text  # notes escaped
    assert "after step hover-first-bar" in text and "1/2 passed" in text  # the render, as in grading
    assert f'src="{SANDBOX}/v/{item_id_of(apps, "barsOne", "baseline/reference")}/index.html"' in text
    assert 'id="grade-form"' not in text  # nothing is graded here
    assert app.get("/review/barsOne/openai__gpt-4o").text.count("No one has graded") == 1
    for missing in ("/review/barsOne/nobody__model", "/review/nothere/baseline__reference", "/review/barsOne/x@0"):
        response = app.get(missing)
        assert response.status_code == 404 and "no output" in response.text, missing


def test_screenshots_are_served(clients, layout):
    apps, app, _ = clients
    item = item_id_of(apps, "barsOne", "baseline/reference")
    response = app.get(f"/shots/{item}/screenshot.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.content == (layout.render_dir("barsOne", "baseline/reference") / "screenshot.png").read_bytes()


# --------------------------------------------------------------------------- submitting


def test_submit_writes_the_row_commits_and_moves_on(clients, layout):
    import pygit2

    from vizhub_pipeline.grading.names import grade_file_path

    apps, app, _ = clients
    first = items_of(app)["items"][0]
    response = post_grade(
        app, apps, {"item": first["id"], "functionality": 4, "aesthetics": 2, "notes": "=SUM(A1) fine"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] in MODELS and body["challenge"] == first["challenge"]
    assert body["next_url"] == f"/item/{items_of(app)['items'][1]['id']}"
    assert body["progress"]["mine"] == 1
    path = grade_file_path(layout, "alice")
    assert body["path"] == path.relative_to(layout.root).as_posix()
    rows = grade_rows(layout)
    assert len(rows) == 1
    fields = rows[0].split(",")
    assert fields[:2] == [first["challenge"], body["model"]]
    assert fields[4:8] == ["4", "2", "'=SUM(A1) fine", "alice"]
    assert fields[9:] == ["app", "true"]  # made in the web app, blind
    repo = pygit2.Repository(str(layout.root))
    head = repo.head.peel(pygit2.Commit)
    assert str(head.id) == body["commit"]
    blob = head.tree[path.relative_to(layout.root).as_posix()]
    assert repo[blob.id].data == path.read_bytes()
    assert git(layout.root, "status", "--porcelain").strip() == ""
    # the model is revealed now, and the grader resumes at the next item
    assert items_of(app)["items"][0]["model"] == body["model"]
    assert app.get("/").headers["location"] == body["next_url"]


def test_revising_a_grade_supersedes_it(clients, layout):
    apps, app, _ = clients
    item = item_id_of(apps, "barsTwo", "openai/gpt-4o")
    assert post_grade(app, apps, {"item": item, "functionality": 1, "aesthetics": 1}).status_code == 200
    assert (
        post_grade(app, apps, {"item": item, "functionality": 5, "aesthetics": 4, "notes": "second look"}).status_code
        == 200
    )
    data = app.get(f"/api/items/{item}").json()
    assert data["my_grade"]["functionality"] == 5 and data["my_grade"]["notes"] == "second look"
    assert items_of(app)["progress"]["mine"] == 1
    text = app.get(f"/item/{item}").text
    assert "Submit again to revise" in text and "openai/gpt-4o" in text


def test_changed_output_needs_a_new_grade(clients, layout):
    apps, app, _ = clients
    item = item_id_of(apps, "barsOne", "openai/gpt-4o")
    assert post_grade(app, apps, {"item": item, "functionality": 3, "aesthetics": 3}).status_code == 200
    assert items_of(app)["progress"]["mine"] == 1
    challenge = load_challenge(layout.challenge_dir("barsOne"))
    write_output(
        layout,
        "barsOne",
        "openai/gpt-4o",
        {**challenge.files, "index.html": BAR_REFERENCE.replace("steelblue", "gold")},
    )
    listing = items_of(app)
    assert listing["progress"]["mine"] == 0
    assert next(i for i in listing["items"] if i["id"] == item)["status"] == "stale"
    text = app.get(f"/item/{item}").text
    assert "needs a new grade" in text and "grade it again" in text
    # a page loaded before the change cannot grade the new version by mistake
    old_hash = app.get(f"/api/items/{item}").json()["artifact_hash"]
    write_output(
        layout,
        "barsOne",
        "openai/gpt-4o",
        {**challenge.files, "index.html": BAR_REFERENCE.replace("steelblue", "navy")},
    )
    response = post_grade(app, apps, {"item": item, "functionality": 3, "aesthetics": 3, "artifact_hash": old_hash})
    assert response.status_code == 409 and "changed since the page was loaded" in response.json()["error"]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("functionality", 6, "functionality: must be a whole number from 0 to 5, got 6"),
        ("functionality", -1, "functionality: must be a whole number from 0 to 5, got -1"),
        ("aesthetics", "3", "aesthetics: must be a whole number from 0 to 5, got '3'"),
        ("aesthetics", 2.5, "aesthetics: must be a whole number from 0 to 5, got 2.5"),
        ("functionality", True, "functionality: must be a whole number from 0 to 5, got True"),
        ("functionality", None, "functionality: required, a whole number from 0 to 5"),
        ("notes", 5, "notes: must be text"),
        ("notes", "x" * 10_001, "notes: at most 10000 characters, got 10001"),
        ("item", "", "item: required, the id of the item being graded"),
        ("extra", 1, "unknown field(s): extra"),
    ],
)
@pytest.mark.hostile(area="grader", guards="loss", outcome="clear_error")
def test_bad_scores_and_fields_are_refused_and_write_nothing(clients, layout, field, value, message):
    apps, app, _ = clients
    body = {"item": item_id_of(apps, "barsOne", "openai/gpt-4o"), "functionality": 3, "aesthetics": 3, field: value}
    response = post_grade(app, apps, body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == message
    assert grade_rows(layout) == []


def test_unknown_item_is_404_and_writes_nothing(clients, layout):
    apps, app, _ = clients
    response = post_grade(app, apps, {"item": "feedfacefeedface", "functionality": 3, "aesthetics": 3})
    assert response.status_code == 404
    assert response.json()["error"] == "unknown item 'feedfacefeedface': it is not an output of this grading session"
    assert grade_rows(layout) == []


@pytest.mark.hostile(area="grader", guards="loss", outcome="clear_error")
def test_malformed_bodies(clients, layout):
    apps, app, _ = clients
    headers = {"Origin": APP, "X-Vizhub-Token": apps.config.token}
    not_json = app.post("/api/grades", content=b"{oops", headers={**headers, "Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["error"] == "the body is not valid JSON"
    form = app.post("/api/grades", data={"item": "x"}, headers=headers)
    assert form.status_code == 415 and "JSON" in form.json()["error"]
    array = app.post("/api/grades", json=[1, 2], headers=headers)
    assert array.status_code == 400
    assert grade_rows(layout) == []


# --------------------------------------------------------------------------- cross-site defences


@pytest.mark.parametrize(
    "headers, message",
    [
        ({"X-Vizhub-Token": None}, "missing session token (header x-vizhub-token)"),
        ({"X-Vizhub-Token": "guessed"}, "wrong session token: reload the grader page"),
        ({"Origin": "http://evil.example"}, "cross-site check failed: Origin 'http://evil.example' is not this grader"),
        ({"Origin": SANDBOX}, f"cross-site check failed: Origin '{SANDBOX}' is not this grader"),
        ({"Origin": "null"}, "cross-site check failed: Origin 'null' is not this grader"),
        ({"Origin": None}, "cross-site check failed: the request has no Origin header"),
        ({"Sec-Fetch-Site": "cross-site"}, "cross-site check failed: Sec-Fetch-Site is 'cross-site'"),
    ],
)
@pytest.mark.hostile(area="grader", guards="escape", outcome="clear_error")
def test_cross_site_submissions_are_refused(clients, layout, headers, message):
    apps, app, _ = clients
    response = post_grade(
        app,
        apps,
        {"item": item_id_of(apps, "barsOne", "openai/gpt-4o"), "functionality": 3, "aesthetics": 3},
        **headers,
    )
    assert response.status_code == 403
    assert response.json()["error"] == message
    assert grade_rows(layout) == []


@pytest.mark.hostile(area="grader", guards="escape", outcome="clear_error")
def test_foreign_host_header_is_refused(clients):
    apps, app, sandbox = clients
    for client in (app, sandbox):
        response = client.get("/api/items", headers={"Host": "evil.example:8765"})
        assert response.status_code == 421 and "unexpected Host header" in response.json()["error"]
    assert app.get("/api/items", headers={"Host": "localhost:8765"}).status_code == 200


# --------------------------------------------------------------------------- file routes


@pytest.mark.parametrize(
    "path",
    [
        "/shots/{item}/../meta.json",
        "/shots/{item}/%2e%2e/%2e%2e/%2e%2e/challenges/barsOne/prompt.md",
        "/shots/{item}/..%2f..%2f..%2fchallenges%2fbarsOne%2fprompt.md",
        "/shots/{item}/%2fetc%2fpasswd",
        "/shots/{item}/render.json",
        "/shots/{item}/outside.png",
        "/static/../app.py",
        "/static/%2e%2e/app.py",
    ],
)
@pytest.mark.hostile(area="grader", guards="escape", outcome="held")
def test_app_file_routes_stay_in_their_folders(clients, layout, path):
    apps, app, _ = clients
    item = item_id_of(apps, "barsOne", "baseline/reference")
    secret = layout.root / "secret.png"
    secret.write_bytes(tiny_png())
    (layout.render_dir("barsOne", "baseline/reference") / "outside.png").symlink_to(secret)
    response = app.get(path.format(item=item))
    assert response.status_code == 404, response.text
    assert b"PNG" not in response.content and b"Draw one bar" not in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/v/{item}/meta.json",
        "/v/{item}/response.md",
        "/v/{item}/../baseline__starter/index.html",
        "/v/{item}/%2e%2e/%2e%2e/%2e%2e/challenges/barsOne/prompt.md",
        "/v/{item}/..%2f..%2f..%2fchallenges%2fbarsOne%2fprompt.md",
        "/v/{item}/%2fetc%2fpasswd",
        "/v/{item}/link.csv",
        "/v/nothere/index.html",
        "/lib/evil.example/x.js",
        "/lib/cdn.jsdelivr.net/npm/d3@7/..%2f..%2f..%2fpackage.json",
        "/lib/cdn.jsdelivr.net/npm/%2e%2e/%2e%2e/params.yaml",
        "/api/items",
    ],
)
@pytest.mark.hostile(area="grader", guards="escape", outcome="held")
def test_sandbox_routes_stay_in_their_folders(layout, path):
    folder = layout.visualization_dir("barsOne", "openai/gpt-4o")
    (layout.root / "secret.csv").write_text("top,secret\n")
    (folder / "link.csv").symlink_to(layout.root / "secret.csv")
    meta = folder / "meta.json"
    data = json.loads(meta.read_text())
    data["files"].append("link.csv")  # listed, but a symlink out of the folder
    meta.write_text(json.dumps(data))
    (folder / "response.md").write_text("I am gpt-4o")
    apps, _, sandbox = make_clients(layout)
    response = sandbox.get(path.format(item=item_id_of(apps, "barsOne", "openai/gpt-4o")))
    assert response.status_code == 404, response.text
    assert b"secret" not in response.content and b"gpt-4o" not in response.content


def test_sandbox_serves_the_page_with_its_policy_and_local_libraries(clients, layout):
    apps, _, sandbox = clients
    item = item_id_of(apps, "barsOne", "baseline/reference")
    page = sandbox.get(f"/v/{item}/index.html")
    assert page.status_code == 200
    assert '<script src="/lib/cdn.jsdelivr.net/npm/d3@7"></script>' in page.text
    policy = page.headers["content-security-policy"]
    assert "connect-src 'self' http://127.0.0.1:8766;" in policy
    assert "default-src 'none'" in policy and policy.endswith("sandbox allow-scripts allow-same-origin")
    assert "access-control-allow-origin" not in page.headers
    data = sandbox.get(f"/v/{item}/data.csv")
    assert data.status_code == 200 and data.text.startswith("name,value")
    assert sandbox.get(f"/v/{item}/").headers["location"] == f"/v/{item}/index.html"
    d3 = sandbox.get("/lib/cdn.jsdelivr.net/npm/d3@7")
    assert d3.status_code == 200 and "javascript" in d3.headers["content-type"] and b"d3" in d3.content[:2000]
    assert sandbox.post(f"/v/{item}/index.html").status_code in (404, 405)


def test_rewrite_cdn_urls():
    from vizhub_pipeline.grading.web.sandbox import rewrite_cdn_urls

    text = '<script src="https://d3js.org/d3.v7.min.js"></script><script src="//unpkg.com/vega@5"></script>'
    assert (
        rewrite_cdn_urls(text)
        == '<script src="/lib/d3js.org/d3.v7.min.js"></script><script src="/lib/unpkg.com/vega@5"></script>'
    )
    assert rewrite_cdn_urls("https://evil.example/cdn.jsdelivr.net/x") == "https://evil.example/cdn.jsdelivr.net/x"


@pytest.mark.hostile(area="grader", guards="escape", outcome="held")
def test_safe_join():
    from vizhub_pipeline.grading.web.guard import safe_join

    root = Path("/srv/data")
    assert safe_join(root, "a/b.csv") == Path("/srv/data/a/b.csv").resolve()
    for bad in ("", "../x", "a/../../x", "/etc/passwd", "a\\..\\x", "C:x", "~root", "a\0b"):
        assert safe_join(root, bad) is None, bad


# --------------------------------------------------------------------------- commit modes and the command


def test_grades_on_a_branch_leave_the_working_tree_alone(layout):
    import pygit2

    apps, app, _ = make_clients(layout, branch="grades/alice-review")
    item = item_id_of(apps, "barsOne", "openai/gpt-4o")
    response = post_grade(app, apps, {"item": item, "functionality": 5, "aesthetics": 4})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["branch"] == "grades/alice-review"
    assert body["push_command"] == "git push origin grades/alice-review"
    repo = pygit2.Repository(str(layout.root))
    assert str(repo.branches["grades/alice-review"].peel(pygit2.Commit).id) == body["commit"]
    assert repo.head.shorthand == "main"
    assert grade_rows(layout) == []  # nothing in the working tree
    # the grader's progress reads the branch
    assert items_of(app)["progress"]["mine"] == 1
    assert app.get(f"/api/items/{item}").json()["my_grade"]["functionality"] == 5


def test_batch_mode_commits_once_at_the_end(layout):
    apps, app, _ = make_clients(layout, commit=False)
    ids = [item_id_of(apps, "barsOne", model) for model in MODELS]
    for index, item in enumerate(ids):
        response = post_grade(app, apps, {"item": item, "functionality": index, "aesthetics": index})
        assert response.status_code == 200 and response.json()["commit"] is None
    assert len(git(layout.root, "log", "--format=%H").split()) == 1
    assert len(grade_rows(layout)) == 3
    result = apps.config.finish()
    assert result.commit_id and len(git(layout.root, "log", "--format=%H").split()) == 2
    assert git(layout.root, "status", "--porcelain").strip() == ""
    assert apps.config.finish() is None  # nothing left to commit


def test_vizhub_grade_serves_until_interrupted(layout):
    import signal
    import sys

    import httpx

    command = [
        sys.executable,
        "-m",
        "vizhub_pipeline",
        "grade",
        "--no-open",
        "--port",
        "0",
        "--grader",
        "Bob Smith",
        "--challenge",
        "barsTwo",
        "--project",
        str(layout.root),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert first.startswith("Grading as bob-smith: http://127.0.0.1:"), first + process.stderr.read()
        url = first.split()[3].rstrip("/")
        listing = httpx.get(f"{url}/api/items", timeout=120).json()  # a hang guard, not a speed limit
        assert listing["grader"] == "bob-smith" and listing["challenges"] == ["barsTwo"] and len(listing["items"]) == 3
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_vizhub_grade_refuses_an_unknown_challenge(layout):
    from click.testing import CliRunner

    from vizhub_pipeline.cli import cli

    result = CliRunner().invoke(
        cli,
        ["grade", "--no-open", "--port", "0", "--grader", "bob", "--challenge", "nope", "--project", str(layout.root)],
        catch_exceptions=False,
    )
    assert result.exit_code == 1, result.output
    assert "Error: " in result.output and "nope: no such challenge (known: barsOne, barsTwo)" in result.output


def test_progress_counts_everyone_and_stays_per_grader(layout):
    apps_a, alice, _ = make_clients(layout, "alice")
    apps_b, bob, _ = make_clients(layout, "bob")
    first = item_id_of(apps_a, "barsOne", "openai/gpt-4o")
    second = item_id_of(apps_a, "barsTwo", "baseline/starter")
    assert post_grade(alice, apps_a, {"item": first, "functionality": 2, "aesthetics": 2}).status_code == 200
    assert post_grade(bob, apps_b, {"item": first, "functionality": 4, "aesthetics": 3}).status_code == 200
    assert post_grade(bob, apps_b, {"item": second, "functionality": 1, "aesthetics": 0}).status_code == 200
    assert items_of(alice)["progress"] == {"mine": 1, "everyone": 2, "total": 6, "graders": 2}
    assert items_of(bob)["progress"] == {"mine": 2, "everyone": 2, "total": 6, "graders": 2}
    # bob's grade does not reveal the model to alice, nor count as hers
    listed = {item["id"]: item for item in items_of(alice)["items"]}
    assert listed[second]["model"] is None and listed[second]["status"] == "ungraded"
    assert app_first_open(alice) != first


def app_first_open(app) -> str:
    return app.get("/").headers["location"].rsplit("/", 1)[1]


def test_when_everything_is_graded_there_is_no_next(clients):
    apps, app, _ = clients
    ids = [item["id"] for item in items_of(app, challenge="barsTwo")["items"]]
    nexts = []
    for item in ids:
        body = {"item": item, "functionality": 3, "aesthetics": 3, "challenge": "barsTwo"}
        nexts.append(post_grade(app, apps, body).json()["next_url"])
    assert nexts == [f"/item/{ids[1]}?challenge=barsTwo", f"/item/{ids[2]}?challenge=barsTwo", None]
    location = app.get("/?challenge=barsTwo").headers["location"]
    assert location == f"/item/{ids[0]}?challenge=barsTwo"
    assert "You have a current grade for every item here in barsTwo" in app.get(location).text
    assert app.get("/").headers["location"] != location  # barsOne is still to do


def test_the_pinned_prompt_joins_hard_wrapped_lines_but_keeps_lists_headings_and_code():
    from vizhub_pipeline.grading.web.detail import unwrap_prompt

    prompt = (
        "# Task\n"
        "Add brushing to the plot,\n"
        "  so a reader can select cars.\n"
        "\n"
        "- Use d3.brush() on the\n"
        "  plot area.\n"
        "* Faded dots\n"
        "2. Keep the axes\n"
        "```js\n"
        "const x = 1;\n"
        "  const y = 2;\n"
        "```\n"
        "After the code\n"
        "and on.\n"
    )
    assert unwrap_prompt(prompt) == (
        "# Task\n"
        "Add brushing to the plot, so a reader can select cars.\n"
        "\n"
        "- Use d3.brush() on the plot area.\n"
        "* Faded dots\n"
        "2. Keep the axes\n"
        "```js\n"
        "const x = 1;\n"
        "  const y = 2;\n"
        "```\n"
        "After the code and on."
    )
