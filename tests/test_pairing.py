"""The pairwise sampler: which pair a grader votes on next, on a real project folder."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import write_challenge
from vizhub_pipeline.core.challenges import load_challenge
from vizhub_pipeline.core.judgements.votes import KIND as VOTES
from vizhub_pipeline.core.judgements.votes import Vote
from vizhub_pipeline.core.judgements.writer import format_rows
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.records import Generation, write_generation
from vizhub_pipeline.grading.errors import GradeError
from vizhub_pipeline.grading.pairing import PairItem, PairQueue, make_pair_id, win_probabilities
from vizhub_pipeline.grading.web.items import Catalog

AT = "2026-11-28T10:00:00Z"


def make_layout(root: Path, outputs: dict[str, list[str]]) -> Layout:
    """Challenges with outputs of the given models; each output's artifact hash names it."""
    root.mkdir(parents=True)
    layout = Layout.at(root)
    for challenge, models in outputs.items():
        write_challenge(root, challenge)
        for model in models:
            folder = layout.visualization_dir(challenge, model, 0)
            artifact = artifact_of(challenge, model)
            write_generation(
                folder / "meta.json", Generation(challenge, model, 0, "ok", "in-" + artifact, artifact, ("index.html",))
            )
            (folder / "index.html").write_text("<p>hi</p>\n", encoding="utf-8")
    return layout


def artifact_of(challenge: str, model: str) -> str:
    return hashlib.sha256(f"{challenge}/{model}".encode()).hexdigest()[:16]


def vote(challenge: str, a: str, b: str, winner: str, grader: str = "bob", artifact_b: str | None = None) -> Vote:
    return Vote(
        challenge,
        a,
        0,
        artifact_of(challenge, a),
        b,
        0,
        artifact_b or artifact_of(challenge, b),
        winner,
        False,
        "",
        grader,
        AT,
        "app",
        True,
    )


def write_votes(layout: Layout, votes: list[Vote]) -> None:
    """Each grader's votes into their own file of the votes' day."""
    folder = layout.root / VOTES.folder
    folder.mkdir(parents=True, exist_ok=True)
    for grader in sorted({vote.grader for vote in votes}):
        mine = [vote for vote in votes if vote.grader == grader]
        path = folder / f"{grader}-{mine[0].voted_at[:10]}.csv"
        path.write_text(format_rows(VOTES, mine, header=True), encoding="utf-8")


def by_graders(votes: list[Vote]) -> list[Vote]:
    """The votes as given by as many different graders."""
    return [Vote(**{**vote.__dict__, "grader": f"g{number}"}) for number, vote in enumerate(votes)]


def make_queue(layout: Layout, grader: str = "alice", *, seed: int = 7, repeat_share: float = 0.0, **options):
    challenges = {folder.name: load_challenge(folder) for folder in sorted(layout.challenges.iterdir())}
    catalog = Catalog(layout, grader, blind=True, challenges=challenges)
    return PairQueue(catalog, layout, grader, seed=seed, repeat_share=repeat_share, **options)


def vote_through(queue: PairQueue, count: int | None = None, winner: str = "a") -> list:
    """Vote on what the queue shows until it is empty (or ``count`` times); the pairs shown."""
    shown: list[PairItem] = []
    while count is None or len(shown) < count:
        pair = queue.next()
        if pair is None:
            break
        shown.append(pair)
        queue.record_vote(pair, winner, source="cli", blind=True)
    return shown


MODELS = ["m1", "m2", "m3", "m4", "m5", "m6"]


