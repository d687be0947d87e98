"""The screenshot stage: render every visualization in Chromium, shoot it, run its checks.

For each ``visualizations/<challenge>/<item>/`` the stage writes
``results/renders/<challenge>/<item>/`` atomically: ``screenshot.png``, one
``step-<n>-<name>.png`` per interaction step, and ``render.json`` (:class:`records.Render`).
Then it rewrites ``results/renders/summary.csv``, one row a render, for the aggregate stage.

An item whose render hash (artifact, viewport, checks, interactions, parameters, mirrored
library versions, :data:`RENDERER_VERSION`) matches its render.json is skipped. Status:
``timeout`` (stopped at the per-page limit) > ``error`` (an uncaught page error, a crash, a
generation with nothing to render, a missing entry file) > ``blank`` (the screenshot is one
single colour: nothing was drawn) > ``rendered``. A timeout or a crash is recorded only once
the page has rendered again alone (:func:`is_suspect`), so a neighbour's stall, a loaded
machine or an outside kill is never taken for the page's result. A page the memory watchdog
stopped (``screenshot.max_page_memory_mb``) is an ``error`` of its own at once: not suspect.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from vizhub_pipeline.core.atomic import clean_stale_temporaries, replace_dir_atomic, staging_dir, write_text_atomic
from vizhub_pipeline.core.challenges import Challenge, Check, Step, discover_challenges
from vizhub_pipeline.core.errors import ChallengeError, InputError, VizhubError
from vizhub_pipeline.core.layout import Layout, hash_bytes, hash_files
from vizhub_pipeline.core.params import ScreenshotParams
from vizhub_pipeline.core.records import (
    TEST_STATUSES,
    CheckResult,
    Generation,
    Render,
    iter_renders,
    read_generation,
    read_render,
    write_render,
)
from vizhub_pipeline.core.terminal_text import for_terminal
from vizhub_pipeline.screenshot.checks import failed_checks, run_checks

RENDERER_VERSION = "3"  # 2: WebRTC removed from pages; 3: checks in an isolated world, script checks marked
SUMMARY_NAME = "summary.csv"
SUMMARY_COLUMNS = (
    "challenge",
    "model",
    "sample",
    "status",
    "checks_passed",
    "checks_total",
    "console_errors",
    "page_errors",
    "blocked_requests",
    "artifact_hash",
)
STATUS_ORDER = ("rendered", "blank", "error", "timeout")


@dataclass(frozen=True)
class RenderItem:
    """One visualization to render, with its challenge and what the page may load."""

    folder: Path
    generation: Generation
    challenge: Challenge
    width: int
    height: int
    files: dict[str, Path]

    @property
    def label(self) -> str:
        return f"{self.challenge.id}/{self.folder.name}"

    @property
    def is_code(self) -> bool:
        """A code challenge's output: its test runs in the sandbox instead of a page in the browser."""
        return self.challenge.test is not None

    @property
    def all_checks(self) -> list[tuple[str | None, Check]]:
        out: list[tuple[str | None, Check]] = [(None, check) for check in self.challenge.checks]
        for step in self.challenge.interactions:
            out += [(step.name, check) for check in step.checks]
        return out


