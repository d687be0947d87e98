"""Pairwise votes: a grader compares two outputs of one challenge, side by side.

Files: ``results/votes/<grader>-<YYYY-MM-DD>.csv`` with the columns of :class:`Vote` in order.
``a`` and ``b`` are the sides as the grader saw them (left and right); the winner is ``a``,
``b``, ``tie`` or ``both_bad``. A vote is stale when the artifact of either side changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vizhub_pipeline.core.judgements.columns import Choice, Notes, Sample, Slug, Source, Text, UtcTime
from vizhub_pipeline.core.judgements.columns import Flag as FlagCodec
from vizhub_pipeline.core.judgements.kind import ItemKey, JudgementKind, column

WINNERS = ("a", "b", "tie", "both_bad")


@dataclass(frozen=True)
class Vote:
    """One row of ``results/votes/<grader>-<date>.csv``."""

    challenge: str = column(Text())
    model_a: str = column(Text())
    sample_a: int = column(Sample())
    artifact_hash_a: str = column(Text())
    model_b: str = column(Text())
    sample_b: int = column(Sample())
    artifact_hash_b: str = column(Text())
    winner: str = column(Choice(*WINNERS))
    flagged: bool = column(FlagCodec())
    notes: str = column(Notes())
    grader: str = column(Slug())
    voted_at: str = column(UtcTime())  # UTC, ISO 8601, e.g. 2026-11-28T12:00:00Z
    source: str = column(Source())  # app, cli, imported, judge:<model>
    blind: bool | None = column(FlagCodec(optional=True), default=None)

    @property
    def key_a(self) -> ItemKey:
        return (self.challenge, self.model_a, self.sample_a)

    @property
    def key_b(self) -> ItemKey:
        return (self.challenge, self.model_b, self.sample_b)

    @property
    def pair(self) -> tuple[ItemKey, ItemKey]:
        """The two outputs in a fixed order (whichever side each was shown on)."""
        first, second = sorted((self.key_a, self.key_b))
        return first, second


class VotesKind(JudgementKind):
    name = "votes"
    record = Vote
    folder = "results/votes"
    noun = ("vote", "votes")
    verb = "voted on"
    object_noun = ("pair", "pairs")
    time_column = "voted_at"
    subject_columns = ("challenge", "model_a", "sample_a", "model_b", "sample_b")
    shown_columns = ("winner",)

    def row_problem(self, record: Any) -> str | None:
        if (record.model_a, record.sample_a) == (record.model_b, record.sample_b):
            return "a vote compares two different outputs; both sides are the same"
        return None

    def artifacts(self, record: Any) -> tuple[tuple[ItemKey, str], ...]:
        return ((record.key_a, record.artifact_hash_a), (record.key_b, record.artifact_hash_b))

    def label(self, subject: tuple) -> tuple[str, str]:
        challenge, model_a, sample_a, model_b, sample_b = subject
        side_a = model_a if sample_a == 0 else f"{model_a} #{sample_a}"
        side_b = model_b if sample_b == 0 else f"{model_b} #{sample_b}"
        return challenge, f"{side_a} vs {side_b}"

    def content_json(self, record: Any) -> dict[str, Any]:
        return {
            "winner": record.winner,
            "flagged": record.flagged,
            "notes": record.notes,
            "artifact_hash_a": record.artifact_hash_a,
            "artifact_hash_b": record.artifact_hash_b,
            "voted_at": record.voted_at,
            "source": record.source,
            "blind": record.blind,
        }


KIND = VotesKind()
VOTE_COLUMNS = KIND.header
