"""The pairwise-vote leaderboard of the aggregate stage, and how it agrees with the grades.

Inputs: the votes in ``results/votes/`` (read through the one judgement reader) and the grades
that count (:func:`~vizhub_pipeline.analysis.aggregate.count_grades`). Only when votes exist:

- Counting: a vote counts when ``vizhub validate`` accepts its content, its source is selected
  (the human sources by default, as for grades), both sides are outputs that exist, both
  artifact hashes are the outputs' current ones (else it is stale) and the two sides are of
  different models; of a grader's votes on one pair of outputs (either side), the latest counts.
- ``votes_leaderboard.csv`` (``rank, model, score, ci_low, ci_high, votes``): Bradley-Terry on
  those votes, ties as half a win each, both_bad as a tie, Elo-like scale, with a bootstrap over
  the votes (:mod:`~vizhub_pipeline.analysis.bradley_terry`; ``aggregate.bt_rounds`` rounds
  from ``aggregate.bt_seed``).
- ``votes_by_challenge.csv``: the same per challenge (``challenge`` first), on that
  challenge's votes alone; a challenge whose votes do not link all its models is left out
  and named.
- ``votes.json``: the counts, the same fit on the pairs that the grades imply
  (:mod:`~vizhub_pipeline.analysis.grade_pairs`, overall score, bootstrap over (challenge,
  grader) groups), Kendall's tau between the two rankings with a paired-bootstrap interval
  (:mod:`~vizhub_pipeline.analysis.agreement`), and the graders' agreement on votes.
- A comparison graph in parts (some models never compared, directly or through others, with
  the rest) cannot be ranked on one scale: no leaderboard is written and the summary names
  the parts.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.params import AggregateParams

VOTES_LEADERBOARD_COLUMNS = ("rank", "model", "score", "ci_low", "ci_high", "votes")


@dataclass
class VoteRanking:
    """What the votes gave: files to write (name -> text) and lines for the summary."""

    files: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)


def rank_project_votes(
    root: Path,
    items,
    counted,
    params: AggregateParams,
    *,
    sources: Iterable[str] | None = None,
    now: datetime | None = None,
) -> VoteRanking | None:
    """The vote leaderboard and its agreement with the grades; ``None`` when no vote file exists."""
    import numpy as np

    from vizhub_pipeline.analysis.selection import make_source_filter
    from vizhub_pipeline.analysis.vote_table import BradleyTerryError
    from vizhub_pipeline.core.judgements.table import read_judgement_table
    from vizhub_pipeline.core.judgements.votes import KIND as VOTES

    table = read_judgement_table(root, VOTES, now=now)
    if not table.files:
        return None
    columns = table.columns
    selected = make_source_filter(sources)
    current = {key: items.artifact_hash[index] for index, key in enumerate(items.keys)}
    counts = {"read": len(table), "rejected": 0, "other_sources": 0, "unknown_item": 0, "stale": 0, "same_model": 0}
    latest: dict[tuple, tuple[str, int]] = {}  # (grader, pair) -> (voted_at, row)
    usable: list[tuple[str, int]] = []  # (voted_at, row) of every vote that may count, repeats included
    for row in range(len(table)):
        if columns["reason"][row]:
            counts["rejected"] += 1
            continue
        if not selected(str(columns["source"][row])):
            counts["other_sources"] += 1
            continue
        challenge = str(columns["challenge"][row])
        side_a = (challenge, str(columns["model_a"][row]), int(columns["sample_a"][row]))
        side_b = (challenge, str(columns["model_b"][row]), int(columns["sample_b"][row]))
        if side_a not in current or side_b not in current:
            counts["unknown_item"] += 1
            continue
        if (current[side_a], current[side_b]) != (columns["artifact_hash_a"][row], columns["artifact_hash_b"][row]):
            counts["stale"] += 1
            continue
        if side_a[1] == side_b[1]:
            counts["same_model"] += 1
            continue
        key = (str(columns["grader"][row]), tuple(sorted((side_a, side_b))))
        stamp = (str(columns["voted_at"][row]), row)
        usable.append(stamp)
        if key not in latest or stamp >= latest[key]:
            latest[key] = stamp
    rows = sorted(row for _, row in latest.values())
    counts["counted"] = len(rows)
    result = VoteRanking()
    result.lines.append(
        f"votes: {counts['counted']} counted of {counts['read']} read ({counts['stale']} stale, "
        f"{counts['rejected']} rejected by validate, {counts['other_sources']} of sources not selected, "
        f"{counts['unknown_item']} of unknown outputs, {counts['same_model']} between samples of one model)"
    )
    document: dict[str, Any] = {"votes": counts, "rounds": params.bt_rounds, "seed": params.bt_seed}
    result.document = document
    if not rows:
        result.lines.append("votes: none counts, so no vote leaderboard")
        return result

    from vizhub_pipeline.analysis.agreement import kendall_agreement, vote_agreement
    from vizhub_pipeline.analysis.bradley_terry import rank_votes
    from vizhub_pipeline.analysis.grade_pairs import GRADE_PAIRS_METHOD, count_grade_pairs, rank_grades
    from vizhub_pipeline.analysis.vote_table import ComparisonGraphError, count_votes

    picked = np.asarray(rows, dtype=np.int64)
    model_a, model_b = columns["model_a"][picked].astype(str), columns["model_b"][picked].astype(str)
    winner = columns["winner"][picked].astype(str)
    # agreement between graders and with themselves: every usable vote, in the order they were cast
    cast = np.asarray([row for _, row in sorted(usable)], dtype=np.int64)
    sides = [
        [f"{c}/{m}/{n}" for c, m, n in zip(*(columns[name][cast].tolist() for name in names), strict=True)]
        for names in (("challenge", "model_a", "sample_a"), ("challenge", "model_b", "sample_b"))
    ]
    document["grader_agreement"] = vote_agreement(
        sides[0], sides[1], columns["grader"][cast].astype(str), columns["winner"][cast].astype(str)
    ).to_json()
    try:
        votes = rank_votes(
            count_votes(model_a, model_b, winner),
            rounds=params.bt_rounds,
            confidence=params.confidence,
            seed=_seed(params.bt_seed, "votes"),
            context="votes",
        )
    except ComparisonGraphError as error:
        result.lines.append(f"no vote leaderboard: {error}")
        document["error"] = str(error)
        return result
    result.files["votes_leaderboard.csv"] = _csv(
        VOTES_LEADERBOARD_COLUMNS, ([row.to_json()[c] for c in VOTES_LEADERBOARD_COLUMNS] for row in votes.rows)
    )
    document["leaderboard"] = votes.to_json()
    result.lines.append(f"votes: Bradley-Terry leaderboard of {len(votes.rows)} model(s) in votes_leaderboard.csv")
    challenge_rows, apart = _rank_each_challenge(columns, picked, params)
    result.files["votes_by_challenge.csv"] = _csv(("challenge",) + VOTES_LEADERBOARD_COLUMNS, challenge_rows)
    for message in apart:
        result.lines.append(f"no vote ranking for {message}")
    document["by_challenge_unranked"] = apart

    grades: dict[str, Any] = {"method": GRADE_PAIRS_METHOD}
    document["grades"] = grades
    if not len(counted.item):
        grades["error"] = "no grade counts"
        return result
    item_keys = [items.keys[i] for i in counted.item.tolist()]
    try:
        implied = count_grade_pairs(
            [key[0] for key in item_keys],
            [counted.graders[g] for g in counted.grader.tolist()],
            [key[1] for key in item_keys],
            counted.scores("overall"),
        )
        by_grades = rank_grades(
            implied,
            rounds=params.bt_rounds,
            confidence=params.confidence,
            seed=_seed(params.bt_seed, "grades"),
            context="pairs implied by grades",
        )
    except BradleyTerryError as error:
        grades["error"] = str(error)
        result.lines.append(f"no Bradley-Terry ranking from the grades to compare with the votes: {error}")
        return result
    grades["leaderboard"] = by_grades.to_json()
    agreement = kendall_agreement(votes, by_grades)
    document["kendall_tau"] = agreement.to_json()
    if agreement.tau is not None:
        bounds = "" if agreement.ci_low is None else f" [{agreement.ci_low:.2f}, {agreement.ci_high:.2f}]"
        result.lines.append(
            f"votes vs grades: Kendall's tau {agreement.tau:.2f}{bounds} over {agreement.models} model(s)"
        )
    return result


def _rank_each_challenge(columns, picked, params: AggregateParams) -> tuple[list[list[Any]], list[str]]:
    """Each challenge's own Bradley-Terry ranking of the counted votes (rows for
    ``votes_by_challenge.csv``), and the challenges whose comparison graph is in parts."""
    from vizhub_pipeline.analysis.bradley_terry import rank_votes
    from vizhub_pipeline.analysis.vote_table import ComparisonGraphError, count_votes

    challenge = columns["challenge"][picked].astype(str)
    rows: list[list[Any]] = []
    apart: list[str] = []
    for name in sorted(set(challenge.tolist())):
        mine = picked[challenge == name]
        try:
            ranking = rank_votes(
                count_votes(
                    columns["model_a"][mine].astype(str),
                    columns["model_b"][mine].astype(str),
                    columns["winner"][mine].astype(str),
                ),
                rounds=params.bt_rounds,
                confidence=params.confidence,
                seed=_seed(params.bt_seed, f"votes {name}"),
                context=f"challenge {name}",
            )
        except ComparisonGraphError as error:
            apart.append(str(error))
            continue
        rows += [[name] + [row.to_json()[c] for c in VOTES_LEADERBOARD_COLUMNS] for row in ranking.rows]
    return rows, apart


def _seed(seed: int, label: str) -> int:
    """A seed for one use of ``aggregate.bt_seed``, independent of the others."""
    import numpy as np

    return int(np.random.SeedSequence([seed, zlib.crc32(label.encode("utf-8"))]).generate_state(1)[0])


def _csv(columns, rows) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            ["" if value is None else f"{value:.2f}" if isinstance(value, float) else value for value in row]
        )
    return buffer.getvalue()
