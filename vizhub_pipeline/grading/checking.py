"""Checking a judgement before it is written: its values, and that the outputs it judges exist
and still have the artifact hash the grader saw."""

from __future__ import annotations

from typing import Any

from vizhub_pipeline.core.errors import InputError
from vizhub_pipeline.core.judgements.kind import ItemKey, JudgementKind
from vizhub_pipeline.core.layout import Layout, is_safe_slug
from vizhub_pipeline.core.records import read_generation


def check_judgement(layout: Layout, kind: JudgementKind, record: Any) -> list[str]:
    """What is wrong with a judgement about to be written (empty when nothing)."""
    problems = kind.check_record(record)
    if problems:
        return problems
    for key, artifact in kind.artifacts(record):
        problems = check_output(layout, kind, key, artifact)
        if problems:
            return problems
    return []


def check_output(layout: Layout, kind: JudgementKind, key: ItemKey, artifact: str) -> list[str]:
    """The judged output exists and still has the artifact hash the grader saw."""
    challenge, model, sample = key
    if not isinstance(challenge, str) or not is_safe_slug(challenge):
        return [f"unknown challenge {challenge!r}: not a challenge id"]
    if not (layout.visualizations / challenge).is_dir():
        return [f"unknown challenge {challenge!r}: no outputs in {layout.visualizations / challenge}"]
    try:
        meta = layout.visualization_dir(challenge, model, sample) / "meta.json"
    except ValueError:
        return [f"unknown model {model!r} for challenge {challenge!r}"]
    if not meta.is_file():
        return [f"unknown model {model!r} (sample {sample}) for challenge {challenge!r}: no {meta}"]
    try:
        generation = read_generation(meta)
    except InputError as exc:
        return [f"cannot read the output's metadata: {exc}"]
    if not artifact or generation.artifact_hash != artifact:
        return [
            f"stale: the {kind.noun[0]} is for artifact {artifact!r} but {challenge}/{model} "
            f"is now {generation.artifact_hash!r}; look at the current output and {kind.noun[0]} again"
        ]
    return []
