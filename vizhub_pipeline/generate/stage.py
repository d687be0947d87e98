"""The generate stage: every selected model edits every selected challenge.

For each item (challenge, model, sample) the stage sends the edit prompt through
:mod:`vizhub_pipeline.core.llm`, parses the reply into whole files and writes
``visualizations/<challenge>/<model>/`` atomically: the starter with the edits applied,
``response.md`` (the raw reply, always kept) and ``meta.json``. An item whose input hash
(prompt, files, model, generation parameters) is unchanged is skipped.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.atomic import clean_stale_temporaries, replace_dir_atomic, staging_dir, write_text_atomic
from vizhub_pipeline.core.challenges import Challenge, discover_challenges
from vizhub_pipeline.core.errors import ChallengeError, InputError, VizhubError
from vizhub_pipeline.core.layout import Layout, hash_bytes, hash_files, parse_item_dirname
from vizhub_pipeline.core.params import GenerateParams
from vizhub_pipeline.core.prompting import build_messages, prompt_hash, read_only_files
from vizhub_pipeline.core.records import Generation, read_generation, utc_now_iso, write_generation
from vizhub_pipeline.generate.baselines import BASELINE_PROVIDER
from vizhub_pipeline.generate.names import shown

KEPT_OF_A_LONG_REPLY = 65_536  # bytes of a reply over generate.max_reply_bytes kept in response.md
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
SHOWN_PROBLEMS = 20  # refused names and ignored blocks listed in meta.json's error, the rest counted

REFERENCE_BASELINE = "baseline/reference"


@dataclass(frozen=True)
class GenerationTask:
    """One output to generate: a model's edit of a challenge, as sample number ``sample``."""

    challenge: Challenge
    model: str
    sample: int

    @property
    def label(self) -> str:
        suffix = f" #{self.sample}" if self.sample else ""
        return f"{self.challenge.id} / {self.model}{suffix}"


@dataclass
class GenerateSummary:
    done: int = 0
    skipped: int = 0
    unparseable: int = 0
    failed: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    cost_unknown: set[str] = field(default_factory=set)  # models whose price litellm does not know
    setup_errors: dict[str, str] = field(default_factory=dict)  # model -> why none of its items ran
    challenge_errors: list[ChallengeError] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    imported: int = 0  # items whose output was imported: never generated here
    pruned: Pruned = field(default_factory=lambda: Pruned())
    dropped: list[tuple[str, str, int]] = field(default_factory=list)  # graded items without an output
    allow_dropped: bool = False
    no_reference: list[str] = field(default_factory=list)  # challenges baseline/reference skips

    @property
    def ok(self) -> bool:
        lost = self.dropped and not self.allow_dropped
        return not (self.failed or self.setup_errors or self.challenge_errors or lost)

    def lines(self) -> list[str]:
        cost = f"${self.cost:.4f}"
        if self.cost_unknown:
            cost += f" (+ unknown for {', '.join(sorted(self.cost_unknown))})"
        imported = f", {self.imported} imported (kept as they are)" if self.imported else ""
        out = [
            f"generate: {self.done} done, {self.skipped} skipped (unchanged){imported}, "
            f"{self.unparseable} unparseable, {self.failed + len(self.challenge_errors)} failed",
            f"tokens: {self.tokens_in} in, {self.tokens_out} out; cost {cost}",
        ]
        out += [f"failed: {line}" for line in self.failures]
        if self.setup_errors:  # each was printed when found, before any call
            out.append(f"{len(self.setup_errors)} model(s) not run (see above): {', '.join(self.setup_errors)}")
        if self.no_reference:
            out.append(f"{REFERENCE_BASELINE} skipped (no reference solution): {', '.join(self.no_reference)}")
        if self.challenge_errors:
            out.append(f"{len(self.challenge_errors)} challenge(s) skipped (see above)")
        if self.pruned.removed:
            out.append(f"removed {len(self.pruned.removed)} output folder(s) no longer in the benchmark")
        if self.pruned.kept_graded:
            shown = ", ".join(self.pruned.kept_graded[:5]) + (" ..." if len(self.pruned.kept_graded) > 5 else "")
            out.append(
                f"kept {len(self.pruned.kept_graded)} output folder(s) no longer in the benchmark because "
                f"they have grades: {shown}"
            )
        if self.pruned.kept_imported:
            out.append(f"kept {len(self.pruned.kept_imported)} imported output folder(s) (never pruned)")
        if self.dropped:
            shown = ", ".join(f"{c} / {m}" + (f" #{s}" if s else "") for c, m, s in self.dropped[:5])
            more = f" and {len(self.dropped) - 5} more" if len(self.dropped) > 5 else ""
            verdict = "allowed by --allow-dropped" if self.allow_dropped else "pass --allow-dropped to accept that"
            out.append(f"{len(self.dropped)} graded output(s) no longer exist: {shown}{more} ({verdict})")
        return out