@dataclass
class ScreenshotSummary:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUS_ORDER, 0))
    skipped: int = 0
    checks_passed: int = 0
    checks_total: int = 0
    failures: list[str] = field(default_factory=list)  # items the stage could not handle (not page outcomes)
    challenge_errors: list[ChallengeError] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    relaunches: int = 0
    rendered_again: int = 0  # suspect results of the first pass, rendered again alone
    tests: dict[str, int] = field(default_factory=dict)  # code challenges: status -> count
    test_modified: int = 0  # code outputs whose test file differs from the starter's
    page_ms: list[float] = field(default_factory=list)  # time per page rendered now (printed, never committed)
    browser_sandbox: str = ""  # which sandbox Chromium ran in (depends on the host: printed, never committed)
    memory_kills: int = 0  # renderers the memory watchdog stopped

    @property
    def ok(self) -> bool:
        return not (self.failures or self.challenge_errors)

    def add(self, render: Render) -> None:
        if render.test is not None or render.checks[:1] and render.checks[0].type == "test":
            self.tests[render.status] = self.tests.get(render.status, 0) + 1
            if render.test and render.test.get("test_modified"):
                self.test_modified += 1
            return
        self.counts[render.status] = self.counts.get(render.status, 0) + 1
        self.checks_passed += render.checks_passed
        self.checks_total += len(render.checks)
        if "total_ms" in render.timings:
            self.page_ms.append(render.timings["total_ms"])

    def lines(self) -> list[str]:
        counts = ", ".join(f"{self.counts.get(status, 0)} {status}" for status in STATUS_ORDER)
        out = [
            f"screenshot: {counts}, {self.skipped} skipped (unchanged); "
            f"checks passed {self.checks_passed}/{self.checks_total} (in the pages rendered now)"
        ]
        if self.tests:
            counts = ", ".join(f"{self.tests.get(status, 0)} {status}" for status in TEST_STATUSES)
            modified = f"; {self.test_modified} changed their test file" if self.test_modified else ""
            out.append(f"code tests: {counts}{modified}")
        if self.page_ms:
            times = sorted(self.page_ms)
            out.append(f"time per page: median {times[len(times) // 2]:.0f} ms, slowest {times[-1]:.0f} ms")
        if self.rendered_again:
            out.append(
                f"{self.rendered_again} page(s) rendered again alone after a timeout or crash "
                "(the second result is recorded)"
            )
        if self.relaunches:
            out.append(f"browser relaunched {self.relaunches} time(s) after a hung or crashed page")
        if self.memory_kills:
            out.append(f"{self.memory_kills} page renderer(s) stopped for passing the memory cap")
        if self.browser_sandbox:
            out.append(self.browser_sandbox)
        out += [f"failed: {line}" for line in self.failures]
        out += [f"challenge skipped: {error}" for error in self.challenge_errors]
        if self.pruned:
            out.append(f"removed {len(self.pruned)} render folder(s) whose visualization is gone")
        return out


# --------------------------------------------------------------------------- pure functions


