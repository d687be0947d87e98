"""Pairwise voting driven end to end in the real Chromium by keys: votes committed to git, blind."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.test_grader_app import MODELS, copy_project, git, grading_template  # noqa: F401 (fixture)
from tests.test_grader_browser import CHROMIUM, browser  # noqa: F401 (fixture)
from vizhub_pipeline.core.judgements.votes import KIND as VOTES
from vizhub_pipeline.grading.loading import load_judgements

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs a Chromium (set up with `make setup`)")


@pytest.fixture
def start_voting(tmp_path, browser, grading_template):  # noqa: F811 (the fixtures imported above)
    """Start a real pairwise grader on free ports over a project in git, and a page at 1440x900."""
    from vizhub_pipeline.grading.web.server import build_server

    started = []

    def start(**options):
        layout = copy_project(grading_template, tmp_path / "project")
        for challenge in ("barsOne", "barsTwo"):  # a prompt as long as a real one: 40 lines
            prompt = layout.challenge_dir(challenge) / "prompt.md"
            prompt.write_text(prompt.read_text(encoding="utf-8") + "".join(f"\n- requirement {n}" for n in range(40)))
        server, _ = build_server(layout, "alice", pairwise=True, **{"blind": True, **options})
        server.start()
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        started.append((server, context))
        page = context.new_page()
        page.add_init_script(KEEP_REPLIES)
        page.set_default_timeout(60_000)  # a generous wait on a loaded machine, not a measure of speed
        return layout, server, page

    yield start
    for server, context in started:
        context.close()
        server.stop()


@pytest.fixture
def voting(start_voting):
    return start_voting()


def wait_for_pair(page, server, after: str | None) -> str:
    """The id of the pair the page shows, once it is another one than ``after`` and ready."""
    page.wait_for_function(
        "(after) => { const m = /^\\/pair\\/(\\w+)$/.exec(location.pathname); return m && m[1] !== after; }", arg=after
    )
    page.wait_for_selector("body[data-ready=pair]")  # pair.js has run: keys bound, outputs scaled
    return page.url.rsplit("/", 1)[1]


def test_vote_by_keys_then_read_the_committed_votes_back(voting):
    layout, server, page = voting
    queue = server.config.pairs
    page.goto(f"{server.url}/", wait_until="domcontentloaded")
    shown: list[tuple[str, str]] = []  # (pair id, what was pressed)
    pair_id = wait_for_pair(page, server, None)
    # blind: no model named anywhere on the page before the vote
    assert not any(model in page.content() for model in MODELS)
    # at 1440x900 the prompt is shown without a click, and both live outputs fit below it, whole
    assert page.locator("#prompt-text").is_visible() and "requirement 0" in page.locator("#prompt-text").inner_text()
    for side in ("a", "b"):
        frame = page.locator(f"#side-{side} .pair-frame").bounding_box()
        assert frame["height"] > 300 and frame["y"] + frame["height"] <= 900, frame
    # F flags, N focuses the note; letters typed there are text (no vote), Escape leaves it
    page.keyboard.press("f")
    assert page.locator("#flag-button").get_attribute("aria-pressed") == "true"
    page.keyboard.press("n")
    assert page.evaluate("document.activeElement.id") == "pair-notes"
    page.keyboard.type("a bit taller, better axis")
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.id") != "pair-notes"
    assert page.url.endswith(pair_id)  # typing "a" and "b" in the note voted on nothing
    page.keyboard.press("a")
    shown.append((pair_id, "a"))
    for key in ("b", "t", "x"):
        pair_id = wait_for_pair(page, server, pair_id)
        flash = page.locator("#flash")
        assert flash.is_visible() and flash.text_content().startswith("Vote saved on ")
        assert not any(model in page.content() for model in MODELS)  # the banner names no model either
        if key == "b":  # a click into an output gives it the keys: the page says so, and votes on nothing
            page.frame_locator("#side-a iframe").locator("body").wait_for()  # the output has loaded
            frame = page.locator("#side-a .pair-frame").bounding_box()
            page.mouse.click(frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 2)
            page.locator("#keys-paused").wait_for(state="visible")
            page.keyboard.press("a")  # to the output, not a vote (the vote below would be on the next pair)
            page.mouse.move(2, 2)  # the pointer leaves the output: the keys are the page's again
            page.locator("#keys-paused").wait_for(state="hidden")
        page.keyboard.press(key)
        shown.append((pair_id, key))
    pair_id = wait_for_pair(page, server, pair_id)
    page.keyboard.press("s")  # skipped: it comes back after the other pairs
    skipped = pair_id
    pair_id = wait_for_pair(page, server, pair_id)
    page.keyboard.press("b")
    shown.append((pair_id, "b"))
    pair_id = wait_for_pair(page, server, pair_id)
    assert pair_id == skipped
    page.locator("#vote-t").click()  # the buttons vote too
    shown.append((pair_id, "t"))
    summary = page.locator("#summary")
    summary.wait_for(state="visible")
    assert page.locator("#summary-voted").text_content() == "6"
    assert page.locator("#summary-skipped").text_content() == "1"
    assert page.locator("#summary-flagged").text_content() == "1"
    assert ":" in page.locator("#summary-time").text_content()
    assert not any(model in page.content() for model in MODELS)  # blind: not named even after the votes
    assert page.locator("#progress-remaining").text_content() == "0"
    assert page.locator("#vote-a").is_disabled()  # no second vote on the last pair

    votes = load_judgements(layout, VOTES)
    assert len(votes) == 6
    winners = {"a": "a", "b": "b", "t": "tie", "x": "both_bad"}
    for vote, (pair_id, key) in zip(votes, shown, strict=True):  # in the order written
        pair = queue.get(pair_id)
        assert (vote.model_a, vote.sample_a, vote.artifact_hash_a) == (
            pair.left.model,
            pair.left.sample,
            pair.left.artifact_hash,
        )
        assert (vote.model_b, vote.sample_b, vote.artifact_hash_b) == (
            pair.right.model,
            pair.right.sample,
            pair.right.artifact_hash,
        )
        assert vote.winner == winners[key]
        assert (vote.source, vote.blind, vote.grader) == ("app", True, "alice")
    first = votes[0]
    assert (first.flagged, first.notes) == (True, "a bit taller, better axis")
    assert not any(vote.flagged for vote in votes[1:])
    assert len(git(layout.root, "log", "--format=%H").split()) == 7  # one commit a vote
    page.goto(f"{server.url}/pairs", wait_until="domcontentloaded")  # the queue is empty: the summary page
    page.locator("#no-pairs").wait_for()
    assert page.locator("#summary-voted").text_content() == "6"


WINNER_OF = {"a": "a", "b": "b", "t": "tie", "x": "both_bad"}


def usable(page, pair_id: str) -> None:
    """Wait until the page says this pair is usable: its keys bound, both its outputs loaded."""
    page.wait_for_function("id => document.documentElement.dataset.usable === id", arg=pair_id)


def loaded_ahead(page, url: str) -> None:
    page.wait_for_function(
        "url => (document.documentElement.dataset.prefetched || '').split(' ').includes(url)", arg=url
    )


def shown_pair(page) -> str:
    return page.evaluate("() => JSON.parse(document.getElementById('pair-data').textContent).pair")


# In the voting page (not its frames): each reply to a POST, kept in sessionStorage before the page sees it,
# so that it can be read after the page navigates.
KEEP_REPLIES = """
if (window === window.top) {
  const fetched = window.fetch;
  window.fetch = function (url, options) {
    return fetched.apply(this, arguments).then(function (response) {
      if (!options || options.method !== "POST") { return response; }
      return response.clone().text().then(function (text) {
        sessionStorage.setItem("test-reply", text);
        return response;
      });
    });
  };
}
"""


def press_and_read_reply(page, key: str) -> dict:
    """Press a vote key (or S) and return the server's reply to the POST it makes."""
    page.evaluate("() => sessionStorage.removeItem('test-reply')")
    page.keyboard.press(key)
    for _ in range(600):
        try:
            text = page.evaluate("() => sessionStorage.getItem('test-reply')")
        except Exception:  # the page navigated while asked: ask the next one
            text = None
        if text:
            return json.loads(text)
        page.wait_for_timeout(100)
    raise AssertionError(f"no reply to the POST of {key!r}")


