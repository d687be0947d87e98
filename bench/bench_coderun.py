"""Sandbox overhead of the code-challenge runner: one test run in bubblewrap vs a bare ``node index.mjs``.

Writes a small code-challenge output (add and reverseString, and a test that checks them), then
times, interleaved in the same run, ``run_sandboxed`` on it and the bare command in the same
folder with ``subprocess.run``. Prints median and p95 of both, and their ratio (target <= 1.5).
The bare run gets the sandbox's environment, not this process's: variables such as
NODE_EXTRA_CA_CERTS make node read files at start-up and would flatter the sandbox.

    .venv/bin/python bench/bench_coderun.py [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from vizhub_pipeline.screenshot.coderun import SANDBOX_ENV, Limits, check_sandbox, run_sandboxed

FUNCTIONS = """\
export const add = (a, b) => a + b;
export const reverseString = (text) => [...text].reverse().join("");
"""

TEST = """\
import { add, reverseString } from "./functions.mjs";

const checks = [add(2, 3) === 5, add(-1, 1) === 0, reverseString("abc") === "cba", reverseString("") === ""];
const failed = checks.filter((ok) => !ok).length;
console.log(`${checks.length - failed}/${checks.length} passed`);
process.exit(failed ? 1 : 0);
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_bare(folder: Path) -> float:
    started = time.perf_counter()
    environment = {**SANDBOX_ENV, "PATH": os.environ["PATH"], "HOME": str(folder), "TMPDIR": str(folder)}
    done = subprocess.run(["node", "index.mjs"], cwd=folder, env=environment, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the bare run failed: {done.stderr.decode(errors='replace')}")
    return elapsed


def time_sandboxed(folder: Path) -> float:
    started = time.perf_counter()
    run = run_sandboxed(folder, ["node", "index.mjs"], entry="index.mjs", limits=Limits(seconds=60))
    elapsed = time.perf_counter() - started
    if run.status != "passed":
        raise SystemExit(f"the sandboxed run did not pass: {run}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    check_sandbox()
    with tempfile.TemporaryDirectory(prefix="vizhub-bench-coderun-") as tmp:
        folder = Path(tmp)
        (folder / "functions.mjs").write_text(FUNCTIONS, encoding="utf-8")
        (folder / "index.mjs").write_text(TEST, encoding="utf-8")
        time_bare(folder), time_sandboxed(folder)  # warm the page cache and the library lookup
        bare: list[float] = []
        sandboxed: list[float] = []
        for index in range(args.runs):
            pair = (time_bare, bare), (time_sandboxed, sandboxed)
            for timer, into in pair if index % 2 == 0 else reversed(pair):
                into.append(timer(folder))
    load = os.getloadavg()[0]
    print(f"coderun: {args.runs} runs of each, interleaved; {os.cpu_count()} cores, load average {load:.1f}")
    for name, values in (("bare node index.mjs", bare), ("run_sandboxed", sandboxed)):
        median, p95 = statistics.median(values) * 1000, percentile(values, 0.95) * 1000
        print(f"  {name:<20} p50 {median:6.1f} ms  p95 {p95:6.1f} ms")
    ratio = statistics.median(sandboxed) / statistics.median(bare)
    overhead = (statistics.median(sandboxed) - statistics.median(bare)) * 1000
    verdict = "met" if ratio <= 1.5 else "NOT met"
    print(f"  ratio of medians {ratio:.2f} (target <= 1.5: {verdict}); overhead {overhead:.1f} ms per run")


if __name__ == "__main__":
    main()
