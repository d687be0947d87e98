"""Code challenges in the screenshot stage: run each output's test in the sandbox, record it like a render.

A ``type: code`` challenge names a test command (``node index.mjs``); exit code 0 passes.
The run happens in :mod:`vizhub_pipeline.screenshot.coderun`'s sandbox on a copy of the
output. For an output generated here, the challenge's ``test.protected`` files replace the
output's own, so a model that rewrote the test cannot make it pass. An imported output runs
on its own files, as the project it came from ran it, so its results reproduce that
project's; when its test file differs from the starter's it is flagged ``test_modified``.

The record is a :class:`~vizhub_pipeline.core.records.Render` with status ``passed``,
``failed``, ``error`` or ``timeout``, one ``test`` check, and a ``test`` section: the
command, which files it ran on, the exit code and the captured output with host paths
replaced. Durations are printed, never written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from vizhub_pipeline.core.challenges import Challenge
from vizhub_pipeline.core.layout import hash_bytes
from vizhub_pipeline.core.records import CheckResult, Render

RUNNER_VERSION = "2"  # 2: reformatting a test file is not modifying it
TEST_CHECK = "test passes"


def test_files(challenge: Challenge) -> list[str]:
    """The starter files that make up the test: the protected ones, else the files the command names."""
    assert challenge.test is not None
    if challenge.test.protected:
        return sorted(challenge.test.protected)
    return sorted(arg for arg in challenge.test.command[1:] if arg in challenge.files)


def _normalised(text: str) -> str:
    """Code without its whitespace and ``//`` comment lines, to compare what a test does: a model that
    only reformatted the test (``add(3,4)`` for ``add(3, 4)``, indentation, blank lines) did not change it."""
    lines = (line.strip() for line in text.splitlines())
    return "".join(re.sub(r"\s+", "", line) for line in lines if not line.startswith("//"))


def modified_test_files(challenge: Challenge, files: dict[str, Path]) -> list[str]:
    """The test files an output changed (beyond whitespace and comment lines), or deleted."""
    changed = []
    for name in test_files(challenge):
        path = files.get(name)
        try:
            text = path.read_text(encoding="utf-8") if path is not None else None
        except (OSError, UnicodeDecodeError):
            text = None
        if text is None or _normalised(text) != _normalised(challenge.files[name]):
            changed.append(name)
    return changed


def protected_overlay(challenge: Challenge, imported: bool) -> dict[str, Path]:
    """The challenge's copies of its protected files; none for an imported output (it runs as it ran)."""
    assert challenge.test is not None
    if imported:
        return {}
    return {name: challenge.path / "files" / name for name in challenge.test.protected}


def code_hash(challenge: Challenge, files_hash: str | None, status: str, imported: bool, seconds: float) -> str:
    """Everything that shapes a test run: new value, new run."""
    assert challenge.test is not None
    parts = {
        "runner": RUNNER_VERSION,
        "status": status,
        "files": files_hash,
        "command": list(challenge.test.command),
        "protected": {} if imported else {name: challenge.files[name] for name in challenge.test.protected},
        "starter_tests": {name: challenge.files[name] for name in test_files(challenge)},
        "seconds": seconds,
    }
    return hash_bytes(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode("utf-8"))


def run_record(challenge: Challenge, run, *, imported: bool, modified: list[str], base: dict) -> Render:
    """The render.json of one test run (``run`` is a :class:`coderun.CodeRun`)."""
    assert challenge.test is not None
    command = " ".join(challenge.test.command)
    protected = [] if imported else sorted(challenge.test.protected)
    section = {
        "command": list(challenge.test.command),
        "protected": protected,
        "test_modified": modified,
        **run.to_record(),
    }
    check = CheckResult(TEST_CHECK, "test", run.status == "passed", f"{command}: {run.message}")
    error = run.message if run.status in ("error", "timeout") else None
    return Render(status=run.status, checks=(check,), error=error, test=section, **base)


def failed_record(challenge: Challenge, reason: str, base: dict) -> Render:
    """The record of an output whose test could not run at all (a failed generation, say)."""
    check = CheckResult(TEST_CHECK, "test", False, f"not run: {reason}")
    return Render(status="error", checks=(check,), error=reason, **base)
