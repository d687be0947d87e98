"""The pygit2 seam, on real repositories, checked with pygit2 and with the git command line."""

from __future__ import annotations

import errno
import json
import os
import socket
import threading
import time
from pathlib import Path

import pygit2
import pytest

from tests.grade_repo import git, head_files, isolated_git, make_project, status  # noqa: F401
from vizhub_pipeline.grading import gitrepo

pytestmark = pytest.mark.usefixtures("isolated_git")

REL = "results/grades/alice-2026-11-28.csv"


def _write(root: Path, rel: str, text: str) -> bytes:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path.read_bytes()


def _commit_worktree(repo: gitrepo.GitRepo, rel: str, **kwargs):
    return gitrepo.commit_files(
        repo,
        lambda _read: {rel: (repo.workdir / rel).read_bytes()},
        message="grade: test\n",
        name="Alice",
        email="a@x.org",
        **kwargs,
    )


def test_commit_keeps_staged_and_unstaged_changes_of_the_user(tmp_path):
    root = tmp_path / "p"
    make_project(root)
    (root / "README.md").write_text("# staged change\n")
    git(root, "add", "README.md")
    (root / "README.md").write_text("# staged change\nand an unstaged one\n")
    (root / "new.txt").write_text("untracked\n")
    before = status(root)
    _write(root, REL, "challenge\r\n")
    repo = gitrepo.open_repo(root)

    commit_id, ref = _commit_worktree(repo, REL)

    assert ref == "refs/heads/main"
    assert status(root) == before
    assert head_files(root) == [REL]
    assert git(root, "diff", "--cached", "--name-only").split() == ["README.md"]
    assert git(root, "show", "HEAD:" + REL) == "challenge\n"  # git show renders CRLF as is; text mode folds it
    assert git(root, "rev-parse", "HEAD").strip() == commit_id
    # The index entry carries stat data: even plumbing that does not refresh sees the file clean.
    assert git(root, "diff-files", "--name-only").split() == ["README.md"]
    assert pygit2.Repository(str(root)).status_file(REL) == 0


def test_commit_in_a_repository_without_commits(tmp_path):
    root = tmp_path / "p"
    make_project(root, commit=False)
    (root / "README.md").unlink()
    _write(root, REL, "x\n")
    before = [line for line in status(root) if REL not in line]

    commit_id, ref = _commit_worktree(gitrepo.open_repo(root), REL)

    assert ref == "refs/heads/main"
    assert git(root, "log", "--format=%H %P|%an <%ae>|%s").splitlines() == [f"{commit_id} |Alice <a@x.org>|grade: test"]
    assert status(root) == before


def test_detached_head_is_refused(tmp_path):
    root = tmp_path / "p"
    make_project(root)
    git(root, "checkout", "-q", "--detach")
    _write(root, REL, "x\n")
    with pytest.raises(gitrepo.RepoError, match="HEAD is detached") as info:
        _commit_worktree(gitrepo.open_repo(root), REL)
    assert "git switch <branch>" in str(info.value)
    assert git(root, "log", "--format=%s").splitlines() == ["initial"]


def test_held_index_lock_fails_clearly_and_leaves_the_lock_alone(tmp_path):
    root = tmp_path / "p"
    make_project(root)
    _write(root, REL, "x\n")
    lock = root / ".git" / "index.lock"
    lock.write_text("another git process")
    with pytest.raises(gitrepo.IndexLockedError) as info:
        _commit_worktree(gitrepo.open_repo(root), REL, lock_timeout=0.2)
    assert str(info.value) == (
        f"{lock} is held by another git process (waited 0.2 s); "
        "if no git command is running, remove that file and commit again"
    )
    assert lock.read_text() == "another git process"
    assert git(root, "rev-list", "--count", "HEAD").strip() == "1"


def test_index_lock_released_while_waiting(tmp_path):
    root = tmp_path / "p"
    make_project(root)
    _write(root, REL, "x\n")
    lock = root / ".git" / "index.lock"
    lock.write_text("")
    threading.Timer(0.3, lock.unlink).start()
    _commit_worktree(gitrepo.open_repo(root), REL, lock_timeout=5)
    assert head_files(root) == [REL]
    assert not lock.exists()
    assert status(root) == []


