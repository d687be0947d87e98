"""Which pair of outputs a grader votes on next: the active sampler of ``vizhub grade --pairwise``.

Candidates: every unordered pair of two different gradable outputs (status ``ok``) of the same
challenge, in the session's selection (one challenge with ``challenge=``).

Votes that count here are people's votes (source ``app``, ``cli``, ``imported``, ``unknown``)
whose two artifact hashes are the outputs' current ones: a vote on an older version of either
output is stale and counts for nothing (the grader may vote on the pair again).

The next pair, exactly:

1. Fit. Per challenge, a Bradley-Terry fit over that challenge's outputs (choix's
   ``ilsr_pairwise_dense``) from each grader's latest current vote on each pair, as
   ``vizhub aggregate`` counts them; a tie or ``both_bad`` is half a win for each side. It is
   regularised by :data:`PRIOR` (choix's ``alpha``: about ``2 * PRIOR`` virtual ties between
   every two outputs), so an output without votes sits in the middle. ``p`` is the fitted
   probability that the first output of the pair wins.
2. Priority of a pair: ``p * (1 - p) / (1 + n)``, where ``n`` is the number of graders with a
   current vote on the pair. ``p * (1 - p)`` is largest (0.25) when the fit is least sure of the
   outcome; dividing by ``1 + n`` puts pairs with fewer votes first. Highest priority first,
   priorities compared to 9 decimals.
3. Ties are broken by a draw from ``seed``, the grader and the pair (a SHA-256, not the process's
   random state), so the order is reproducible from the seed and differs between graders.
4. Pairs this grader has a current vote on are left out, except for repeats: the grader's
   ``N + 1``-th vote is a repeat when fewer than ``floor(repeat_share * (N + 1))`` of their ``N``
   votes so far were repeats (a second or later vote on a pair) and a pair they voted on exactly
   once is left. The repeated pair is drawn from those, and its sides swapped or not, by draws
   from the seed, the grader and ``N``. Over ``N`` votes that makes exactly
   ``floor(repeat_share * N)`` repeats while repeatable pairs last.
5. Sides of a new pair: per grader, each challenge's outputs sit on a circle in an order drawn
   from the seed and the grader; of two outputs, the one from which the other is fewer steps
   clockwise goes left (exactly half way round: the one placed first). Over all pairs of a
   challenge of ``k`` outputs each output is on the left as often as on the right (``k`` odd),
   or once more or less (``k`` even), for every grader; which outputs lead is drawn per grader.
6. Skipped pairs are not recorded; they come back after every other pair of the session, in the
   order they were skipped (a skipped repeat does not come back).

Everything is derived from the votes on disk (and the session's skips), so the pair shown is
the same after a reload, and :attr:`PairItem.id` (an HMAC under the project's grader secret of
the grader, the two outputs in sorted order and the side each is on) stays the same too.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import hmac
import itertools
import math
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from vizhub_pipeline.core.judgements.columns import is_human_source
from vizhub_pipeline.core.judgements.files import resolve_kind_folder
from vizhub_pipeline.core.judgements.kind import ItemKey
from vizhub_pipeline.core.judgements.votes import KIND as VOTES
from vizhub_pipeline.core.judgements.votes import WINNERS, Vote
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.records import utc_now_iso
from vizhub_pipeline.grading.errors import GradeError
from vizhub_pipeline.grading.web.items import Catalog, GradableOutput

PRIOR = 0.5  # choix alpha of the sampler's fit: about one virtual tie between every two outputs
PRIORITY_DIGITS = 9
RANKINGS_KEPT = 6  # rankings kept per challenge: the current one, one per winner tried ahead, and spare

PairKey = tuple[ItemKey, ItemKey]  # the two outputs in sorted order


@dataclass(frozen=True)
class PairItem:
    """One pair to vote on, as shown: ``left`` is side ``a`` of the vote, ``right`` side ``b``."""

    id: str  # opaque, stable: see make_pair_id
    challenge: str
    left: GradableOutput
    right: GradableOutput
    repeat: bool  # a deliberate repeat of a pair this grader already voted on (test-retest)

    @property
    def key(self) -> PairKey:
        return pair_key(self.left, self.right)


def pair_key(one: GradableOutput, other: GradableOutput) -> PairKey:
    first, second = sorted((one.key, other.key))
    return first, second


def make_pair_id(secret: bytes, grader: str, left: GradableOutput, right: GradableOutput) -> str:
    """An HMAC under the project's secret of the grader, the two outputs in sorted order and which
    of them is on the left: names no model, and is the same on every reload."""
    first, second = pair_key(left, right)
    side = "first-left" if left.key == first else "second-left"
    parts = ["vizhub-pair", grader, *(str(part) for part in first), *(str(part) for part in second), side]
    return hmac.new(secret, "\0".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()[:20]


@functools.lru_cache(maxsize=1 << 16)
def draw(*parts: object) -> float:
    """A number in [0, 1) from the parts alone (SHA-256), the same in every process."""
    digest = hashlib.sha256("\0".join(str(part) for part in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def current_votes(votes: Iterable[Vote], outputs: Iterable[GradableOutput]) -> list[Vote]:
    """People's votes whose two sides are outputs of the selection at their current artifact hash."""
    hashes = {output.key: output.artifact_hash for output in outputs}
    return [
        vote
        for vote in votes
        if is_human_source(vote.source)
        and hashes.get(vote.key_a) == vote.artifact_hash_a
        and hashes.get(vote.key_b) == vote.artifact_hash_b
        and vote.key_a != vote.key_b
    ]


