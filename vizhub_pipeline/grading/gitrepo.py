"""The one module that talks to pygit2: commits of single files, branches, and reading old trees.

A grade commit records only the given files and leaves everything else of the user alone:
the tree is built in memory from the branch tip plus the new blobs, and, when the commit goes
onto the checked-out branch, exactly those entries of ``.git/index`` are updated (under
``.git/index.lock``, as git itself does), so ``git status`` shows the files clean and every
other staged or unstaged change exactly as it was.

Crash safety: the new index is installed (an atomic rename) before the branch moves (an atomic
compare-and-swap), both while we hold ``.git/index.lock``. A process killed at any instant
therefore leaves the new file unstaged in the working tree, staged, or committed with a
matching index; never committed with the old content staged, which the grader's next ``git
commit`` would revert. Our lock file names its process, so a lock left by one of ours that
died is recognised and removed by the next commit (it holds no data), while any other lock is
reported and left alone.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.errors import VizhubError

INDEX_LOCK_TIMEOUT = 3.0  # seconds to wait for another git process to release .git/index.lock
COMMIT_ATTEMPTS = 20  # attempts when another writer moves the branch under us
_U32 = 0xFFFFFFFF


class RepoError(VizhubError):
    """A git repository in a state we cannot commit to (detached HEAD, bad revision, ...)."""


class IndexLockedError(RepoError):
    """``.git/index.lock`` stayed held by another git process."""


class BranchCheckedOutError(RepoError):
    """A branch to commit onto is checked out in another worktree (git refuses the same)."""


PAUSE_ENV = "VIZHUB_TEST_PAUSE_AT"  # tests: name of a crash point where a commit stops (see _pause_point)
PAUSE_POINTS = ("locked", "index-written", "ref-moved")


@dataclass(frozen=True)
class GitRepo:
    """An opened repository with a working tree."""

    repo: Any  # pygit2.Repository
    workdir: Path
    git_dir: Path

    def relpath(self, path: Path) -> str:
        """``path`` as a slash-separated path inside the working tree."""
        try:
            return Path(path).resolve().relative_to(self.workdir).as_posix()
        except ValueError:
            raise RepoError(f"{path} is outside the git working tree {self.workdir}") from None


def open_repo(path: Path | str) -> GitRepo | None:
    """The repository whose working tree holds ``path``, or ``None`` outside git (or a bare one)."""
    import pygit2

    start = Path(path).resolve()
    while not start.exists() and start != start.parent:
        start = start.parent
    found = pygit2.discover_repository(str(start))
    if not found:
        return None
    repo = pygit2.Repository(found)
    if repo.is_bare or not repo.workdir:
        return None
    return GitRepo(repo=repo, workdir=Path(repo.workdir).resolve(), git_dir=Path(repo.path).resolve())


def config_value(path: Path | str, key: str) -> str | None:
    """A git config value as git would see it from ``path`` (repository, then global), or ``None``."""
    import pygit2

    found = open_repo(path)
    try:
        config = found.repo.config if found else pygit2.Config.get_global_config()
    except (OSError, pygit2.GitError):
        return None
    return _config_get(config, key)


def repo_config_value(git: GitRepo, key: str) -> str | None:
    """A git config value of an opened repository (with the global and system ones), or ``None``."""
    return _config_get(git.repo.config, key)


def _config_get(config, key: str) -> str | None:
    import pygit2

    try:
        value = config[key]
    except (KeyError, pygit2.GitError):
        return None
    return (value.strip() or None) if isinstance(value, str) else None


def head_branch(git: GitRepo) -> str:
    """The full name of the checked-out branch (``refs/heads/main``), also when it has no commit yet."""
    head = git.repo.lookup_reference("HEAD")
    target = head.target
    if git.repo.head_is_detached or not isinstance(target, str):
        raise RepoError(
            f"HEAD is detached in {git.workdir}: check out a branch first (git switch <branch>), "
            "or grade onto a branch of its own with --branch"
        )
    return target


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (``flock``) on ``path``, a folder or a file (created if absent),
    held until the block ends. Grade writers lock the ``.git`` folder, so no lock file appears."""
    path = Path(path)
    if path.is_dir():
        fd = os.open(path, os.O_RDONLY)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            pass
        else:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def worktrees_on(git: GitRepo, ref: str) -> list[Path]:
    """The working trees of this repository, other than ``git``'s own, whose HEAD is ``ref``."""
    common = git.git_dir
    commondir = git.git_dir / "commondir"
    if commondir.is_file():  # a linked worktree: its git dir lives under <common>/worktrees/<name>
        common = (git.git_dir / commondir.read_text(encoding="utf-8").strip()).resolve()
    heads = [(common, common / "HEAD")] if _main_worktree(common) is not None else []
    linked = common / "worktrees"
    if linked.is_dir():
        heads += [(entry, entry / "HEAD") for entry in sorted(linked.iterdir()) if entry.is_dir()]
    found = []
    for admin, head in heads:
        if admin.resolve() == git.git_dir:
            continue
        try:
            text = head.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if text != f"ref: {ref}":
            continue
        found.append(_worktree_path(admin, common))
    return found


