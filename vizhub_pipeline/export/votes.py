"""Pairwise votes as preference pairs.

A vote (``results/votes/``, :mod:`vizhub_pipeline.core.judgements.votes`) says directly which of
two outputs of a challenge is better. Each grader's latest human vote on a pair counts, if both
outputs are still the ones voted on (same artifact hashes as the consensus). Votes of ``tie`` and
``both_bad`` make no pair and are counted; so are stale votes. When the graders' votes on one
pair split evenly, it makes no pair either. Otherwise the side with more votes is ``chosen``.

A pair with votes replaces the pair the absolute scores would give for the same two outputs
(the direct comparison is the better evidence), so no two rows compare the same outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

Key = tuple[str, str, int]  # challenge, model, sample


@dataclass(frozen=True)
class VotedPair:
    chosen: Key
    rejected: Key
    wins: int  # votes for chosen
    losses: int  # votes for rejected
    sources: tuple[str, ...]  # the votes' sources (app, cli, ...), sorted, once each


@dataclass
class VoteCounts:
    """What became of the votes, for the summary and the card."""

    read: int = 0
    ties: int = 0
    both_bad: int = 0
    stale: int = 0  # an output changed or is gone since the vote
    split: int = 0  # pairs whose votes split evenly


@dataclass(frozen=True)
class _Vote:
    a: Key
    hash_a: str
    b: Key
    hash_b: str
    winner: str
    source: str


@dataclass
class VoteIndex:
    """The counted votes of a project, by challenge."""

    by_challenge: dict[str, list[_Vote]] = field(default_factory=dict)

    def pairs(self, challenge: str, artifacts: Mapping[Key, str | None], counts: VoteCounts) -> list[VotedPair]:
        """The pairs the votes on ``challenge`` make, given each output's current artifact hash."""
        tally: dict[tuple[Key, Key], dict[Key, int]] = {}
        sources: dict[tuple[Key, Key], set[str]] = {}
        for vote in self.by_challenge.get(challenge, ()):
            counts.read += 1
            if artifacts.get(vote.a) != vote.hash_a or artifacts.get(vote.b) != vote.hash_b:
                counts.stale += 1
                continue
            if vote.winner == "tie":
                counts.ties += 1
                continue
            if vote.winner == "both_bad":
                counts.both_bad += 1
                continue
            first, second = sorted((vote.a, vote.b))
            winner = vote.a if vote.winner == "a" else vote.b
            slot = tally.setdefault((first, second), {first: 0, second: 0})
            slot[winner] += 1
            sources.setdefault((first, second), set()).add(vote.source)
        out = []
        for (first, second), wins in sorted(tally.items()):
            if wins[first] == wins[second]:
                counts.split += 1
                continue
            chosen, rejected = (first, second) if wins[first] > wins[second] else (second, first)
            out.append(VotedPair(chosen, rejected, wins[chosen], wins[rejected], tuple(sorted(sources[first, second]))))
        return out


def read_votes(root: Path) -> VoteIndex:
    """Each grader's latest vote on each pair of outputs (whichever side each was shown on), human
    sources only, grouped by challenge."""
    from vizhub_pipeline.core.judgements.collect import read_project_records
    from vizhub_pipeline.core.judgements.columns import is_human_source
    from vizhub_pipeline.core.judgements.kind import pick_latest
    from vizhub_pipeline.core.judgements.votes import KIND

    human = (record for record in read_project_records(root, KIND) if is_human_source(record.source))
    latest = pick_latest(KIND, human, subject=lambda record: record.pair)
    index = VoteIndex()
    for record in latest.values():
        index.by_challenge.setdefault(record.challenge, []).append(
            _Vote(
                record.key_a,
                record.artifact_hash_a,
                record.key_b,
                record.artifact_hash_b,
                record.winner,
                record.source,
            )
        )
    for votes in index.by_challenge.values():
        votes.sort(key=lambda vote: (vote.a, vote.b, vote.winner, vote.source))
    return index
