"""Reading the judgements that count, for the grader (progress, earlier grades) and for diffs.

Rows go through the one reader and the content checks that ``vizhub validate`` and
``vizhub aggregate`` use, so the grader sees exactly the grades the consensus counts:
unreadable rows and rows that may not count (a future time, another grader's row, ...) are
left out here and reported by ``vizhub validate``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vizhub_pipeline.core.judgements.collect import read_acceptable_records, read_project_records
from vizhub_pipeline.core.judgements.columns import is_human_source
from vizhub_pipeline.core.judgements.files import is_judgement_file_name, resolve_kind_folder
from vizhub_pipeline.core.judgements.kind import ItemKey, JudgementKind
from vizhub_pipeline.core.judgements.scores import KIND as SCORES
from vizhub_pipeline.core.judgements.scores import Grade, latest_grades
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.grading.errors import GradeError


def load_judgements(layout: Layout, kind: JudgementKind, *, branch: str | None = None) -> list[Any]:
    """Every judgement of ``kind`` that may count, in file order. With ``branch``, the files as
    they are on that branch are read too (judgements committed with ``--branch``)."""
    out = read_project_records(layout.root, kind)
    if branch:
        from vizhub_pipeline.grading.submit import make_branch_ref

        seen = set(out)
        for records in read_judgements_at(layout, kind, make_branch_ref(branch), missing_ok=True).values():
            out.extend(record for record in records if record not in seen)
    return out


def load_grades(layout: Layout, *, branch: str | None = None) -> list[Grade]:
    """Every grade that may count, people's and judge models' alike (see :func:`load_judgements`)."""
    return load_judgements(layout, SCORES, branch=branch)


def latest_by_grader(grades: Iterable[Grade]) -> dict[str, dict[ItemKey, Grade]]:
    """``{grader: {(challenge, model, sample): latest grade}}``: later grades supersede earlier ones."""
    out: dict[str, dict[ItemKey, Grade]] = {}
    for (grader, key), grade in latest_grades(grades).items():
        out.setdefault(grader, {})[key] = grade
    return out


def graded_items(layout: Layout, grader: str, *, branch: str | None = None) -> dict[ItemKey, Grade]:
    """This grader's latest grade of each output they graded."""
    return latest_by_grader(load_grades(layout, branch=branch)).get(grader, {})


def keep_human_grades(grades: Iterable[Grade]) -> list[Grade]:
    """The grades people made (``app``, ``cli``, ``imported``, ``unknown``), not judge models."""
    return [grade for grade in grades if is_human_source(grade.source)]


def read_judgements_at(
    layout: Layout, kind: JudgementKind, rev: str, *, missing_ok: bool = False
) -> dict[str, list[Any]]:
    """``{file name: records that may count}`` of ``kind``'s folder at a git revision."""
    from vizhub_pipeline.grading import gitrepo

    git = gitrepo.open_repo(layout.root)
    if git is None:
        if missing_ok:
            return {}
        raise GradeError(f"{layout.root} is not in a git repository: nothing to compare")
    folder = git.relpath(resolve_kind_folder(layout.root, kind))
    try:
        files = gitrepo.read_folder_at(git, rev, folder)
    except gitrepo.RepoError as exc:
        if missing_ok:
            return {}
        raise GradeError(str(exc)) from None
    out = {}
    for name, data in sorted(files.items()):
        if is_judgement_file_name(name) and "/" not in name:
            out[name] = read_acceptable_records(kind, f"{rev}:{folder}/{name}", data.decode("utf-8", errors="replace"))
    return out


def left_out_note(left_out: Iterable[tuple[str, str | None]], *, hint: str = "") -> str | None:
    """One line on the outputs kept out of the grading queue, from their ``(status, error)``:
    how many, and each distinct reason once with its count (most frequent first), so twelve
    outputs that failed the same way give one line, not twelve."""
    counts: dict[str, int] = {}
    for status, error in left_out:
        reason = f"{status}: {error}" if error else status
        counts[reason] = counts.get(reason, 0) + 1
    if not counts:
        return None
    total = sum(counts.values())
    shown = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    reasons = "; ".join(f"{count}x {_shorten(reason)}" for count, reason in ((c, r) for r, c in shown[:5]))
    more = f"; {len(shown) - 5} other reason(s)" if len(shown) > 5 else ""
    return f"{total} output(s) left out because their generation failed ({reasons}{more}){hint}"


def _shorten(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
