"""THROWAWAY stand-in for vizhub_pipeline.grading.pairing (helper "pairing"); deleted once merged."""

from __future__ import annotations

import hashlib
import hmac
import itertools
from dataclasses import dataclass

from vizhub_pipeline.core.judgements.votes import Vote
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.records import utc_now_iso
from vizhub_pipeline.grading.web.items import Catalog, GradableOutput


@dataclass(frozen=True)
class PairItem:
    id: str
    challenge: str
    left: GradableOutput
    right: GradableOutput
    repeat: bool


class PairQueue:
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
        self.catalog, self.layout, self.grader, self.seed, self.challenge = catalog, layout, grader, seed, challenge
        self.done: set[str] = set()
        self.skipped: set[str] = set()

    def _pairs(self) -> list[PairItem]:
        out = []
        for item_a, item_b in itertools.combinations(self.catalog.items(self.challenge), 2):
            if item_a.challenge != item_b.challenge:
                continue
            first, second = sorted((item_a, item_b), key=lambda item: item.id)
            pid = hmac.new(self.catalog.secret, f"pair\0{first.id}\0{second.id}".encode(), hashlib.sha256).hexdigest()
            if int(pid[-1], 16) % 2:
                first, second = second, first
            out.append(PairItem(pid[:20], first.challenge, first, second, False))
        return sorted(out, key=lambda pair: pair.id)

    def next(self) -> PairItem | None:
        return next((p for p in self._pairs() if p.id not in self.done and p.id not in self.skipped), None)

    def get(self, pair_id: str) -> PairItem | None:
        return next((p for p in self._pairs() if p.id == pair_id), None)

    def record_vote(self, pair, winner, *, flagged=False, notes="", source: str, blind: bool) -> Vote:
        self.done.add(pair.id)
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

    def progress(self) -> dict[str, int]:
        total = len(self._pairs())
        return {
            "voted": len(self.done),
            "skipped": len(self.skipped),
            "remaining": total - len(self.done) - len(self.skipped),
            "repeats": 0,
        }

    def skip(self, pair) -> None:
        self.skipped.add(pair.id)

    def refresh(self) -> None:
        self.catalog.refresh()
