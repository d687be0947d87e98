"""The clock of a page's time limit (:mod:`vizhub_pipeline.screenshot.own_time`), on a written /proc
and a wall clock the test moves: what counts on an idle machine and on one others keep busy."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from vizhub_pipeline.screenshot.own_time import CEILING, OwnClock

HZ = os.sysconf("SC_CLK_TCK")
ROOT = 4242


class FakeMachine:
    """A /proc of two CPUs and a few processes, and a wall clock, both moved by the test."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.time = 100.0
        self.idle = 1_000_000
        self.iowait = 2_000
        self.processes: dict[int, tuple[int, str, int]] = {}  # pid -> (parent, name, cpu ticks)
        self.write()

    def wall(self) -> float:
        return self.time

    def set(self, pid: int, parent: int, ticks: int, name: str = "chromium") -> None:
        self.processes[pid] = (parent, name, ticks)

    def end(self, pid: int) -> None:
        del self.processes[pid]

    def later(self, seconds: float, *, idle_cpus: float, iowait_cpus: float = 0.0) -> None:
        """``seconds`` pass on the wall clock, with ``idle_cpus`` of the two CPUs idle on average
        (and ``iowait_cpus`` idle while a process waits on the disk)."""
        self.time += seconds
        self.idle += round(seconds * idle_cpus * HZ)
        self.iowait += round(seconds * iowait_cpus * HZ)
        self.write()

    def write(self) -> None:
        for entry in self.folder.iterdir():
            if entry.is_dir():
                (entry / "stat").unlink()
                entry.rmdir()
        (self.folder / "stat").write_text(
            f"cpu  5000 0 3000 {self.idle} {self.iowait} 0 0 0 0 0\ncpu0 1 2 3 4 5\n", encoding="ascii"
        )
        for pid, (parent, name, ticks) in self.processes.items():
            (self.folder / str(pid)).mkdir()
            fields = ["S", str(parent), "1", "1", "0", "-1", "0", "10", "0", "0", "0", str(ticks - ticks // 2)]
            fields += [str(ticks // 2), "0", "0", "20", "0", "1", "0", "12345"]
            (self.folder / str(pid) / "stat").write_text(f"{pid} ({name}) {' '.join(fields)}\n", encoding="ascii")


@pytest.fixture
def machine(tmp_path) -> FakeMachine:
    found = FakeMachine(tmp_path)
    found.set(ROOT, 1, 500, "python")
    found.write()
    return found


def clock_on(machine: FakeMachine) -> OwnClock:
    return OwnClock(ROOT, proc=str(machine.folder), wall=machine.wall)


def test_with_a_cpu_free_the_whole_wall_time_counts(machine):
    clock = clock_on(machine)
    machine.later(3.0, idle_cpus=1.2)  # the run waited on nothing but itself (a page hanging idle)
    assert clock.now() == pytest.approx(3.0)
    machine.set(ROOT, 1, 500 + 2 * HZ)  # a page's endless loop beside one idle CPU
    machine.later(2.0, idle_cpus=1.0)
    assert clock.now() == pytest.approx(5.0)


def test_on_a_machine_others_keep_busy_only_the_runs_own_cpu_counts(machine):
    machine.set(7001, ROOT, 0, "node")  # playwright's driver
    machine.set(7002, 7001, 40, "chrome) (renderer")  # a name with parentheses and a space
    machine.set(9999, 1, 0, "burner")  # another program: not the run's
    machine.write()
    clock = clock_on(machine)
    machine.set(ROOT, 1, 500 + HZ // 10)
    machine.set(7002, 7001, 40 + HZ // 5)
    machine.set(9999, 1, 10 * HZ)
    machine.later(4.0, idle_cpus=0.0)
    assert clock.now() == pytest.approx(0.3)  # 0.1 + 0.2 s of CPU in 4 s of wall time


def test_cpus_waiting_on_the_disk_are_not_free(machine):
    clock = clock_on(machine)
    machine.set(ROOT, 1, 500 + HZ // 5)
    machine.later(2.0, idle_cpus=0.0, iowait_cpus=1.5)  # a swapping machine: nothing to give the run
    assert clock.now() == pytest.approx(0.2)


def test_the_run_cannot_count_more_than_the_wall_time(machine):
    clock = clock_on(machine)
    machine.set(ROOT, 1, 500 + 6 * HZ)  # 6 CPU seconds in 2 wall seconds (threads on every CPU)
    machine.later(2.0, idle_cpus=0.0)
    assert clock.now() == pytest.approx(2.0)


def test_a_process_that_ends_takes_nothing_back_and_one_that_starts_counts_whole(machine):
    machine.set(7002, ROOT, 300)
    machine.write()
    clock = clock_on(machine)
    machine.set(7002, ROOT, 300 + HZ // 2)
    machine.later(2.0, idle_cpus=0.0)
    assert clock.now() == pytest.approx(0.5)
    machine.end(7002)  # the renderer ends: its 3.5 s do not vanish from the count
    machine.set(7003, ROOT, HZ // 4)  # a new renderer, started since the last reading
    machine.later(2.0, idle_cpus=0.0)
    assert clock.now() == pytest.approx(0.75)


def test_readings_closer_than_a_tick_change_nothing(machine):
    clock = clock_on(machine)
    machine.later(0.01, idle_cpus=2.0)
    assert clock.now() == 0.0
    machine.later(0.05, idle_cpus=2.0)
    assert clock.now() == pytest.approx(0.06)


def test_without_a_readable_proc_it_is_the_wall_clock(machine, tmp_path):
    clock = OwnClock(ROOT, proc=str(tmp_path / "missing"), wall=machine.wall)
    assert not clock.readable
    machine.later(2.5, idle_cpus=0.0)
    assert clock.now() == pytest.approx(2.5)


def test_wait_for_gives_the_answer_or_stops_at_the_wall_ceiling_on_a_busy_machine(machine):
    clock = clock_on(machine)

    async def answer() -> str:
        return "done"

    async def never() -> None:
        await asyncio.Event().wait()

    def moving_wall() -> float:
        machine.later(0.25, idle_cpus=0.0)  # a busy machine: an idle wait uses no own time
        return machine.time

    async def scenario() -> tuple[str, float]:
        got = await clock.wait_for(answer(), 1.0)
        clock.wall = moving_wall
        started = machine.time
        with pytest.raises(TimeoutError):
            await clock.wait_for(never(), 0.5)
        return got, machine.time - started

    got, waited = asyncio.run(scenario())
    assert got == "done"
    assert 0.5 * CEILING <= waited <= 0.5 * CEILING + 1  # the ceiling, not the 0.5 s of own time
    assert clock.now() < 0.5


def test_wait_for_stops_after_the_limit_in_own_time(machine):
    clock = clock_on(machine)
    stopped = []

    async def never() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            stopped.append(True)
            raise

    def moving_wall() -> float:
        machine.later(0.2, idle_cpus=1.5)  # a free CPU: the whole time counts
        return machine.time

    async def scenario() -> None:
        clock.wall = moving_wall
        with pytest.raises(TimeoutError):
            await clock.wait_for(never(), 1.0)
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert stopped == [True]  # the call was cancelled
    assert 1.0 <= clock.now() < 2.0
