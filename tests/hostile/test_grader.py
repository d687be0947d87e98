"""Hostile input against the grader: the terminal script and the web app."""

from __future__ import annotations

import io
import json

import pytest

from tests.grade_repo import OUTPUTS, git, isolated_git, make_project  # noqa: F401
from vizhub_pipeline.core.params import GradeParams, Params
from vizhub_pipeline.core.terminal_text import for_terminal
from vizhub_pipeline.grading.terminal import run_grading_session

FAKE = "\nAll 12 checks passed"
CLEAR = "\x1b[2J\x1b[H"
TITLE = "\x1b]0;owned\x07"


def test_for_terminal_escapes_c0_c1_escape_sequences_and_bidi_overrides():
    assert for_terminal(CLEAR + "x") == "\\x1b[2J\\x1b[Hx"
    assert for_terminal(TITLE) == "\\x1b]0;owned\\x07"
    assert for_terminal("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert for_terminal("\x9b2J \x85 \x7f") == "\\x9b2J \\x85 \\x7f"  # C1 CSI, NEL and DEL
    assert for_terminal("evil\u202egnp.exe \u2066x\u2069") == "evil\\u202egnp.exe \\u2066x\\u2069"
    assert for_terminal("plain text, é, 中文, 🙂") == "plain text, é, 中文, 🙂"


@pytest.mark.usefixtures("isolated_git")
def test_terminal_grading_prints_a_hostile_render_escaped(tmp_path):
    layout = make_project(tmp_path / "p")
    folder = layout.render_dir("barsOne", "baseline/starter")
    folder.mkdir(parents=True)
    hostile = {
        "challenge": "barsOne",
        "model": "baseline/starter",
        "sample": 0,
        "status": "rendered",
        "artifact_hash": OUTPUTS[("barsOne", "baseline/starter", 0)],
        "render_hash": "r1",
        "screenshots": [],
        "checks": [
            {"name": "count" + TITLE, "type": "count", "passed": False, "message": "0 found" + FAKE, "step": None}
        ],
        "console_errors": [CLEAR + "console" + FAKE],
        "page_errors": [TITLE + "page\x9b2J\u202e"],
        "blocked_requests": [],
        "error": None,
        "viewport": {},
    }
    (folder / "render.json").write_text(json.dumps(hostile), encoding="utf-8")
    output = io.StringIO()
    run_grading_session(
        layout,
        grader="alice",
        challenges=("barsOne",),
        models=("baseline/starter",),
        params=Params(grade=GradeParams(blind=False)),
        input=io.StringIO("q\n"),
        output=output,
    )
    out = output.getvalue()
    assert not any(char in out for char in "\x1b\x07\x9b\u202e\r")
    assert "All 12 checks passed" not in out.splitlines()  # never a line of its own
    assert "    FAIL count\\x1b]0;owned\\x07: 0 found\\nAll 12 checks passed" in out
    assert "    error in page: \\x1b]0;owned\\x07page\\x9b2J\\u202e" in out
    assert "    error in page: \\x1b[2J\\x1b[Hconsole\\nAll 12 checks passed" in out
