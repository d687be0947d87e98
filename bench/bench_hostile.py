"""The standing hostile-input suite: how many attacks held, were refused clearly, escaped, lost data or hung.

Runs every test marked ``hostile`` (``tests/hostile/`` and the hostile cases of the other test
files) through ``tests/hostile_tally.py``: one pytest run per file, each case stopped and counted
as hung past ``--limit`` seconds. A passing case counts as its marker's outcome (held, or a clear
error); a failing one as what it guards (escaped, lost). Prints the counts per area and in total
(target: 0 escaped, 0 lost, 0 hung), the wall time against a trivial pytest run started the same
way in the same run (the start-up every file pays), and the cases over 2 s without the ``slow``
marker. Exits 1 unless every case ran and none escaped, lost data or hung.

Run: .venv/bin/python bench/bench_hostile.py [--limit 180] [--workers 2] [--logs DIR] [tests/hostile ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SLOW_SECONDS = 2.0  # what tests/conftest.py and pyproject.toml call slow


def trivial_run(limit: float) -> float:
    """Seconds for pytest with the tally's plugin on one empty hostile test: the cost of one run."""
    import subprocess

    from tests.hostile_tally import command_for, subprocess_env

    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as folder:
        path = Path(folder)
        (path / "pytest.ini").write_text("[pytest]\nmarkers =\n    hostile: a hostile case\n", encoding="utf-8")
        (path / "test_trivial.py").write_text(
            "import pytest\n\n\n@pytest.mark.hostile(area='pages', guards='escape', outcome='held')\n"
            "def test_nothing():\n    pass\n",
            encoding="utf-8",
        )
        command = command_for(path / "log.jsonl", limit, None, ["-m", "hostile", "test_trivial.py"], collect=False)
        started = time.perf_counter()
        subprocess.run(command, cwd=path, env=subprocess_env(), check=True, capture_output=True)
        return time.perf_counter() - started


WIDTHS = (12, 6, 6, 13, 8, 10, 5, 8, 9)


def line(values) -> str:
    """One row of the table: the area left-aligned, the counts right-aligned."""
    cells = [str(values[0]).ljust(WIDTHS[0])]
    cells += [str(value).rjust(width) for value, width in zip(values[1:], WIDTHS[1:], strict=True)]
    return "  ".join(cells)


def main() -> None:
    from tests.hostile_tally import AREAS, Tally, run_suite

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=180.0, help="seconds before a case counts as hung")
    parser.add_argument("--workers", type=int, default=2, help="test files run at once")
    parser.add_argument("--logs", type=Path, help="keep each pytest run's output and event log in this folder")
    parser.add_argument("targets", nargs="*", default=["tests"], help="test folders or files (default: tests)")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    baseline = min(trivial_run(args.limit) for _ in range(3))
    started = time.perf_counter()
    tally: Tally = run_suite(ROOT, args.targets, limit=args.limit, workers=args.workers, logs=args.logs)
    wall = time.perf_counter() - started
    load_after = os.getloadavg()[0]

    files = len({case.file for case in tally.cases})
    print(
        f"hostile suite: {len(tally.cases)} cases in {files} files, {args.workers} at once, hung past {args.limit:g} s"
    )
    header = ("area", "tried", "held", "clear errors", "escaped", "data lost", "hung", "skipped", "controls")
    print(line(header))
    for area in (*AREAS, None):
        counts = tally.counts(area)
        if area is not None and not any(counts.values()):
            continue
        controls = f"{counts['control ok']}/{counts['control ok'] + counts['control failed']}"
        names = ("tried", "held", "clear error", "escaped", "lost", "hung", "skipped")
        print(line((area or "total", *(str(counts[name]) for name in names), controls)))
    print(
        f"wall time {wall:.1f} s in {tally.runs} pytest runs; one trivial pytest run {baseline:.2f} s (best of 3): "
        f"{wall / baseline:.0f}x; load average {load_before:.1f} before, {load_after:.1f} after"
    )
    ran = [case for case in tally.cases if case.seconds is not None]
    if ran:
        longest = max(ran, key=lambda case: case.seconds or 0.0)
        print(f"longest case: {longest.seconds:.1f} s ({longest.id})")
    unmarked = [case for case in ran if (case.seconds or 0.0) > SLOW_SECONDS and not case.slow]
    for case in unmarked:
        print(f"over {SLOW_SECONDS:g} s without the slow marker: {case.id} ({case.seconds:.1f} s)")
    for case in tally.cases:
        if case.counted_as in ("escaped", "lost", "hung", "control failed", "not run", "skipped"):
            print(f"{case.counted_as}: {case.id}: {case.message}")
    for problem in tally.problems:
        print(f"problem: {problem}")
    print("target met: 0 escaped, 0 lost, 0 hung" if tally.ok else "target NOT met")
    if not tally.ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