def generation_params(params: GenerateParams, sample: int) -> dict:
    """The parameters that shape a reply (part of the input hash and of meta.json)."""
    return {
        "temperature": params.temperature,
        "max_tokens": params.max_tokens,
        "seed": None if params.seed is None else params.seed + sample,
    }


def baseline_files(item: GenerationTask) -> dict:
    """What a built-in baseline answers with (carried in the call's metadata)."""
    return {
        "vizhub_starter": {
            name: text
            for name, text in item.challenge.files.items()
            if name not in read_only_files(item.challenge.files)
        },
        "vizhub_reference": dict(item.challenge.reference),
    }


def input_hash(item: GenerationTask, messages: list[dict], params: GenerateParams) -> str:
    """A hash of everything a reply depends on: prompt, files, model, parameters, sample."""
    parts = {
        "messages": messages,
        "model": item.model,
        "sample": item.sample,
        "params": generation_params(params, item.sample),
        # every starter byte: the messages show large data files only in part
        "files": hash_files(item.challenge.files),
    }
    if item.model == REFERENCE_BASELINE:
        parts["reference"] = dict(item.challenge.reference)
    return hash_bytes(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode("utf-8"))


def plan_items(challenges: list[Challenge], models: tuple[str, ...], samples: int) -> list[GenerationTask]:
    return [GenerationTask(c, m, s) for c in challenges for m in models for s in range(samples)]


def apply_reply(item: GenerationTask, text: str) -> tuple[str, dict[str, str], list[str]]:
    """``(status, files, problems)``: the starter with the reply's files applied."""
    from vizhub_pipeline.generate.replies import parse_reply

    challenge = item.challenge
    parsed = parse_reply(text, challenge.files, entry=challenge.entry, read_only=read_only_files(challenge.files))
    if parsed.invalid:
        invalid = "; ".join(first_problems(parsed.invalid))
        return "error", {}, [f"reply refused, a file name it gives cannot be written: {invalid}"]
    problems = first_problems(parsed.refused + parsed.ignored)
    if not parsed.ok:
        reason = "the reply has no file blocks"
        if problems:
            reason += "; " + "; ".join(problems)
        return "unparseable", {}, [reason]
    return "ok", {**challenge.files, **parsed.files}, problems


def first_problems(problems: list[str]) -> list[str]:
    """At most :data:`SHOWN_PROBLEMS` of ``problems``, then how many more: meta.json stays small."""
    if len(problems) <= SHOWN_PROBLEMS:
        return problems
    return problems[:SHOWN_PROBLEMS] + [f"and {len(problems) - SHOWN_PROBLEMS:,} more"]


def without_lone_surrogates(text: str) -> tuple[str, int]:
    """``text`` with each lone surrogate (JSON can carry one; UTF-8 cannot) made U+FFFD, and how many."""
    return _LONE_SURROGATE.subn("\ufffd", text)


