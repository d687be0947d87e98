"""Chromium's own sandbox: how to launch it so that it can run, and whether it really runs.

Chromium refuses its sandbox when it runs as root. So:

- not root: Chromium is launched with its sandbox (user namespaces, or a setuid ``chrome-sandbox``);
- root: Chromium is launched through a small launcher that hands playwright's temporary profile
  folder to an unprivileged user (``nobody``) and starts Chromium as that user with ``setpriv``,
  keeping the pipe playwright talks over; there the sandbox can run;
- ``VIZHUB_CHROMIUM_SANDBOX=off``, no ``setpriv``, or a sandbox that does not start: Chromium runs
  with ``--no-sandbox``, and :attr:`SandboxPlan.why_off` says why (the run's summary prints it).

Whether the sandbox is on is read from the renderers themselves (:func:`renderer_sandboxed`):
a sandboxed renderer has a seccomp filter and a PID namespace of its own.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SANDBOX_ENV = "VIZHUB_CHROMIUM_SANDBOX"
UNPRIVILEGED_ID = 65534  # nobody: the user Chromium runs as when the run is root's
UNPRIVILEGED_NAME = "nobody"


@dataclass(frozen=True)
class SandboxPlan:
    """How to launch Chromium: with its sandbox or not, and as which user."""

    sandbox: bool
    setpriv: str | None = None  # run Chromium through setpriv as UNPRIVILEGED_ID (the run is root's)
    why_off: str = ""  # why the sandbox is off (empty when it is on)

    def off(self, why: str) -> SandboxPlan:
        return SandboxPlan(sandbox=False, why_off=why)

    def describe(self, verified: bool | None) -> str:
        """One line for the run's summary (depends on the host: never written to a file)."""
        if not self.sandbox:
            return f"browser sandbox: OFF (--no-sandbox): {self.why_off}"
        who = f", as user {UNPRIVILEGED_NAME} through setpriv" if self.setpriv else ""
        if verified is False:
            return f"browser sandbox: OFF: Chromium was asked for its sandbox{who}, but its renderers are not sandboxed"
        unread = "; not confirmed: the renderers could not be read" if verified is None else ""
        return f"browser sandbox: on (Chromium's own: seccomp and namespaces in every renderer{who}{unread})"


def plan_sandbox(
    env: Mapping[str, str] | None = None, *, euid: int | None = None, setpriv: str | None = None
) -> SandboxPlan:
    """How this process should launch Chromium (see the module's text)."""
    env = os.environ if env is None else env
    euid = os.geteuid() if euid is None else euid
    choice = env.get(SANDBOX_ENV, "").strip().lower()
    if choice in ("off", "0", "no", "false"):
        return SandboxPlan(sandbox=False, why_off=f"turned off by {SANDBOX_ENV}={env[SANDBOX_ENV]}")
    if choice not in ("", "on", "1", "yes", "true", "auto"):
        from vizhub_pipeline.core.errors import PrerequisiteError

        raise PrerequisiteError(f"{SANDBOX_ENV}={env[SANDBOX_ENV]}: expected on, off or auto")
    if euid != 0:
        return SandboxPlan(sandbox=True)
    found = setpriv or shutil.which("setpriv", path=env.get("PATH", os.defpath))
    if found is None:
        return SandboxPlan(
            sandbox=False, why_off="running as root, and setpriv (util-linux) is missing to start Chromium as nobody"
        )
    return SandboxPlan(sandbox=True, setpriv=found)


def write_launcher(folder: Path, chromium: str, setpriv: str) -> Path:
    """An executable in ``folder`` that playwright starts in Chromium's place: it gives the
    profile folder (``--user-data-dir=``) to the unprivileged user and execs Chromium as that
    user, with no groups and no capabilities. Open files (playwright's pipe, fds 3 and 4) stay."""
    ids = f"{UNPRIVILEGED_ID}:{UNPRIVILEGED_ID}"
    script = f"""#!/bin/sh
# Written by vizhub: start Chromium as an unprivileged user, where its sandbox can run.
profile=""
for arg in "$@"; do
  case "$arg" in --user-data-dir=*) profile="${{arg#--user-data-dir=}}" ;; esac
done
if [ -n "$profile" ]; then
  chown -R {ids} "$profile" || exit 1
  HOME="$profile" XDG_CONFIG_HOME="$profile/.config" XDG_CACHE_HOME="$profile/.cache"
  export HOME XDG_CONFIG_HOME XDG_CACHE_HOME
fi
exec {shlex.quote(setpriv)} --reuid={UNPRIVILEGED_ID} --regid={UNPRIVILEGED_ID} --clear-groups --inh-caps=-all \\
  -- {shlex.quote(chromium)} "$@"
"""
    path = folder / "chromium-as-nobody"
    path.write_text(script, encoding="utf-8")
    path.chmod(0o700)
    return path


def renderer_sandboxed(pid: int) -> bool | None:
    """Whether the process ``pid`` (a renderer) runs in Chromium's sandbox: a seccomp filter
    (``Seccomp: 2``) and a PID namespace other than this process's. None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
        namespace = os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    seccomp = fields.get("Seccomp", "").strip() == "2"
    return seccomp and namespace != os.readlink("/proc/self/ns/pid")


def resident_mb(pid: int) -> float | None:
    """The resident memory of process ``pid`` in MB (from ``/proc/<pid>/statm``), None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/statm").read_text(encoding="ascii").split()
    except OSError:
        return None
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def launch_error(exc: Exception) -> str:
    """The telling line of a failed launch (playwright's first line is often only "Browser closed")."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "FATAL" in line or "sandbox" in line.lower() and "--no-sandbox" not in line:
            return line[:300]
    return lines[0][:300] if lines else type(exc).__name__
