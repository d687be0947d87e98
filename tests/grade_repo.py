"""Helpers for the grade tests: a real git project with outputs to grade, and the git CLI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.records import Generation, Grade, write_generation

OUTPUTS = {
    ("barsOne", "baseline/starter", 0): "1111aaaa1111aaaa",
    ("barsOne", "baseline/reference", 0): "2222bbbb2222bbbb",
    ("barsTwo", "baseline/starter", 0): "3333cccc3333cccc",
    ("barsTwo", "openai/gpt-4o", 0): "4444dddd4444dddd",
}
AT = "2026-11-28T10:00:00Z"


def git(root: Path, *args: str, check: bool = True) -> str:
    """Run the real git command line in ``root``; its stdout."""
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def write_outputs(root: Path) -> Layout:
    layout = Layout.at(root)
    for (challenge, model, sample), artifact in OUTPUTS.items():
        folder = layout.visualization_dir(challenge, model, sample)
        write_generation(
            folder / "meta.json",
            Generation(challenge, model, sample, "ok", "input-" + artifact, artifact, ("index.html",)),
        )
        (folder / "index.html").write_text(f"<p>{challenge} {model}</p>\n", encoding="utf-8")
    return layout


def make_project(root: Path, *, init: bool = True, commit: bool = True, user: str | None = "Alice") -> Layout:
    """A project with four outputs; a git repository on ``main`` with one commit by default."""
    root.mkdir(parents=True, exist_ok=True)
    layout = write_outputs(root)
    (root / "README.md").write_text("# project\n", encoding="utf-8")
    if init:
        git(root, "init", "-q", "-b", "main")
        if user:
            git(root, "config", "user.name", user)
            git(root, "config", "user.email", f"{user.lower()}@example.org")
        if commit:
            git(root, "add", "-A")
            git(root, "commit", "-q", "-m", "initial")
    return layout


def make_grade(
    challenge: str = "barsOne",
    model: str = "baseline/starter",
    *,
    sample: int = 0,
    functionality=3,
    aesthetics=4,
    notes: str = "",
    grader: str = "alice",
    at: str = AT,
    artifact: str | None = None,
    source: str = "app",
    blind: bool | None = True,
) -> Grade:
    artifact = OUTPUTS.get((challenge, model, sample), "0000000000000000") if artifact is None else artifact
    return Grade(challenge, model, sample, artifact, functionality, aesthetics, notes, grader, at, source, blind)


@pytest.fixture
def isolated_git(tmp_path: Path, monkeypatch):
    """No global or system git config (not the machine's user.name): for pygit2 and the git CLI."""
    import pygit2

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.delenv(name, raising=False)
    levels = (pygit2.enums.ConfigLevel.GLOBAL, pygit2.enums.ConfigLevel.XDG, pygit2.enums.ConfigLevel.SYSTEM)
    saved = {level: pygit2.settings.search_path[level] for level in levels}
    for level in levels:
        pygit2.settings.search_path[level] = str(home)
    yield home
    for level, value in saved.items():
        pygit2.settings.search_path[level] = value


def status(root: Path) -> list[str]:
    return git(root, "status", "--porcelain", "--untracked-files=all").splitlines()


def head_files(root: Path, rev: str = "HEAD") -> list[str]:
    """The files a commit changed, as git show lists them."""
    return git(root, "show", "--format=", "--name-only", rev).split()


os.environ.setdefault("GIT_TERMINAL_PROMPT", "0")
