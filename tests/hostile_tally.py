"""The hostile suite's tally: run every case marked ``hostile`` and say which held, which escaped,
lost data or hung.

Each hostile test says what it guards against and what passing means, with a marker::

    @pytest.mark.hostile(area="replies", guards="escape", outcome="clear_error")

``area`` is one of AREAS; ``guards`` one of GUARDS (what a failure of the test means: the attack
got out of its box, data was lost, or the run would stall); ``outcome`` is ``held`` (the attack
had no effect) or ``clear_error`` (it was refused with an error naming what was wrong), or
``control`` for an ordinary input beside the attacks (no ``guards``: it shows the defence does
not refuse what it should let through).

Counting is mechanical. The cases run in pytest subprocesses, one test file per run, with this
module loaded as a plugin: it writes one JSON line when a case starts and one with its result
when it ends, and arms ``faulthandler`` to end the process when a case runs longer than the
limit. A case that started and never ended is hung; the file then runs again without the cases
already counted. A passing case counts as its ``outcome``; a failing one as what it ``guards``.

Used by ``bench/bench_hostile.py`` and ``tests/test_hostile_tally.py``; ``tests/conftest.py``
calls ``check_markers`` so that a malformed marker stops any collection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

AREAS = ("pages", "replies", "grade files", "grader", "code")
GUARDS = ("escape", "loss", "hang")
OUTCOMES = ("held", "clear_error", "control")

# what a failing case counts as, by what it guards
FAILED_AS = {"escape": "escaped", "loss": "lost", "hang": "hung"}
PASSED_AS = {"held": "held", "clear_error": "clear error", "control": "control ok"}
COLUMNS = ("held", "clear error", "escaped", "lost", "hung")

# the parent's own watchdog, past the plugin's limit, for a process faulthandler could not end
GRACE = 60.0


def marker_fields(mark) -> dict[str, str]:
    """The checked fields of one ``hostile`` marker; ValueError saying what is wrong."""
    if mark.args:
        raise ValueError("hostile takes keywords only: area=, guards=, outcome=")
    fields = dict(mark.kwargs)
    unknown = sorted(set(fields) - {"area", "guards", "outcome"})
    if unknown:
        raise ValueError(f"hostile has no field {', '.join(unknown)} (fields: area, guards, outcome)")
    area, guards, outcome = fields.get("area"), fields.get("guards"), fields.get("outcome")
    if area not in AREAS:
        raise ValueError(f"hostile area={area!r}: must be one of {', '.join(AREAS)}")
    if outcome not in OUTCOMES:
        raise ValueError(f"hostile outcome={outcome!r}: must be one of {', '.join(OUTCOMES)}")
    if outcome == "control":
        if guards is not None:
            raise ValueError("hostile outcome='control' guards nothing: leave out guards=")
    elif guards not in GUARDS:
        raise ValueError(f"hostile guards={guards!r}: must be one of {', '.join(GUARDS)}")
    return {"area": area, "guards": guards or "", "outcome": outcome}


# --------------------------------------------------------------------------- the plugin


def pytest_addoption(parser):
    group = parser.getgroup("hostile", "the hostile suite's tally (tests/hostile_tally.py)")
    group.addoption("--hostile-log", default=None, help="write one JSON line per hostile case event here")
    group.addoption("--hostile-limit", type=float, default=180.0, help="seconds a case may run before it is hung")
    group.addoption("--hostile-skip", default=None, help="a file of node ids (one a line) to leave out")


def pytest_configure(config):
    if config.getoption("hostile_log"):
        config.pluginmanager.register(Recorder(config), "hostile-recorder")


def pytest_collection_modifyitems(config, items):
    check_markers(items)


def check_markers(items) -> None:
    """Stop the collection at the first malformed ``hostile`` marker, naming its test."""
    for item in items:
        mark = item.get_closest_marker("hostile")
        if mark is not None:
            try:
                marker_fields(mark)
            except ValueError as error:
                raise pytest.UsageError(f"{item.nodeid}: {error}") from None


class Recorder:
    """Writes the cases collected, then each case's start and result, to the --hostile-log file."""

    def __init__(self, config):
        self.log = open(config.getoption("hostile_log"), "a", encoding="utf-8")  # noqa: SIM115 (open all run)
        self.limit = config.getoption("hostile_limit")
        skip = config.getoption("hostile_skip")
        self.skip = set(Path(skip).read_text(encoding="utf-8").splitlines()) if skip else set()
        # faulthandler writes the hung case's traceback here, then ends the process
        self.tracebacks = open(self.log.name + ".hung", "a", encoding="utf-8")  # noqa: SIM115
        self.reports: dict[str, list] = {}

    def write(self, **event) -> None:
        self.log.write(json.dumps(event) + "\n")
        self.log.flush()  # in the kernel's hands before faulthandler may end the process

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        if self.skip:
            kept = [item for item in items if item.nodeid not in self.skip]
            config.hook.pytest_deselected(items=[item for item in items if item.nodeid in self.skip])
            items[:] = kept

    def pytest_collection_finish(self, session):
        for item in session.items:
            mark = item.get_closest_marker("hostile")
            fields = marker_fields(mark) if mark is not None else None
            slow = item.get_closest_marker("slow") is not None
            self.write(event="case", id=item.nodeid, fields=fields, slow=slow)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        import faulthandler

        self.write(event="start", id=item.nodeid)
        started = time.perf_counter()
        faulthandler.dump_traceback_later(self.limit, exit=True, file=self.tracebacks)
        try:
            return (yield)
        finally:
            faulthandler.cancel_dump_traceback_later()
            reports = self.reports.pop(item.nodeid, [])
            failed = [r for r in reports if r.failed or (r.skipped and hasattr(r, "wasxfail"))]
            skipped = [r for r in reports if r.skipped and not hasattr(r, "wasxfail")]
            if failed:
                result, message = "failed", _first_line(failed[0])
            elif skipped:
                result, message = "skipped", _first_line(skipped[0])
            else:
                result, message = "passed", ""
            seconds = round(time.perf_counter() - started, 3)
            self.write(event="end", id=item.nodeid, result=result, message=message, seconds=seconds)

    def pytest_runtest_logreport(self, report):
        self.reports.setdefault(report.nodeid, []).append(report)


