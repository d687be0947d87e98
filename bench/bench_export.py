"""Export-stage throughput and memory: 1,000 challenges x 30 models with consensus scores.

Every pair of outputs of a challenge is written (min_margin 0, distinct scores): 435 pairs a
challenge, 435,000 in all, plus the KTO and SFT files, the card and meta.json. The same export
over the first 100 challenges (43,500 pairs) runs beside it: time should grow about 10x, while
the peak memory of the export (the growth of the process's maximum resident set over what it
held before the export began, from /proc/self/status VmHWM after resetting it) should stay
about the same, since pairs are streamed to disk. A second run of each size under tracemalloc
reports the peak of Python allocations. Each export runs in its own fresh process so peaks do
not mix. Target: <= 60 s for the 435,000 pairs.

Run: .venv/bin/python bench/bench_export.py   (needs ~4.5 GB of free disk in the temp folder)
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHALLENGES, MODELS, SMALL = 1000, 30, 100
PAGE = (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
    + '<script src="https://cdn.jsdelivr.net/npm/d3@7"></script></head>\n<body><div id="chart"></div>\n<script>\n'
    + ("d3.csv('data.csv', d3.autoType).then(rows => { /* draw the bars, axes and labels */ });\n" * 12)
    + "</script></body></html>\n"
)


def build_project(root: Path) -> None:
    """Challenges, 30,000 visualization folders (meta.json, response.md, index.html) and a consensus."""
    from tests.conftest import write_challenge
    from vizhub_pipeline.core.challenges import load_challenge
    from vizhub_pipeline.core.layout import hash_files, item_dirname
    from vizhub_pipeline.core.params import GenerateParams
    from vizhub_pipeline.core.prompting import build_messages
    from vizhub_pipeline.generate.stage import GenerationTask, generation_params, input_hash

    rng = random.Random(7)
    generate = GenerateParams()
    for c in range(CHALLENGES):
        challenge = f"chart{c:04d}"
        loaded = load_challenge(
            write_challenge(root, challenge, title=f"Chart {c}", prompt=f"Draw bars for chart {c}, sorted, with axes.")
        )
        messages = build_messages(loaded)
        for m in range(MODELS):
            model = f"provider/model-{m:02d}"
            page = PAGE.replace("chart", f"chart {challenge} {model}", 1)
            folder = root / "visualizations" / challenge / item_dirname(model)
            folder.mkdir(parents=True)
            (folder / "index.html").write_text(page, encoding="utf-8")
            (folder / "response.md").write_text(
                f"Here is the edited page.\n\n**index.html**\n```html\n{page}```\n", encoding="utf-8"
            )
            meta = {
                "challenge": challenge,
                "model": model,
                "sample": 0,
                "status": "ok",
                "input_hash": input_hash(GenerationTask(loaded, model, 0), messages, generate),
                "params": generation_params(generate, 0),
                "artifact_hash": hash_files({"index.html": page}),
                "files": ["index.html"],
            }
            (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    scores = {
        (f"chart{c:04d}", f"provider/model-{m:02d}"): round(rng.uniform(0, 5), 4)
        for c in range(CHALLENGES)
        for m in range(MODELS)
    }
    (root / "bench-scores.json").write_text(
        json.dumps({f"{c}|{m}": s for (c, m), s in scores.items()}), encoding="utf-8"
    )


def write_consensus_for(root: Path, challenges: int) -> None:
    from vizhub_pipeline.core.layout import hash_files
    from vizhub_pipeline.core.records import ConsensusRow, ScoreSummary, write_consensus

    scores = json.loads((root / "bench-scores.json").read_text(encoding="utf-8"))
    rows = []
    for key, score in scores.items():
        challenge, model = key.split("|")
        if int(challenge[5:]) >= challenges:
            continue
        page = PAGE.replace("chart", f"chart {challenge} {model}", 1)
        summary = ScoreSummary(score, score, 0.4, max(0.0, score - 0.3), min(5.0, score + 0.3))
        rows.append(
            ConsensusRow(challenge, model, 0, hash_files({"index.html": page}), 3, 0, summary, summary, summary)
        )
    write_consensus(root / "results" / "consensus" / "consensus.csv", rows)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def child(root: Path, trace: bool) -> None:
    """One export in this process: print seconds, peak growth (KiB) and the summary as JSON."""
    import tracemalloc
    from dataclasses import replace

    import jinja2  # noqa: F401

    import vizhub_pipeline.export.card  # noqa: F401  (imported before the baseline, like the export's own imports)
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.core.params import ExportParams
    from vizhub_pipeline.export.stage import run_export

    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM (peak RSS) to the current RSS
    before = _status_kib("VmRSS")
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    summary = run_export(Layout.at(root), replace(ExportParams(), min_margin=0.0))
    seconds = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[1] // 1024 if trace else None
    after = _status_kib("VmHWM")
    size = sum(p.stat().st_size for p in (root / "exports").iterdir())
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_kib": after - before,
                "baseline_kib": before,
                "traced_kib": traced,
                "pairs": summary.pairs,
                "kto": summary.kto_true + summary.kto_false,
                "sft": summary.sft,
                "bytes": size,
            }
        )
    )


def run_child(root: Path, trace: bool = False) -> dict:
    command = [sys.executable, __file__, "--child", str(root)] + (["--trace"] if trace else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        started = time.perf_counter()
        build_project(root)
        print(f"fixture: {CHALLENGES} challenges x {MODELS} models written in {time.perf_counter() - started:.1f} s")
        results = {}
        for challenges in (SMALL, CHALLENGES):
            write_consensus_for(root, challenges)
            shutil.rmtree(root / "exports", ignore_errors=True)
            results[challenges] = run_child(root)
            r = results[challenges]
            print(
                f"{challenges:>5} challenges: {r['pairs']:>7} pairs (+{r['kto']} KTO, {r['sft']} SFT rows) "
                f"in {r['seconds']:.1f} s = {r['pairs'] / r['seconds']:,.0f} pairs/s; "
                f"output {r['bytes'] / 1e9:.2f} GB; peak RSS growth {r['rss_kib'] / 1024:.1f} MiB "
                f"(over {r['baseline_kib'] / 1024:.0f} MiB before the export)"
            )
            shutil.rmtree(root / "exports", ignore_errors=True)
            traced = run_child(root, trace=True)
            results[challenges]["traced_kib"] = traced["traced_kib"]
            print(
                f"{'':>5}             under tracemalloc: peak Python allocations "
                f"{traced['traced_kib'] / 1024:.1f} MiB ({traced['seconds']:.1f} s)"
            )
        small, large = results[SMALL], results[CHALLENGES]
        print(
            f"time ratio {CHALLENGES}/{SMALL}: {large['seconds'] / small['seconds']:.1f} "
            f"(linear would be {CHALLENGES / SMALL:.0f})"
        )
        print(
            f"memory ratio {CHALLENGES}/{SMALL} for {large['pairs'] / small['pairs']:.0f}x the pairs and "
            f"{large['bytes'] / small['bytes']:.0f}x the output: "
            f"peak RSS growth {max(large['rss_kib'], 1) / max(small['rss_kib'], 1):.2f}, "
            f"peak Python allocations {large['traced_kib'] / small['traced_kib']:.2f} (streamed: about 1)"
        )
        print(
            f"target: {large['pairs']} pairs in <= 60 s: "
            f"{'met' if large['seconds'] <= 60 else 'NOT met'} ({large['seconds']:.1f} s)"
        )


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), trace="--trace" in sys.argv[3:])
    else:
        main()
