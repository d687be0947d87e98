"""Grades in git: the grader's files, appending and committing grades, validation, and diffs.

Each grader writes ``results/grades/<grader>-<YYYY-MM-DD>.csv`` (UTC date). A submission is
checked first (scores, a known output, its current artifact hash), appended under a lock
(two processes at once lose no row), and committed with pygit2 under the grader's name
(:mod:`vizhub_pipeline.grading.gitrepo`), touching nothing else of the user. A later grade of the
same item by the same grader supersedes the earlier one when read.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.atomic import write_bytes_atomic
from vizhub_pipeline.core.errors import InputError, VizhubError
from vizhub_pipeline.core.layout import Layout, is_safe_slug
from vizhub_pipeline.core.records import (
    FORMULA_PREFIXES,
    GRADE_COLUMNS,
    SCORE_RANGE,
    Grade,
    GradeProblem,
    format_grade_rows,
    grade_files,
    iter_generations,
    latest_grades,
    parse_grade_file,
    parse_grade_lines,
    read_generation,
)

GRADE_FILE_RE = re.compile(r"^(?P<grader>.+)-(?P<day>\d{4}-\d{2}-\d{2})\.csv$")
Key = tuple[str, str, int]


class GradeError(VizhubError):
    """A grade that cannot be written, or a grader name that cannot be used."""


class GradeCommitError(GradeError):
    """The grades are saved on disk but could not be committed; ``path`` says where they are."""

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class SubmitResult:
    """What a submission did: the file written, the commit made (if any) and a line to show."""

    path: Path
    commit_id: str | None
    branch: str | None
    message: str
    push_command: str | None = None
    paths: tuple[Path, ...] = ()


# --------------------------------------------------------------------------- names and files


def slugify_grader(name: str) -> str:
    """A grader name as a safe slug: ``"Alice Smith"`` -> ``alice-smith``. Refuses path-like
    names (``/``, ``\\``, ``..``) and names with nothing usable left, saying why."""
    raw = name.strip()
    if "/" in raw or "\\" in raw or ".." in raw:
        bad = "/" if "/" in raw else "\\" if "\\" in raw else ".."
        raise GradeError(
            f"grader name {name!r} contains {bad!r}: use letters, digits, '-' and '_' only (for example alice or alice-smith)"
        )
    text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9_-]+", "-", text)
    text = re.sub(r"-{2,}", "-", text).strip("-_")[:100]
    if not is_safe_slug(text):
        raise GradeError(
            f"grader name {name!r} has no letters or digits to make a name from: pass --grader with letters, digits, '-' or '_'"
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


def grade_file_path(layout: Layout, grader: str, day: date | None = None) -> Path:
    """``results/grades/<grader>-<YYYY-MM-DD>.csv`` for ``day`` (default: today, UTC)."""
    if not is_safe_slug(grader):
        raise GradeError(f"grader {grader!r} is not a safe name (letters, digits, '-', '_'): use slugify_grader")
    day = day or datetime.now(UTC).date()
    return layout.grades / f"{grader}-{day.isoformat()}.csv"


def parse_grade_file_name(name: str) -> tuple[str, date] | None:
    """``(grader, day)`` from a grade file's name, or ``None`` when it does not follow the pattern."""
    match = GRADE_FILE_RE.match(name)
    if not match or not is_safe_slug(match["grader"]):
        return None
    try:
        return match["grader"], date.fromisoformat(match["day"])
    except ValueError:
        return None


def grade_day(grade: Grade) -> date:
    return _parse_utc(grade.graded_at).date()


