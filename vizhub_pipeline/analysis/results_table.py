"""``results/results.csv``: the original vizhub-benchmarks' main results file, one row per output.

The original's columns come first, in its order, then this project's: ``challenge, model,
passFail, grade, aesthetics, reviewedBy, reviewedAt, notes, type, sample, artifact_hash,
checks_passed, checks_total``.

- ``passFail``: for a code challenge, ``pass`` when its test passed on the current version of
  the output, ``fail`` when it failed, errored or timed out; for a visualization, ``pass`` when
  the page rendered without a page error, else ``fail``. Empty when the current version has no
  render or test run yet.
- ``grade`` (functionality) and ``aesthetics``: the consensus means (0-5) of the grades that
  count (see :mod:`~vizhub_pipeline.analysis.aggregate`); empty when ungraded.
- ``reviewedBy``: those graders, sorted, joined with ``;``; ``reviewedAt``: the latest of
  their ``graded_at``; ``notes``: their notes on one line (each grader's prefixed with the
  grader's name when several graded), joined with `` | ``.

Rows are sorted by challenge, model and sample; the same inputs give the same bytes.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from vizhub_pipeline.core.records import format_float

RESULTS_COLUMNS = (
    "challenge",
    "model",
    "passFail",
    "grade",
    "aesthetics",
    "reviewedBy",
    "reviewedAt",
    "notes",
    "type",
    "sample",
    "artifact_hash",
    "checks_passed",
    "checks_total",
)


def pass_fail(kind: str, render_status: str | None, page_errors: int | None, test_status: str | None) -> str:
    """``pass``, ``fail`` or empty (no current render or test run), by the rules of the module docstring."""
    if kind == "code":
        if test_status is None:
            return ""
        return "pass" if test_status == "passed" else "fail"
    if render_status is None:
        return ""
    return "pass" if render_status == "rendered" and not page_errors else "fail"


def score_text(value: float) -> str:
    """A consensus mean as short as it is exact to four places: ``4``, ``3.5``, ``3.3333``."""
    text = format_float(value)
    return text.rstrip("0").rstrip(".") if "." in text and text else text


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def results_rows(items, counted, summary: dict[str, Any]) -> list[list[str]]:
    """The rows of ``results.csv`` (without the header), in ``items`` order (challenge, model, sample)."""
    import math

    reviews: dict[int, list[tuple[str, str, str]]] = {}  # item -> (grader, graded_at, notes)
    for item, grader, at, note in zip(
        counted.item.tolist(), counted.grader.tolist(), counted.graded_at.tolist(), counted.notes.tolist(), strict=True
    ):
        reviews.setdefault(item, []).append((counted.graders[grader], str(at), one_line(str(note or ""))))
    rows = []
    for index, (challenge, model, sample) in enumerate(items.keys):
        mine = sorted(reviews.get(index, []))
        scores = []
        for dim in ("functionality", "aesthetics"):
            mean = float(summary[dim]["mean"][index])
            scores.append("" if math.isnan(mean) else score_text(mean))
        noted = [(grader, note) for grader, _, note in mine if note]
        if len(mine) > 1:
            notes = " | ".join(f"{grader}: {note}" for grader, note in noted)
        else:
            notes = " | ".join(note for _, note in noted)
        checks_total = items.checks_total[index]
        rows.append(
            [
                challenge,
                model,
                pass_fail(
                    items.kind[index], items.render_status[index], items.page_errors[index], items.test_status[index]
                ),
                *scores,
                ";".join(grader for grader, _, _ in mine),
                max((at for _, at, _ in mine), default=""),
                notes,
                items.kind[index],
                str(sample),
                items.artifact_hash[index] or "",
                "" if checks_total is None else str(items.checks_passed[index]),
                "" if checks_total is None else str(checks_total),
            ]
        )
    return rows


def format_results(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RESULTS_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()