def _first_line(report) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return f"skipped: {report.longrepr[2].removeprefix('Skipped: ')}"
    text = getattr(report, "longreprtext", "") or str(report.longrepr)
    lines = [line for line in text.splitlines() if line.startswith("E ")]
    shown = lines[0][1:].strip() if lines else (text.strip().splitlines() or [""])[-1]
    return f"{report.when}: {shown}"[:300]


# --------------------------------------------------------------------------- the runner


@dataclass
class Case:
    id: str
    area: str
    guards: str
    outcome: str
    slow: bool
    counted_as: str = "not run"  # one of COLUMNS, "control ok", "control failed", "skipped" or "not run"
    message: str = ""
    seconds: float | None = None

    @property
    def file(self) -> str:
        return self.id.split("::", 1)[0]


@dataclass
class Tally:
    cases: list[Case]
    runs: int = 0
    problems: list[str] = field(default_factory=list)  # runs that ended in a way no case explains

    def counts(self, area: str | None = None) -> dict[str, int]:
        chosen = [case for case in self.cases if area is None or case.area == area]
        counts = dict.fromkeys(("tried", *COLUMNS, "skipped", "not run", "control ok", "control failed"), 0)
        for case in chosen:
            counts[case.counted_as] += 1
            if case.counted_as in COLUMNS:
                counts["tried"] += 1
        return counts

    @property
    def ok(self) -> bool:
        totals = self.counts()
        bad = ("escaped", "lost", "hung", "not run", "control failed")
        return bool(self.cases) and not self.problems and not any(totals[name] for name in bad)


def command_for(log: Path, limit: float, skip: Path | None, targets: Sequence[str], *, collect: bool) -> list[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
    command += ["-o", "addopts=", "-p", "tests.hostile_tally", "--hostile-log", str(log), "--hostile-limit", str(limit)]
    if skip is not None:
        command += ["--hostile-skip", str(skip)]
    if collect:
        command.append("--collect-only")
    return [*command, *targets]


def subprocess_env() -> dict[str, str]:
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "PYTHONDONTWRITEBYTECODE": "1"}


