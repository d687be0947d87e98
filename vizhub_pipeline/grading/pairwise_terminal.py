"""Pairwise votes in the terminal: ``vizhub grade --pairwise --cli``.

Shows the pairs of :class:`~vizhub_pipeline.grading.pairing.PairQueue` one at a time: the
challenge's prompt, its interaction steps, then for side A (left) and side B (right) the
screenshots (captioned with their step), how the page rendered, its checks and errors. Keys:
``a`` A is better, ``b`` B is better, ``t`` tie, ``x`` both bad, ``s`` skip (the pair comes back
at the end), ``f`` flag the vote for review, ``n`` add a note, ``q`` stop, ``?`` help. Each vote is
submitted through :mod:`vizhub_pipeline.grading.submit` (source ``cli``; a commit per vote, or
one per session with ``grade.commit: batch``; onto ``--branch`` when given), like grades.

Blind (``grade.blind``): no model name is shown, before or after a vote (the next pair may hold
one of the same outputs), and screenshots are shown as copies with neutral names.
Everything a page or a model wrote is printed escaped (:func:`~vizhub_pipeline.core.terminal_text.for_terminal`).
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from vizhub_pipeline.core.challenges import Challenge, discover_challenges
from vizhub_pipeline.core.judgements.votes import Vote
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.grading.errors import GradeCommitError, GradeError
from vizhub_pipeline.grading.pairing import PairItem, PairQueue
from vizhub_pipeline.grading.submit import check_can_commit, commit_judgement_files, submit_judgements
from vizhub_pipeline.grading.terminal import Printer, relative_path
from vizhub_pipeline.grading.web.detail import render_view
from vizhub_pipeline.grading.web.items import Catalog, GradableOutput

WINNER_KEYS = {"a": "a", "b": "b", "t": "tie", "x": "both_bad"}
WINNER_WORDS = {"a": "A is better", "b": "B is better", "tie": "a tie", "both_bad": "both bad"}
HELP = (
    "  a  A (left) is better      b  B (right) is better",
    "  t  tie: equally good       x  both bad",
    "  s  skip: the pair comes back at the end, nothing is saved",
    "  f  flag this vote for review (again: unflag)",
    "  n  add a note to this vote",
    "  q  stop; votes already given are kept",
)


@dataclass
class PairwiseSummary:
    """What a pairwise session did."""

    voted: int = 0
    skipped: int = 0
    flagged: int = 0
    seconds: float = 0.0
    commits: list[str] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)


class _Quit(Exception):
    pass


def run_pairwise_session(
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
) -> PairwiseSummary:
    """Vote on pairs in the terminal until none is left or the grader types q."""
    import tempfile

    grade_params = getattr(params, "grade", params)
    blind = bool(getattr(grade_params, "blind", True)) if blind is None else blind
    batch = getattr(grade_params, "commit", "submission") == "batch" and not branch
    say = Printer(output or sys.stdout)
    note = check_can_commit(layout, commit=True, branch=branch)
    found, problems = discover_challenges(layout.challenges, tuple(challenges or ()))
    if challenges and problems:
        raise GradeError("; ".join(str(problem) for problem in problems))
    catalog = Catalog(
        layout, grader, blind=blind, challenges={c.id: c for c in found}, only_models=models or (), branch=branch
    )
    queue = PairQueue(
        catalog,
        layout,
        grader,
        seed=getattr(grade_params, "pairwise_seed", 0),
        repeat_share=getattr(grade_params, "pairwise_repeat_share", 0.0),
    )
    if note:
        say(f"Note: {note}")
    for problem in problems:
        say(f"Note: challenge skipped: {problem}")
    for line in catalog.notes:
        say(f"Note: {line}")
    shots = Path(tempfile.mkdtemp(prefix="vizhub-blind-")) if blind else None
    session = _Session(layout, queue, catalog, say, input or sys.stdin, blind, shots, branch, batch)
    try:
        return session.run()
    finally:
        if shots is not None:
            shutil.rmtree(shots, ignore_errors=True)


class _Session:
    def __init__(self, layout, queue: PairQueue, catalog: Catalog, say: Printer, input, blind, shots, branch, batch):
        self.layout = layout
        self.queue = queue
        self.catalog = catalog
        self.say = say
        self.input = input
        self.blind = blind
        self.shots = shots
        self.branch = branch
        self.batch = batch
        self.summary = PairwiseSummary()
        self.pending: list[Vote] = []
        self.shown = 0
        self.last_challenge: str | None = None

    def run(self) -> PairwiseSummary:
        say, queue = self.say, self.queue
        started = time.monotonic()
        progress = queue.progress()
        if progress["total"] == 0:
            say("Nothing to vote on: no challenge of the selection has two outputs to compare.")
            return self.summary
        if progress["remaining"] == 0:
            say(f"Nothing to vote on: {queue.grader} has voted on all {progress['total']} pair(s).")
            return self.summary
        say(
            f"Voting as {queue.grader}: {progress['remaining']} pair(s) to vote on. "
            "Type a, b, t or x to vote, s to skip, f to flag, n for a note, ? for help, q to stop."
        )
        while True:
            pair = queue.next()
            if pair is None:
                break
            self.shown += 1
            self._show(pair)
            try:
                vote = self._ask(pair)
            except _Quit:
                break
            if vote is None:
                queue.skip(pair)
                self.summary.skipped += 1
                say("Skipped: this pair comes back at the end.")
                continue
            self._submit(vote)
        if self.batch and self.pending:
            result = commit_judgement_files(self.layout, queue.grader, self.summary.paths, self.pending)
            if result.commit_id:
                self.summary.commits.append(result.commit_id)
            say(result.message)
        self.summary.seconds = time.monotonic() - started
        left = queue.progress()["remaining"]
        minutes, seconds = divmod(round(self.summary.seconds), 60)
        say(
            f"Done: {self.summary.voted} voted, {self.summary.skipped} skipped, {self.summary.flagged} flagged, "
            f"{left} pair(s) left; time {minutes}:{seconds:02d}."
        )
        if self.branch and self.summary.commits:
            say(f"Share them for review: git push origin {self.branch}")
        return self.summary

    # -- showing
    def _show(self, pair: PairItem) -> None:
        say = self.say
        progress = self.queue.progress()
        challenge = self.catalog.challenges.get(pair.challenge)
        say("")
        repeat = " (asked again, to measure agreement)" if pair.repeat else ""
        say(f"[pair {self.shown}] {pair.challenge}{repeat}  ({progress['voted']} voted, {progress['remaining']} left)")
        if challenge is not None and pair.challenge != self.last_challenge:
            say("  Prompt:")
            for line in challenge.prompt.strip().splitlines():
                say(f"  | {line}")
            _show_steps(challenge, say)
        elif challenge is not None:
            say("  Prompt: as above.")
        self.last_challenge = pair.challenge
        for side, output in (("A", pair.left), ("B", pair.right)):
            self._show_side(side, output, challenge)

    def _show_side(self, side: str, output: GradableOutput, challenge: Challenge | None) -> None:
        say = self.say
        who = "" if self.blind else f": {output.model}" + (f" sample {output.sample}" if output.sample else "")
        say(f"  Side {side} ({'left' if side == 'A' else 'right'}){who}")
        if not self.blind:
            say(f"    page: {relative_path(self.layout, output.folder)}")
        render_dir = self.layout.render_dir(output.challenge, output.model, output.sample)
        view = render_view(render_dir, output, challenge)
        if view.render is None:
            say(f"    {view.problem}")
            return
        render = view.render
        stale = " (out of date: rerun vizhub screenshot)" if view.outdated else ""
        say(f"    render: {render.status}, checks {render.checks_passed}/{len(render.checks)} passed{stale}")
        for number, shot in enumerate(view.shots, 1):
            path = render_dir / shot.name
            if not path.is_file():
                say(f"    screenshot ({shot.caption}): missing")
                continue
            if self.shots is not None:
                shown = self.shots / f"pair-{self.shown}-{side}-{number}{path.suffix.lower()}"
                shutil.copyfile(path, shown)
                say(f"    screenshot ({shot.caption}): {shown}")
            else:
                say(f"    screenshot ({shot.caption}): {relative_path(self.layout, path)}")
        for check in render.checks:
            mark = "pass" if check.passed else "FAIL"
            step = f" [{check.step}]" if check.step else ""
            detail = f": {check.message}" if check.message else ""
            world = " (run in the page: it could fake this one)" if check.page_world else ""
            say(f"    {mark} {check.name}{world}{step}{detail}")
        for error in render.page_errors[:3] + render.console_errors[:3]:
            say(f"    error in page: {error}")

    # -- asking
    def _ask(self, pair: PairItem) -> Vote | None:
        """The vote on ``pair``, or ``None`` to skip it."""
        flagged, notes = False, ""
        while True:
            answer = self._line("Vote a/b/t/x (s skip, f flag, n note, ? help, q stop)").strip().lower()
            if answer in WINNER_KEYS:
                return self.queue.record_vote(
                    pair, WINNER_KEYS[answer], flagged=flagged, notes=notes, source="cli", blind=self.blind
                )
            if answer in ("s", "skip"):
                return None
            if answer in ("q", "quit", "exit"):
                raise _Quit
            if answer == "f":
                flagged = not flagged
                self.say("  Flagged for review." if flagged else "  Flag removed.")
            elif answer == "n":
                notes = self._line("  Note (Enter for none)").strip()
                self.say(f"  Note: {notes}" if notes else "  No note.")
            elif answer == "?":
                for line in HELP:
                    self.say(line)
            else:
                self.say("  Type a, b, t or x to vote, s to skip, f to flag, n for a note, q to stop.")

    def _line(self, label: str) -> str:
        self.say.prompt(f"{label}: ")
        line = self.input.readline()
        if not line:  # end of input: stop cleanly
            self.say("")
            raise _Quit
        return line.rstrip("\r\n")

    def _submit(self, vote: Vote) -> None:
        say, summary = self.say, self.summary
        try:
            result = submit_judgements(self.layout, [vote], commit=not self.batch, branch=self.branch)
        except GradeCommitError as exc:
            say(f"Warning: {exc}")
            self._count(vote, exc.path)
            return
        except GradeError as exc:
            self.queue.refresh()  # the vote was not written: forget it
            say(f"Not saved: {exc}")
            return
        self._count(vote, result.path)
        self.pending.append(vote)
        if result.commit_id:
            summary.commits.append(result.commit_id)
        say(f"{WINNER_WORDS[vote.winner].capitalize()}{' (flagged)' if vote.flagged else ''}. {result.message}")

    def _count(self, vote: Vote, path: Path) -> None:
        self.summary.voted += 1
        self.summary.flagged += int(vote.flagged)
        if path not in self.summary.paths:
            self.summary.paths.append(path)


def _show_steps(challenge: Challenge, say: Printer) -> None:
    if not challenge.interactions:
        return
    say("  Interaction steps (screenshots after each):")
    for number, step in enumerate(challenge.interactions, 1):
        target = f" {step.selector}" if step.selector else ""
        target += f" #{step.nth + 1}" if step.selector and step.nth else ""
        key = f" {step.key}" if step.key else ""
        say(f"    {number}. {step.name}: {step.action}{target}{key}")