def assert_shows(page, server, pair_id: str) -> None:
    """The page shows this pair whole: its URL, its data, and its two outputs on the sides the server chose."""
    pair = server.config.pairs.get(pair_id)
    assert urlsplit(page.url).path == f"/pair/{pair_id}" and shown_pair(page) == pair_id
    frames = page.locator(".pair-frame iframe")
    assert frames.count() == 2
    assert [frames.nth(n).get_attribute("src") for n in (0, 1)] == [
        f"{server.sandbox_url}/v/{pair.left.id}/index.html",
        f"{server.sandbox_url}/v/{pair.right.id}/index.html",
    ]
    assert page.locator("#pair-data").count() == 1 and page.locator("#vote-form").count() == 1
    assert not any(model in page.content() for model in MODELS)  # blind


def test_the_pair_swapped_in_after_a_vote_is_the_one_the_server_serves_next(start_voting):
    layout, server, page = start_voting(repeat_share=0.5)  # every other vote a repeat
    queue = server.config.pairs
    page.goto(f"{server.url}/", wait_until="domcontentloaded")
    pair_id = wait_for_pair(page, server, None)
    usable(page, pair_id)
    shown: list[tuple[str, str]] = []  # (pair id, winner)
    skipped = swapped = repeats_swapped = 0
    for key in itertools.islice(itertools.cycle("atsbxtab"), 60):
        ahead = page.request.get(f"{server.url}/api/pairs/{pair_id}/next").json()["next"]
        target = ahead["skip" if key == "s" else WINNER_OF[key]]
        if target and target != f"/pair/{pair_id}":
            loaded_ahead(page, target)  # as after a few seconds of looking at the pair
        page.evaluate("() => { window.stillThisPage = true; }")  # gone if the browser navigates
        reply = press_and_read_reply(page, key)
        if key == "s":
            skipped += 1
        else:
            shown.append((pair_id, WINNER_OF[key]))
        if reply["next_url"] is None:
            break
        assert reply["next_url"] == target  # nothing happened in between: what was loaded ahead is right
        following = reply["next_url"].removeprefix("/pair/")
        usable(page, following)
        assert_shows(page, server, following)
        if following != pair_id:  # (the same pair again is a repeat, loaded afresh)
            assert page.evaluate("() => window.stillThisPage === true"), f"{key} navigated"
            swapped += 1
            repeats_swapped += queue.get(following).repeat
        progress = queue.progress()
        for name in ("voted", "skipped", "remaining", "total"):
            assert page.locator(f"#progress-{name}").text_content() == str(progress[name]), name
        flash = page.locator("#flash").text_content()
        assert flash.startswith("Skipped a pair." if key == "s" else "Vote saved on "), flash
        assert page.locator("#flag-button").get_attribute("aria-pressed") == "false"
        assert page.locator("#pair-notes").input_value() == ""
        pair_id = following
    else:
        pytest.fail("the queue did not end")
    assert swapped >= 8 and repeats_swapped >= 2 and skipped >= 2
    # the summary of this tab's session, on the last swapped-in page
    page.locator("#summary").wait_for(state="visible")
    assert page.locator("#summary-voted").text_content() == str(len(shown))
    assert page.locator("#summary-skipped").text_content() == str(skipped)
    assert page.locator("#summary-flagged").text_content() == "0"
    assert page.locator("#progress-remaining").text_content() == "0"
    assert not any(model in page.content() for model in MODELS)
    # each vote is on the pair that was shown, with its sides as shown
    votes = load_judgements(layout, VOTES)
    assert len(votes) == len(shown)
    for vote, (voted_on, winner) in zip(votes, shown, strict=True):
        pair = queue.get(voted_on)
        assert (vote.key_a, vote.key_b) == (pair.left.key, pair.right.key)
        assert (vote.artifact_hash_a, vote.artifact_hash_b) == (pair.left.artifact_hash, pair.right.artifact_hash)
        assert vote.winner == winner and vote.blind


