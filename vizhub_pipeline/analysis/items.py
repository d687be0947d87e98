"""The outputs the aggregate stage counts: every generation with its current render or test run.

An output's kind is its challenge's ``type`` (``visualization`` or ``code``) in
``challenges/<id>/challenge.yaml``; for a challenge folder that no longer exists, ``code`` when
its render holds a test run. A render of another artifact than the current one is outdated and
counts for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.records import iter_generations, iter_renders


@dataclass
class OutputTable:
    """Every existing item (one generation), sorted by (challenge, model, sample), as columns."""

    keys: list[tuple[str, str, int]]
    artifact_hash: list[str | None]
    status: list[str]
    tokens_in: list[int | None]
    tokens_out: list[int | None]
    cost: list[float | None]
    render_status: list[str | None]
    checks_passed: list[int | None]
    checks_total: list[int | None]
    render_outdated: list[bool]
    # the challenge's type (``visualization`` or ``code``) and, for a current render, whether the page
    # had a page error (visualizations) and the test's status (code challenges)
    kind: list[str] = field(default_factory=list)
    page_errors: list[int | None] = field(default_factory=list)
    test_status: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)


def collect_items(layout: Layout) -> OutputTable:
    """Every generation, with its current render (a render of another artifact is outdated).

    An output's kind is its challenge's ``type`` in ``challenges/<id>/challenge.yaml``; for a
    challenge folder that no longer exists, ``code`` when its render holds a test run."""
    generations = {}
    for _, generation in iter_generations(layout.visualizations):
        generations[(generation.challenge, generation.model, generation.sample)] = generation
    renders = {(render.challenge, render.model, render.sample): render for _, render in iter_renders(layout.renders)}
    keys = sorted(generations)
    items = OutputTable(keys, [], [], [], [], [], [], [], [], [])
    challenge_types: dict[str, str | None] = {}
    for key in keys:
        generation = generations[key]
        items.artifact_hash.append(generation.artifact_hash)
        items.status.append(generation.status)
        items.tokens_in.append(generation.tokens_in)
        items.tokens_out.append(generation.tokens_out)
        items.cost.append(generation.cost)
        render = renders.get(key)
        current = render if render is not None and render.artifact_hash == generation.artifact_hash else None
        items.render_outdated.append(render is not None and current is None)
        items.render_status.append(current.status if current else None)
        items.checks_passed.append(current.checks_passed if current else None)
        items.checks_total.append(len(current.checks) if current else None)
        kind = _challenge_type(layout, key[0], challenge_types)
        if kind is None:
            kind = "code" if render is not None and render.test is not None else "visualization"
        items.kind.append(kind)
        items.page_errors.append(len(current.page_errors) if current else None)
        items.test_status.append(current.status if current and kind == "code" else None)
    return items


def _challenge_type(layout: Layout, challenge: str, known: dict[str, str | None]) -> str | None:
    """The ``type`` of a challenge folder (read once per challenge), ``None`` when it has none."""
    from vizhub_pipeline.core.challenges import load_challenge

    if challenge not in known:
        folder = layout.challenge_dir(challenge)
        known[challenge] = load_challenge(folder).type if (folder / "challenge.yaml").is_file() else None
    return known[challenge]
