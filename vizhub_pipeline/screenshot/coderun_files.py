"""The files of a sandboxed run: which host files it sees, and how host paths leave its output.

:func:`list_runtime` names the runtime to bind read-only (the command's executable, ``prlimit``,
and the shared libraries ``ldd`` lists for them); :func:`plan_copy` lists an output's folders and
files, with a challenge's protected files laid over them, refusing what a copy could be tricked
by (symbolic links, devices, sockets); :func:`replace_host_paths` turns host paths in captured
text into placeholders.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path, PurePosixPath

from vizhub_pipeline.core.errors import InputError, PrerequisiteError, VizhubError


class CannotRunError(VizhubError):
    """The output cannot be run as it is (a symbolic link, too many files); recorded as ``error``."""


def find_executable(name: str) -> str:
    """The host file behind a command name (``node``), resolved through PATH and symbolic links."""
    found = shutil.which(name) if "/" not in name else (name if os.access(name, os.X_OK) else None)
    if not found:
        raise PrerequisiteError(f"{name} is not installed (not found on PATH): the sandbox needs it to run tests")
    return os.path.realpath(found)


@lru_cache(maxsize=16)
def list_libraries(executable: str) -> tuple[str, ...]:
    """The shared libraries and the loader ``ldd`` lists for ``executable``: what it needs to start."""
    ldd = shutil.which("ldd")
    if not ldd:
        raise PrerequisiteError("ldd is not installed: the sandbox needs it to find a runtime's libraries")
    done = subprocess.run([ldd, executable], capture_output=True, text=True, env={"LC_ALL": "C"}, check=False)
    if "not a dynamic executable" in done.stdout + done.stderr or "statically linked" in done.stdout:
        return ()
    if done.returncode != 0:
        raise PrerequisiteError(f"ldd {executable} failed: {done.stderr.strip()}")
    paths = []
    for line in done.stdout.splitlines():
        if "not found" in line:
            raise PrerequisiteError(f"{executable} lacks a library: {line.strip()}")
        match = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if match:
            paths.append(match.group(1))
    return tuple(paths)


def list_runtime(command_name: str) -> list[tuple[str, str]]:
    """(host file, sandbox path) pairs to bind read-only: the executable, prlimit, their libraries."""
    binds: dict[str, str] = {}
    for name in (command_name, "prlimit"):
        executable = find_executable(name)
        binds[f"/usr/bin/{os.path.basename(name)}"] = executable
        for library in list_libraries(executable):
            binds.setdefault(library, os.path.realpath(library))
    return [(source, target) for target, source in binds.items()]


def plan_copy(output_dir: Path, protected: Mapping[str, Path]) -> tuple[list[str], dict[str, Path]]:
    """The folders (parents first) and files of the sandbox copy: the output's, protected ones laid over."""
    folders: list[str] = []
    files: dict[str, Path] = {}

    def walk(folder: Path, prefix: str) -> None:
        for entry in sorted(os.scandir(folder), key=lambda item: item.name):
            relative = prefix + entry.name
            if entry.is_symlink():
                raise CannotRunError(f"the output holds a symbolic link: {relative}")
            if entry.is_dir(follow_symlinks=False):
                folders.append(relative)
                walk(Path(entry.path), relative + "/")
            elif entry.is_file(follow_symlinks=False):
                files[relative] = Path(entry.path)
            else:
                raise CannotRunError(f"the output holds something other than files and folders: {relative}")

    walk(output_dir, "")
    for name, source in protected.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise InputError(source, f"a protected file's name must be a path inside the output, not {name!r}")
        if not Path(source).is_file():
            raise InputError(source, f"the protected file {name} does not exist")
        if relative.as_posix() in folders:
            raise CannotRunError(f"the output has a folder where the protected file {name} goes")
        for parent in reversed(relative.parents[:-1]):
            if parent.as_posix() in files:
                raise CannotRunError(f"the output has a file where the protected file {name} needs a folder")
            if parent.as_posix() not in folders:
                folders.append(parent.as_posix())
        files[relative.as_posix()] = Path(source)
    return folders, files


def list_host_places(output_dir: Path, protected: Mapping[str, Path], project_root: Path | None) -> dict[str, str]:
    """Host paths that may show in a run's output, each with the placeholder that replaces it."""
    places: dict[str, str] = {}
    candidates = [
        (tempfile.gettempdir(), "<tmp>"),
        (str(Path.home()), "<home>"),
        (os.environ.get("HOME", ""), "<home>"),
    ]
    candidates.append((str(project_root if project_root is not None else Path.cwd()), "<project>"))
    candidates += [(str(Path(source).parent), "<protected>") for source in protected.values()]
    candidates.append((str(output_dir), "<output>"))
    for path, placeholder in candidates:
        for form in {os.path.abspath(path), os.path.realpath(path)} if path else ():
            if form != "/":
                places[form] = placeholder
    return places


def replace_host_paths(text: str, places: Mapping[str, str]) -> str:
    """``text`` with every host path of ``places`` replaced by its placeholder, longest path first."""
    if not places or not text:
        return text
    ordered = sorted(places, key=len, reverse=True)
    pattern = re.compile("(?:" + "|".join(re.escape(path) for path in ordered) + r")(?![\w.-])")
    return pattern.sub(lambda match: places[match.group(0)], text)
