"""``vizhub diff``: how judgements changed between two revisions (or a revision and the working
tree), per grader, comparing each grader's latest judgement of each subject, for every kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vizhub_pipeline.core.judgements.kind import JudgementKind, pick_latest
from vizhub_pipeline.core.judgements.registry import list_kinds
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.grading.errors import GradeError
from vizhub_pipeline.grading.loading import load_judgements, read_judgements_at

CHANGE_KINDS = ("added", "changed", "removed")
MARKS = {"added": "+", "changed": "~", "removed": "-"}


@dataclass(frozen=True)
class JudgementChange:
    """One subject whose latest judgement by one grader differs between two revisions."""

    kind: JudgementKind
    grader: str
    subject: tuple
    change: str  # "added", "changed", "removed"
    old: Any
    new: Any

    @property
    def key(self) -> tuple:
        return self.subject

    def to_json(self) -> dict[str, Any]:
        def content(record: Any) -> dict[str, Any] | None:
            return None if record is None else self.kind.content_json(record)

        return {**self.kind.subject_json(self.subject), "old": content(self.old), "new": content(self.new)}

    def text(self) -> str:
        if self.old is None:
            return self.kind.describe(self.new)
        if self.new is None:
            return self.kind.describe(self.old)
        return self.kind.describe_change(self.old, self.new)


@dataclass
class JudgementDiff:
    """What changed between two revisions, per kind and grader."""

    rev1: str
    rev2: str
    changes: list[JudgementChange] = field(default_factory=list)

    def by_grader(self, kind: JudgementKind) -> dict[str, dict[str, list[JudgementChange]]]:
        out: dict[str, dict[str, list[JudgementChange]]] = {}
        for change in self.changes:
            if change.kind is kind:
                slot = out.setdefault(change.grader, {name: [] for name in CHANGE_KINDS})
                slot[change.change].append(change)
        return out

    def to_json(self) -> dict[str, Any]:
        """``{"from", "to", "graders": {...}}`` for grades; each other kind under its name."""
        out: dict[str, Any] = {"from": self.rev1, "to": self.rev2}
        for index, kind in enumerate(list_kinds()):
            graders = {
                grader: {name: [change.to_json() for change in items] for name, items in groups.items()}
                for grader, groups in sorted(self.by_grader(kind).items())
            }
            if index == 0:
                out["graders"] = graders
            elif graders:
                out[kind.name] = {"graders": graders}
        return out

    def to_table(self) -> str:
        if not self.changes:
            return f"No grade changes from {self.rev1} to {self.rev2}.\n"
        lines: list[str] = []
        for kind in list_kinds():
            groups_by_grader = self.by_grader(kind)
            if not groups_by_grader:
                continue
            if lines:
                lines.append("")
            lines.append(f"{kind.noun[1].capitalize()} from {self.rev1} to {self.rev2}:")
            for grader, groups in sorted(groups_by_grader.items()):
                counts = ", ".join(f"{len(groups[name])} {name}" for name in CHANGE_KINDS)
                lines.append("")
                lines.append(f"{grader}: {counts}")
                rows = [
                    (MARKS[name], *kind.label(change.subject), change.text())
                    for name in CHANGE_KINDS
                    for change in groups[name]
                ]
                width_c = max(len(row[1]) for row in rows)
                width_m = max(len(row[2]) for row in rows)
                for mark, challenge, what, text in rows:
                    lines.append(f"  {mark} {challenge:<{width_c}}  {what:<{width_m}}  {text}".rstrip())
        return "\n".join(lines) + "\n"


def split_revisions(rev1: str, rev2: str | None) -> tuple[str, str | None]:
    """``("a", "b")`` from ``a b`` or ``a..b``; ``rev2`` ``None`` means the working tree."""
    if rev2 is None and ".." in rev1:
        left, _, right = rev1.partition("..")
        if right.startswith("."):
            raise GradeError(f"{rev1!r}: use REV1..REV2 (two dots) or two revisions")
        return left or "HEAD", right or "HEAD"
    if not rev1:
        raise GradeError("give a revision to compare, for example HEAD~1")
    return rev1, rev2


def diff_judgements(layout: Layout, rev1: str, rev2: str | None = None) -> JudgementDiff:
    """The judgements added, changed and removed from ``rev1`` to ``rev2`` (``None``: the working
    tree), comparing each grader's latest judgement of each subject."""
    rev1, rev2 = split_revisions(rev1, rev2)
    changes: list[JudgementChange] = []
    for kind in list_kinds():
        old = pick_latest(kind, _all(read_judgements_at(layout, kind, rev1)))
        if rev2 is None:
            new_records = load_judgements(layout, kind)
        else:
            new_records = _all(read_judgements_at(layout, kind, rev2))
        new = pick_latest(kind, new_records)
        for slot in sorted(set(old) | set(new)):
            before, after = old.get(slot), new.get(slot)
            grader, subject = slot
            if before is None:
                changes.append(JudgementChange(kind, grader, subject, "added", None, after))
            elif after is None:
                changes.append(JudgementChange(kind, grader, subject, "removed", before, None))
            elif kind.content(before) != kind.content(after):
                changes.append(JudgementChange(kind, grader, subject, "changed", before, after))
    return JudgementDiff(rev1, rev2 if rev2 is not None else "the working tree", changes)


def _all(by_file: dict[str, list[Any]]) -> list[Any]:
    return [record for records in by_file.values() for record in records]
