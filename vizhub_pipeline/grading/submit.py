"""Submitting judgements: check them, append them to the grader's file and commit that file.

Each grader writes ``<kind folder>/<grader>-<YYYY-MM-DD>.csv`` (UTC date), e.g.
``results/grades/alice-2026-11-28.csv``. A submission is checked first (values, a known
output, its current artifact hash), appended under a lock (two processes at once lose no
row), and committed with pygit2 under the grader's name (:mod:`vizhub_pipeline.grading.gitrepo`),
touching nothing else of the user. Any registered kind of judgement is submitted the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.atomic import write_bytes_atomic
from vizhub_pipeline.core.judgements.kind import JudgementKind
from vizhub_pipeline.core.judgements.registry import find_kind_of_record
from vizhub_pipeline.core.judgements.writer import AppendError, append_rows
from vizhub_pipeline.core.layout import Layout, is_safe_slug
from vizhub_pipeline.grading.checking import check_judgement
from vizhub_pipeline.grading.errors import GradeCommitError, GradeError
from vizhub_pipeline.grading.names import get_judgement_day, grade_file_path, slugify_grader


@dataclass(frozen=True)
class SubmitResult:
    """What a submission did: the file written, the commit made (if any) and a line to show."""

    path: Path
    commit_id: str | None
    branch: str | None
    message: str
    push_command: str | None = None
    paths: tuple[Path, ...] = ()


def submit_judgements(
    layout: Layout, records: Iterable[Any], *, commit: bool = True, branch: str | None = None
) -> SubmitResult:
    """Check, append and (by default) commit one grader's judgements (of one kind).

    Without ``branch`` the rows are appended to the grader's file in the working tree and,
    with ``commit``, that file alone is committed onto the checked-out branch. With
    ``branch`` (``grades/alice-2026-11-28``) the rows are appended to the file as it is on
    that branch and committed there (created from HEAD if absent), without touching the
    working tree or the index. Outside a git repository the file is written and the result
    says that commits are off. Nothing is written when any judgement is invalid.
    """
    from vizhub_pipeline.grading import gitrepo

    records = list(records)
    if not records:
        raise GradeError("nothing to submit: no grades given")
    try:
        kinds = {find_kind_of_record(record) for record in records}
    except ValueError as exc:
        raise GradeError(f"nothing written: {exc}") from None
    if len(kinds) != 1:
        raise GradeError(f"one kind of judgement per submission, got {', '.join(sorted(k.name for k in kinds))}")
    kind = kinds.pop()
    graders = sorted({str(kind.grader_of(record)) for record in records})
    if len(graders) != 1:
        raise GradeError(f"one grader per submission, got {', '.join(graders)}")
    grader = kind.grader_of(records[0])
    if not isinstance(grader, str) or not is_safe_slug(grader):
        raise GradeError(f"nothing written: grader {grader!r} is not a safe name (letters, digits, '-', '_')")
    problems = []
    for number, record in enumerate(records, 1):
        for problem in check_judgement(layout, kind, record):
            what = "/".join(str(part) for part in kind.subject(record)[:2])
            problems.append(f"{kind.noun[0]} {number} ({what}): {problem}")
    if problems:
        raise GradeError("nothing written: " + "; ".join(problems))
    by_path: dict[Path, list[Any]] = {}
    for record in records:
        path = grade_file_path(layout, grader, get_judgement_day(kind, record), kind)
        by_path.setdefault(path, []).append(record)

    git = gitrepo.open_repo(layout.root)
    if branch and git is None:
        raise GradeError(f"--branch needs a git repository, and {layout.root} is not in one; grade without --branch")
    if git is not None and branch:
        ref = make_branch_ref(branch)
        if commit is False or ref == _current_branch(git):
            branch = None  # that branch is checked out: commit the working file as usual
        else:
            _refuse_checked_out_elsewhere(git, ref)
    if git is not None and branch:
        return _submit_to_branch(layout, git, kind, grader, records, by_path, make_branch_ref(branch))

    with gitrepo.file_lock(git.git_dir if git else _folder_of(by_path)):
        if git is not None and commit:
            try:
                gitrepo.head_branch(git)  # refuse a detached HEAD before writing anything
            except gitrepo.RepoError as exc:
                raise GradeError(str(exc)) from None
        for path, rows in by_path.items():
            existing = path.read_bytes() if path.exists() else None
            write_bytes_atomic(path, _appended(kind, existing, rows, path))
        paths = tuple(by_path)
        saved = _saved(kind, len(records), _shown(layout, paths))
        if not commit:
            return SubmitResult(paths[0], None, None, f"{saved} (not committed yet)", paths=paths)
        if git is None:
            return SubmitResult(
                paths[0], None, None, f"{saved}; commits are off: {layout.root} is not in a git repository", paths=paths
            )
        return _commit_working_files(git, kind, grader, records, paths, saved)


def commit_judgement_files(layout: Layout, grader: str, paths: Iterable[Path], records: list[Any]) -> SubmitResult:
    """Commit judgement files already written (the end of a session in ``grade.commit: batch`` mode)."""
    from vizhub_pipeline.grading import gitrepo

    kind = find_kind_of_record(records[0])
    paths = tuple(Path(path) for path in paths)
    git = gitrepo.open_repo(layout.root)
    shown = _shown(layout, paths)
    if git is None:
        return SubmitResult(
            paths[0], None, None, f"{shown}: commits are off, {layout.root} is not in a git repository", paths=paths
        )
    with gitrepo.file_lock(git.git_dir):
        saved = f"Saved {len(records)} {kind.noun[0]}(s) to {shown}"
        return _commit_working_files(git, kind, grader, records, paths, saved)


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
        ref = make_branch_ref(branch)
        if ref != _current_branch(git):
            _refuse_checked_out_elsewhere(git, ref)
        return None
    if commit:
        try:
            gitrepo.head_branch(git)
        except gitrepo.RepoError as exc:
            raise GradeError(str(exc)) from None
    return None


def make_branch_ref(branch: str) -> str:
    """``refs/heads/<branch>``; raises :class:`GradeError` for a name git would refuse."""
    import pygit2

    ref = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
    if not pygit2.reference_is_valid_name(ref):
        raise GradeError(f"--branch {branch!r} is not a valid git branch name")
    return ref


# --------------------------------------------------------------------------- helpers


def _appended(kind: JudgementKind, existing: bytes | None, rows: list[Any], where: Path | str) -> bytes:
    try:
        return append_rows(kind, existing, rows, where)
    except AppendError as exc:
        raise GradeError(str(exc)) from None


def _commit_working_files(git, kind: JudgementKind, grader: str, records, paths, saved: str) -> SubmitResult:
    from vizhub_pipeline.grading import gitrepo

    relpaths = {git.relpath(path): path for path in paths}
    name, email = _identity(git, grader)
    try:
        commit_id, ref = gitrepo.commit_files(
            git,
            lambda _read: {rel: path.read_bytes() for rel, path in relpaths.items()},
            message=kind.commit_message(grader, records),
            name=name,
            email=email,
        )
    except gitrepo.RepoError as exc:
        raise GradeCommitError(f"{saved}, but could not commit: {exc}", paths[0]) from None
    short = _short_ref(ref)
    return SubmitResult(paths[0], commit_id, short, f"{saved} and committed {commit_id[:7]} on {short}", paths=paths)


def _submit_to_branch(layout, git, kind: JudgementKind, grader: str, records, by_path, ref: str) -> SubmitResult:
    from vizhub_pipeline.grading import gitrepo

    relpaths = {git.relpath(path): rows for path, rows in by_path.items()}
    name, email = _identity(git, grader)

    def build(read):
        return {rel: _appended(kind, read(rel), rows, rel) for rel, rows in relpaths.items()}

    with gitrepo.file_lock(git.git_dir):
        try:
            commit_id, _ref = gitrepo.commit_files(
                git, build, message=kind.commit_message(grader, records), name=name, email=email, ref=ref
            )
        except gitrepo.RepoError as exc:
            raise GradeError(f"could not commit onto {_short_ref(ref)}: {exc}") from None
    short = _short_ref(ref)
    push = f"git push origin {short}"
    paths = tuple(by_path)
    count = len(records)
    noun = kind.noun[0] if count == 1 else kind.noun[1]
    message = (
        f"Committed {count} {noun} ({', '.join(relpaths)}) as {commit_id[:7]} on branch {short}; "
        f"open a pull request after: {push}"
    )
    return SubmitResult(paths[0], commit_id, short, message, push_command=push, paths=paths)


def _saved(kind: JudgementKind, count: int, shown: str) -> str:
    return f"Saved {count} {kind.noun[0] if count == 1 else kind.noun[1]} to {shown}"


def _identity(git, grader: str) -> tuple[str, str]:
    """The commit author: git's user.name and user.email when they are the grader's, else the
    grader's slug with ``<grader>@vizhub.local``."""
    from vizhub_pipeline.grading.gitrepo import repo_config_value

    user = repo_config_value(git, "user.name")
    try:
        same = user is not None and slugify_grader(user) == grader
    except GradeError:
        same = False
    if same and user is not None:
        return user, repo_config_value(git, "user.email") or f"{grader}@vizhub.local"
    return grader, f"{grader}@vizhub.local"


def _refuse_checked_out_elsewhere(git, ref: str) -> None:
    from vizhub_pipeline.grading import gitrepo

    try:
        gitrepo.refuse_checked_out_elsewhere(git, ref)
    except gitrepo.RepoError as exc:
        raise GradeError(f"nothing written: {exc}") from None


def _current_branch(git) -> str | None:
    if git.repo.head_is_detached:
        return None
    target = git.repo.lookup_reference("HEAD").target
    return target if isinstance(target, str) else None


def _short_ref(ref: str) -> str:
    return ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else ref


def _folder_of(by_path: dict[Path, list[Any]]) -> Path:
    folder = next(iter(by_path)).parent
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shown(layout: Layout, paths: Iterable[Path]) -> str:
    out = []
    for path in paths:
        try:
            out.append(Path(path).resolve().relative_to(layout.root).as_posix())
        except ValueError:
            out.append(str(path))
    return ", ".join(out)