def _worktree_path(admin: Path, common: Path) -> Path:
    """The working tree a git admin folder belongs to (the main one, or a linked one's ``gitdir``)."""
    if admin == common:
        return _main_worktree(common) or common
    try:
        gitfile = Path(admin.joinpath("gitdir").read_text(encoding="utf-8").strip())
    except OSError:
        return admin
    return (admin / gitfile).resolve().parent  # relative paths (worktree.useRelativePaths) are from admin


def _main_worktree(common: Path) -> Path | None:
    """The main working tree of the repository whose git dir is ``common``, ``None`` when bare."""
    import pygit2

    try:
        repo = pygit2.Repository(str(common))
    except pygit2.GitError:
        return None
    return None if repo.is_bare or not repo.workdir else Path(repo.workdir).resolve()


def refuse_checked_out_elsewhere(git: GitRepo, ref: str) -> None:
    """Raise :class:`BranchCheckedOutError` when ``ref`` is checked out in another worktree: a commit
    there would leave that worktree's index behind, and its next ``git commit`` would undo ours."""
    others = worktrees_on(git, ref)
    if others:
        short = ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else ref
        raise BranchCheckedOutError(
            f"branch {short} is checked out in the worktree {others[0]} (git refuses to check out a "
            "branch twice); grade in that worktree without --branch, or choose another --branch"
        )


def branch_exists(git: GitRepo, ref: str) -> bool:
    return git.repo.references.get(ref) is not None


def read_blob_at(git: GitRepo, ref: str, relpath: str) -> bytes | None:
    """The content of ``relpath`` in the tip of ``ref``, or ``None`` when absent."""
    tip = _tip(git, ref)
    if tip is None:
        return None
    try:
        entry = tip.tree[relpath]
    except KeyError:
        return None
    return entry.data if entry.type_str == "blob" else None


def commit_files(
    git: GitRepo,
    build: Callable[[Callable[[str], bytes | None]], dict[str, bytes]],
    *,
    message: str,
    name: str,
    email: str,
    ref: str | None = None,
    lock_timeout: float | None = None,
) -> tuple[str, str]:
    """Commit the files ``build`` returns (``{relpath: content}``) and nothing else.

    ``build`` gets a reader of the current tip (``relpath -> bytes | None``) and is called
    again whenever another writer moved the branch meanwhile. With ``ref`` ``None`` the commit
    goes onto the checked-out branch and the files' ``.git/index`` entries are updated to the
    committed content (the caller must have written that same content to the working tree).
    With a ``ref`` the commit goes onto that branch only: no index, no working tree; a branch
    checked out in another worktree is refused (its index would go stale). When git refuses
    the branch update, the files stay staged. Returns ``(commit id, ref)``.
    """
    import pygit2

    on_head = ref is None
    target = head_branch(git) if ref is None else ref
    if not on_head:
        refuse_checked_out_elsewhere(git, target)
    timeout = INDEX_LOCK_TIMEOUT if lock_timeout is None else lock_timeout
    locked = _acquire_index_lock(git, timeout) if on_head else False
    try:
        _pause_point("locked")
        signature = pygit2.Signature(name, email)
        for attempt in range(COMMIT_ATTEMPTS):
            tip = _tip(git, target)
            if tip is None and not on_head:
                base = _head_commit(git)
            else:
                base = tip
            files = build(partial(_blob_in, base))
            blobs = {relpath: git.repo.create_blob(content) for relpath, content in files.items()}
            tree = base.tree if base is not None else None
            tree_id = tree.id if tree is not None else None
            for relpath, blob in blobs.items():
                tree_id = _insert_blob(git.repo, git.repo[tree_id] if tree_id else None, relpath.split("/"), blob)
            parents = [base.id] if base is not None else []
            if on_head:  # staged first: a crash before the branch moves leaves the grade staged
                _update_index_entries(git, blobs)
                _pause_point("index-written")
            try:
                if tip is None and not on_head:  # a new branch: create it, failing if another writer just did
                    commit_id = git.repo.create_commit(None, signature, signature, message, tree_id, parents)
                    git.repo.references.create(target, commit_id)
                else:
                    commit_id = git.repo.create_commit(target, signature, signature, message, tree_id, parents)
            except (pygit2.GitError, pygit2.AlreadyExistsError, ValueError) as exc:
                if attempt + 1 < COMMIT_ATTEMPTS and _is_stale(exc):
                    time.sleep(0.005 * (attempt + 1))
                    continue
                raise RepoError(f"git refused the commit on {target}: {exc}") from None
            break
        _pause_point("ref-moved")
        return str(commit_id), target
    finally:
        if locked:
            _release_index_lock(git)