def challenge_sets_viewport(challenge: Challenge) -> bool:
    """Whether challenge.yaml names a viewport (else params.yaml's default applies)."""
    import yaml

    try:
        data = yaml.safe_load((challenge.path / "challenge.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "viewport" in data


def page_files(folder: Path, generation: Generation) -> dict[str, Path]:
    """The files the page may load: the runnable files meta.json lists (never meta.json itself)."""
    names = generation.files or tuple(
        p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file()
    )
    root = folder.resolve()
    files = {}
    for name in names:
        if name in ("meta.json", "response.md"):
            continue
        path = (folder / name).resolve()
        if root in path.parents:
            files[name] = path
    return files


def files_hash(files: dict[str, Path]) -> str:
    """Hash of the bytes the page will be served (a hand edit of a file renders again)."""
    contents = {}
    for name, path in files.items():
        try:
            contents[name] = path.read_bytes()
        except OSError:
            contents[name] = b"\0missing"
    return hash_files(contents)


def _step_json(step: Step) -> dict:
    data = asdict(step)
    data["checks"] = [_check_json(check) for check in step.checks]
    return data


def _check_json(check) -> dict:
    return {"type": check.type, "name": check.name, "spec": dict(check.spec)}


def render_hash(item: RenderItem, params: ScreenshotParams, mirror_versions: dict[str, str]) -> str:
    """Everything that shapes a render (or a code test run): new value, new render."""
    generation = item.generation
    if item.is_code:
        from vizhub_pipeline.screenshot.code_tests import code_hash

        ok = generation.status == "ok"
        return code_hash(
            item.challenge,
            files_hash(item.files) if ok else None,
            generation.status,
            generation.imported,
            _seconds(item, params),
        )
    parts = {
        "renderer": RENDERER_VERSION,
        "status": generation.status,
        "error": generation.error if generation.status != "ok" else None,
        "artifact_hash": generation.artifact_hash,
        "files": files_hash(item.files) if generation.status == "ok" else None,
        "entry": item.challenge.entry,
        "viewport": [item.width, item.height],
        "checks": [_check_json(check) for check in item.challenge.checks],
        "interactions": [_step_json(step) for step in item.challenge.interactions],
        "params": {
            "timeout": params.timeout,
            "settle_ms": params.settle_ms,
            "step_ms": params.step_ms,
            "seed": params.seed,
            "max_page_memory_mb": params.max_page_memory_mb,
        },
        "mirror": mirror_versions,
    }
    return hash_bytes(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode("utf-8"))


def is_one_colour(png: bytes) -> bool:
    """True when every pixel of the PNG has the same colour."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGBA").getcolors(maxcolors=1) is not None  # None: more than one colour


def decide_status(*, timed_out: bool, error: str | None, page_errors: Sequence[str], blank: bool) -> str:
    if timed_out:
        return "timeout"
    if error or page_errors:
        return "error"
    return "blank" if blank else "rendered"


def summary_rows(renders: Sequence[Render]) -> list[list[str]]:
    rows = []
    for render in sorted(renders, key=lambda r: (r.challenge, r.model, r.sample)):
        rows.append(
            [
                render.challenge,
                render.model,
                str(render.sample),
                render.status,
                str(render.checks_passed),
                str(len(render.checks)),
                str(len(render.console_errors)),
                str(len(render.page_errors)),
                str(len(render.blocked_requests)),
                render.artifact_hash or "",
            ]
        )
    return rows


def write_summary_table(layout: Layout) -> Path:
    """``results/renders/summary.csv`` from every render.json (not only the ones rendered now)."""
    renders = []
    for _folder, render in iter_renders(layout.renders):
        renders.append(render)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    writer.writerows(summary_rows(renders))
    path = layout.renders / SUMMARY_NAME
    write_text_atomic(path, buffer.getvalue())
    return path


def prune_renders(layout: Layout) -> list[str]:
    """Remove render folders whose visualization folder (with its meta.json) is gone."""
    removed: list[str] = []
    if not layout.renders.is_dir():
        return removed
    for challenge_dir in sorted(p for p in layout.renders.iterdir() if p.is_dir() and not p.name.startswith(".")):
        clean_stale_temporaries(challenge_dir)
        for folder in sorted(p for p in challenge_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if not (layout.visualizations / challenge_dir.name / folder.name / "meta.json").is_file():
                shutil.rmtree(folder)
                removed.append(str(folder.relative_to(layout.root)))
        if not any(challenge_dir.iterdir()):
            challenge_dir.rmdir()
    return removed


def plan_renders(
    layout: Layout, params: ScreenshotParams, challenges: Sequence[str] = (), models: Sequence[str] | None = None
) -> tuple[list[RenderItem], list[ChallengeError], list[str]]:
    """``(items, challenge problems, orphans)``: what to render, sorted by folder."""
    found, problems = discover_challenges(layout.challenges, tuple(challenges))
    by_id = {challenge.id: challenge for challenge in found}
    invalid = {
        Path(problem.path).relative_to(layout.challenges).parts[0]
        for problem in problems
        if _under(problem.path, layout.challenges)
    }
    viewports = {
        c.id: ((c.viewport.width, c.viewport.height) if challenge_sets_viewport(c) else (params.width, params.height))
        for c in found
    }
    items: list[RenderItem] = []
    orphans: list[str] = []
    for folder, generation in _generations(layout, orphans):
        challenge_id = folder.parent.name
        if challenges and challenge_id not in challenges:
            continue
        if models and generation.model not in models:
            continue
        challenge = by_id.get(challenge_id)
        if challenge is None:
            if challenge_id not in invalid:
                orphans.append(f"{folder.relative_to(layout.root)}: no challenge {challenge_id} in {layout.challenges}")
            continue
        width, height = viewports[challenge_id]
        items.append(RenderItem(folder, generation, challenge, width, height, page_files(folder, generation)))
    return items, problems, orphans


def _generations(layout: Layout, problems: list[str]):
    """Like :func:`records.iter_generations`, but a broken meta.json is one problem, not the end."""
    if not layout.visualizations.is_dir():
        return
    for meta in sorted(layout.visualizations.glob("*/*/meta.json")):
        folder = meta.parent
        if folder.name.startswith(".") or folder.parent.name.startswith("."):
            continue
        try:
            yield folder, read_generation(meta)
        except InputError as exc:
            problems.append(str(exc))


def _under(path: str, root: Path) -> bool:
    try:
        Path(path).relative_to(root)
        return True
    except ValueError:
        return False


def _unchanged(final: Path, hashed: str) -> Render | None:
    path = final / "render.json"
    if not path.is_file():
        return None
    try:
        previous = read_render(path)
    except InputError:
        return None
    if previous.render_hash != hashed:
        return None
    if not all((final / name).is_file() for name in previous.screenshots):
        return None
    return previous


# --------------------------------------------------------------------------- rendering one page


def _base(item: RenderItem, hashed: str) -> dict:
    generation = item.generation
    return {
        "challenge": generation.challenge,
        "model": generation.model,
        "sample": generation.sample,
        "artifact_hash": generation.artifact_hash,
        "render_hash": hashed,
        "viewport": {"width": item.width, "height": item.height},
    }


def _seconds(item: RenderItem, params: ScreenshotParams) -> float:
    test = item.challenge.test
    return test.timeout if test is not None and test.timeout is not None else params.timeout


async def run_code_item(item: RenderItem, params: ScreenshotParams, hashed: str, layout_root: Path) -> Render:
    """Run a code output's test in the sandbox (in a thread) and return its record."""
    from vizhub_pipeline.screenshot import code_tests
    from vizhub_pipeline.screenshot.coderun import Limits, run_sandboxed

    base = _base(item, hashed)
    base.pop("viewport")
    challenge, generation = item.challenge, item.generation
    assert challenge.test is not None
    if generation.status != "ok":
        why = f": {generation.error}" if generation.error else ""
        return code_tests.failed_record(challenge, f"generation {generation.status}: nothing to run{why}", base)
    run = await asyncio.to_thread(
        run_sandboxed,
        item.folder,
        list(challenge.test.command),
        entry=challenge.test.command[1] if len(challenge.test.command) > 1 else None,
        protected=code_tests.protected_overlay(challenge, generation.imported),
        limits=Limits(seconds=_seconds(item, params)),
        project_root=layout_root,
    )
    modified = code_tests.modified_test_files(challenge, item.files)
    record = code_tests.run_record(challenge, run, imported=generation.imported, modified=modified, base=base)
    return replace(record, timings={"total_ms": round(run.seconds * 1000)})


def unrenderable_reason(item: RenderItem) -> str | None:
    """Why the item has no page to open (a failed generation, a missing entry file), else None."""
    generation = item.generation
    if generation.status != "ok":
        why = f": {generation.error}" if generation.error else ""
        return f"generation {generation.status}: nothing to render{why}"
    entry = item.challenge.entry
    path = item.files.get(entry)
    if path is None or not path.is_file():
        return f"entry file {entry} is missing from {item.folder}"
    return None


async def render_item(browser, item: RenderItem, params: ScreenshotParams, mirror, hashed: str, out: Path) -> Render:
    """Render one page into the folder ``out`` (screenshots) and return its record."""
    reason = unrenderable_reason(item)
    if reason is not None:
        checks = [
            result for step, check in item.all_checks for result in failed_checks([check], f"not run: {reason}", step)
        ]
        return Render(status="error", error=reason, checks=tuple(checks), **_base(item, hashed))

    from vizhub_pipeline.screenshot.browser import PageCrashedError, PageTimeoutError, Site, memory_error

    loop = asyncio.get_running_loop()
    started = loop.time()  # wall time, for the printed timings only
    clock = browser.clock  # the limit is in the run's own time: the same at any load
    deadline = clock.now() + params.timeout

    def left() -> float:
        return max(0.05, deadline - clock.now())

    timings: dict[str, float] = {}
    shots: list[str] = []
    results: list[CheckResult] = []
    timed_out, error, blank = False, None, False
    page = await browser.open_page(
        Site(item.files, mirror), width=item.width, height=item.height, seed=params.seed, entry=item.challenge.entry
    )

    async def flow() -> None:
        nonlocal blank
        mark = loop.time()
        await page.load(left())
        await page.run_clock(params.settle_ms, left())
        timings["load_ms"] = round((loop.time() - mark) * 1000)
        png = await page.screenshot(out / "screenshot.png", left())
        shots.append("screenshot.png")
        blank = await asyncio.to_thread(is_one_colour, png)
        mark = loop.time()
        results.extend(
            await run_checks(
                page,
                item.challenge.checks,
                console_errors=page.log.console_errors,
                page_errors=page.log.page_errors,
                timeout=left(),
            )
        )
        timings["checks_ms"] = round((loop.time() - mark) * 1000)
        mark = loop.time()
        for number, step in enumerate(item.challenge.interactions, start=1):
            problem = await perform_step(page, step, left)
            results.append(
                CheckResult(
                    f"{step.name} performed", "step", problem is None, problem or f"{step.action} done", step.name
                )
            )
            await page.run_clock(params.step_ms + step.wait_ms, left())
            name = f"step-{number}-{step.name}.png"
            await page.screenshot(out / name, left())
            shots.append(name)
            results.extend(
                await run_checks(
                    page,
                    step.checks,
                    console_errors=page.log.console_errors,
                    page_errors=page.log.page_errors,
                    step=step.name,
                    timeout=left(),
                )
            )
        if item.challenge.interactions:
            timings["steps_ms"] = round((loop.time() - mark) * 1000)

    try:
        await clock.wait_for(flow(), params.timeout + 2.0)
    except PageTimeoutError as exc:
        timed_out = True
        error = exc.within(params.timeout)  # the page's limit, not the seconds that were left
    except TimeoutError:
        timed_out = True
        error = f"the page did not finish within {params.timeout:g} s"
    except PageCrashedError as exc:
        error = str(exc)
    except VizhubError as exc:
        error = str(exc)
    finally:
        await page.close()  # a context that will not close takes the browser with it (relaunched next page)
    if page.memory_exceeded is not None:  # the watchdog's verdict, whatever the flow saw after the kill
        timed_out, error = False, memory_error(page.memory_exceeded)
    timings["total_ms"] = round((loop.time() - started) * 1000)
    if len(results) < len(item.all_checks) + len(item.challenge.interactions):
        results = _complete(item, results, f"not run: {error}" if error else "not run")
    return Render(
        status=decide_status(timed_out=timed_out, error=error, page_errors=page.log.page_errors, blank=blank),
        screenshots=tuple(shots),
        checks=tuple(results),
        console_errors=tuple(page.log.console_errors),
        page_errors=tuple(page.log.page_errors),
        blocked_requests=tuple(page.log.blocked_requests),
        error=error,
        timings=timings,
        **_base(item, hashed),
    )


def _complete(item: RenderItem, done: list[CheckResult], message: str) -> list[CheckResult]:
    """``done`` plus a failed result for every check (and step) that did not run."""
    seen = {(result.step, result.name) for result in done}
    out = list(done)
    for check in item.challenge.checks:
        if (None, check.name) not in seen:
            out.append(CheckResult(check.name, check.type, False, message, None))
    for step in item.challenge.interactions:
        if (step.name, f"{step.name} performed") not in seen:
            out.append(CheckResult(f"{step.name} performed", "step", False, message, step.name))
        for check in step.checks:
            if (step.name, check.name) not in seen:
                out.append(CheckResult(check.name, check.type, False, message, step.name))
    return out


async def perform_step(page, step: Step, left: Callable[[], float]) -> str | None:
    """Do one interaction step; the reason it could not be done, or None."""
    if step.action == "wait":
        return None
    if step.action == "press":
        await page.press(step.key, left())
        return None
    box = await page.element_box(step.selector, step.nth, left())
    if not isinstance(box, dict):
        return str(box)

    def point(fraction) -> tuple[float, float]:
        return (box["x"] + box["width"] * fraction[0], box["y"] + box["height"] * fraction[1])

    if step.action == "drag":
        await page.mouse("drag", left(), point(step.start), point(step.end))
    else:
        await page.mouse(step.action, left(), point(step.at), delta_y=step.delta_y)
    return None


# --------------------------------------------------------------------------- the stage


def run_screenshot(
    layout: Layout,
    params: ScreenshotParams,
    challenges: Sequence[str] = (),
    models: Sequence[str] | None = None,
    *,
    force: bool = False,
    echo: Callable[[str], None] | None = None,
    progress: bool | None = None,
    executable: str | None = None,
) -> ScreenshotSummary:
    """Render the selected visualizations; write their folders and the summary table."""
    from vizhub_pipeline.core.mirror import Mirror, find_node_modules

    summary = ScreenshotSummary()
    items, problems, orphans = plan_renders(layout, params, challenges, models)
    summary.challenge_errors.extend(problems)
    summary.failures.extend(orphans)
    summary.pruned = prune_renders(layout)
    mirror = Mirror(find_node_modules(layout.root))
    versions = mirror.fingerprint()
    todo = []
    for item in items:
        hashed = render_hash(item, params, versions)
        final = layout.renders / item.folder.parent.name / item.folder.name
        if not force and _unchanged(final, hashed) is not None:
            summary.skipped += 1
            continue
        todo.append((item, hashed, final))
    if any(item.is_code for item, _, _ in todo):
        todo = _check_sandbox(todo, summary)
    if todo:
        asyncio.run(_render_all(todo, params, mirror, summary, echo, progress, executable, layout.root))
    write_summary_table(layout)
    return summary


def _check_sandbox(todo: list, summary: ScreenshotSummary) -> list:
    """The items that can run: without a working sandbox, code tests are failures (not recorded)
    and the pages still render."""
    from vizhub_pipeline.core.errors import PrerequisiteError
    from vizhub_pipeline.screenshot.coderun import check_sandbox

    try:
        check_sandbox()
    except PrerequisiteError as exc:
        code = [entry for entry in todo if entry[0].is_code]
        summary.failures.append(f"{len(code)} code test(s) not run: {exc}")
        return [entry for entry in todo if not entry[0].is_code]
    return todo


def is_suspect(render: Render) -> bool:
    """Whether a result may be the infrastructure's rather than the page's: a timeout, or an
    error that ended the render (a renderer or browser crash, a context that failed). A page's
    own uncaught errors, a generation with nothing to render and a page the memory watchdog
    stopped are never suspect."""
    from vizhub_pipeline.screenshot.browser import MEMORY_ERROR_START

    if render.error is not None and render.error.startswith(MEMORY_ERROR_START):
        return False
    return render.status == "timeout" or (render.status == "error" and render.error is not None)


async def _render_all(todo, params, mirror, summary: ScreenshotSummary, echo, progress, executable, root: Path) -> None:
    """Render ``todo`` with up to ``params.concurrency`` pages at once in one browser.

    A result that may not be the page's own (:func:`is_suspect`: a timeout, a crash, the
    browser going away) is not recorded from the first pass: the page renders once more at
    the end, alone in the browser, and that result is recorded. A page beside a hostile
    neighbour, or on a loaded machine, is not blamed for their stall; a page that times out
    or crashes alone too is. A code challenge's test runs the same way, in the sandbox.
    """
    from tqdm import tqdm

    from vizhub_pipeline.screenshot.browser import BrowserSession

    needs_browser = any(not item.is_code and unrenderable_reason(item) is None for item, _, _ in todo)
    bar = tqdm(
        total=len(todo),
        desc="screenshot",
        unit="page",
        disable=(None if progress is None else not progress),
        leave=False,
    )
    session = BrowserSession(executable, max_page_memory_mb=params.max_page_memory_mb) if needs_browser else None
    failed: dict[int, str] = {}
    again: list[int] = []

    async def settle(index: int, *, alone: bool) -> None:
        item, hashed, final = todo[index]
        bar.set_postfix_str(item.label, refresh=False)
        staging = staging_dir(final)
        try:
            if item.is_code:
                render = await run_code_item(item, params, hashed, root)
                runnable = item.generation.status == "ok"
            else:
                render = await render_item(session, item, params, mirror, hashed, staging)
                runnable = unrenderable_reason(item) is None
            if not alone and runnable and is_suspect(render):
                shutil.rmtree(staging, ignore_errors=True)  # never recorded: rendered again alone
                again.append(index)
                return
            await _finish(staging, final, render)
        except VizhubError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            failed[index] = f"{item.label}: {exc}"
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        else:
            summary.add(render)
            if echo is not None and render.status not in ("rendered", "passed"):
                bar.clear()
                echo(for_terminal(f"{item.label}: {render.status}" + (f" ({render.error})" if render.error else "")))
        bar.update(1)

    pending = iter(range(len(todo)))

    async def worker() -> None:
        for index in pending:  # one iterator shared by the workers: each page is taken once
            await settle(index, alone=False)

    workers: list[asyncio.Task] = []
    try:
        if session is not None:
            await session.ensure()
        workers = [asyncio.create_task(worker()) for _ in range(min(params.concurrency, len(todo)))]
        await asyncio.gather(*workers)
        summary.rendered_again = len(again)
        for index in sorted(again):
            await settle(index, alone=True)
        summary.failures.extend(failed[index] for index in sorted(failed))
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)  # each cleans up its staging folder
        bar.close()
        if session is not None:
            summary.relaunches = max(0, session.launches - 1)
            summary.browser_sandbox = session.sandbox_line
            summary.memory_kills = session.memory_kills
            await session.close()


async def _finish(staging: Path, final: Path, render: Render) -> None:
    """Write render.json and move the folder into place; an interrupt waits for the move to end,
    so the folder is either the old one or the complete new one."""
    moving = asyncio.ensure_future(asyncio.to_thread(_finish_folder, staging, final, render))
    try:
        await asyncio.shield(moving)
    except asyncio.CancelledError:
        await asyncio.wait([moving])
        raise


def _finish_folder(staging: Path, final: Path, render: Render) -> None:
    write_render(staging / "render.json", render)
    replace_dir_atomic(staging, final)
