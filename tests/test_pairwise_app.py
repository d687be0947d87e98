"""Pairwise voting in the grader app, over HTTP (FastAPI's TestClient) on a real project in git."""

from __future__ import annotations

import html
import subprocess

import pytest

from tests.test_grader_app import APP, MODELS, copy_project, git, grading_template  # noqa: F401 (fixture)
from tests.test_grader_app import make_clients as make_grader_clients
from vizhub_pipeline.core.judgements.votes import KIND as VOTES
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.grading.loading import load_judgements


@pytest.fixture(name="layout")
def layout_fixture(tmp_path, grading_template):  # noqa: F811 (the fixture imported above)
    return copy_project(grading_template, tmp_path / "project")


def make_clients(layout: Layout, grader: str = "alice", **options):
    return make_grader_clients(layout, grader, pairwise=True, **options)


def first_pair(app) -> str:
    response = app.get("/pairs")
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/pair/")
    return location.removeprefix("/pair/")


def post_vote(app, apps, body, path="/api/votes", **headers):
    base = {"Origin": APP, "X-Vizhub-Token": apps.config.token}
    base.update(headers)
    return app.post(path, json=body, headers={k: v for k, v in base.items() if v is not None})


def vote_files(layout: Layout) -> list:
    folder = layout.root / "results" / "votes"
    return sorted(folder.glob("*.csv")) if folder.is_dir() else []


def test_a_vote_is_written_with_both_sides_and_committed_alone(layout):
    apps, app, _ = make_clients(layout)
    assert app.get("/").headers["location"] == "/pairs"  # a pairwise session starts on its queue
    pair_id = first_pair(app)
    pair = apps.config.pairs.get(pair_id)
    body = {
        "pair": pair_id,
        "winner": "b",
        "flagged": True,
        "notes": "  right one has labels  ",
        "artifact_hash_a": pair.left.artifact_hash,
        "artifact_hash_b": pair.right.artifact_hash,
    }
    response = post_vote(app, apps, body)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["path"].startswith("results/votes/alice-") and reply["branch"] == "main"
    assert reply["left"] is None and reply["right"] is None  # blind: not named even after the vote
    assert not any(model in response.text for model in MODELS)
    assert reply["next_url"] and reply["next_url"] != f"/pair/{pair_id}"
    assert reply["progress"]["voted"] == 1
    (vote,) = load_judgements(layout, VOTES)
    assert (vote.challenge, vote.model_a, vote.sample_a, vote.model_b, vote.sample_b) == (
        pair.challenge,
        pair.left.model,
        pair.left.sample,
        pair.right.model,
        pair.right.sample,
    )
    assert (vote.artifact_hash_a, vote.artifact_hash_b) == (pair.left.artifact_hash, pair.right.artifact_hash)
    assert (vote.winner, vote.flagged, vote.notes) == ("b", True, "right one has labels")
    assert (vote.grader, vote.source, vote.blind) == ("alice", "app", True)
    changed = git(layout.root, "show", "--name-only", "--format=", reply["commit"]).split()
    assert changed == [reply["path"]]
    assert git(layout.root, "status", "--porcelain").strip() == ""