def _is_stale(exc: Exception) -> bool:
    text = str(exc).lower()
    return "first parent" in text or "exists" in text or "modified" in text or "lock" in text


def _tip(git: GitRepo, ref: str):
    import pygit2

    found = git.repo.references.get(ref)
    if found is None:
        return None
    try:
        return found.peel(pygit2.Commit)
    except (pygit2.GitError, KeyError):
        return None


def _head_commit(git: GitRepo):
    import pygit2

    if git.repo.head_is_unborn:
        return None
    return git.repo.head.peel(pygit2.Commit)


def _blob_in(commit, relpath: str) -> bytes | None:
    if commit is None:
        return None
    try:
        entry = commit.tree[relpath]
    except KeyError:
        return None
    return entry.data if entry.type_str == "blob" else None


def _insert_blob(repo, tree, parts: list[str], blob):
    """The id of ``tree`` with ``parts`` (a path) set to ``blob``, rewriting only the trees on the path."""
    import pygit2

    builder = repo.TreeBuilder(tree) if tree is not None else repo.TreeBuilder()
    head, rest = parts[0], parts[1:]
    if not rest:
        builder.insert(head, blob, pygit2.enums.FileMode.BLOB)
        return builder.write()
    existing = builder.get(head)
    subtree = repo[existing.id] if existing is not None and existing.type_str == "tree" else None
    builder.insert(head, _insert_blob(repo, subtree, rest, blob), pygit2.enums.FileMode.TREE)
    return builder.write()


# --------------------------------------------------------------------------- the index


def _acquire_index_lock(git: GitRepo, timeout: float) -> bool:
    """Create ``.git/index.lock`` as git does (it must not exist), already holding a line that names
    this process; wait briefly while another holds it. A lock left by a vizhub commit whose process
    is gone is removed (it never holds index data). Returns ``True``."""
    path = git.git_dir / "index.lock"
    marker = git.git_dir / f"vizhub-lock-{os.getpid()}.tmp"
    marker.write_text(json.dumps(_lock_owner()) + "\n", encoding="utf-8")
    deadline = time.monotonic() + timeout
    delay = 0.005
    try:
        while True:
            try:
                os.link(marker, path)  # atomic: the lock never exists without its owner line
                return True
            except FileExistsError:
                pass
            except OSError as exc:  # a file system without hard links: create, then write the owner line
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                    raise
                if _create_lock(path, marker.read_bytes()):
                    return True
            holder = _read_lock_owner(path)
            if holder is not None and _owner_is_gone(holder):
                _remove_stale_lock(git, path, holder)
                continue
            if time.monotonic() >= deadline:
                raise IndexLockedError(_lock_held_message(path, holder, timeout)) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
    finally:
        marker.unlink(missing_ok=True)


def _create_lock(path: Path, owner_line: bytes) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    try:
        os.write(fd, owner_line)
    finally:
        os.close(fd)
    return True


def _release_index_lock(git: GitRepo) -> None:
    (git.git_dir / "index.lock").unlink(missing_ok=True)


def _lock_owner() -> dict[str, Any]:
    """Who holds a lock we create: enough to prove later, on this machine, that the process is gone."""
    return {
        "vizhub": "grade commit",
        "host": socket.gethostname(),
        "boot": _boot_id(),
        "pid": os.getpid(),
        "start": _process_start(os.getpid()),
    }


def _read_lock_owner(path: Path) -> dict[str, Any] | None:
    """The owner line of a lock one of our commits made, or ``None`` for any other lock (git's own
    lock holds index data) or one already gone."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError:
        return None
    try:
        owner = json.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(owner, dict) or owner.get("vizhub") != "grade commit" or not isinstance(owner.get("pid"), int):
        return None
    return owner


def _owner_is_gone(owner: dict[str, Any]) -> bool:
    """True only when provably dead: same machine, and rebooted since, or no such process, or the
    pid now belongs to a process started at another time."""
    if owner.get("host") != socket.gethostname():
        return False
    boot = _boot_id()
    if boot is not None and owner.get("boot") not in (None, boot):
        return True
    pid = owner["pid"]
    if pid != os.getpid():  # our own pid: alive, so only a different start time proves the owner gone
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # alive, another user's
    start = _process_start(pid)
    return start is not None and owner.get("start") is not None and start != owner["start"]


def _remove_stale_lock(git: GitRepo, path: Path, owner: dict[str, Any]) -> None:
    """Remove the lock of a dead vizhub commit and its leftovers. Callers hold :func:`file_lock` on
    the ``.git`` folder, so no other grade writer races this removal."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    pid = owner["pid"]
    if pid == os.getpid():
        return  # the pid is ours now: files named after it are this process's own
    for leftover in (f"vizhub-lock-{pid}.tmp", f"index.vizhub-{pid}", f"index.vizhub-{pid}.lock"):
        (git.git_dir / leftover).unlink(missing_ok=True)