def _parse_utc(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise ValueError(
            f"graded_at must be an ISO 8601 UTC time such as 2026-11-28T12:00:00Z, found {text!r}"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset().total_seconds() != 0:
        raise ValueError(f"graded_at must be in UTC (end in Z), found {text!r}")
    return parsed


# --------------------------------------------------------------------------- checking a grade


def check_grade(layout: Layout, grade: Grade) -> list[str]:
    """What is wrong with a grade about to be written (empty when nothing)."""
    problems = []
    for name in ("functionality", "aesthetics"):
        value = getattr(grade, name)
        if isinstance(value, bool) or not isinstance(value, int) or value not in SCORE_RANGE:
            problems.append(f"{name} must be an integer from 0 to 5, got {value!r}")
    if isinstance(grade.sample, bool) or not isinstance(grade.sample, int) or grade.sample < 0:
        problems.append(f"sample must be a whole number, got {grade.sample!r}")
    if not isinstance(grade.notes, str):
        problems.append("notes must be text")
    elif "\0" in grade.notes:
        problems.append("notes must not contain NUL characters")
    if not isinstance(grade.grader, str) or not is_safe_slug(grade.grader):
        problems.append(f"grader {grade.grader!r} is not a safe name (letters, digits, '-', '_')")
    try:
        _parse_utc(grade.graded_at)
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        return problems
    return _check_output(layout, grade)


def _check_output(layout: Layout, grade: Grade) -> list[str]:
    """The graded output exists and still has the artifact hash the grader saw."""
    if not isinstance(grade.challenge, str) or not is_safe_slug(grade.challenge):
        return [f"unknown challenge {grade.challenge!r}: not a challenge id"]
    if not (layout.visualizations / grade.challenge).is_dir():
        return [f"unknown challenge {grade.challenge!r}: no outputs in {layout.visualizations / grade.challenge}"]
    try:
        meta = layout.visualization_dir(grade.challenge, grade.model, grade.sample) / "meta.json"
    except ValueError:
        return [f"unknown model {grade.model!r} for challenge {grade.challenge!r}"]
    if not meta.is_file():
        return [f"unknown model {grade.model!r} (sample {grade.sample}) for challenge {grade.challenge!r}: no {meta}"]
    try:
        generation = read_generation(meta)
    except InputError as exc:
        return [f"cannot read the output's metadata: {exc}"]
    if not grade.artifact_hash or generation.artifact_hash != grade.artifact_hash:
        return [
            f"stale: the grade is for artifact {grade.artifact_hash!r} but {grade.challenge}/{grade.model} "
            f"is now {generation.artifact_hash!r}; look at the current output and grade again"
        ]
    return []


# --------------------------------------------------------------------------- submitting


def submit_grades(
    layout: Layout, grades: list[Grade], *, commit: bool = True, branch: str | None = None
) -> SubmitResult:
    """Check, append and (by default) commit one grader's grades.

    Without ``branch`` the rows are appended to the grader's file in the working tree and,
    with ``commit``, that file alone is committed onto the checked-out branch. With
    ``branch`` (``grades/alice-2026-11-28``) the rows are appended to the file as it is on
    that branch and committed there (created from HEAD if absent), without touching the
    working tree or the index. Outside a git repository the file is written and the result
    says that commits are off. Nothing is written when any grade is invalid.
    """
    from vizhub_pipeline.grading import gitrepo

    grades = list(grades)
    if not grades:
        raise GradeError("nothing to submit: no grades given")
    graders = sorted({grade.grader for grade in grades})
    if len(graders) != 1:
        raise GradeError(f"one grader per submission, got {', '.join(map(str, graders))}")
    grader = graders[0]
    if not isinstance(grader, str) or not is_safe_slug(grader):
        raise GradeError(f"nothing written: grader {grader!r} is not a safe name (letters, digits, '-', '_')")
    problems = []
    for number, grade in enumerate(grades, 1):
        for problem in check_grade(layout, grade):
            problems.append(f"grade {number} ({grade.challenge}/{grade.model}): {problem}")
    if problems:
        raise GradeError("nothing written: " + "; ".join(problems))
    by_path: dict[Path, list[Grade]] = {}
    for grade in grades:
        by_path.setdefault(grade_file_path(layout, grader, grade_day(grade)), []).append(grade)

    git = gitrepo.open_repo(layout.root)
    if branch and git is None:
        raise GradeError(f"--branch needs a git repository, and {layout.root} is not in one; grade without --branch")
    if git is not None and branch:
        ref = _branch_ref(branch)
        if commit is False or ref == _current_branch(git):
            branch = None  # that branch is checked out: commit the working file as usual
    if git is not None and branch:
        return _submit_to_branch(layout, git, grader, grades, by_path, _branch_ref(branch))

    with gitrepo.file_lock(git.git_dir if git else _grades_dir(layout)):
        if git is not None and commit:
            try:
                gitrepo.head_branch(git)  # refuse a detached HEAD before writing anything
            except gitrepo.RepoError as exc:
                raise GradeError(str(exc)) from None
        for path, rows in by_path.items():
            existing = path.read_bytes() if path.exists() else None
            write_bytes_atomic(path, _append_rows(existing, rows, path))
        paths = tuple(by_path)
        shown = _shown(layout, paths)
        count = len(grades)
        saved = f"Saved {count} grade{'s' if count != 1 else ''} to {shown}"
        if not commit:
            return SubmitResult(paths[0], None, None, f"{saved} (not committed yet)", paths=paths)
        if git is None:
            return SubmitResult(
                paths[0], None, None, f"{saved}; commits are off: {layout.root} is not in a git repository", paths=paths
            )
        return _commit_working_files(layout, git, grader, grades, paths, saved)


def commit_grade_files(layout: Layout, grader: str, paths: Iterable[Path], grades: list[Grade]) -> SubmitResult:
    """Commit grade files already written (the end of a session in ``grade.commit: batch`` mode)."""
    from vizhub_pipeline.grading import gitrepo

    paths = tuple(Path(path) for path in paths)
    git = gitrepo.open_repo(layout.root)
    shown = _shown(layout, paths)
    if git is None:
        return SubmitResult(
            paths[0], None, None, f"{shown}: commits are off, {layout.root} is not in a git repository", paths=paths
        )
    with gitrepo.file_lock(git.git_dir):
        return _commit_working_files(layout, git, grader, grades, paths, f"Saved {len(grades)} grade(s) to {shown}")


def _commit_working_files(layout, git, grader, grades, paths, saved) -> SubmitResult:
    from vizhub_pipeline.grading import gitrepo

    relpaths = {git.relpath(path): path for path in paths}
    name, email = _identity(git, grader)
    try:
        commit_id, ref = gitrepo.commit_files(
            git,
            lambda _read: {rel: path.read_bytes() for rel, path in relpaths.items()},
            message=commit_message(grader, grades),
            name=name,
            email=email,
        )
    except gitrepo.RepoError as exc:
        raise GradeCommitError(f"{saved}, but could not commit: {exc}", paths[0]) from None
    short = _short_ref(ref)
    return SubmitResult(paths[0], commit_id, short, f"{saved} and committed {commit_id[:7]} on {short}", paths=paths)


def _submit_to_branch(layout, git, grader, grades, by_path, ref) -> SubmitResult:
    from vizhub_pipeline.grading import gitrepo

    relpaths = {git.relpath(path): rows for path, rows in by_path.items()}
    name, email = _identity(git, grader)

    def build(read):
        return {rel: _append_rows(read(rel), rows, rel) for rel, rows in relpaths.items()}

    with gitrepo.file_lock(git.git_dir):
        try:
            commit_id, _ref = gitrepo.commit_files(
                git, build, message=commit_message(grader, grades), name=name, email=email, ref=ref
            )
        except gitrepo.RepoError as exc:
            raise GradeError(f"could not commit onto {_short_ref(ref)}: {exc}") from None
    short = _short_ref(ref)
    push = f"git push origin {short}"
    paths = tuple(by_path)
    count = len(grades)
    message = (
        f"Committed {count} grade{'s' if count != 1 else ''} ({', '.join(relpaths)}) as {commit_id[:7]} on branch {short}; "
        f"open a pull request after: {push}"
    )
    return SubmitResult(paths[0], commit_id, short, message, push_command=push, paths=paths)


def _append_rows(existing: bytes | None, rows: list[Grade], where: Path | str) -> bytes:
    """The file's bytes with ``rows`` appended in its own line-end style (CRLF for a new file)."""
    if not existing:
        return format_grade_rows(rows, header=True).encode("utf-8")
    try:
        text = existing.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GradeError(
            f"{where}: not UTF-8 text; fix the file (vizhub validate {where}) before grading more"
        ) from None
    first = text.split("\n", 1)[0].rstrip("\r")
    if [cell.strip() for cell in first.split(",")] != list(GRADE_COLUMNS):
        raise GradeError(
            f"{where}:1: the header is not {','.join(GRADE_COLUMNS)}; fix the file (vizhub validate {where}) before grading more"
        )
    if text.count('"') % 2:
        raise GradeError(
            f"{where}: a quoted field is never closed, so new rows would land inside it; "
            f"fix the file (vizhub validate {where}) before grading more"
        )
    newline = "\r\n" if text.split("\n", 1)[0].endswith("\r") else "\n"
    out = existing
    if not existing.endswith(b"\n"):
        out += newline.encode()
    return out + format_grade_rows(rows, header=False, lineterminator=newline).encode("utf-8")


def commit_message(grader: str, grades: list[Grade]) -> str:
    """``grade: alice graded 5 outputs of stockPriceChart`` plus Grader:, Challenges:, Count: trailers."""
    challenges = sorted({grade.challenge for grade in grades})
    count = len(grades)
    what = (
        challenges[0]
        if len(challenges) == 1
        else ", ".join(challenges)
        if len(challenges) <= 3
        else f"{len(challenges)} challenges"
    )
    return (
        f"grade: {grader} graded {count} output{'s' if count != 1 else ''} of {what}\n\n"
        f"Grader: {grader}\nChallenges: {', '.join(challenges)}\nCount: {count}\n"
    )


def _identity(git, grader: str) -> tuple[str, str]:
    """The commit author: git's user.name and user.email when they are the grader's, else the
    grader's slug with ``<grader>@vizhub.local``."""
    from vizhub_pipeline.grading.gitrepo import repo_config_value

    def get(key):
        return repo_config_value(git, key)

    user = get("user.name")
    try:
        same = user is not None and slugify_grader(user) == grader
    except GradeError:
        same = False
    if same:
        return user, get("user.email") or f"{grader}@vizhub.local"
    return grader, f"{grader}@vizhub.local"


def _branch_ref(branch: str) -> str:
    import pygit2

    ref = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
    if not pygit2.reference_is_valid_name(ref):
        raise GradeError(f"--branch {branch!r} is not a valid git branch name")
    return ref


def _current_branch(git) -> str | None:
    if git.repo.head_is_detached:
        return None
    target = git.repo.lookup_reference("HEAD").target
    return target if isinstance(target, str) else None


def _short_ref(ref: str) -> str:
    return ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else ref


def _grades_dir(layout: Layout) -> Path:
    layout.grades.mkdir(parents=True, exist_ok=True)
    return layout.grades


def _shown(layout: Layout, paths: Iterable[Path]) -> str:
    out = []
    for path in paths:
        try:
            out.append(Path(path).resolve().relative_to(layout.root).as_posix())
        except ValueError:
            out.append(str(path))
    return ", ".join(out)


def check_can_commit(layout: Layout, *, commit: bool = True, branch: str | None = None) -> str | None:
    """Before a session: raise :class:`GradeError` when grades could not be committed as asked
    (a detached HEAD without ``branch``), or return a note to show (commits off outside git)."""
    from vizhub_pipeline.grading import gitrepo

    git = gitrepo.open_repo(layout.root)
    if git is None:
        if branch:
            raise GradeError(
                f"--branch needs a git repository, and {layout.root} is not in one; grade without --branch"
            )
        return (
            f"commits are off: {layout.root} is not in a git repository (grades are still saved to {layout.grades})"
            if commit
            else None
        )
    if branch:
        _branch_ref(branch)
        return None
    if commit:
        try:
            gitrepo.head_branch(git)
        except gitrepo.RepoError as exc:
            raise GradeError(str(exc)) from None
    return None


# --------------------------------------------------------------------------- reading


def load_grades(layout: Layout, *, strict: bool = False, branch: str | None = None) -> list[Grade]:
    """Every well-formed grade of every grade file, in file order (bad rows are left to
    ``vizhub validate``; ``strict`` raises at the first). With ``branch``, the grade files
    as they are on that branch are read too (grades made with ``--branch``)."""
    from vizhub_pipeline.core.errors import GradeFileError

    out: list[Grade] = []
    for path in grade_files(layout.grades):
        grades, problems = parse_grade_file(path)
        if strict and problems:
            first = problems[0]
            raise GradeFileError(first.path, first.message, line=first.line)
        out.extend(grades)
    if branch:
        seen = set(out)
        for grades in _grades_at_rev(layout, _branch_ref(branch), missing_ok=True).values():
            out.extend(grade for grade in grades if grade not in seen)
    return out


def latest_by_grader(grades: Iterable[Grade]) -> dict[str, dict[Key, Grade]]:
    """``{grader: {(challenge, model, sample): latest grade}}``: later grades supersede earlier ones."""
    out: dict[str, dict[Key, Grade]] = {}
    for (grader, key), grade in latest_grades(grades).items():
        out.setdefault(grader, {})[key] = grade
    return out


def graded_items(layout: Layout, grader: str, *, branch: str | None = None) -> dict[Key, Grade]:
    """This grader's latest grade of each item they graded."""
    return latest_by_grader(load_grades(layout, branch=branch)).get(grader, {})


# --------------------------------------------------------------------------- validate


def known_outputs(layout: Layout) -> dict[Key, str | None]:
    """``{(challenge, model, sample): artifact hash}`` of every output in ``visualizations/``."""
    return {
        (generation.challenge, generation.model, generation.sample): generation.artifact_hash
        for _, generation in iter_generations(layout.visualizations, skip_unreadable=True)
    }


def validate_grade_files(
    layout: Layout, files: list[Path] | None = None, *, allow_stale: bool = False
) -> list[GradeProblem]:
    """Every problem of the grade files (default: all of ``results/grades/``), as file:line: message."""
    files = grade_files(layout.grades) if files is None else [Path(path) for path in files]
    outputs = known_outputs(layout)
    challenges = {key[0] for key in outputs}
    problems: list[GradeProblem] = []
    for path in files:
        problems.extend(_validate_file(path, outputs, challenges, allow_stale))
    return problems


def _validate_file(path: Path, outputs, challenges, allow_stale) -> list[GradeProblem]:
    where = str(path)
    problems: list[GradeProblem] = []
    named = parse_grade_file_name(path.name)
    if named is None:
        problems.append(
            GradeProblem(where, 0, "file name must be <grader>-<YYYY-MM-DD>.csv (grader: letters, digits, '-', '_')")
        )
    lines, parse_problems = parse_grade_lines(path)
    problems.extend(parse_problems)
    first_seen: dict[Grade, int] = {}
    for entry in lines:
        grade, line = entry.grade, entry.line

        def report(message: str) -> None:
            problems.append(GradeProblem(where, line, message))

        if entry.raw_notes.startswith(FORMULA_PREFIXES):
            report(
                f"notes start with {entry.raw_notes[:1]!r}, which a spreadsheet runs as a formula; prefix the note with ' (vizhub writes it so)"
            )
        if not is_safe_slug(grade.grader):
            report(f"grader {grade.grader!r} is not a safe name (letters, digits, '-', '_')")
        if named is not None:
            if grade.grader != named[0]:
                report(f"grader {grade.grader!r} does not match the file name's grader {named[0]!r}")
            day = _parse_utc(grade.graded_at).date()
            if day != named[1]:
                report(f"graded_at {grade.graded_at} is not on the file name's date {named[1].isoformat()}")
        slot = grade
        if slot in first_seen:
            report(
                f"duplicate of line {first_seen[slot]}: the same grade of {grade.challenge}/{grade.model} sample {grade.sample} at {grade.graded_at}"
            )
        else:
            first_seen[slot] = line
        if grade.challenge not in challenges:
            report(f"unknown challenge {grade.challenge!r} (no outputs in visualizations/{grade.challenge}/)")
        elif grade.key not in outputs:
            report(f"unknown model {grade.model!r} (sample {grade.sample}) for challenge {grade.challenge!r}")
        elif outputs[grade.key] != grade.artifact_hash and not allow_stale:
            report(
                f"stale: artifact hash {grade.artifact_hash} but {grade.challenge}/{grade.model} is now "
                f"{outputs[grade.key]}; grade the current output again"
            )
    return sorted(problems, key=lambda problem: problem.line)


# --------------------------------------------------------------------------- diff


@dataclass(frozen=True)
class GradeChange:
    """One item whose latest grade by one grader differs between two revisions."""

    grader: str
    key: Key
    kind: str  # "added", "changed", "removed"
    old: Grade | None
    new: Grade | None

    def to_json(self) -> dict[str, Any]:
        def scores(grade: Grade | None):
            if grade is None:
                return None
            return {
                "functionality": grade.functionality,
                "aesthetics": grade.aesthetics,
                "notes": grade.notes,
                "artifact_hash": grade.artifact_hash,
                "graded_at": grade.graded_at,
            }

        challenge, model, sample = self.key
        return {
            "challenge": challenge,
            "model": model,
            "sample": sample,
            "old": scores(self.old),
            "new": scores(self.new),
        }


@dataclass
class GradeDiff:
    """What changed in the grades between two revisions, per grader."""

    rev1: str
    rev2: str
    changes: list[GradeChange] = field(default_factory=list)

    def by_grader(self) -> dict[str, dict[str, list[GradeChange]]]:
        out: dict[str, dict[str, list[GradeChange]]] = {}
        for change in self.changes:
            slot = out.setdefault(change.grader, {"added": [], "changed": [], "removed": []})
            slot[change.kind].append(change)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.rev1,
            "to": self.rev2,
            "graders": {
                grader: {kind: [change.to_json() for change in items] for kind, items in kinds.items()}
                for grader, kinds in sorted(self.by_grader().items())
            },
        }

    def to_table(self) -> str:
        if not self.changes:
            return f"No grade changes from {self.rev1} to {self.rev2}.\n"
        lines = [f"Grades from {self.rev1} to {self.rev2}:"]
        for grader, kinds in sorted(self.by_grader().items()):
            counts = ", ".join(f"{len(kinds[kind])} {kind}" for kind in ("added", "changed", "removed"))
            lines.append("")
            lines.append(f"{grader}: {counts}")
            rows = []
            for kind, mark in (("added", "+"), ("changed", "~"), ("removed", "-")):
                for change in kinds[kind]:
                    challenge, model, sample = change.key
                    item = f"{model}" if sample == 0 else f"{model} #{sample}"
                    rows.append((mark, challenge, item, _score_text(change)))
            width_c = max(len(row[1]) for row in rows)
            width_m = max(len(row[2]) for row in rows)
            for mark, challenge, item, scores in rows:
                lines.append(f"  {mark} {challenge:<{width_c}}  {item:<{width_m}}  {scores}".rstrip())
        return "\n".join(lines) + "\n"


def _score_text(change: GradeChange) -> str:
    old, new = change.old, change.new
    if old is None:
        return f"functionality {new.functionality}, aesthetics {new.aesthetics}"
    if new is None:
        return f"functionality {old.functionality}, aesthetics {old.aesthetics}"
    text = f"functionality {old.functionality} -> {new.functionality}, aesthetics {old.aesthetics} -> {new.aesthetics}"
    if old.notes != new.notes:
        text += ", notes changed"
    if old.artifact_hash != new.artifact_hash:
        text += ", regraded a new output"
    return text


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


def diff_grades(layout: Layout, rev1: str, rev2: str | None = None) -> GradeDiff:
    """The grades added, changed and removed from ``rev1`` to ``rev2`` (``None``: the working
    tree), comparing each grader's latest grade of each item."""
    rev1, rev2 = split_revisions(rev1, rev2)
    old = latest_grades(grade for grades in _grades_at_rev(layout, rev1).values() for grade in grades)
    if rev2 is None:
        new_grades = load_grades(layout)
    else:
        new_grades = [grade for grades in _grades_at_rev(layout, rev2).values() for grade in grades]
    new = latest_grades(new_grades)
    changes = []
    for slot in sorted(set(old) | set(new)):
        before, after = old.get(slot), new.get(slot)
        grader, key = slot
        if before is None:
            changes.append(GradeChange(grader, key, "added", None, after))
        elif after is None:
            changes.append(GradeChange(grader, key, "removed", before, None))
        elif _grade_content(before) != _grade_content(after):
            changes.append(GradeChange(grader, key, "changed", before, after))
    return GradeDiff(rev1, rev2 if rev2 is not None else "the working tree", changes)


def _grade_content(grade: Grade) -> tuple:
    return (grade.functionality, grade.aesthetics, grade.notes, grade.artifact_hash)


def _grades_at_rev(layout: Layout, rev: str, *, missing_ok: bool = False) -> dict[str, list[Grade]]:
    from vizhub_pipeline.grading import gitrepo

    git = gitrepo.open_repo(layout.root)
    if git is None:
        if missing_ok:
            return {}
        raise GradeError(f"{layout.root} is not in a git repository: nothing to compare")
    folder = git.relpath(layout.grades)
    try:
        files = gitrepo.read_folder_at(git, rev, folder)
    except gitrepo.RepoError as exc:
        if missing_ok:
            return {}
        raise GradeError(str(exc)) from None
    out = {}
    for name, data in sorted(files.items()):
        if name.endswith(".csv") and not name.startswith("."):
            grades, _problems = parse_grade_file(f"{rev}:{folder}/{name}", data.decode("utf-8-sig", errors="replace"))
            out[name] = grades
    return out
