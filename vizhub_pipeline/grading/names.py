"""Grader names and the files they write: ``Alice Smith`` grades into ``alice-smith-<date>.csv``."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path

from vizhub_pipeline.core.judgements.files import make_judgement_path
from vizhub_pipeline.core.judgements.kind import JudgementKind
from vizhub_pipeline.core.judgements.scores import KIND as SCORES
from vizhub_pipeline.core.layout import Layout, is_safe_slug
from vizhub_pipeline.grading.errors import GradeError


def slugify_grader(name: str) -> str:
    """A grader name as a safe slug: ``"Alice Smith"`` -> ``alice-smith``. Refuses path-like
    names (``/``, ``\\``, ``..``) and names with nothing usable left, saying why."""
    raw = name.strip()
    if "/" in raw or "\\" in raw or ".." in raw:
        bad = "/" if "/" in raw else "\\" if "\\" in raw else ".."
        raise GradeError(
            f"grader name {name!r} contains {bad!r}: use letters, digits, '-' and '_' only "
            "(for example alice or alice-smith)"
        )
    text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9_-]+", "-", text)
    text = re.sub(r"-{2,}", "-", text).strip("-_")[:100]
    if not is_safe_slug(text):
        raise GradeError(
            f"grader name {name!r} has no letters or digits to make a name from: "
            "pass --grader with letters, digits, '-' or '_'"
        )
    return text


def resolve_grader(name: str | None, repo_root: Path) -> str:
    """The grader's slug: from ``--grader`` if given, else from git's ``user.name``."""
    from vizhub_pipeline.grading.gitrepo import config_value

    if name is not None and name.strip():
        return slugify_grader(name)
    configured = config_value(repo_root, "user.name")
    if not configured:
        raise GradeError('no grader name: pass --grader NAME, or set one with git config user.name "Your Name"')
    return slugify_grader(configured)


def grade_file_path(layout: Layout, grader: str, day: date | None = None, kind: JudgementKind = SCORES) -> Path:
    """``results/grades/<grader>-<YYYY-MM-DD>.csv`` (the kind's folder) for ``day`` (default: today, UTC)."""
    if not is_safe_slug(grader):
        raise GradeError(f"grader {grader!r} is not a safe name (letters, digits, '-', '_'): use slugify_grader")
    return make_judgement_path(layout.root, kind, grader, day)


def get_judgement_day(kind: JudgementKind, record) -> date:
    """The UTC day of a judgement: the day of the file it goes to."""
    return date.fromisoformat(kind.time_codec.parse(kind.time_column, kind.time_of(record))[:10])