def over_cap(text: str, cap: int) -> tuple[str, str] | None:
    """``(error, kept prefix with a note)`` for a reply of more than ``cap`` UTF-8 bytes, else None."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size <= cap:
        return None
    kept = text.encode("utf-8", "surrogatepass")[: min(cap, KEPT_OF_A_LONG_REPLY)].decode("utf-8", "ignore")
    error = f"the reply is {size:,} bytes, over generate.max_reply_bytes ({cap:,}); it was not parsed"
    note = (
        f"\n\n[vizhub: reply cut here. It was {size:,} bytes, over generate.max_reply_bytes ({cap:,}); "
        f"only its first {len(kept.encode('utf-8', 'surrogatepass')):,} bytes are kept.]\n"
    )
    return error, kept + note


class ReplyWriteError(VizhubError):
    """A reply's file could not be written into the item's folder."""


def write_item(
    layout: Layout,
    item: GenerationTask,
    generation: Generation,
    files: dict[str, str],
    response: str | None,
) -> Path:
    """Write one item folder atomically; nothing a model wrote can land outside it."""
    final = layout.visualization_dir(item.challenge.id, item.model, item.sample)
    staging = staging_dir(final)
    try:
        root = staging.resolve()
        for name, content in files.items():
            try:
                target = (staging / name).resolve()
                if root not in target.parents:
                    raise VizhubError(f"refusing to write {name!r} outside {final}")
                write_text_atomic(target, content, durable=False)
            except OSError as exc:  # a name this file system cannot hold, checked or not beforehand
                problem = exc.strerror or type(exc).__name__
                raise ReplyWriteError(f"reply refused, could not write {shown(name)}: {problem}") from None
        if response is not None:
            write_text_atomic(staging / "response.md", response, durable=False)
        write_generation(staging / "meta.json", generation)
        replace_dir_atomic(staging, final)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def _cached(layout: Layout, item: GenerationTask, hashed: str) -> Generation | None:
    meta = layout.visualization_dir(item.challenge.id, item.model, item.sample) / "meta.json"
    if not meta.is_file():
        return None
    try:
        previous = read_generation(meta)
    except InputError:
        return None
    if previous.input_hash == hashed and previous.status != "error":
        return previous
    return None


async def _generate_item(
    layout: Layout,
    item: GenerationTask,
    messages: list[dict],
    hashed: str,
    params: GenerateParams,
    semaphore: asyncio.Semaphore,
    on_retry: Callable[[str], None] | None = None,
) -> Generation:
    from vizhub_pipeline.core import llm

    gen_params = generation_params(params, item.sample)
    base: dict[str, Any] = {
        "challenge": item.challenge.id,
        "model": item.model,
        "sample": item.sample,
        "input_hash": hashed,
        "params": gen_params,
        "prompt_hash": prompt_hash(messages),
    }
    metadata = baseline_files(item) if item.model.startswith(BASELINE_PROVIDER + "/") else None
    async with semaphore:
        try:
            completion = await llm.complete(
                item.model,
                messages,
                temperature=gen_params["temperature"],
                max_tokens=gen_params["max_tokens"],
                seed=gen_params["seed"],
                timeout=params.timeout,
                retries=params.retries,
                backoff=params.backoff,
                metadata=metadata,
                on_retry=on_retry,
            )
        except llm.ModelCallError as exc:
            generation = Generation(status="error", error=str(exc), created_at=utc_now_iso(), **base)
            await asyncio.to_thread(write_item, layout, item, generation, {}, None)
            return generation
    response, surrogates = without_lone_surrogates(completion.text)
    cut = over_cap(response, params.max_reply_bytes)
    files: dict[str, str] = {}
    if cut is not None:
        status, problems = "error", [cut[0]]
        response = cut[1]
    else:  # the parse takes a while on a large reply: off the event loop
        status, files, problems = await asyncio.to_thread(apply_reply, item, response)
    if surrogates:
        plural = "s" if surrogates > 1 else ""
        problems = [f"{surrogates} lone surrogate{plural} in the reply, replaced by U+FFFD", *problems]
    cost = 0.0 if metadata is not None else completion.cost
    generation = Generation(
        status=status,
        artifact_hash=hash_files(files) if status == "ok" else None,
        files=tuple(sorted(files)),
        error="; ".join(problems) or None,
        tokens_in=completion.tokens_in,
        tokens_out=completion.tokens_out,
        cost=cost,
        latency_s=round(completion.latency_s, 3),
        created_at=utc_now_iso(),
        **base,
    )
    try:
        await asyncio.to_thread(write_item, layout, item, generation, files, response)
    except ReplyWriteError as exc:
        generation = replace(generation, status="error", artifact_hash=None, files=(), error=str(exc))
        await asyncio.to_thread(write_item, layout, item, generation, {}, response)
    return generation


def prune_outputs(layout: Layout, keep: set[tuple[str, str, int]], graded: set[tuple[str, str, int]]) -> Pruned:
    """Remove the output folders generate made for items the benchmark no longer has.

    Never removed: an imported output (meta.json has an ``origin``: generate did not make it)
    and an output that has grades (a grade must keep the output it judged); they are counted.
    """
    import shutil

    pruned = Pruned()
    if not layout.visualizations.is_dir():
        return pruned
    for challenge_dir in sorted(
        p for p in layout.visualizations.iterdir() if p.is_dir() and not p.name.startswith(".")
    ):
        for folder in sorted(p for p in challenge_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            try:
                model, sample = parse_item_dirname(folder.name)
            except ValueError:
                continue
            key = (challenge_dir.name, model, sample)
            if key in keep:
                continue
            relative = str(folder.relative_to(layout.root))
            if _imported(folder):
                pruned.kept_imported.append(relative)
            elif key in graded:
                pruned.kept_graded.append(relative)
            else:
                shutil.rmtree(folder)
                pruned.removed.append(relative)
        if not any(challenge_dir.iterdir()):
            challenge_dir.rmdir()
    return pruned


@dataclass
class Pruned:
    removed: list[str] = field(default_factory=list)
    kept_imported: list[str] = field(default_factory=list)  # not made by generate
    kept_graded: list[str] = field(default_factory=list)  # made by generate, but graded


def _imported(folder: Path) -> bool:
    try:
        return read_generation(folder / "meta.json").imported
    except InputError:
        return False


def graded_keys(layout: Layout) -> set[tuple[str, str, int]]:
    """Every (challenge, model, sample) some readable judgement names (bad rows are left to validate)."""
    from vizhub_pipeline.core.judgements.collect import list_judged_outputs

    return list_judged_outputs(layout.root)


def output_keys(layout: Layout) -> set[tuple[str, str, int]]:
    keys: set[tuple[str, str, int]] = set()
    if layout.visualizations.is_dir():
        for meta in layout.visualizations.glob("*/*/meta.json"):
            try:
                model, sample = parse_item_dirname(meta.parent.name)
            except ValueError:
                continue
            keys.add((meta.parent.parent.name, model, sample))
    return keys


def run_generate(
    layout: Layout,
    params: GenerateParams,
    *,
    challenges: tuple[str, ...] = (),
    models: tuple[str, ...] | None = None,
    cache: bool = True,
    prune: bool = False,
    allow_dropped: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
) -> GenerateSummary:
    """Run the stage for the selection; one failing item or model never stops the others.

    An imported output is never asked for again nor overwritten, whatever the selection.
    After the run, grades that name an output that does not exist (any more) make the
    summary not ok, unless ``allow_dropped``: a grade is never silently orphaned.
    """
    from vizhub_pipeline.core import llm

    echo = echo or (lambda line: print(line, file=sys.stderr))
    summary = GenerateSummary()
    found, problems = discover_challenges(layout.challenges, challenges)
    summary.challenge_errors = problems
    for problem in problems:
        echo(f"challenge skipped: {problem}")
    selected_all = not challenges and not models
    models = tuple(dict.fromkeys(models or params.models))
    runnable = []
    for model in models:
        try:
            llm.check_model(model)
            runnable.append(model)
        except llm.ModelSetupError as exc:
            summary.setup_errors[model] = str(exc)
            echo(f"model not run: {exc}")
    items = []
    for item in plan_items(found, tuple(runnable), params.samples):
        if item.model == REFERENCE_BASELINE and not item.challenge.reference:
            if item.challenge.id not in summary.no_reference:  # said once, in the summary
                summary.no_reference.append(item.challenge.id)
            continue
        items.append(item)
    for challenge in found:
        clean_stale_temporaries(layout.visualizations / challenge.id)
    todo = []
    messages = {challenge.id: build_messages(challenge) for challenge in found}
    for item in items:
        hashed = input_hash(item, messages[item.challenge.id], params)
        if _imported(layout.visualization_dir(item.challenge.id, item.model, item.sample)):
            summary.imported += 1
        elif cache and _cached(layout, item, hashed) is not None:
            summary.skipped += 1
        else:
            todo.append((item, messages[item.challenge.id], hashed))
    unrun = len(plan_items(found, tuple(summary.setup_errors), params.samples))
    summary.failed += unrun
    if todo:
        asyncio.run(_run_items(layout, todo, params, summary, progress, echo))
    graded = graded_keys(layout)
    if prune and selected_all and not problems:
        keep = {(i.challenge.id, i.model, i.sample) for i in plan_items(found, models, params.samples)}
        summary.pruned = prune_outputs(layout, keep, graded)
    summary.dropped = sorted(graded - output_keys(layout))
    summary.allow_dropped = allow_dropped
    return summary


async def _run_items(
    layout: Layout,
    todo: list[tuple[GenerationTask, list[dict], str]],
    params: GenerateParams,
    summary: GenerateSummary,
    progress: bool,
    echo: Callable[[str], None],
) -> None:
    from tqdm import tqdm

    from vizhub_pipeline.core import llm

    bar = tqdm(total=len(todo), desc="generate", unit="item", disable=not progress, file=sys.stderr, leave=False)

    def on_retry(line: str) -> None:
        """Each retry shows on the progress line (or as a line of its own without a bar)."""
        if progress:
            bar.set_postfix_str(line, refresh=True)
        else:
            echo(f"retrying: {line}")

    semaphores: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(params.concurrency))
    tasks = [
        asyncio.create_task(
            _generate_item(layout, item, messages, hashed, params, semaphores[llm.provider_of(item.model)], on_retry),
            name=item.label,
        )
        for item, messages, hashed in todo
    ]
    try:
        for future in asyncio.as_completed(tasks):
            generation = await future
            _count(summary, generation)
            bar.update(1)
    finally:
        bar.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _count(summary: GenerateSummary, generation: Generation) -> None:
    label = f"{generation.challenge} / {generation.model}" + (f" #{generation.sample}" if generation.sample else "")
    if generation.status == "ok":
        summary.done += 1
    elif generation.status == "unparseable":
        summary.unparseable += 1
    else:
        summary.failed += 1
        summary.failures.append(f"{label}: {generation.error}")
    summary.tokens_in += generation.tokens_in or 0
    summary.tokens_out += generation.tokens_out or 0
    if generation.cost is None and generation.status != "error":
        summary.cost_unknown.add(generation.model)
    else:
        summary.cost += generation.cost or 0.0
