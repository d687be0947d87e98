"""Pairwise voting driven end to end in the real Chromium by keys: votes committed to git, blind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_grader_app import MODELS, copy_project, git, grading_template  # noqa: F401 (fixture)
from tests.test_grader_browser import CHROMIUM, browser  # noqa: F401 (fixture)
from vizhub_pipeline.core.judgements.votes import KIND as VOTES
from vizhub_pipeline.grading.loading import load_judgements

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs a Chromium (set up with `make setup`)")


@pytest.fixture
def voting(tmp_path, browser, grading_template):  # noqa: F811 (the fixtures imported above)
    """A real pairwise grader on free ports over a project in git, and a page at 1440x900."""
    from vizhub_pipeline.grading.web.server import build_server

    layout = copy_project(grading_template, tmp_path / "project")
    for challenge in ("barsOne", "barsTwo"):  # a prompt as long as a real one: 40 lines
        prompt = layout.challenge_dir(challenge) / "prompt.md"
        prompt.write_text(prompt.read_text(encoding="utf-8") + "".join(f"\n- requirement {n}" for n in range(40)))
    server, _ = build_server(layout, "alice", blind=True, pairwise=True)
    server.start()
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)  # a generous wait on a loaded machine, not a measure of speed
    try:
        yield layout, server, page
    finally:
        context.close()
        server.stop()


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