def test_branch_commit_leaves_head_index_and_working_tree_alone(tmp_path):
    root = tmp_path / "p"
    make_project(root)
    (root / "README.md").write_text("changed\n")
    git(root, "add", "README.md")
    head = git(root, "rev-parse", "HEAD").strip()
    index_bytes = (root / ".git" / "index").read_bytes()
    before = status(root)
    repo = gitrepo.open_repo(root)

    commit_id, ref = gitrepo.commit_files(
        repo,
        lambda read: {REL: (read(REL) or b"") + b"row\n"},
        message="m\n",
        name="A",
        email="a@x",
        ref="refs/heads/grades/alice",
    )
    gitrepo.commit_files(
        repo, lambda read: {REL: (read(REL) or b"") + b"row2\n"}, message="m2\n", name="A", email="a@x", ref=ref
    )

    assert git(root, "rev-parse", "HEAD").strip() == head
    assert git(root, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert (root / ".git" / "index").read_bytes() == index_bytes
    assert status(root) == before
    assert not (root / REL).exists()
    assert git(root, "show", f"grades/alice:{REL}") == "row\nrow2\n"
    assert git(root, "log", "--format=%s", "main..grades/alice").splitlines() == ["m2", "m"]
    assert git(root, "rev-parse", "grades/alice~2").strip() == head
    assert gitrepo.read_blob_at(repo, ref, REL) == b"row\nrow2\n"


def test_a_branch_moved_by_another_writer_is_retried_on_the_new_tip(tmp_path):
    root = tmp_path / "p"
    make_project(root)
    _write(root, REL, "mine\n")
    repo = gitrepo.open_repo(root)
    calls = []

    def build(_read):
        calls.append(1)
        if len(calls) == 1:  # another writer commits while we build
            (root / "other.txt").write_text("other\n")
            git(root, "add", "other.txt")
            git(root, "commit", "-q", "-m", "other writer")
        return {REL: (root / REL).read_bytes()}

    # Our own index lock would block the other writer's git commit, so commit onto a branch
    # the other writer also moves: refs/heads/main, by ref name.
    commit_id, _ = gitrepo.commit_files(repo, build, message="grade\n", name="A", email="a@x", ref="refs/heads/main")

    assert len(calls) == 2
    assert git(root, "log", "--format=%s").splitlines() == ["grade", "other writer", "initial"]
    assert git(root, "show", "HEAD:other.txt") == "other\n"


def test_read_folder_at_and_unknown_revisions(tmp_path):
    root = tmp_path / "p"
    make_project(root)
    repo = gitrepo.open_repo(root)
    assert set(gitrepo.read_folder_at(repo, "HEAD", "visualizations/barsOne/baseline__starter")) == {
        "index.html",
        "meta.json",
    }
    assert gitrepo.read_folder_at(repo, "HEAD", "results/grades") == {}
    with pytest.raises(gitrepo.RepoError, match="unknown revision 'nope'"):
        gitrepo.read_folder_at(repo, "nope", "results")


def test_open_repo_outside_git_and_config(tmp_path):
    assert gitrepo.open_repo(tmp_path) is None
    root = tmp_path / "p"
    make_project(root, user="Bob Jones")
    assert gitrepo.config_value(root / "results" / "grades", "user.name") == "Bob Jones"
    assert gitrepo.config_value(tmp_path, "user.name") is None


def test_file_lock_serialises(tmp_path):
    order = []

    def hold():
        with gitrepo.file_lock(tmp_path):
            order.append("a-in")
            time.sleep(0.2)
            order.append("a-out")

    thread = threading.Thread(target=hold)
    thread.start()
    time.sleep(0.05)
    with gitrepo.file_lock(tmp_path):
        order.append("b")
    thread.join()
    assert order == ["a-in", "a-out", "b"]


def _lock_seen_while_building(root: Path) -> dict:
    repo = gitrepo.open_repo(root)
    seen = {}

    def build(_read):
        seen.update(json.loads((root / ".git" / "index.lock").read_text()))
        return {REL: (root / REL).read_bytes()}

    gitrepo.commit_files(repo, build, message="grade\n", name="A", email="a@x")
    return seen


@pytest.mark.parametrize("hard_links", [True, False])
def test_the_index_lock_names_this_process_while_held(tmp_path, monkeypatch, hard_links):
    root = tmp_path / "p"
    make_project(root)
    _write(root, REL, "x\n")
    if not hard_links:  # a file system without hard links: the lock is created, then its owner line written

        def no_link(*_args, **_kwargs):
            raise PermissionError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(os, "link", no_link)

    seen = _lock_seen_while_building(root)

    assert seen["vizhub"] == "grade commit" and seen["pid"] == os.getpid()
    assert seen["host"] == socket.gethostname()
    assert not (root / ".git" / "index.lock").exists()
    assert [p.name for p in (root / ".git").iterdir() if "vizhub" in p.name] == []
    assert head_files(root) == [REL]
    assert status(root) == []


def test_a_lock_of_a_reused_pid_is_stale_and_one_of_this_process_is_not(tmp_path):
    root = tmp_path / "p"
    make_project(root)
    _write(root, REL, "x\n")
    lock = root / ".git" / "index.lock"
    mine = gitrepo._lock_owner()
    lock.write_text(json.dumps(dict(mine, start=mine["start"] + 1)) + "\n")  # this pid, another process's start
    _commit_worktree(gitrepo.open_repo(root), REL, lock_timeout=0)
    assert head_files(root) == [REL] and not lock.exists()

    _write(root, REL, "x\ny\n")
    lock.write_text(json.dumps(mine) + "\n")  # held by this very process: not stale
    with pytest.raises(gitrepo.IndexLockedError, match=f"held by a vizhub grade commit \\(process {os.getpid()} on"):
        _commit_worktree(gitrepo.open_repo(root), REL, lock_timeout=0)
    assert json.loads(lock.read_text()) == mine
