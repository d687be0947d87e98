"""Latency of one grade submission (append + pygit2 commit) in a big repository.

Builds, with ``git fast-import``, a repository of 10,000 commits holding 1,000 grade files
(plus a few outputs to grade), then times N submissions through ``submit_judgements`` and,
interleaved in the same run, the same append committed with the git command line
(``git add`` + ``git commit``). Prints p50 and p95 of both and their ratio.

    .venv/bin/python bench/bench_grades.py [--commits 10000] [--files 1000] [--runs 60]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from vizhub_pipeline.core.judgements.scores import GRADE_COLUMNS
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.records import Generation, Grade, write_generation
from vizhub_pipeline.grading.submit import submit_judgements

ARTIFACT = "1111aaaa1111aaaa"
HEADER = ",".join(GRADE_COLUMNS) + "\r\n"


def build_repo(root: Path, commits: int, files: int) -> None:
    """A repository on ``main`` with ``commits`` commits that together write ``files`` grade files."""
    root.mkdir(parents=True)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    for key, value in (("user.name", "Bench"), ("user.email", "bench@example.org")):
        subprocess.run(["git", "-C", str(root), "config", key, value], check=True)
    layout = Layout.at(root)
    meta = layout.visualization_dir("barsOne", "baseline/starter") / "meta.json"
    write_generation(meta, Generation("barsOne", "baseline/starter", 0, "ok", "in", ARTIFACT, ("index.html",)))
    meta_bytes = meta.read_bytes()
    contents = {}
    chunks = []
    start = 1_700_000_000
    for number in range(1, commits + 1):
        index = number % files
        name = f"results/grades/grader{index:04d}-2026-01-{1 + index % 28:02d}.csv"
        day = f"2026-01-{1 + index % 28:02d}"
        scores = f"{number % 6},{(number * 7) % 6}"
        grader = f"grader{index:04d}"
        row = f"barsOne,baseline/starter,0,{ARTIFACT},{scores},note {number},{grader},{day}T10:00:00Z,app,true\r\n"
        contents[name] = contents.get(name, HEADER) + row
        body = contents[name].encode()
        message = f"grade {number}\n".encode()
        committer = f"committer Bench <bench@example.org> {start + number} +0000"
        chunks.append(f"commit refs/heads/main\nmark :{number}\n{committer}\n".encode())
        chunks.append(b"data %d\n%s" % (len(message), message))
        if number > 1:
            chunks.append(f"from :{number - 1}\n".encode())
        else:
            rel = meta.relative_to(root).as_posix()
            chunks.append(f"M 100644 inline {rel}\ndata {len(meta_bytes)}\n".encode() + meta_bytes + b"\n")
        chunks.append(f"M 100644 inline {name}\ndata {len(body)}\n".encode() + body + b"\n")
    subprocess.run(["git", "-C", str(root), "fast-import", "--quiet"], input=b"".join(chunks), check=True, env=env)
    subprocess.run(["git", "-C", str(root), "reset", "-q", "--hard", "main"], check=True, env=env)


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-grades-") as tmp:
        root = Path(tmp) / "repo"
        started = time.perf_counter()
        build_repo(root, args.commits, args.files)
        built = time.perf_counter() - started
        layout = Layout.at(root)
        tracked = subprocess.run(
            ["git", "-C", str(root), "ls-files"], capture_output=True, text=True, check=True
        ).stdout.count("\n")
        print(f"repository: {args.commits} commits, {tracked} tracked files, built in {built:.1f} s")

        ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
        cli_file = root / "results" / "grades" / "cli-2026-11-28.csv"
        cli_file.write_text(HEADER, newline="")
        subprocess.run(["git", "-C", str(root), "add", str(cli_file)], check=True)
        subprocess.run(["git", "-C", str(root), "commit", "-q", "-m", "cli file"], check=True)
        for run in range(args.runs + 3):  # the first three are warm-up
            grade = Grade(
                "barsOne",
                "baseline/starter",
                0,
                ARTIFACT,
                run % 6,
                5 - run % 6,
                f"run {run}",
                "bench",
                "2026-11-28T10:00:00Z",
                "app",
                True,
            )
            c0, t0 = _cpu(), time.perf_counter()
            submit_judgements(layout, [grade])
            c1, t1 = _cpu(), time.perf_counter()

            row = (
                f"barsOne,baseline/starter,0,{ARTIFACT},{run % 6},{5 - run % 6},run {run},cli,2026-11-28T10:00:00Z,"
                "cli,true\r\n"
            )
            c2, t2 = _cpu(), time.perf_counter()
            with open(cli_file, "a", newline="") as handle:
                handle.write(row)
            subprocess.run(["git", "-C", str(root), "add", "--", str(cli_file)], check=True)
            subprocess.run(
                [
                    "git",
                    "-C",
                    str(root),
                    "commit",
                    "-q",
                    "-m",
                    "grade: cli graded 1 output of barsOne",
                    "--",
                    str(cli_file),
                ],
                check=True,
            )
            c3, t3 = _cpu(), time.perf_counter()
            if run >= 3:
                ours.append((t1 - t0) * 1000)
                theirs.append((t3 - t2) * 1000)
                ours_cpu.append((c1 - c0) * 1000)
                theirs_cpu.append((c3 - c2) * 1000)

        clean = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True, check=True
        ).stdout
        print(f"runs: {args.runs} (after 3 warm-up), working tree clean after: {clean == ''}")
        p50, p95 = statistics.median(ours), percentile(ours, 0.95)
        git_p50, git_p95 = statistics.median(theirs), percentile(theirs, 0.95)
        cpu, git_cpu = statistics.median(ours_cpu), statistics.median(theirs_cpu)
        print(f"submit_judgements (append + pygit2 commit + index entry): p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
        print(f"git CLI (append + git add + git commit):                  p50 {git_p50:6.1f} ms  p95 {git_p95:6.1f} ms")
        print(f"ratio ours/git CLI: p50 {p50 / git_p50:.2f}  p95 {p95 / git_p95:.2f}")
        print(
            f"CPU time (this process + children, less sensitive to machine load): ours p50 {cpu:.1f} ms, "
            f"git CLI p50 {git_cpu:.1f} ms, ratio {cpu / git_cpu:.2f}"
        )
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"target p95 <= 50 ms: {'met' if percentile(ours, 0.95) <= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
