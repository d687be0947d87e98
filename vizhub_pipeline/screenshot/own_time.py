"""The clock a page's time limit is measured on: the run's own time, not the wall clock.

On a machine that other programs keep busy, a page gets only a share of the CPU, and the wall
clock runs on while it waits for its turn. A limit on wall time then stops a normal page that
was only kept waiting: its status would depend on the machine's load, not on the page.

:class:`OwnClock` counts, between two readings:

- the whole wall time, when the machine had a CPU free (at least half of one, on average):
  nothing kept the run from running, so any wait was the run's own (a page that hangs idle);
- otherwise only the CPU time the run itself got in that time (this process and everything it
  started: playwright's driver, Chromium and its renderers), at most the wall time.

So a page alone gets the same ``timeout`` of its own time at any load: an endless loop stops
after that much CPU, a page that waits for nothing stops after that much time, and a bar chart
that needs one second of CPU is never stopped because others took the machine. A page that waits
idle while others keep every CPU busy would never use its time, so :meth:`OwnClock.wait_for` also
stops after :data:`CEILING` times its limit on the wall clock.

The readings come from ``/proc`` (Linux). Where it cannot be read, the clock is the wall clock.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

TICK = 0.05  # seconds between two readings (and between two looks at a waited call)
TREE_EVERY = 1.0  # seconds between two walks of /proc for the processes the run started
FREE_CPU = 0.5  # a machine with at least this much of one CPU idle had room for the run
CEILING = 10  # a wait also ends after this many times its limit on the wall clock


class OwnClock:
    """Seconds of the run's own time (see the module's text); :meth:`now` is monotonic."""

    def __init__(self, root_pid: int | None = None, *, proc: str = "/proc", wall: Callable[[], float] = time.monotonic):
        self.root_pid = os.getpid() if root_pid is None else root_pid
        self.proc = proc
        self.wall = wall
        self._hz = os.sysconf("SC_CLK_TCK")
        self._own = 0.0
        self._wall = wall()
        self._idle = self._read_idle()
        self._tree: set[int] = set()
        self._tree_at = -TREE_EVERY
        self._cpu: dict[int, int] = {}
        self.readable = self._idle is not None
        if self.readable:
            self._read_cpu(first=True)

    def now(self) -> float:
        """The run's own time in seconds since the clock was made (read at most every :data:`TICK`)."""
        wall = self.wall()
        elapsed = wall - self._wall
        if elapsed < TICK:
            return self._own
        if not self.readable:
            self._own += elapsed
        else:
            idle = self._read_idle()
            used = self._read_cpu()
            if idle is None or self._idle is None:
                self._own += elapsed
            else:
                free = (idle - self._idle) / self._hz
                self._own += elapsed if free >= FREE_CPU * elapsed else min(elapsed, used)
            self._idle = idle
        self._wall = wall
        return self._own

    async def wait_for(self, call: Awaitable[T], timeout: float) -> T:
        """Like :func:`asyncio.wait_for`, with ``timeout`` seconds of own time (and at most
        :data:`CEILING` times as many on the wall clock): the call is cancelled and
        :class:`TimeoutError` raised when they run out."""
        task: asyncio.Future[Any] = asyncio.ensure_future(call)
        deadline = self.now() + timeout
        wall_deadline = self.wall() + timeout * CEILING
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=TICK)
                if done:
                    return task.result()
                if self.now() >= deadline or self.wall() >= wall_deadline:
                    raise TimeoutError()
        finally:
            if not task.done():
                task.cancel()
                task.add_done_callback(_retrieve)

    # ------------------------------------------------------------------ /proc

    def _read_idle(self) -> int | None:
        """Idle ticks of the whole machine, from the first line of /proc/stat. I/O wait is not
        idle here: a machine whose CPUs wait on a swapping disk had no CPU to give either."""
        try:
            with open(f"{self.proc}/stat", encoding="ascii") as handle:
                fields = handle.readline().split()
        except OSError:
            return None
        if len(fields) < 6 or fields[0] != "cpu":
            return None
        return int(fields[4])

    def _read_cpu(self, *, first: bool = False) -> float:
        """CPU seconds the run's processes used since the last reading (a process that ended takes
        its time with it; one that started since counts whole)."""
        wall = self.wall()
        if wall - self._tree_at >= TREE_EVERY:
            self._tree = self._walk_tree()
            self._tree_at = wall
        used = 0
        seen: dict[int, int] = {}
        for pid in self._tree:
            ticks = _cpu_ticks(f"{self.proc}/{pid}/stat")
            if ticks is None:
                continue
            seen[pid] = ticks
            used += max(0, ticks - self._cpu.get(pid, 0 if not first else ticks))
        self._cpu = seen
        return used / self._hz

    def _walk_tree(self) -> set[int]:
        """The root process and every process below it."""
        children: dict[int, list[int]] = {}
        try:
            names = os.listdir(self.proc)
        except OSError:
            return {self.root_pid}
        for name in names:
            if not name.isdigit():
                continue
            parent = _parent(f"{self.proc}/{name}/stat")
            if parent is not None:
                children.setdefault(parent, []).append(int(name))
        tree, todo = set(), [self.root_pid]
        while todo:
            pid = todo.pop()
            if pid not in tree:
                tree.add(pid)
                todo.extend(children.get(pid, ()))
        return tree


def _stat_fields(path: str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces or parentheses)."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def _parent(path: str) -> int | None:
    fields = _stat_fields(path)
    return int(fields[1]) if fields and len(fields) > 1 else None


def _cpu_ticks(path: str) -> int | None:
    """User plus system CPU ticks of a process (all its threads)."""
    fields = _stat_fields(path)
    return int(fields[11]) + int(fields[12]) if fields and len(fields) > 12 else None


def _retrieve(task: asyncio.Future) -> None:
    """Take a cancelled call's outcome, so that asyncio does not warn that nobody read it."""
    if not task.cancelled():
        task.exception()
