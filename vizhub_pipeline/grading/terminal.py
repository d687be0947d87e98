"""The small terminal grading script: ``vizhub grade --cli``.

Walks the outputs this grader has not graded yet (or whose grade went stale), shows where the
screenshot is, how the page rendered and which checks passed, asks for functionality,
aesthetics and notes, and submits each grade through :mod:`vizhub_pipeline.grading.submit` (a commit
per grade, or one per session with ``grade.commit: batch``), with source ``cli`` and whether the
session was blind. Input and output are streams, so a test can drive a whole session.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from vizhub_pipeline.core import rubric
from vizhub_pipeline.core.errors import InputError
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.records import Generation, Grade, Render, iter_generations, read_render, utc_now_iso
from vizhub_pipeline.core.terminal_text import for_terminal
from vizhub_pipeline.grading.errors import GradeCommitError, GradeError
from vizhub_pipeline.grading.loading import graded_items, left_out_note
from vizhub_pipeline.grading.submit import check_can_commit, commit_judgement_files, submit_judgements

QUIT = ("q", "quit", "exit")
SKIP = ("s", "skip")


class _Quit(Exception):
    pass


class _Skip(Exception):
    pass


@dataclass
class SessionSummary:
    """What a session did."""

    graded: int = 0
    skipped: int = 0
    remaining: int = 0
    commits: list[str] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class _PendingOutput:
    """An output this grader has still to grade."""

    generation: Generation
    previous: Grade | None  # this grader's earlier grade, when it went stale


def run_grading_session(
    layout: Layout,
    *,
    grader: str,
    challenges=(),
    models=(),
    params=None,
    input: TextIO | None = None,
    output: TextIO | None = None,
    branch: str | None = None,
    blind: bool | None = None,
    include_failed: bool = False,
) -> SessionSummary:
    """Grade in the terminal until every selected output is graded, or the grader types q.

    Outputs whose generation failed (status ``error``: nothing to look at) are left out and
    counted in one line, unless ``include_failed``.

    Blind (``grade.blind``, default): model names are hidden, the order is shuffled for this
    grader, and screenshots are shown as copies with neutral names in a temporary folder."""
    import shutil
    import tempfile

    input = input or sys.stdin
    output = output or sys.stdout
    grade_params = getattr(params, "grade", params)
    batch = getattr(grade_params, "commit", "submission") == "batch" and not branch
    blind = bool(getattr(grade_params, "blind", True)) if blind is None else blind
    shots = Path(tempfile.mkdtemp(prefix="vizhub-blind-")) if blind else None
    try:
        return _run(layout, grader, challenges, models, input, output, branch, blind, batch, shots, include_failed)
    finally:
        if shots is not None:
            shutil.rmtree(shots, ignore_errors=True)


def _run(
    layout, grader, challenges, models, input, output, branch, blind, batch, shots, include_failed
) -> SessionSummary:
    note = check_can_commit(layout, commit=True, branch=branch)
    left_out: list[Generation] = []
    items = select_items(
        layout,
        grader,
        challenges=challenges,
        models=models,
        branch=branch,
        blind=blind,
        include_failed=include_failed,
        left_out=left_out,
    )
    say = Printer(output)
    if note:
        say(f"Note: {note}")
    failed = left_out_note(((gen.status, gen.error) for gen in left_out), hint="; grade them too with --include-failed")
    if failed:
        say(f"Note: {failed}")
    if not items:
        say(f"Nothing to grade: {grader} has graded every selected output.")
        return SessionSummary()
    say(f"Grading as {grader}: {len(items)} output(s) to grade. Type ? for the rubric, s to skip an output, q to stop.")
    summary = SessionSummary(remaining=len(items))
    pending: list[Grade] = []
    for number, item in enumerate(items, 1):
        _show_item(layout, item, number, len(items), shots, say)
        try:
            functionality = _ask_score("Functionality 0-5", rubric.FUNCTIONALITY, input, say)
            aesthetics = _ask_score("Aesthetics 0-5", rubric.AESTHETICS, input, say)
            notes = _ask_line("Notes (Enter for none)", input, say, commands=False)
        except _Skip:
            summary.skipped += 1
            say("Skipped.")
            continue
        except _Quit:
            break
        gen = item.generation
        grade = Grade(
            gen.challenge,
            gen.model,
            gen.sample,
            gen.artifact_hash or "",
            functionality,
            aesthetics,
            notes.strip(),
            grader,
            utc_now_iso(),
            source="cli",
            blind=blind,
        )
        try:
            result = submit_judgements(layout, [grade], commit=not batch, branch=branch)
        except GradeCommitError as exc:
            say(f"Warning: {exc}")
            summary.graded += 1
            summary.remaining -= 1
            _remember(summary.paths, exc.path)
            continue
        except GradeError as exc:
            say(f"Not saved: {exc}")
            continue
        summary.graded += 1
        summary.remaining -= 1
        _remember(summary.paths, result.path)
        pending.append(grade)
        if result.commit_id:
            summary.commits.append(result.commit_id)
        say(result.message)
    if batch and pending:
        result = commit_judgement_files(layout, grader, summary.paths, pending)
        if result.commit_id:
            summary.commits.append(result.commit_id)
        say(result.message)
    say(f"Done: {summary.graded} graded, {summary.skipped} skipped, {summary.remaining} left.")
    if branch and summary.commits:
        say(f"Share them for review: git push origin {branch}")
    return summary


def select_items(
    layout: Layout,
    grader: str,
    *,
    challenges=(),
    models=(),
    branch: str | None = None,
    blind: bool = True,
    include_failed: bool = False,
    left_out: list[Generation] | None = None,
) -> list[_PendingOutput]:
    """The outputs to grade: selected, not yet graded by ``grader`` at their current artifact hash.

    Failed generations (status ``error``) are appended to ``left_out`` instead, unless ``include_failed``."""
    wanted_challenges = set(challenges or ())
    wanted_models = set(models or ())
    found: list[Generation] = []
    seen_challenges = set()
    for _, generation in iter_generations(layout.visualizations, skip_unreadable=True):
        seen_challenges.add(generation.challenge)
        if wanted_challenges and generation.challenge not in wanted_challenges:
            continue
        if wanted_models and generation.model not in wanted_models:
            continue
        if generation.status == "error" and not include_failed:
            if left_out is not None:
                left_out.append(generation)
            continue
        found.append(generation)
    missing = sorted(wanted_challenges - seen_challenges)
    if missing:
        raise GradeError(
            f"no outputs for challenge(s) {', '.join(missing)} in {layout.visualizations}; run vizhub generate first"
        )
    mine = graded_items(layout, grader, branch=branch)
    items = []
    for generation in found:
        previous = mine.get((generation.challenge, generation.model, generation.sample))
        if previous is not None and previous.artifact_hash == generation.artifact_hash:
            continue
        items.append(_PendingOutput(generation, previous))
    if blind:
        random.Random(f"vizhub-grading:{grader}").shuffle(items)
    return items


def _show_item(layout: Layout, item: _PendingOutput, number: int, total: int, shots: Path | None, say) -> None:
    """What the grader needs to see; with ``shots`` (blind) nothing that names the model."""
    gen = item.generation
    who = f"output {number}" if shots else (gen.model if gen.sample == 0 else f"{gen.model} sample {gen.sample}")
    say("")
    say(f"[{number}/{total}] {gen.challenge} - {who}")
    if item.previous is not None:
        say(
            f"  (you graded an earlier version: functionality {item.previous.functionality}, "
            f"aesthetics {item.previous.aesthetics})"
        )
    if gen.status != "ok":
        say(f"  generation: {gen.status}" + (f" ({gen.error})" if gen.error else ""))
    folder = layout.render_dir(gen.challenge, gen.model, gen.sample)
    render = _read_render(folder / "render.json")
    shot = folder / "screenshot.png"
    if not shot.exists():
        say("  screenshot: missing (run vizhub screenshot)")
    elif shots is not None:
        import shutil

        shown = shots / f"output-{number}.png"
        shutil.copyfile(shot, shown)
        say(f"  screenshot: {shown}")
    else:
        say(f"  screenshot: {relative_path(layout, shot)}")
    if shots is None:
        say(f"  page: {relative_path(layout, layout.visualization_dir(gen.challenge, gen.model, gen.sample))}")
    if render is None:
        say("  render: not rendered yet (run vizhub screenshot)")
        return
    stale = "" if render.artifact_hash == gen.artifact_hash else " (out of date: rerun vizhub screenshot)"
    say(f"  render: {render.status}, checks {render.checks_passed}/{len(render.checks)} passed{stale}")
    for check in render.checks:
        mark = "pass" if check.passed else "FAIL"
        detail = f": {check.message}" if check.message else ""
        step = f" [{check.step}]" if check.step else ""
        world = " (run in the page: it could fake this one)" if check.page_world else ""
        say(f"    {mark} {check.name}{world}{step}{detail}")
    for error in render.page_errors[:3] + render.console_errors[:3]:
        say(f"    error in page: {error}")


def _read_render(path: Path) -> Render | None:
    if not path.is_file():
        return None
    try:
        return read_render(path)
    except InputError:
        return None


def _ask_score(label: str, meanings: tuple[str, ...], input: TextIO, say) -> int:
    while True:
        answer = _ask_line(label, input, say).strip().lower()
        if answer in SKIP:
            raise _Skip
        if answer == "?":
            for score, meaning in enumerate(meanings):
                say(f"  {score}  {meaning}")
            continue
        if answer.isdigit() and 0 <= int(answer) <= 5 and len(answer) == 1:
            return int(answer)
        say("  Enter a whole number from 0 to 5, s to skip this output or q to stop.")


def _ask_line(label: str, input: TextIO, say, *, commands: bool = True) -> str:
    say.prompt(f"{label}: ")
    line = input.readline()
    if not line:  # end of input: stop cleanly
        say("")
        raise _Quit
    answer = line.rstrip("\r\n")
    if commands and answer.strip().lower() in QUIT:
        raise _Quit
    return answer


class Printer:
    def __init__(self, stream: TextIO):
        self.stream = stream

    def __call__(self, text: str) -> None:
        # every line may hold untrusted text (page errors, check messages, names): escaped whole
        self.stream.write(for_terminal(text) + "\n")
        self.stream.flush()

    def prompt(self, text: str) -> None:
        self.stream.write(for_terminal(text))
        self.stream.flush()


def _remember(paths: list[Path], path: Path) -> None:
    if path not in paths:
        paths.append(path)


def relative_path(layout: Layout, path: Path) -> str:
    try:
        return Path(path).relative_to(layout.root).as_posix()
    except ValueError:
        return str(path)