def test_the_pair_page_is_blind_and_shows_both_outputs_live_under_the_prompt(layout):
    apps, app, _ = make_clients(layout)
    pair_id = first_pair(app)
    pair = apps.config.pairs.get(pair_id)
    page = app.get(f"/pair/{pair_id}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert not any(model in text for model in MODELS)  # blind: no model named before the vote
    challenge = apps.config.catalog.challenges[pair.challenge]
    assert challenge.prompt in text
    assert text.index('id="pair-prompt"') < text.index('id="side-a"') < text.index('id="side-b"')
    for item in (pair.left, pair.right):
        assert f'src="http://127.0.0.1:8766/v/{item.id}/index.html"' in text
    assert text.count('sandbox="allow-scripts allow-same-origin" credentialless') == 2
    assert "frame-src http://127.0.0.1:8766" in page.headers["content-security-policy"]


def test_not_blind_the_page_names_both_models(layout):
    apps, app, _ = make_clients(layout, blind=False)
    pair = apps.config.pairs.get(first_pair(app))
    text = html.unescape(app.get(f"/pair/{pair.id}").text)
    assert pair.left.model in text and pair.right.model in text
    assert text.index(pair.left.model) < text.index('id="side-b"') < text.index(pair.right.model)
    reply = post_vote(app, apps, {"pair": pair.id, "winner": "a"}).json()
    assert reply["left"]["model"] == pair.left.model and reply["right"]["model"] == pair.right.model


def test_the_checks_and_steps_of_each_side_are_shown_under_it(layout):
    apps, app, _ = make_clients(layout)
    queue = apps.config.pairs
    rendered = ("barsOne", "baseline/reference", 0)  # the one output of the test project with a render
    pair = None
    while (candidate := queue.next()) is not None:
        if rendered in (candidate.left.key, candidate.right.key):
            pair = candidate
            break
        queue.skip(candidate)
    assert pair is not None
    text = html.unescape(app.get(f"/pair/{pair.id}").text)
    side = "a" if pair.left.key == rendered else "b"
    other = "b" if side == "a" else "a"
    shown = text[text.index(f'id="side-{side}"') :]
    shown = shown[: shown.index(f'id="side-{other}"')] if side == "a" else shown
    assert "Checks 1/2 passed" in shown and "tooltip shown" in shown
    assert f"/shots/{pair.left.id if side == 'a' else pair.right.id}/screenshot.png" in shown


def test_skipping_moves_on_and_counts(layout):
    apps, app, _ = make_clients(layout)
    pair_id = first_pair(app)
    response = post_vote(app, apps, {"pair": pair_id}, path="/api/pairs/skip")
    assert response.status_code == 200, response.text
    assert response.json()["skipped"] == pair_id and response.json()["progress"]["skipped"] == 1
    assert response.json()["next_url"] != f"/pair/{pair_id}"
    assert first_pair(app) != pair_id
    assert vote_files(layout) == []


def test_after_the_last_pair_the_queue_page_sums_up(layout):
    apps, app, _ = make_clients(layout, challenges=("barsTwo",))
    for _ in range(3):  # three outputs: three pairs
        reply = post_vote(app, apps, {"pair": first_pair(app), "winner": "tie"})
        assert reply.status_code == 200, reply.text
    assert reply.json()["next_url"] is None
    done = app.get("/pairs")
    assert done.status_code == 200 and 'id="summary"' in done.text and 'id="no-pairs"' in done.text
    assert len(load_judgements(layout, VOTES)) == 3


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"winner": "left"}, 422, "winner: one of a, b, tie, both_bad, got 'left'"),
        ({"winner": None}, 422, "winner: one of a, b, tie, both_bad, got None"),
        ({"flagged": "yes"}, 422, "flagged: true or false, got 'yes'"),
        ({"notes": 3}, 422, "notes: must be text"),
        ({"score": 1}, 422, "unknown field(s): score"),
        ({"artifact_hash_b": "0" * 16}, 409, "an output of this pair changed since the page was loaded: reload it"),
        ({"pair": ""}, 422, "pair: required, the id of the pair voted on"),
    ],
)
def test_a_bad_vote_is_refused_naming_the_field_and_writes_nothing(layout, change, status, message):
    apps, app, _ = make_clients(layout)
    response = post_vote(app, apps, {"pair": first_pair(app), "winner": "a", **change})
    assert response.status_code == status, response.text
    assert response.json()["error"] == message
    assert vote_files(layout) == []


def test_a_session_that_is_not_pairwise_has_no_pairs(layout):
    apps, app, _ = make_grader_clients(layout)
    response = app.get("/pairs")
    assert response.status_code == 404 and "vizhub grade --pairwise" in response.text
    response = post_vote(app, apps, {"pair": "0" * 20, "winner": "a"})
    assert response.status_code == 404, response.text


def test_batch_mode_commits_the_votes_when_the_session_ends(layout):
    apps, app, _ = make_clients(layout, commit=False)
    for _ in range(2):
        reply = post_vote(app, apps, {"pair": first_pair(app), "winner": "a"})
        assert reply.status_code == 200 and reply.json()["commit"] is None
    assert len(git(layout.root, "log", "--format=%H").split()) == 1
    result = apps.config.finish()
    assert result is not None and result.commit_id
    changed = git(layout.root, "show", "--name-only", "--format=", result.commit_id).split()
    assert len(changed) == 1 and changed[0].startswith("results/votes/alice-")
    assert git(layout.root, "status", "--porcelain").strip() == ""