def test_every_pair_once_then_nothing_and_progress(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": MODELS[:4], "barsTwo": MODELS[:3]})
    queue = make_queue(layout)
    assert queue.progress() == {"voted": 0, "skipped": 0, "remaining": 9, "repeats": 0, "total": 9}
    shown = vote_through(queue)
    assert len(shown) == 9
    assert len({pair.key for pair in shown}) == 9
    assert all(pair.left.challenge == pair.right.challenge == pair.challenge for pair in shown)
    assert all(pair.left.key != pair.right.key and not pair.repeat for pair in shown)
    assert queue.progress() == {"voted": 9, "skipped": 0, "remaining": 0, "repeats": 0, "total": 9}


def test_order_reproducible_from_seed_and_ids_stable(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": MODELS})
    first = [(p.id, p.left.key, p.right.key) for p in vote_through(make_queue(layout, seed=3))]
    again = [(p.id, p.left.key, p.right.key) for p in vote_through(make_queue(layout, seed=3))]
    other = [(p.id, p.left.key, p.right.key) for p in vote_through(make_queue(layout, seed=4))]
    assert first == again
    assert first != other
    queue = make_queue(layout, seed=3)
    shown = queue.next()
    assert queue.next() == shown  # the same pair until it is voted on or skipped
    assert queue.get(shown.id) == shown
    assert make_queue(layout, seed=3).get(shown.id) == shown  # a fresh queue (a restart) knows the id
    assert queue.get("nope") is None
    assert "m1" not in shown.id and len(shown.id) == 20


def test_uncertain_pairs_come_first(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": ["m1", "m2"], "barsTwo": ["m3", "m4"]})
    decided = by_graders([vote("barsOne", "m1", "m2", "a") for _ in range(4)])
    even = by_graders([vote("barsTwo", "m3", "m4", "a"), vote("barsTwo", "m3", "m4", "b")] * 2)
    write_votes(layout, decided + even)
    for seed in range(5):
        ranked = make_queue(layout, seed=seed).ranked()
        assert [pair.key[0][0] for pair in ranked] == ["barsTwo", "barsOne"]
        assert [pair.votes for pair in ranked] == [4, 4]
        assert ranked[0].p_first == pytest.approx(0.5)
        assert ranked[1].p_first > 0.8


def test_pairs_with_fewer_votes_come_first(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": ["m1", "m2"], "barsTwo": ["m3", "m4"]})
    write_votes(
        layout,
        by_graders([vote("barsOne", "m1", "m2", "a"), vote("barsOne", "m1", "m2", "b")])
        + by_graders([vote("barsTwo", "m3", "m4", "tie"), vote("barsTwo", "m4", "m3", "both_bad")] * 2),
    )
    for seed in range(5):
        ranked = make_queue(layout, seed=seed).ranked()
        assert [(pair.key[0][0], pair.votes) for pair in ranked] == [("barsOne", 2), ("barsTwo", 4)]
        assert [pair.p_first for pair in ranked] == pytest.approx([0.5, 0.5])


def test_a_graders_latest_vote_on_a_pair_counts(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": ["m1", "m2"], "barsTwo": ["m3", "m4"]})
    changed_mind = [vote("barsOne", "m1", "m2", "a")] * 3 + [vote("barsOne", "m2", "m1", "a")]
    write_votes(layout, changed_mind + by_graders([vote("barsTwo", "m3", "m4", "a")] * 2))
    ranked = {pair.key[0][0]: pair for pair in make_queue(layout).ranked()}
    assert ranked["barsOne"].votes == 1 and ranked["barsOne"].p_first < 0.5  # bob's last word: m2
    assert ranked["barsTwo"].votes == 2
    assert [pair.key[0][0] for pair in make_queue(layout).ranked()] == ["barsOne", "barsTwo"]


def test_stale_and_judge_votes_count_for_nothing(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": ["m1", "m2"], "barsTwo": ["m3", "m4"]})
    judge = vote("barsTwo", "m3", "m4", "a")
    write_votes(
        layout,
        [vote("barsOne", "m1", "m2", "a", artifact_b="ffffffffffffffff")] * 3
        + [Vote(**{**judge.__dict__, "source": "judge:openai/gpt-4o"})] * 3
        + [vote("barsOne", "m1", "m2", "a", grader="alice", artifact_b="ffffffffffffffff")],
    )
    queue = make_queue(layout)
    assert [pair.votes for pair in queue.ranked()] == [0, 0]
    assert queue.progress()["remaining"] == 2  # alice's stale vote does not take the pair away


def test_fit_counts_ties_as_half_a_win(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": ["m1", "m2", "m3"]})
    outputs = sorted(make_queue(layout).catalog.items(), key=lambda output: output.key)
    m1, m2, m3 = (output.key for output in outputs)
    ties = [vote("barsOne", "m1", "m2", "tie")] * 3 + [vote("barsOne", "m2", "m1", "a")] * 2
    ties += [vote("barsOne", "m1", "m2", "both_bad"), vote("barsOne", "m1", "m2", "a")] * 2
    assert win_probabilities(outputs[:2], ties)[(m1, m2)] == pytest.approx(0.5)
    chain = win_probabilities(outputs, [vote("barsOne", "m1", "m2", "a")] * 5 + [vote("barsOne", "m2", "m3", "a")] * 5)
    assert chain[(m1, m3)] > chain[(m1, m2)] > 0.6
    assert chain[(m2, m3)] > 0.6


def test_own_votes_on_disk_are_never_shown_again(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": ["m1", "m2", "m3"]})
    write_votes(layout, [vote("barsOne", "m2", "m1", "a", grader="alice")])
    queue = make_queue(layout)
    shown = vote_through(queue)
    assert len(shown) == 2
    assert (("barsOne", "m1", 0), ("barsOne", "m2", 0)) not in {pair.key for pair in shown}
    assert make_queue(layout, "bob").progress()["remaining"] == 3


@pytest.mark.parametrize("share, expected", [(0.1, 3), (0.25, 10)])
def test_repeats_are_exactly_the_share_and_sides_drawn(tmp_path, share, expected):
    layout = make_layout(tmp_path / "p", {"barsOne": MODELS, "barsTwo": MODELS})
    queue = make_queue(layout, repeat_share=share)
    shown = vote_through(queue)
    new = [pair for pair in shown if not pair.repeat]
    repeats = [pair for pair in shown if pair.repeat]
    assert len(new) == 30  # every pair once
    assert len({pair.key for pair in new}) == 30
    assert len(repeats) == int(share * len(shown)) == expected  # floor(share * votes), exactly
    first_seen: dict = {}
    for number, pair in enumerate(shown):
        if pair.repeat:
            assert pair.key in first_seen and first_seen[pair.key] < number
        else:
            first_seen[pair.key] = number
    assert len({pair.key for pair in repeats}) == len(repeats)  # a pair is repeated once at most
    assert queue.progress()["repeats"] == expected
    assert {pair.left.key == min(pair.key) for pair in repeats} == {True, False}  # sides drawn both ways
    assert make_queue(layout, repeat_share=0.0).progress()["repeats"] == 0  # nothing on disk


def test_sides_are_balanced_per_grader(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": MODELS + ["m7", "m8"]})
    for grader in ("alice", "bob", "carol"):
        shown = vote_through(make_queue(layout, grader))
        assert len(shown) == 28
        lean: Counter[str] = Counter()
        for pair in shown:
            lean[pair.left.model] += 1
            lean[pair.right.model] -= 1
        assert max(abs(value) for value in lean.values()) <= 1, lean


def test_skipped_pairs_come_back_last(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": ["m1", "m2", "m3"]})
    queue = make_queue(layout)
    first = queue.next()
    queue.skip(first)
    assert queue.progress()["skipped"] == 1
    rest = vote_through(queue, 2)
    assert first.key not in {pair.key for pair in rest}
    assert queue.next().key == first.key
    assert queue.progress() == {"voted": 2, "skipped": 1, "remaining": 1, "repeats": 0, "total": 3}


def test_record_vote_builds_the_vote_and_refresh_rereads(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": ["m1", "m2"]})
    queue = make_queue(layout)
    pair = queue.next()
    made = queue.record_vote(pair, "b", flagged=True, notes="close", source="cli", blind=True)
    assert (made.model_a, made.model_b) == (pair.left.model, pair.right.model)
    assert (made.artifact_hash_a, made.artifact_hash_b) == (pair.left.artifact_hash, pair.right.artifact_hash)
    assert (made.winner, made.flagged, made.notes, made.grader, made.source) == ("b", True, "close", "alice", "cli")
    assert queue.next() is None
    queue.refresh()  # the vote was never written: it is gone again
    assert queue.next() == pair
    write_votes(layout, [made])
    assert queue.next() is None  # the new file is noticed without a refresh
    with pytest.raises(GradeError, match="winner must be one of a, b, tie, both_bad, got 'left'"):
        queue.record_vote(pair, "left", source="cli", blind=True)


def test_pair_id_names_sides_and_grader(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": ["m1", "m2"]})
    queue = make_queue(layout)
    one, two = queue.catalog.items()
    secret = queue.catalog.secret
    ids = {
        make_pair_id(secret, "alice", one, two),
        make_pair_id(secret, "alice", two, one),
        make_pair_id(secret, "bob", one, two),
    }
    assert len(ids) == 3
    with pytest.raises(GradeError, match="repeat_share must be at least 0 and less than 1, got 1.0"):
        make_queue(layout, repeat_share=1.0)


def test_a_vote_of_the_session_changes_its_challenges_fit_at_once(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": ["m1", "m2"], "barsTwo": ["m3", "m4"]})
    write_votes(layout, [vote("barsTwo", "m3", "m4", "a", grader="bob")])
    queue = make_queue(layout)
    before = {pair.key[0][0]: pair for pair in queue.ranked()}
    assert before["barsOne"].p_first == pytest.approx(0.5) and before["barsOne"].votes == 0
    pair = queue.next()
    assert pair.challenge == "barsOne"  # no votes yet: it comes first
    queue.record_vote(pair, "a", source="cli", blind=True)
    after = {pair.key[0][0]: pair for pair in queue.ranked()}
    assert after["barsOne"].votes == 1
    assert (after["barsOne"].p_first > 0.5) == (pair.left.model == "m1")
    assert after["barsTwo"] == before["barsTwo"]


def test_the_repeat_count_carries_over_sessions_from_the_votes_on_disk(tmp_path):
    layout = make_layout(tmp_path / "p", {"barsOne": MODELS})
    queue = make_queue(layout, repeat_share=0.1)
    made = []
    for _ in range(9):  # floor(0.1 * n) is 0 up to the ninth vote
        pair = queue.next()
        assert pair is not None and not pair.repeat
        made.append(queue.record_vote(pair, "a", source="cli", blind=True))
    write_votes(layout, made)
    fresh = make_queue(layout, repeat_share=0.1)
    tenth = fresh.next()
    assert tenth is not None and tenth.repeat and tenth.key in {vote.pair for vote in made}
    assert fresh.next() == tenth and make_queue(layout, repeat_share=0.1).next() == tenth  # stable on reload
    assert make_queue(layout, repeat_share=0.0).next().repeat is False


@pytest.mark.parametrize("seed", range(4))
def test_following_says_where_each_action_leads_and_changes_nothing(tmp_path, seed):
    """Each action taken on a fresh queue of the same votes (a vote with each winner, a skip) leads
    exactly where ``following`` said, and asking left the queue as it was (next pair, progress,
    order, the pair's repeat flag)."""
    layout = make_layout(tmp_path / "p", {"barsOne": MODELS[:4], "barsTwo": MODELS[:3]})
    earlier = make_queue(layout, seed=seed, repeat_share=0.5)
    votes = []
    for _ in range(2):  # a new pair, then a repeat: the vote after the next one is a repeat
        votes.append(earlier.record_vote(earlier.next(), "b", source="cli", blind=True))
    write_votes(layout, votes)
    queue = make_queue(layout, seed=seed, repeat_share=0.5)
    pair = queue.next()
    before = (pair, queue.progress(), [ranked.key for ranked in queue.ranked()])
    told = queue.following(pair)
    assert set(told) == {"a", "b", "tie", "both_bad", "skip"}
    assert (queue.next(), queue.progress(), [ranked.key for ranked in queue.ranked()]) == before
    assert queue.get(pair.id) == pair  # (its repeat flag included)
    assert any(found is not None and found.repeat for found in told.values())  # repeats predicted too
    for action, expected in told.items():
        again = make_queue(layout, seed=seed, repeat_share=0.5)
        shown = again.get(pair.id)
        if action == "skip":
            again.skip(shown)
        else:
            again.record_vote(shown, action, source="cli", blind=True)
        assert again.next() == expected, action
