"""Grade commits under crashes and unsafe branches: a grade is never taken out of git again.

A real child process commits a grade and stops at a named crash point (``VIZHUB_TEST_PAUSE_AT``);
the test kills it with SIGKILL there, then acts as the grader would with the real git command line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.grade_repo import git, isolated_git, make_grade, make_project, status  # noqa: F401
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.grading import gitrepo
from vizhub_pipeline.grading.errors import GradeError
from vizhub_pipeline.grading.submit import check_can_commit, submit_judgements

pytestmark = [
    pytest.mark.slow,  # each case starts Python child processes that commit grades (as test_grades.py's two graders)
    pytest.mark.usefixtures("isolated_git"),
    pytest.mark.hostile(area="grade files", guards="loss", outcome="held"),
]

ROOT = Path(__file__).resolve().parents[2]
REL = "results/grades/alice-2026-11-28.csv"
FIRST = ("barsOne", "baseline/starter")
SECOND = ("barsOne", "baseline/reference")
THIRD = ("barsTwo", "openai/gpt-4o")

CHILD = """
import sys
from pathlib import Path
from tests.grade_repo import make_grade
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.grading.submit import submit_judgements
submit_judgements(Layout.at(Path(sys.argv[1])), [make_grade(sys.argv[2], sys.argv[3], functionality=5)])
print("done", flush=True)
"""


def _submit(root: Path, subject: tuple[str, str], **kwargs):
    return submit_judgements(Layout.at(root), [make_grade(*subject, functionality=5)], **kwargs)


def _start_child(root: Path, subject: tuple[str, str], point: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env[gitrepo.PAUSE_ENV] = point
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), *subject],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _kill_at(root: Path, subject: tuple[str, str], point: str) -> None:
    """Run a grade commit in a child process and kill -9 it at ``point``."""
    child = _start_child(root, subject, point)
    line = child.stdout.readline()  # type: ignore[union-attr]
    if line != "paused\n":
        child.kill()
        _out, err = child.communicate()
        raise AssertionError(f"the child did not stop at {point}: {line!r} {err}")
    child.send_signal(signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL


def _models_in(text: str) -> list[str]:
    return [line.split(",")[1] for line in text.splitlines()[1:]]


def _models_at(root: Path, rev: str) -> list[str]:
    return _models_in(git(root, "show", f"{rev}:{REL}"))


def _project_with_one_grade(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    make_project(root)
    _submit(root, FIRST)
    assert _models_at(root, "HEAD") == [FIRST[1]]
    return root


@pytest.mark.parametrize(
    ("point", "staged", "committed"),
    [("locked", False, False), ("index-written", True, False), ("ref-moved", True, True)],
)
def test_a_grade_killed_at_any_point_is_never_reverted_by_the_next_git_commit(tmp_path, point, staged, committed):
    root = _project_with_one_grade(tmp_path)
    lock = root / ".git" / "index.lock"

    _kill_at(root, SECOND, point)

    both = [FIRST[1], SECOND[1]]
    assert _models_in((root / REL).read_text()) == both  # saved in the working tree before any commit
    assert _models_at(root, "HEAD") == (both if committed else [FIRST[1]])
    assert _models_at(root, ":0") == (both if staged else [FIRST[1]])  # the index entry
    assert lock.exists()
    owner = json.loads(lock.read_text())
    assert owner["vizhub"] == "grade commit"
    # git refuses to commit while the lock is there; the grader removes it, as git's message says,
    # and commits something else of theirs the ordinary way.
    (root / "mine.txt").write_text("the grader's own change\n")
    refused = subprocess.run(["git", "-C", str(root), "add", "mine.txt"], capture_output=True, text=True)
    assert refused.returncode != 0 and "index.lock" in refused.stderr
    lock.unlink()
    git(root, "add", "mine.txt")
    git(root, "commit", "-q", "-m", "mine")

    assert _models_at(root, "HEAD") == (both if staged else [FIRST[1]])
    assert git(root, "show", "--format=", "--numstat", "HEAD", "--", REL).split()[1:2] in ([], ["0"])  # no row out
    assert status(root) == ([] if staged else [f" M {REL}"])


@pytest.mark.parametrize("point", ["locked", "index-written", "ref-moved"])
def test_the_next_grade_removes_the_lock_a_killed_grade_commit_left(tmp_path, point):
    root = _project_with_one_grade(tmp_path)
    _kill_at(root, SECOND, point)
    assert (root / ".git" / "index.lock").exists()

    result = _submit(root, THIRD)

    assert _models_at(root, "HEAD") == [FIRST[1], SECOND[1], THIRD[1]]
    assert git(root, "rev-parse", "HEAD").strip() == result.commit_id
    assert not (root / ".git" / "index.lock").exists()
    assert sorted(p.name for p in (root / ".git").iterdir() if "vizhub" in p.name) == []
    assert status(root) == []
    git(root, "commit", "-q", "--allow-empty", "-m", "git still commits")


@pytest.mark.hostile(area="grade files", guards="loss", outcome="clear_error")
def test_a_lock_of_a_live_grade_commit_is_reported_with_its_process_and_kept(tmp_path):
    root = _project_with_one_grade(tmp_path)
    child = _start_child(root, SECOND, "locked")
    try:
        assert child.stdout.readline() == "paused\n"  # type: ignore[union-attr]
        lock = root / ".git" / "index.lock"
        held = lock.read_bytes()
        repo = gitrepo.open_repo(root)
        with pytest.raises(gitrepo.IndexLockedError) as info:
            gitrepo.commit_files(
                repo,
                lambda _read: {REL: (root / REL).read_bytes()},
                message="m\n",
                name="A",
                email="a@x",
                lock_timeout=0,
            )
        assert str(info.value).startswith(f"{lock} is held by a vizhub grade commit (process {child.pid} on ")
        assert "if that process is no longer running, remove that file" in str(info.value)
        assert lock.read_bytes() == held
    finally:
        child.kill()
        child.communicate()


@pytest.mark.hostile(area="grade files", guards="loss", outcome="clear_error")
def test_a_lock_naming_a_dead_process_on_another_host_is_not_removed(tmp_path, monkeypatch):
    root = _project_with_one_grade(tmp_path)
    lock = root / ".git" / "index.lock"
    owner = {"vizhub": "grade commit", "host": "elsewhere.invalid", "boot": None, "pid": 999999999, "start": 1}
    lock.write_text(json.dumps(owner) + "\n")
    monkeypatch.setattr(gitrepo, "INDEX_LOCK_TIMEOUT", 0)
    with pytest.raises(GradeError, match="held by a vizhub grade commit \\(process 999999999 on elsewhere.invalid"):
        _submit(root, SECOND)
    assert json.loads(lock.read_text()) == owner


@pytest.mark.hostile(area="grade files", guards="loss", outcome="clear_error")
def test_branch_checked_out_in_another_worktree_is_refused_as_git_refuses_it(tmp_path):
    root = _project_with_one_grade(tmp_path)
    other = tmp_path / "other"
    git(root, "worktree", "add", "-q", "-b", "grades/alice-2026-11-28", str(other))
    refused_by_git = subprocess.run(
        ["git", "-C", str(root), "switch", "grades/alice-2026-11-28"], capture_output=True, text=True
    )
    assert refused_by_git.returncode != 0
    tip = git(root, "rev-parse", "grades/alice-2026-11-28").strip()
    before = status(root)

    for attempt in (
        lambda: check_can_commit(Layout.at(root), branch="grades/alice-2026-11-28"),
        lambda: _submit(root, SECOND, branch="grades/alice-2026-11-28"),
    ):
        with pytest.raises(GradeError) as info:
            attempt()
        assert str(info.value) == (
            f"nothing written: branch grades/alice-2026-11-28 is checked out in the worktree {other.resolve()} "
            "(git refuses to check out a branch twice); grade in that worktree without --branch, "
            "or choose another --branch"
        )
    with pytest.raises(gitrepo.BranchCheckedOutError):  # the seam refuses it too
        gitrepo.commit_files(
            gitrepo.open_repo(root),
            lambda _read: {REL: b"x\n"},
            message="m\n",
            name="A",
            email="a@x",
            ref="refs/heads/grades/alice-2026-11-28",
        )
    assert git(root, "rev-parse", "grades/alice-2026-11-28").strip() == tip
    assert status(root) == before
    assert status(other) == []

    # From the linked worktree, the main worktree's branch is refused the same way.
    with pytest.raises(GradeError, match=f"branch main is checked out in the worktree {root.resolve()} "):
        _submit(other, SECOND, branch="main")
    # A branch checked out nowhere is fine, and so is the worktree's own branch (an ordinary commit).
    _submit(root, SECOND, branch="grades/bob")
    assert _models_at(root, "grades/bob") == [FIRST[1], SECOND[1]]
    _submit(other, THIRD, branch="grades/alice-2026-11-28")
    assert _models_at(other, "HEAD") == [FIRST[1], THIRD[1]]
    assert status(other) == []
