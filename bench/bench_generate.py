"""Generate-stage throughput against the loopback server, and CLI start-up time.

1. 200 items, the server answering each request after 300 ms, concurrency 16 per
   provider: wall time / ideal (200 x 0.3 / 16). Target <= 1.2.
2. The re-run with nothing changed: requests made (target 0).
3. `vizhub --help` start-up beside `python -c pass`, both measured here.

Run: .venv/bin/python bench/bench_generate.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from tests.conftest import write_challenge  # noqa: E402
from tests.loopback_server import Behaviour, LoopbackServer  # noqa: E402

ITEMS_CHALLENGES, ITEMS_MODELS, DELAY, CONCURRENCY = 40, 5, 0.3, 16
REPLY = "**index.html**\n```html\n<!DOCTYPE html><html><body><svg></svg></body></html>\n```\n"


def bench_throughput() -> None:
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.core.params import GenerateParams
    from vizhub_pipeline.generate.stage import run_generate

    with tempfile.TemporaryDirectory() as tmp, LoopbackServer(Behaviour(reply=REPLY, delay=DELAY)) as server:
        os.environ["OPENAI_API_KEY"] = "sk-loopback"
        os.environ["OPENAI_API_BASE"] = server.url
        project = Path(tmp)
        for index in range(ITEMS_CHALLENGES):
            write_challenge(project, f"bench{index:03d}")
        models = tuple(f"openai/bench-model-{index}" for index in range(ITEMS_MODELS))
        params = replace(GenerateParams(), models=models, concurrency=CONCURRENCY, retries=0)
        # warm-up: litellm's import and first-call set-up are not part of the steady state
        run_generate(
            Layout.at(project), replace(params, models=("openai/warm-up",)), challenges=("bench000",), progress=False
        )
        server.requests.clear()
        started = time.perf_counter()
        summary = run_generate(Layout.at(project), params, progress=False)
        wall = time.perf_counter() - started
        items = ITEMS_CHALLENGES * ITEMS_MODELS
        ideal = items * DELAY / CONCURRENCY
        assert summary.done == items, summary.lines()
        print(f"generate: {items} items, {DELAY * 1000:.0f} ms per reply, concurrency {CONCURRENCY}")
        print(f"  wall {wall:.2f} s, ideal {ideal:.2f} s, ratio wall/ideal = {wall / ideal:.2f} (target <= 1.2)")
        print(f"  server saw at most {server.max_in_flight} requests in flight")
        before = len(server.requests)
        started = time.perf_counter()
        again = run_generate(Layout.at(project), params, progress=False)
        print(
            f"re-run with nothing changed: {len(server.requests) - before} requests (target 0), "
            f"{again.skipped} skipped in {time.perf_counter() - started:.2f} s"
        )


def _time(command: list[str], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_startup() -> None:
    vizhub = [sys.executable, "-m", "vizhub_pipeline", "--help"]
    bare = [sys.executable, "-c", "pass"]
    _time(vizhub, 1)
    help_time, bare_time = _time(vizhub), _time(bare)
    print(
        f"start-up: vizhub --help {help_time * 1000:.0f} ms, python -c pass {bare_time * 1000:.0f} ms, "
        f"ratio {help_time / bare_time:.1f}"
    )


if __name__ == "__main__":
    bench_throughput()
    bench_startup()
