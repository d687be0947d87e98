"""Bradley-Terry with 1,000 bootstrap rounds on 1,000,000 votes among 50 models.

Synthetic votes (fixed seed) from known strengths, 10% ties and 5% both_bad. Timed, in one
run, after the library imports (about 1.5 s, paid once per process) are timed apart:

- counting the raw votes into a table of (pair, outcome) counts;
- one fit of the table (the baseline: the least a bootstrap round can cost);
- the whole ranking: point fit + 1,000 rounds, each a multinomial redraw of the counts and a
  refit (target <= 30 s), and its cost per round next to one fit;
- the slow way for a few rounds: resample the raw vote list, count it again, refit; its cost
  per round, extrapolated to 1,000 rounds, next to the counts' way.
The top of the ranking and the Spearman correlation of the scores with the truth are printed
as a check that the timed work is the real one.

Run: .venv/bin/python bench/bench_bradley_terry.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS, VOTES, ROUNDS, RAW_ROUNDS = 50, 1_000_000, 1000, 3
TARGET_SECONDS = 30.0


def make_votes():
    """``(model_a, model_b, outcome, true scores)`` for VOTES votes among MODELS models."""
    import numpy as np

    from vizhub_pipeline.analysis.bradley_terry import ELO_SCALE

    rng = np.random.default_rng(2026)
    truth = rng.normal(0, 150, MODELS)
    a = rng.integers(0, MODELS, VOTES)
    b = (a + rng.integers(1, MODELS, VOTES)) % MODELS
    p_a = 1 / (1 + np.exp(-(truth[a] - truth[b]) / ELO_SCALE))
    draw = rng.random(VOTES)
    outcome = np.where(
        draw < 0.10, "tie", np.where(draw < 0.15, "both_bad", np.where(rng.random(VOTES) < p_a, "a", "b"))
    )
    names = np.asarray([f"provider/model-{m:02d}" for m in range(MODELS)])
    return names[a], names[b], outcome, truth


def main() -> None:
    started = time.perf_counter()
    import choix  # noqa: F401  (choix pulls in scipy.stats)
    import numpy as np
    from scipy import stats

    from vizhub_pipeline.analysis import bradley_terry as bt
    from vizhub_pipeline.analysis import vote_table as vt

    print(f"library imports: {time.perf_counter() - started:.2f} s", flush=True)
    a, b, outcome, truth = make_votes()

    started = time.perf_counter()
    table = vt.count_votes(a, b, outcome)
    count_time = time.perf_counter() - started
    print(f"count {len(a):,} votes into {table.counts.size:,} (pair, outcome) cells: {count_time:.2f} s", flush=True)

    wins = vt.win_matrix(len(table.models), table.pairs, table.counts)
    started = time.perf_counter()
    for _ in range(20):
        theta = bt.fit_log_strengths(wins)
    fit_time = (time.perf_counter() - started) / 20
    print(f"one fit of {MODELS} models (mean of 20): {fit_time * 1000:.2f} ms", flush=True)

    started = time.perf_counter()
    ranking = bt.rank_votes(table, rounds=ROUNDS, seed=1)
    rank_time = time.perf_counter() - started
    per_round = (rank_time - fit_time) / ROUNDS
    print(
        f"rank with {ROUNDS:,} bootstrap rounds: {rank_time:.2f} s "
        f"(target <= {TARGET_SECONDS:.0f} s: {'met' if rank_time <= TARGET_SECONDS else 'NOT met'}); "
        f"{per_round * 1000:.2f} ms per round = {per_round / fit_time:.2f}x one fit",
        flush=True,
    )

    rng = np.random.default_rng(3)
    started = time.perf_counter()
    for _ in range(RAW_ROUNDS):
        pick = rng.integers(0, len(a), len(a))
        resampled = vt.count_votes(a[pick], b[pick], outcome[pick], models=table.models)
        bt.fit_log_strengths(vt.win_matrix(MODELS, resampled.pairs, resampled.counts), initial=theta)
    raw_round = (time.perf_counter() - started) / RAW_ROUNDS
    print(
        f"raw-list bootstrap (resample {len(a):,} votes, count, fit), mean of {RAW_ROUNDS} rounds: "
        f"{raw_round:.2f} s per round -> {raw_round * ROUNDS / 60:.1f} min for {ROUNDS:,} rounds; "
        f"counts' way {raw_round / per_round:.0f}x faster per round",
        flush=True,
    )

    scores = ranking.scores()
    rho = stats.spearmanr([scores[f"provider/model-{m:02d}"] for m in range(MODELS)], truth).statistic
    top = ", ".join(f"{row.model} {row.score:.0f} [{row.ci_low:.0f}, {row.ci_high:.0f}]" for row in ranking.rows[:3])
    widths = [row.ci_high - row.ci_low for row in ranking.rows]
    print(
        f"check: Spearman with the truth {rho:.4f}; mean 95% interval width {np.mean(widths):.1f} points; top 3: {top}"
    )


if __name__ == "__main__":
    main()