def _events(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def collect(rootdir: Path, targets: Sequence[str], *, marked_only: bool = True) -> list[dict]:
    """The cases pytest collects under ``targets``: ``{"id", "fields", "slow"}``, fields None if unmarked."""
    with tempfile.TemporaryDirectory(prefix="hostile-collect-") as folder:
        log = Path(folder) / "log.jsonl"
        command = command_for(log, 1.0, None, targets, collect=True)
        if marked_only:
            command[-len(targets) : -len(targets)] = ["-m", "hostile"]
        done = subprocess.run(command, cwd=rootdir, env=subprocess_env(), capture_output=True, text=True)
        if done.returncode not in (0, 5):  # 5: nothing collected
            raise RuntimeError(
                f"collecting {' '.join(targets)} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}"
            )
        return [event for event in _events(log) if event["event"] == "case"]


def _run_file(rootdir: Path, file: str, cases: dict[str, Case], limit: float, folder: Path, tally: Tally) -> None:
    """Run one file's cases, again after each hung case, until every case has a result."""
    for attempt in range(1, len(cases) + 2):
        pending = [case for case in cases.values() if case.counted_as == "not run"]
        if not pending:
            return
        log = folder / f"{file.replace('/', '_')}.{attempt}.jsonl"
        skip = folder / f"{file.replace('/', '_')}.{attempt}.skip"
        skip.write_text("".join(f"{case.id}\n" for case in cases.values() if case not in pending), encoding="utf-8")
        command = [*command_for(log, limit, skip, ["-m", "hostile", file], collect=False)]
        output = folder / f"{file.replace('/', '_')}.{attempt}.out"
        tally.runs += 1
        with open(output, "w", encoding="utf-8") as out:
            process = subprocess.Popen(
                command, cwd=rootdir, env=subprocess_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            killed = _watch(process, log, limit + GRACE)
        running = None
        for event in _events(log):
            case = cases.get(event.get("id", ""))
            if case is None:
                continue
            if event["event"] == "start":
                running = case
            elif event["event"] == "end":
                running = None
                case.seconds = event["seconds"]
                case.message = event["message"]
                case.counted_as = _count(case, event["result"])
        if running is not None:
            hung_file = Path(str(log) + ".hung")
            timed_out = killed or (hung_file.exists() and "Timeout (" in hung_file.read_text(errors="replace"))
            if timed_out:
                running.counted_as = "hung" if running.outcome != "control" else "control failed"
                running.message = f"still running after {limit:g} s: {_last_frame(hung_file)}"
            else:
                running.counted_as = _count(running, "failed")
                running.message = f"the test process died (exit code {process.returncode})"
            continue
        if any(case.counted_as == "not run" for case in cases.values()):
            tail = output.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
            tally.problems.append(f"{file}: pytest exited {process.returncode} before running every case: {tail}")
            return


def _count(case: Case, result: str) -> str:
    if result == "skipped":
        return "skipped"
    if result == "passed":
        return PASSED_AS[case.outcome]
    return "control failed" if case.outcome == "control" else FAILED_AS[case.guards]


def _watch(process: subprocess.Popen, log: Path, wall: float) -> bool:
    """Wait for ``process``; kill its group if one case has been running ``wall`` seconds. True if killed."""
    import signal

    current, since = None, time.monotonic()
    while True:
        try:
            process.wait(timeout=1.0)
            return False
        except subprocess.TimeoutExpired:
            pass
        events = _events(log)
        latest = events[-1]["id"] if events and events[-1]["event"] == "start" else None
        if latest != current:
            current, since = latest, time.monotonic()
        if current is not None and time.monotonic() - since > wall:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True


def _last_frame(hung_file: Path) -> str:
    """The innermost line of the test's own code in faulthandler's dump of the hung case."""
    if not hung_file.exists():
        return "no traceback"
    frames = [line.strip() for line in hung_file.read_text(errors="replace").splitlines() if line.strip()]
    mine = [line for line in frames if "/tests/" in line or "test_" in line]
    return (mine or frames or ["no traceback"])[0]


def run_suite(
    rootdir: Path,
    targets: Iterable[str] = ("tests",),
    *,
    limit: float = 180.0,
    workers: int = 2,
    logs: Path | None = None,
) -> Tally:
    """Collect the hostile cases under ``targets`` (relative to ``rootdir``) and run them, file by file.

    Each pytest run's output and event log go to ``logs`` if given (kept), else to a temporary folder.
    """
    collected = collect(rootdir, list(targets))
    cases = [Case(event["id"], **_fields(event), slow=event["slow"]) for event in collected]
    tally = Tally(cases)
    by_file: dict[str, dict[str, Case]] = {}
    for case in cases:
        by_file.setdefault(case.file, {})[case.id] = case
    # the files with the most slow cases first, so that two workers finish together
    order = sorted(by_file, key=lambda name: (-sum(c.slow for c in by_file[name].values()), name))
    with tempfile.TemporaryDirectory(prefix="hostile-run-") as temporary, ThreadPoolExecutor(workers) as pool:
        folder = Path(temporary) if logs is None else logs
        folder.mkdir(parents=True, exist_ok=True)
        futures = [pool.submit(_run_file, rootdir, name, by_file[name], limit, folder, tally) for name in order]
        for future in futures:
            future.result()
    return tally


def _fields(event: dict) -> dict[str, str]:
    if event["fields"] is None:  # only with -m hostile: cannot happen, but say so if it does
        raise RuntimeError(f"{event['id']} was selected as hostile but carries no hostile marker")
    return event["fields"]
