"""Run a code challenge's test command on an untrusted output, inside a bubblewrap sandbox.

The one seam to the sandbox. ``run_sandboxed(output_dir, ["node", "index.mjs"], entry="index.mjs")``
copies the output's files, with a challenge's protected files laid over them, into a fresh
sandbox and runs the command there:

- the copy lives on a tmpfs of ``Limits.disk_bytes`` at ``/work`` (working directory, HOME and
  TMPDIR), the only writable place; the output folder itself is never touched;
- besides the copy, only the command's executable (at ``/usr/bin/<name>``), the shared libraries
  ``ldd`` lists for it, ``prlimit``, and fresh ``/proc`` and ``/dev`` exist: nothing of the project,
  the home folder or ``/tmp``;
- every namespace is new (``--unshare-all``): no network, not even the host's loopback, and a
  process tree of its own that dies as a whole; the environment holds only PATH, HOME, TMPDIR,
  LANG and TZ;
- the command runs as an unprivileged user (``nobody`` when the caller is root, since process
  limits do not bind root) under rlimits for memory (RLIMIT_DATA, per process), tasks
  (RLIMIT_NPROC, counted inside the sandbox's own user namespace, so parallel runs do not share
  it), file size and open files; at the time limit the whole tree is killed;
- stdout and stderr are kept up to ``Limits.output_bytes`` each, a last line saying so when cut, and
  host paths in them (output folder, protected files, project, home, temporary folder) become
  placeholders, so a record is the same on every machine.

Statuses: ``passed`` (exit 0), ``failed`` (any other exit), ``timeout``, ``error`` (could not run:
missing entry file, a symbolic link in the output, the sandbox failed to start). Bubblewrap names
its child before it sets up the mounts, and a failure there exits 1 like a failing test; the
runner never tells the two apart by the messages (an output could print them), so such a failure
shows as ``failed`` with bubblewrap's message in stderr. :func:`check_sandbox`, run once before a
stage, turns a machine that cannot sandbox into a PrerequisiteError instead.

Blocking and thread-safe (no ``preexec_fn``): from asyncio, ``await asyncio.to_thread(run_sandboxed, ...)``.
"""

from __future__ import annotations

import codecs
import json
import os
import select
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vizhub_pipeline.core.errors import InputError, PrerequisiteError
from vizhub_pipeline.screenshot.coderun_files import (
    CannotRunError,
    list_host_places,
    list_runtime,
    plan_copy,
    replace_host_paths,
)

STATUSES = ("passed", "failed", "error", "timeout")
WORK = "/work"
NOBODY = 65534
MAX_FILES = 200
SANDBOX_ENV = {"PATH": "/usr/bin", "HOME": WORK, "TMPDIR": WORK, "LANG": "C.UTF-8", "TZ": "UTC"}
NO_BWRAP = (
    "no bubblewrap (bwrap) on this machine: run `make setup` (scripts/ensure-bubblewrap.sh), "
    "install Debian's bubblewrap package, or set VIZHUB_BWRAP=/path/to/bwrap"
)
_KILL_GRACE = 5.0


@dataclass(frozen=True)
class Limits:
    """What one run may use. Memory is per process; tasks count processes and threads together."""

    seconds: float = 10.0
    memory_bytes: int = 512 * 2**20
    tasks: int = 64
    disk_bytes: int = 64 * 2**20
    open_files: int = 256
    output_bytes: int = 64 * 2**10

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, not {value!r}")


@dataclass(frozen=True)
class CodeRun:
    """The outcome of one sandboxed run. ``seconds`` is for logs; :meth:`to_record` leaves it out."""

    status: str
    exit_code: int | None
    message: str
    stdout: str = ""
    stderr: str = ""
    stdout_cut: bool = False
    stderr_cut: bool = False
    seconds: float = 0.0

    def to_record(self) -> dict:
        """Every field but the duration: the same for the same output on every machine."""
        record = asdict(self)
        del record["seconds"]
        return record


def find_bwrap(env: Mapping[str, str] | None = None) -> str:
    """``$VIZHUB_BWRAP``, else ``bwrap`` on PATH; a one-line PrerequisiteError if neither."""
    env = os.environ if env is None else env
    chosen = env.get("VIZHUB_BWRAP")
    if chosen:
        if os.path.isfile(chosen) and os.access(chosen, os.X_OK):
            return chosen
        raise PrerequisiteError(f"VIZHUB_BWRAP={chosen} is not an executable file: fix it or unset it")
    found = shutil.which("bwrap", path=env.get("PATH", os.defpath))
    if not found:
        raise PrerequisiteError(NO_BWRAP)
    return found


def describe_exit(code: int) -> str:
    """``exit code N``, naming the signal when bubblewrap reports one as 128 + its number."""
    if code > 128:
        try:
            return f"exit code {code} (killed by {signal.Signals(code - 128).name})"
        except ValueError:
            pass
    return f"exit code {code}"