def latest_votes(votes: Iterable[Vote]) -> list[Vote]:
    """Each grader's latest vote on each pair (the latest ``voted_at``; of equal times, the later
    in ``votes``), as the aggregate stage counts them: a repeat replaces the earlier vote."""
    return list(_latest_by_grader_and_pair(votes).values())


def _latest_by_grader_and_pair(
    votes: Iterable[Vote], latest: dict[tuple[str, PairKey], Vote] | None = None
) -> dict[tuple[str, PairKey], Vote]:
    latest = {} if latest is None else latest
    for vote in votes:
        key = (vote.grader, vote.pair)
        if key not in latest or vote.voted_at >= latest[key].voted_at:
            latest[key] = vote
    return latest


def win_probabilities(outputs: Sequence[GradableOutput], votes: Iterable[Vote]) -> dict[PairKey, float]:
    """``{(first, second): P(first beats second)}`` for every pair of ``outputs`` (one challenge),
    from a regularised Bradley-Terry fit of ``votes`` (ties and both_bad half a win each)."""
    import choix
    import numpy as np

    keys = sorted(output.key for output in outputs)
    index = {key: number for number, key in enumerate(keys)}
    wins = np.zeros((len(keys), len(keys)))
    for vote in votes:
        a, b = index.get(vote.key_a), index.get(vote.key_b)
        if a is None or b is None:
            continue
        if vote.winner == "a":
            wins[a, b] += 1
        elif vote.winner == "b":
            wins[b, a] += 1
        else:
            wins[a, b] += 0.5
            wins[b, a] += 0.5
    if len(keys) < 2:
        return {}
    if wins.sum() == 0:
        theta = np.zeros(len(keys))
    else:
        theta = np.asarray(choix.ilsr_pairwise_dense(wins, alpha=PRIOR, max_iter=10_000, tol=1e-9))
    out = {}
    for (i, first), (j, second) in itertools.combinations(enumerate(keys), 2):
        out[(first, second)] = 1 / (1 + math.exp(theta[j] - theta[i]))
    return out


@dataclass(frozen=True)
class RankedPair:
    """A candidate pair with what ranked it."""

    key: PairKey
    p_first: float  # P(first output wins) in the current fit
    votes: int  # graders with a current vote on the pair
    priority: float


