"""The reply parser on 2 MB replies built to be slow, vs a 2 MB ordinary reply.

Each hostile shape of ``tests/hostile/reply_cases.py`` (long lines of name characters, runs of
spaces where a name line should end, long fence info strings, blocks that never close, ...) is
grown to 2 MB, the largest reply ``generate.max_reply_bytes`` lets through by default, and parsed
once; the ordinary reply (prose and two files of code) of the same size is the baseline. A linear
parser keeps every ratio small; the quadratic one took 39 s on an 80 KB line, so minutes to
hours at 2 MB. Each parse is also checked against the files the case must yield, so the timed
work is the real one. The second size (1 MB) shows growth: about 2x from 1 MB to 2 MB is linear.

Run: .venv/bin/python bench/bench_replies.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE = 2_000_000


def timed(text: str, known: dict[str, str]):
    from vizhub_pipeline.generate.replies import parse_reply

    start = time.perf_counter()
    parsed = parse_reply(text, known)
    return time.perf_counter() - start, parsed


def main() -> None:
    from tests.hostile.reply_cases import CASES, KNOWN, ordinary_reply

    ordinary = ordinary_reply(SIZE)
    baseline = min(timed(ordinary, KNOWN)[0] for _ in range(3))
    print(f"ordinary reply, {len(ordinary.encode()):,} bytes: {baseline * 1000:.0f} ms (best of 3)")
    print(f"{'hostile shape':42} {'2 MB':>9} {'vs ordinary':>12} {'1 MB':>9} {'2 MB / 1 MB':>12}")
    worst = 0.0
    for case in CASES:
        text = case.build(SIZE)
        seconds, parsed = timed(text, KNOWN)
        if parsed.files != case.files:
            raise SystemExit(f"{case.name}: parsed to {sorted(parsed.files)}, expected {sorted(case.files)}")
        half, _ = timed(case.build(SIZE // 2), KNOWN)
        ratio = seconds / baseline
        worst = max(worst, ratio)
        growth = seconds / half if half > 0 else float("nan")
        print(f"{case.name:42} {seconds * 1000:7.0f} ms {ratio:11.2f}x {half * 1000:7.0f} ms {growth:11.1f}x")
    print(f"slowest hostile shape: {worst:.2f}x the ordinary reply of the same size")


if __name__ == "__main__":
    main()
