"""``vizhub challenge check --render``: does each challenge tell a solution from its starter?

The starter and the reference solution are written as the two baseline outputs of a
scratch project and rendered by the screenshot stage itself (real Chromium, the same
sandbox, checks and interaction steps; a code challenge's test in its sandbox). The
reference must pass every check (a code challenge's test) and the starter must fail at
least one, or the challenge cannot rank models.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence

from vizhub_pipeline.core.challenges import Challenge
from vizhub_pipeline.core.layout import Layout, hash_files
from vizhub_pipeline.core.params import ScreenshotParams
from vizhub_pipeline.core.records import Generation, read_render, write_generation

STARTER = "baseline/starter"
REFERENCE = "baseline/reference"


def _write_output(layout: Layout, challenge: Challenge, model: str, files: dict[str, str]) -> None:
    folder = layout.visualization_dir(challenge.id, model)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    write_generation(
        folder / "meta.json",
        Generation(
            challenge=challenge.id,
            model=model,
            sample=0,
            status="ok",
            input_hash="0" * 16,
            artifact_hash=hash_files(files),
            files=tuple(sorted(files)),
        ),
    )


def verify_challenges(
    challenges: Sequence[Challenge],
    params: ScreenshotParams,
    *,
    echo: Callable[[str], None] | None = None,
    executable: str | None = None,
) -> dict[str, list[str]]:
    """For each challenge with a reference: what is wrong with its reference and starter (empty: fine)."""
    from vizhub_pipeline.screenshot.stage import run_screenshot

    selected = [challenge for challenge in challenges if challenge.reference]
    if not selected:
        return {}
    with tempfile.TemporaryDirectory(prefix="vizhub-verify-") as scratch:
        layout = Layout.at(scratch)
        for challenge in selected:
            shutil.copytree(challenge.path, layout.challenge_dir(challenge.id))
            _write_output(layout, challenge, STARTER, dict(challenge.files))
            _write_output(layout, challenge, REFERENCE, challenge.reference_files)
        summary = run_screenshot(layout, params, force=True, progress=False, echo=echo, executable=executable)
        found = {}
        for challenge in selected:
            done = all((layout.render_dir(challenge.id, m) / "render.json").is_file() for m in (STARTER, REFERENCE))
            if done:
                found[challenge.id] = _judge(layout, challenge)
            else:  # the stage could not handle it (no sandbox, a broken browser): say why
                why = [line for line in summary.failures if line.startswith(f"{challenge.id}/")] or summary.failures
                found[challenge.id] = [f"not verified: {line}" for line in why] or ["not verified"]
    return found


def _judge(layout: Layout, challenge: Challenge) -> list[str]:
    problems = []
    reference = read_render(layout.render_dir(challenge.id, REFERENCE) / "render.json")
    starter = read_render(layout.render_dir(challenge.id, STARTER) / "render.json")
    if challenge.test is not None:
        if reference.status != "passed":
            problems.append(f"the reference fails its test ({reference.status}): {reference.error or ''}".rstrip(": "))
        if starter.status == "passed":
            problems.append("the starter passes the test: it cannot tell an unedited output from a solution")
        return problems
    if reference.status != "rendered":
        problems.append(f"the reference did not render ({reference.status}): {reference.error or ''}".rstrip(": "))
    for check in reference.checks:
        if not check.passed:
            where = f" at step {check.step}" if check.step else ""
            problems.append(f"the reference fails check {check.name!r}{where}: {check.message}")
    if reference.status == "rendered" and all(check.passed for check in starter.checks):
        problems.append("the starter passes every check: the checks cannot tell an unedited page from a solution")
    return problems