def build_arguments(
    bwrap: str, command: Sequence[str], folders: list[str], fds: dict[str, int], status_fd: int, limits: Limits
) -> list[str]:
    args = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session"]
    args += ["--hostname", "sandbox", "--clearenv"]
    for name, value in SANDBOX_ENV.items():
        args += ["--setenv", name, value]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for source, target in list_runtime(command[0]):
        args += ["--ro-bind", source, target]
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    args += ["--size", str(limits.disk_bytes), "--tmpfs", WORK]
    for folder in folders:
        args += ["--dir", f"{WORK}/{folder}"]
    for relative, fd in fds.items():
        args += ["--file", str(fd), f"{WORK}/{relative}"]
    args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", WORK, "--json-status-fd", str(status_fd), "--"]
    args += ["/usr/bin/prlimit", f"--nproc={limits.tasks}", f"--data={limits.memory_bytes}"]
    args += [f"--fsize={limits.disk_bytes}", f"--nofile={limits.open_files}", "--core=0", "--"]
    return args + [os.path.basename(command[0]), *command[1:]]


@dataclass
class Captured:
    """What a run wrote: its streams (up to the cap), bubblewrap's status documents, whether it timed out."""

    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    stdout_cut: bool = False
    stderr_cut: bool = False
    status: bytearray = field(default_factory=bytearray)
    timed_out: bool = False
    init: int | None = None  # a pidfd of the sandbox's init, whose end means an empty namespace

    def documents(self) -> list[dict]:
        """The JSON documents bubblewrap wrote (child-pid first, exit-code last)."""
        text, found, decoder, at = self.status.decode("utf-8", errors="replace"), [], json.JSONDecoder(), 0
        while at < len(text):
            if text[at].isspace():
                at += 1
                continue
            try:
                document, at = decoder.raw_decode(text, at)
            except json.JSONDecodeError:
                break
            found.append(document)
        return found

    def watch_init(self) -> None:
        """Hold a pidfd of the sandbox's init once bubblewrap names it, checking it is in the sandbox's
        pid namespace (so a reused pid is never taken for it)."""
        started = next((doc for doc in self.documents() if "child-pid" in doc), None)
        if self.init is not None or started is None:
            return
        try:
            pidfd = os.pidfd_open(started["child-pid"])
        except ProcessLookupError:
            return  # already gone, and its namespace with it
        try:
            namespace = os.stat(f"/proc/{started['child-pid']}/ns/pid").st_ino
        except OSError:
            namespace = None
        if namespace is not None and namespace == started.get("pid-namespace"):
            self.init = pidfd
        else:
            os.close(pidfd)


def kill_bwrap(process: subprocess.Popen) -> None:
    """SIGKILL bubblewrap's process group; its sandbox's init dies with it (--die-with-parent)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def kill_sandbox(process: subprocess.Popen, captured: Captured) -> None:
    """SIGKILL the sandbox's init, which takes every process of its namespace along; else bubblewrap,
    whose death kills the init (--die-with-parent)."""
    if captured.init is None:
        kill_bwrap(process)
        return
    try:
        signal.pidfd_send_signal(captured.init, signal.SIGKILL)
    except ProcessLookupError:
        pass


def await_init(process: subprocess.Popen, captured: Captured) -> None:
    """Return once the sandbox's init has ended: the kernel ends it only after every process in its
    namespace, so nothing of the run outlives it. Bubblewrap itself may exit a little earlier."""
    if captured.init is None:
        return
    try:
        for _ in range(2):
            ready, _w, _x = select.select([captured.init], [], [], _KILL_GRACE)
            if ready:
                return
            kill_sandbox(process, captured)
    finally:
        os.close(captured.init)
        captured.init = None


def collect_run(process: subprocess.Popen, status_fd: int, limits: Limits) -> Captured:
    """Read stdout, stderr and bubblewrap's status until all close, keeping ``output_bytes`` of each
    stream; at the time limit, kill the sandbox. Never waits much longer than the limit."""
    assert process.stdout is not None and process.stderr is not None
    captured = Captured()
    targets = {process.stdout.fileno(): "stdout", process.stderr.fileno(): "stderr", status_fd: "status"}
    deadline = time.monotonic() + limits.seconds
    with selectors.DefaultSelector() as selector:
        for fd in targets:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                if captured.timed_out:
                    kill_bwrap(process)
                    break  # killed, yet something holds a pipe: give up reading rather than hang
                captured.timed_out = True
                kill_sandbox(process, captured)
                deadline = time.monotonic() + _KILL_GRACE
                continue
            for key, _ in selector.select(timeout=left):
                chunk = os.read(key.fd, 65536)
                name = targets[key.fd]
                if not chunk:
                    selector.unregister(key.fd)
                elif name == "status":
                    captured.status += chunk
                    captured.watch_init()
                else:
                    kept: bytearray = getattr(captured, name)
                    room = limits.output_bytes - len(kept)
                    kept += chunk[: max(room, 0)]
                    if len(chunk) > room:
                        setattr(captured, f"{name}_cut", True)
    try:
        process.wait(timeout=max(deadline - time.monotonic(), 0.0))
    except subprocess.TimeoutExpired:
        captured.timed_out = True
        kill_sandbox(process, captured)
        kill_bwrap(process)
        process.wait(timeout=_KILL_GRACE)
    await_init(process, captured)
    return captured


def decode_output(data: bytes | bytearray, was_cut: bool, places: Mapping[str, str], limit: int) -> str:
    """Text of a captured stream: host paths replaced; when cut, ends on a whole character and says so."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = replace_host_paths(decoder.decode(data, final=not was_cut), places)
    return text + (f"\n[output cut at {limit} bytes]\n" if was_cut else "")