def _lock_held_message(path: Path, owner: dict[str, Any] | None, timeout: float) -> str:
    if owner is None:
        return (
            f"{path} is held by another git process (waited {timeout:g} s); if no git command "
            "is running, remove that file and commit again"
        )
    return (
        f"{path} is held by a vizhub grade commit (process {owner['pid']} on {owner.get('host')}, "
        f"waited {timeout:g} s); if that process is no longer running, remove that file and commit again"
    )


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def _process_start(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot, Linux), or ``None`` when unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after "pid (command) "; the command may hold spaces
    try:
        return int(fields[19])  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


def _pause_point(name: str) -> None:
    """For crash tests: stop for good at the point ``$VIZHUB_TEST_PAUSE_AT`` names, after saying so
    on stdout, so a test can kill the process exactly there."""
    if os.environ.get(PAUSE_ENV) != name:
        return
    sys.stdout.write("paused\n")
    sys.stdout.flush()
    while True:
        time.sleep(3600)


def _update_index_entries(git: GitRepo, blobs: dict) -> None:
    """Point the index entries of ``blobs`` at the given blobs, with the working files' stat data,
    and install the new index with one rename (every other entry is kept). The caller holds
    ``.git/index.lock``, so no git command writes the index meanwhile."""
    import shutil

    import pygit2

    index_path = git.git_dir / "index"
    scratch = git.git_dir / f"index.vizhub-{os.getpid()}"
    try:
        if index_path.exists():
            shutil.copyfile(index_path, scratch)
        index = pygit2.Index(str(scratch))
        for relpath, blob in blobs.items():
            _add_entry_with_stat(index, relpath, blob, git.workdir / relpath)
        index.write()
        os.replace(scratch, index_path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise


def _add_entry_with_stat(index, relpath: str, blob, path: Path) -> None:
    """Add ``relpath -> blob`` with the file's stat data, so git sees it clean without rehashing."""
    import pygit2

    entry = pygit2.IndexEntry(relpath, blob, pygit2.enums.FileMode.BLOB)
    try:
        from pygit2.errors import check_error
        from pygit2.ffi import C

        st = os.stat(path)
        centry, _keep = entry._to_c()
        centry.ctime.seconds = int(st.st_ctime_ns // 1_000_000_000) & 0x7FFFFFFF
        centry.ctime.nanoseconds = st.st_ctime_ns % 1_000_000_000
        centry.mtime.seconds = int(st.st_mtime_ns // 1_000_000_000) & 0x7FFFFFFF
        centry.mtime.nanoseconds = st.st_mtime_ns % 1_000_000_000
        centry.dev = st.st_dev & _U32
        centry.ino = st.st_ino & _U32
        centry.uid = st.st_uid & _U32
        centry.gid = st.st_gid & _U32
        centry.file_size = st.st_size & _U32
        check_error(C.git_index_add(index._index, centry), io=True)
    except (ImportError, AttributeError, OSError):  # pragma: no cover - other pygit2 internals
        index.add(entry)  # no stat data: git rehashes the file once and still sees it clean


# --------------------------------------------------------------------------- reading revisions


def resolve_commit(git: GitRepo, rev: str):
    """The commit a revision names (``HEAD~2``, a branch, a tag, an id)."""
    import pygit2

    try:
        return git.repo.revparse_single(rev).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise RepoError(f"unknown revision {rev!r} in {git.workdir}") from None


def read_folder_at(git: GitRepo, rev: str, folder: str) -> dict[str, bytes]:
    """``{file name: content}`` of the files directly inside ``folder`` at ``rev`` (empty when absent)."""
    commit = resolve_commit(git, rev)
    try:
        tree = commit.tree[folder] if folder not in ("", ".") else commit.tree
    except KeyError:
        return {}
    if tree.type_str != "tree":
        return {}
    return {entry.name: entry.data for entry in tree if entry.type_str == "blob"}