Fit = Callable[[Sequence[GradableOutput], list[Vote]], dict[PairKey, float]]


Ordered = list[tuple[tuple, RankedPair]]  # (sort key, pair), in the order of the sort keys
Rank = Callable[[Sequence[GradableOutput], list[Vote]], Ordered]  # one challenge's outputs and votes -> its ranking


def rank_challenge(
    members: Sequence[GradableOutput], votes: list[Vote], grader: str, *, seed: int, fit: Fit = win_probabilities
) -> Ordered:
    """The candidate pairs of one challenge's outputs, each with its sort key, highest priority first."""
    counts = Counter(vote.pair for vote in votes)
    ranked = []
    for key, p in fit(members, votes).items():
        n = counts.get(key, 0)
        priority = p * (1 - p) / (1 + n)
        order = (-round(priority, PRIORITY_DIGITS), draw(seed, grader, *key), key)
        ranked.append((order, RankedPair(key, p, n, priority)))
    ranked.sort(key=lambda entry: entry[0])
    return ranked


def rank_pairs(
    outputs: Sequence[GradableOutput],
    votes: Iterable[Vote],
    grader: str,
    *,
    seed: int,
    fit: Fit = win_probabilities,
    rank: Rank | None = None,
) -> list[RankedPair]:
    """Every candidate pair, highest priority first (the module's rules 1-3); ``votes`` are the
    current ones (:func:`current_votes`), one a grader and pair (:func:`latest_votes`); ``fit``
    gives the win probabilities of one challenge's pairs; ``rank`` (by default
    :func:`rank_challenge` with ``fit``) ranks one challenge's pairs, and the challenges' rankings
    are merged (so a ranking kept from before serves a challenge whose votes did not change)."""
    if rank is None:

        def rank(members: Sequence[GradableOutput], chosen: list[Vote]) -> Ordered:
            return rank_challenge(members, chosen, grader, seed=seed, fit=fit)

    return list(_merged(_rankings(outputs, votes, rank)))


def _rankings(outputs: Iterable[GradableOutput], votes: Iterable[Vote], rank: Rank) -> list[Ordered]:
    """Each challenge's ranking of its pairs."""
    by_challenge: dict[str, list[GradableOutput]] = defaultdict(list)
    for output in outputs:
        by_challenge[output.challenge].append(output)
    votes_by_challenge: dict[str, list[Vote]] = defaultdict(list)
    for vote in votes:
        votes_by_challenge[vote.challenge].append(vote)
    return [rank(members, votes_by_challenge[challenge]) for challenge, members in by_challenge.items()]


def _merged(rankings: list[Ordered]) -> Iterator[RankedPair]:
    """The pairs of every ranking, highest priority first; lazy: the first ones cost little."""
    return (pair for _, pair in heapq.merge(*rankings))


@dataclass
class _State:
    """What the queue derived from the outputs and votes, rebuilt when either changes."""

    outputs: dict[ItemKey, GradableOutput]
    rankings: list[Ordered]  # one a challenge: every candidate pair is in one of them
    mine: Counter  # pair -> this grader's current votes on it
    circles: dict[str, dict[ItemKey, int]]  # challenge -> output -> place on this grader's circle
    my_votes: int
    my_repeats: int