def run_sandboxed(
    output_dir: str | os.PathLike,
    command: Sequence[str],
    *,
    entry: str | None = None,
    protected: Mapping[str, str | os.PathLike] | None = None,
    limits: Limits = Limits(),
    project_root: str | os.PathLike | None = None,
) -> CodeRun:
    """Run ``command`` on a sandboxed copy of ``output_dir`` and say how it went.

    ``entry`` names a file the command needs (``error`` if the output lacks it); ``protected``
    maps a file name to the challenge's copy, used instead of the output's. The library raises
    only for the machine (no bubblewrap: PrerequisiteError) or the challenge (a missing protected
    file: InputError); everything about the output is in the returned status.
    """
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise InputError(output_dir, "the output folder does not exist")
    if not command:
        raise ValueError("command must name a program")
    overlay = {name: Path(source) for name, source in (protected or {}).items()}
    places = list_host_places(output_dir, overlay, Path(project_root) if project_root is not None else None)
    bwrap = find_bwrap()
    started = time.monotonic()

    def error(message: str) -> CodeRun:
        return CodeRun("error", None, replace_host_paths(message, places), seconds=time.monotonic() - started)

    try:
        folders, files = plan_copy(output_dir, overlay)
    except CannotRunError as exc:
        return error(str(exc))
    if entry is not None and entry not in files:
        return error(f"the entry file {entry} is missing from the output")
    if len(files) > MAX_FILES:
        return error(f"the output has {len(files)} files, more than the {MAX_FILES} a run copies")
    size = sum(-(-path.stat().st_size // 4096) * 4096 for path in files.values())  # tmpfs takes whole pages
    if size > limits.disk_bytes:
        return error(f"the output's files take {size} bytes, more than the sandbox's {limits.disk_bytes}")

    fds: dict[str, int] = {}
    status_read, status_write = os.pipe()
    try:
        for relative, path in files.items():
            try:
                fds[relative] = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError as exc:
                raise CannotRunError(f"cannot read {relative}: {exc.strerror}") from None
        args = build_arguments(bwrap, command, folders, fds, status_write, limits)
        drop = os.geteuid() == 0
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={},
            cwd="/",
            pass_fds=(*fds.values(), status_write),
            start_new_session=True,
            user=NOBODY if drop else None,
            group=NOBODY if drop else None,
            extra_groups=[] if drop else None,
        )
    except CannotRunError as exc:
        os.close(status_read)
        return error(str(exc))
    except OSError as exc:
        os.close(status_read)
        return error(f"the sandbox could not start: {exc}")
    except BaseException:
        os.close(status_read)
        raise
    finally:
        for fd in (*fds.values(), status_write):
            os.close(fd)
    try:
        with process:
            captured = collect_run(process, status_read, limits)
    finally:
        os.close(status_read)
    seconds = time.monotonic() - started
    out = decode_output(captured.stdout, captured.stdout_cut, places, limits.output_bytes)
    err = decode_output(captured.stderr, captured.stderr_cut, places, limits.output_bytes)
    streams = (out, err, captured.stdout_cut, captured.stderr_cut, seconds)
    if captured.timed_out:
        return CodeRun("timeout", None, f"timed out after {limits.seconds:g} s", *streams)
    documents = captured.documents()
    if not any("child-pid" in document for document in documents):
        reason = err.strip().splitlines()[-1] if err.strip() else describe_exit(process.returncode)
        return CodeRun("error", None, f"the sandbox could not start: {reason}", *streams)
    code = next((doc["exit-code"] for doc in documents if "exit-code" in doc), process.returncode)
    return CodeRun("passed" if code == 0 else "failed", code, describe_exit(code), *streams)


def check_sandbox(command_name: str = "node") -> None:
    """Run a trivial program in the sandbox once; a PrerequisiteError says why the machine cannot."""
    with tempfile.TemporaryDirectory(prefix="vizhub-sandbox-check-") as folder:
        Path(folder, "check.js").write_text("process.exit(0)\n", encoding="utf-8")
        run = run_sandboxed(folder, [command_name, "check.js"], entry="check.js", limits=Limits(seconds=30))
    if run.status != "passed":
        detail = run.message if run.status == "error" else f"{run.message}; {run.stderr.strip()[:300]}"
        raise PrerequisiteError(
            f"the bubblewrap sandbox does not work on this machine ({detail}); it needs unprivileged "
            "user namespaces (sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1)"
        )