def test_votes_on_a_branch_leave_the_working_tree_alone(layout):
    apps, app, _ = make_clients(layout, branch="votes/alice-review")
    reply = post_vote(app, apps, {"pair": first_pair(app), "winner": "both_bad"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["branch"] == "votes/alice-review"
    assert reply.json()["push_command"] == "git push origin votes/alice-review"
    assert vote_files(layout) == [] and git(layout.root, "status", "--porcelain").strip() == ""
    (vote,) = load_judgements(layout, VOTES, branch="votes/alice-review")
    assert vote.winner == "both_bad"


def test_vizhub_grade_pairwise_serves_the_pair_queue(layout):
    import signal
    import sys

    import httpx

    command = [sys.executable, "-m", "vizhub_pipeline", "grade", "--pairwise", "--no-open", "--port", "0"]
    command += ["--grader", "bob", "--challenge", "barsTwo", "--project", str(layout.root)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert first.startswith("Voting on pairs as bob: http://127.0.0.1:"), first + process.stderr.read()
        url = first.split()[5].rstrip("/")
        # a guard against a hang, not a speed limit: the first page imports and fits the sampler,
        # which on a loaded 2-core machine took over 10 s
        start = httpx.get(f"{url}/", timeout=120, follow_redirects=True)
        assert start.status_code == 200 and "/pair/" in str(start.url) and "Draw bars, sorted." in start.text
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_repeated_pair_looks_like_any_other(layout):
    apps, app, _ = make_clients(layout, repeat_share=0.5)  # the second vote of two re-asks a pair
    first = first_pair(app)
    assert post_vote(app, apps, {"pair": first, "winner": "a"}).status_code == 200
    again = apps.config.pairs.get(first_pair(app))
    assert again.repeat  # the queue re-asks the pair voted on (sides swapped or not)...
    assert {again.left.key, again.right.key} == {
        side.key for side in (apps.config.pairs.get(first).left, apps.config.pairs.get(first).right)
    }
    text = app.get(f"/pair/{again.id}").text.lower()
    assert "repeat" not in text and "asked again" not in text and "second time" not in text  # ...nor says so
    reply = post_vote(app, apps, {"pair": again.id, "winner": "b"})
    assert reply.status_code == 200 and "repeat" not in reply.text
    assert len(load_judgements(layout, VOTES)) == 2


def test_a_vote_that_cannot_be_written_is_refused_and_its_pair_comes_back(layout):
    import datetime

    apps, app, _ = make_clients(layout)
    folder = layout.root / "results" / "votes"
    folder.mkdir(parents=True)
    today = datetime.datetime.now(datetime.UTC).date()
    for day in (today, today + datetime.timedelta(days=1)):  # whichever day the vote lands on
        (folder / f"alice-{day.isoformat()}.csv").write_text("not,the,header\n", encoding="utf-8")
    pair_id = first_pair(app)
    response = post_vote(app, apps, {"pair": pair_id, "winner": "a"})
    assert response.status_code == 422, response.text
    assert "the header is not challenge,model_a," in response.json()["error"]
    queue = apps.config.pairs  # asked directly: the page's GET /pairs would reread the votes anyway
    assert queue.progress()["voted"] == 0 and queue.next().id == pair_id  # not counted: asked again


def test_where_each_vote_leads_is_said_ahead_and_is_where_the_vote_then_leads(layout):
    """GET /api/pairs/<id>/next predicts, without changing anything, the pair each vote or a skip
    leads to; the vote then cast leads exactly there (repeats included), with the outputs' hashes."""
    apps, app, _ = make_clients(layout, repeat_share=0.5)  # every other vote a repeat
    queue = apps.config.pairs
    winners = ["a", "skip", "b", "tie", "both_bad", "a", "b", "skip", "tie", "a", "b", "tie", "a", "a", "b"]
    voted: set = set()  # the pairs voted on (a repeat votes on one again)
    repeats = 0
    pair_id = first_pair(app)
    for step, action in enumerate(winners):
        ahead = app.get(f"/api/pairs/{pair_id}/next")
        assert ahead.status_code == 200, ahead.text
        told = ahead.json()
        assert told["pair"] == pair_id and set(told["next"]) == {"a", "b", "tie", "both_bad", "skip"}
        assert not any(model in ahead.text for model in MODELS)  # ids only
        assert first_pair(app) == pair_id  # asking changed nothing
        assert queue.progress()["voted"] == len(voted) == len(load_judgements(layout, VOTES)) - repeats
        if action == "skip":
            reply = post_vote(app, apps, {"pair": pair_id}, path="/api/pairs/skip")
        else:
            reply = post_vote(app, apps, {"pair": pair_id, "winner": action})
            key = queue.get(pair_id).key
            repeats += key in voted
            voted.add(key)
        assert reply.status_code == 200, reply.text
        following = reply.json()["next_url"]
        assert following == told["next"][action], f"step {step}: {action}"
        if following is None:
            break
        pair_id = following.removeprefix("/pair/")
        pair = queue.get(pair_id)
        assert reply.json()["next_artifacts"] == [pair.left.artifact_hash, pair.right.artifact_hash]
    assert repeats >= 2  # the repeats were among the pairs predicted
    assert app.get("/api/pairs/nope/next").status_code == 404