class PairQueue:
    """The pairs one grader votes on, in the sampler's order (see the module docstring).

    The votes are read through the one reader (with the catalog's branch, the votes committed
    there too) and reread when a file of the votes folder changes or on :meth:`refresh`. A vote
    built by :meth:`record_vote` counts at once in this session, before it is read back; when its
    submission fails, :meth:`refresh` forgets it. Safe to share between threads.
    """

    def __init__(
        self,
        catalog: Catalog,
        layout: Layout,
        grader: str,
        *,
        seed: int,
        repeat_share: float,
        challenge: str | None = None,
    ):
        if not 0 <= repeat_share < 1:
            raise GradeError(f"repeat_share must be at least 0 and less than 1, got {repeat_share!r}")
        self.catalog = catalog
        self.layout = layout
        self.grader = grader
        self.seed = seed
        self.repeat_share = repeat_share
        self.challenge = challenge
        self._lock = threading.RLock()
        self._votes: list[Vote] | None = None
        self._votes_signature: tuple | None = None
        self._recorded: list[Vote] = []  # built this session, maybe not reread from disk yet
        self._skipped: list[PairKey] = []
        self._issued: dict[str, PairItem] = {}
        self._state: _State | None = None
        self._state_for: tuple | None = None
        self._rankings: dict[str, dict[tuple, Ordered]] = {}
        self._circles_for: tuple[tuple, dict[str, dict[ItemKey, int]]] | None = None
        self._votes_seen: set[Vote] = set()
        self._disk_counted: tuple[tuple, list[Vote], dict[tuple[str, PairKey], Vote]] | None = None

    # -- reading
    def refresh(self) -> None:
        """Count only the votes read from the project, not those recorded since; with a branch (where
        a submission changes no file on disk) read them again. Without one, they are read again
        whenever a file of the votes folder changes (its name, size or modification time)."""
        with self._lock:
            if self.catalog.branch:
                self._votes = None
            self._recorded = []
            self._state = None

    def _disk_votes(self) -> list[Vote]:
        signature = _folder_signature(self.layout)
        if self._votes is None or signature != self._votes_signature:
            from vizhub_pipeline.grading.loading import load_judgements

            self._votes = load_judgements(self.layout, VOTES, branch=self.catalog.branch)
            self._votes_seen = set(self._votes)
            self._votes_signature = signature
            self._disk_counted = None
            self._state = None
        return self._votes

    def _outputs(self) -> list[GradableOutput]:
        self.catalog.refresh()
        return self.catalog.items(self.challenge)

    def _current(self) -> _State:
        outputs = self._outputs()
        disk = self._disk_votes()
        extra = [vote for vote in self._recorded if vote not in self._votes_seen]
        outputs_marker = tuple((output.key, output.artifact_hash) for output in outputs)
        marker = (outputs_marker, len(extra))
        if self._state is not None and marker == self._state_for:
            return self._state
        if self._disk_counted is None or self._disk_counted[0] != outputs_marker:
            counted = current_votes(disk, outputs)
            self._disk_counted = (outputs_marker, counted, _latest_by_grader_and_pair(counted))
        _, disk_counted, disk_latest = self._disk_counted
        extra_counted = current_votes(extra, outputs)
        latest = _latest_by_grader_and_pair(extra_counted, dict(disk_latest))
        mine: Counter = Counter()
        repeats = 0
        for vote in itertools.chain(disk_counted, extra_counted):
            if vote.grader != self.grader:
                continue
            if mine[vote.pair]:
                repeats += 1
            mine[vote.pair] += 1
        self._state = _State(
            outputs={output.key: output for output in outputs},
            rankings=_rankings(outputs, latest.values(), self._rank),
            mine=mine,
            circles=self._circles(outputs_marker, outputs),
            my_votes=sum(mine.values()),
            my_repeats=repeats,
        )
        self._state_for = marker
        return self._state

    def _rank(self, outputs: Sequence[GradableOutput], votes: list[Vote]) -> Ordered:
        """:func:`rank_challenge`, refitted and ranked again only for a challenge whose outputs or
        votes changed (the last :data:`RANKINGS_KEPT` of each challenge are kept: :meth:`following`
        tries one per winner, and the vote then cast needs one of them again)."""
        signature = (
            tuple((output.key, output.artifact_hash) for output in outputs),  # in the catalog's order
            tuple((vote.key_a, vote.key_b, vote.winner) for vote in votes),  # in a stable order
        )
        challenge = outputs[0].challenge if outputs else ""
        kept = self._rankings.setdefault(challenge, {})
        if signature in kept:
            return kept[signature]
        ranked = rank_challenge(outputs, votes, self.grader, seed=self.seed)
        kept[signature] = ranked
        while len(kept) > RANKINGS_KEPT:  # the oldest first (dicts keep their order)
            del kept[next(iter(kept))]
        return ranked

    def _circles(self, marker: tuple, outputs: list[GradableOutput]) -> dict[str, dict[ItemKey, int]]:
        if self._circles_for is None or self._circles_for[0] != marker:
            self._circles_for = (marker, _circles(outputs, self.grader, self.seed))
        return self._circles_for[1]

    # -- the queue
    def next(self) -> PairItem | None:
        """The pair to show now; ``None`` when this grader has voted on every pair."""
        with self._lock:
            state = self._current()
            repeat = self._repeat(state)
            if repeat is not None:
                return repeat
            skipped = set(self._skipped)
            for ranked in _merged(state.rankings):
                if not state.mine[ranked.key] and ranked.key not in skipped:
                    return self._new_pair(state, ranked.key)
            for key in self._skipped:
                if not state.mine[key] and key[0] in state.outputs and key[1] in state.outputs:
                    return self._new_pair(state, key)
            return None

    def get(self, pair_id: str) -> PairItem | None:
        """The pair of an id this queue gave out (or would give: any candidate, either side)."""
        with self._lock:
            found = self._issued.get(pair_id)
            state = self._current()
            if found is not None:
                current = state.outputs.get(found.left.key), state.outputs.get(found.right.key)
                return found if current == (found.left, found.right) else None
            for _, ranked in itertools.chain.from_iterable(state.rankings):
                first, second = (state.outputs[key] for key in ranked.key)
                for left, right in ((first, second), (second, first)):
                    if make_pair_id(self.catalog.secret, self.grader, left, right) == pair_id:
                        return self._issue(left, right, repeat=bool(state.mine[ranked.key]))
            return None

    def record_vote(
        self, pair: PairItem, winner: str, *, flagged: bool = False, notes: str = "", source: str, blind: bool
    ) -> Vote:
        """The vote on ``pair`` (side ``a`` = left, ``b`` = right), counted in this session at once;
        submit it with :func:`vizhub_pipeline.grading.submit.submit_judgements` (and call
        :meth:`refresh` if that fails, so the pair comes back)."""
        vote = self._vote(pair, winner, flagged=flagged, notes=notes, source=source, blind=blind)
        with self._lock:
            self._recorded.append(vote)
            if pair.key in self._skipped:
                self._skipped.remove(pair.key)
        return vote

    def _vote(self, pair: PairItem, winner: str, *, flagged: bool, notes: str, source: str, blind: bool) -> Vote:
        if winner not in WINNERS:
            raise GradeError(f"winner must be one of {', '.join(WINNERS)}, got {winner!r}")
        return Vote(
            challenge=pair.challenge,
            model_a=pair.left.model,
            sample_a=pair.left.sample,
            artifact_hash_a=pair.left.artifact_hash,
            model_b=pair.right.model,
            sample_b=pair.right.sample,
            artifact_hash_b=pair.right.artifact_hash,
            winner=winner,
            flagged=flagged,
            notes=notes,
            grader=self.grader,
            voted_at=utc_now_iso(),
            source=source,
            blind=blind,
        )

    def following(self, pair: PairItem) -> dict[str, PairItem | None]:
        """What :meth:`next` would give after each thing the grader may do on ``pair`` now: a vote
        with each winner (keys of :data:`WINNERS`), or ``"skip"``. Nothing changes: each is tried on
        the queue's state and taken back. Votes that arrive in between (other graders', changed
        outputs) can make the real next pair another one, so a caller checks it after the vote."""
        with self._lock:
            recorded, skipped, issued = list(self._recorded), list(self._skipped), dict(self._issued)
            out: dict[str, PairItem | None] = {}
            try:
                for action in (*WINNERS, "skip"):
                    self._state = None
                    if action == "skip":
                        self.skip(pair)
                    else:
                        self.record_vote(pair, action, source="app", blind=True)
                    out[action] = self.next()
                    self._recorded, self._skipped = list(recorded), list(skipped)
            finally:
                self._recorded, self._skipped, self._issued = recorded, skipped, issued
                self._state = None
            return out

    def skip(self, pair: PairItem) -> None:
        """Put ``pair`` after every other pair of this session; nothing is recorded."""
        with self._lock:
            if pair.key in self._skipped:
                self._skipped.remove(pair.key)
            self._skipped.append(pair.key)

    def progress(self) -> dict[str, int]:
        """``voted``: pairs this grader has a current vote on; ``repeats``: their votes beyond the
        first on a pair; ``skipped``: pairs skipped this session and not voted on since;
        ``remaining``: pairs not voted on yet (skipped ones included); ``total``: candidate pairs."""
        with self._lock:
            state = self._current()
            total = sum(len(ranking) for ranking in state.rankings)
            voted = sum(1 for key, count in state.mine.items() if count)  # (each a candidate: current_votes)
            return {
                "voted": voted,
                "skipped": sum(1 for key in self._skipped if not state.mine[key]),
                "remaining": total - voted,
                "repeats": state.my_repeats,
                "total": total,
            }

    def ranked(self) -> list[RankedPair]:
        """Every candidate pair in the sampler's order (voted ones included), for reports and tests."""
        with self._lock:
            return list(_merged(self._current().rankings))

    # -- helpers
    def _repeat(self, state: _State) -> PairItem | None:
        due = math.floor(self.repeat_share * (state.my_votes + 1) + 1e-9)
        if state.my_repeats >= due:
            return None
        skipped = set(self._skipped)
        once = sorted(key for key, count in state.mine.items() if count == 1 and key not in skipped)
        once = [key for key in once if key[0] in state.outputs and key[1] in state.outputs]
        if not once:
            return None
        pick = draw(self.seed, self.grader, "repeat", state.my_votes)
        key = once[min(int(pick * len(once)), len(once) - 1)]
        first, second = (state.outputs[part] for part in key)
        if draw(self.seed, self.grader, "repeat-side", state.my_votes) < 0.5:
            first, second = second, first
        return self._issue(first, second, repeat=True)

    def _new_pair(self, state: _State, key: PairKey) -> PairItem:
        first, second = (state.outputs[part] for part in key)
        circle = state.circles[first.challenge]
        size = len(circle)
        here, there = circle[first.key], circle[second.key]
        ahead = (there - here) % size  # steps clockwise from first to second
        if 2 * ahead == size:  # exactly half way round: the one in the first half goes left
            first_left = here < there
        else:
            first_left = 2 * ahead < size
        left, right = (first, second) if first_left else (second, first)
        return self._issue(left, right, repeat=False)

    def _issue(self, left: GradableOutput, right: GradableOutput, *, repeat: bool) -> PairItem:
        item = PairItem(
            make_pair_id(self.catalog.secret, self.grader, left, right), left.challenge, left, right, repeat
        )
        self._issued[item.id] = item
        return item


def _circles(outputs: Iterable[GradableOutput], grader: str, seed: int) -> dict[str, dict[ItemKey, int]]:
    """Per challenge, its outputs placed on a circle in an order drawn from the seed and the grader."""
    by_challenge: dict[str, list[ItemKey]] = defaultdict(list)
    for output in outputs:
        by_challenge[output.challenge].append(output.key)
    return {
        challenge: {
            key: place
            for place, key in enumerate(sorted(keys, key=lambda key: (draw(seed, grader, "circle", *key), key)))
        }
        for challenge, keys in by_challenge.items()
    }


def _folder_signature(layout: Layout) -> tuple:
    folder = resolve_kind_folder(layout.root, VOTES)
    try:
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.csv")))
    except OSError:
        return ()