def test_when_the_vote_leads_elsewhere_than_what_was_loaded_ahead_the_served_pair_is_shown(start_voting):
    layout, server, page = start_voting()
    queue = server.config.pairs
    page.goto(f"{server.url}/", wait_until="domcontentloaded")
    pair_id = wait_for_pair(page, server, None)
    usable(page, pair_id)
    target = page.request.get(f"{server.url}/api/pairs/{pair_id}/next").json()["next"]["a"]
    loaded_ahead(page, target)
    # meanwhile, in another tab, the grader skips the pair A was to lead to: the vote now leads elsewhere
    response = page.request.post(
        f"{server.url}/api/pairs/skip",
        data=json.dumps({"pair": target.removeprefix("/pair/")}),
        headers={"Content-Type": "application/json", "Origin": server.url, "X-Vizhub-Token": server.config.token},
    )
    assert response.ok, response.text()
    reply = press_and_read_reply(page, "a")
    assert reply["next_url"] and reply["next_url"] != target
    following = reply["next_url"].removeprefix("/pair/")
    usable(page, following)
    assert_shows(page, server, following)
    # and the next vote is on the pair shown
    press_and_read_reply(page, "b")
    first, second = load_judgements(layout, VOTES)
    for vote, voted_on in ((first, pair_id), (second, following)):
        pair = queue.get(voted_on)
        assert (vote.key_a, vote.key_b) == (pair.left.key, pair.right.key)
    assert (first.winner, second.winner) == ("a", "b")
