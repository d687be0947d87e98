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
    """The text with every run of white space (line breaks included) made one space."""
    return " ".join(text.split())


def results_rows(items, counted, summary: dict[str, Any]) -> list[list[str]]:
    """The rows of ``results.csv`` (without the header), in ``items`` order (challenge, model, sample)."""
    import math

    import numpy as np

    # the counted grades grouped by item, graders in name order (their codes are sorted by name)
    order = np.lexsort((counted.grader, counted.item))
    item_of = counted.item[order]
    starts = np.searchsorted(item_of, np.arange(len(items.keys)), side="left")
    ends = np.searchsorted(item_of, np.arange(len(items.keys)), side="right")
    names = [counted.graders[code] for code in counted.grader[order].tolist()]
    times = [str(at) for at in counted.graded_at[order].tolist()]
    notes = [str(note) if note else "" for note in counted.notes[order].tolist()]
    rows = []
    for index, (challenge, model, sample) in enumerate(items.keys):
        first, last = int(starts[index]), int(ends[index])
        graders = names[first:last]
        noted = [(grader, one_line(note)) for grader, note in zip(graders, notes[first:last], strict=True) if note]
        if len(graders) > 1:
            note_text = " | ".join(f"{grader}: {note}" for grader, note in noted if note)
        else:
            note_text = " | ".join(note for _, note in noted if note)
        scores = []
        for dim in ("functionality", "aesthetics"):
            mean = float(summary[dim]["mean"][index])
            scores.append("" if math.isnan(mean) else score_text(mean))
        checks_total = items.checks_total[index]
        rows.append(
            [
                challenge,
                model,
                pass_fail(
                    items.kind[index], items.render_status[index], items.page_errors[index], items.test_status[index]
                ),
                *scores,
                ";".join(graders),
                max(times[first:last], default=""),
                note_text,
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
