"""Write requirements.lock: every package `pip install -e '.[test]'` needs, at the version installed now.

Run with the project's virtualenv (``make lock`` does): the versions are those of the packages
installed in it, the ones the committed outputs were made with. pip resolves the project's
dependencies afresh (``--dry-run --ignore-installed``) under a constraint to the installed
versions, so the lock holds exactly the packages the project needs on this platform, and only
a consistent set: a conflict stops here, not on someone else's machine. Nothing is installed.

To move a package to a newer version: ``.venv/bin/pip install -U <package>``, run the tests,
then ``make lock`` and commit the lock with the outputs it made. A new dependency is installed
at its newest version (the lock does not name it yet) unless it needs a newer version of a
locked package: then delete that package's line from the lock first.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vizhub_pipeline.core.atomic import write_text_atomic  # noqa: E402  (after the path is set)

PROJECT = "vizhub-pipeline"
HEADER = """\
# Exact versions of every package `pip install -e '.[test]'` needs (Python 3.11, Linux).
# Installed with `pip install -c requirements.lock ...` by `make run` and `make test`.
# Made by `make lock` (scripts/lock.py) from the versions in .venv; do not edit by hand.
"""


def normalise_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"pip {' '.join(args)} failed:\n{done.stderr.strip()}")
    return done.stdout


def resolve_locked() -> list[str]:
    """``name==version`` lines for the resolved ``.[test]`` environment, sorted by name."""
    with tempfile.TemporaryDirectory() as tmp:
        installed = Path(tmp) / "installed.txt"
        installed.write_text(pip("freeze", "--exclude-editable"), encoding="utf-8")
        report = Path(tmp) / "report.json"
        pip(
            "install",
            "--quiet",
            "--dry-run",
            "--ignore-installed",
            "--report",
            str(report),
            "-c",
            str(installed),
            "-e",
            ".[test]",
        )
        resolved = json.loads(report.read_text(encoding="utf-8"))["install"]
    pins = {}
    for entry in resolved:
        name, version = entry["metadata"]["name"], entry["metadata"]["version"]
        if normalise_name(name) != PROJECT:
            pins[normalise_name(name)] = f"{name}=={version}"
    return [pins[key] for key in sorted(pins)]


def main() -> None:
    target = ROOT / "requirements.lock"
    text = HEADER + "".join(line + "\n" for line in resolve_locked())
    unchanged = target.is_file() and target.read_text(encoding="utf-8") == text
    if not unchanged:  # an untouched file keeps its time, so make does not reinstall for nothing
        write_text_atomic(target, text)
    print(f"{target.name}: {text.count('==')} packages{' (unchanged)' if unchanged else ''}")


if __name__ == "__main__":
    main()
