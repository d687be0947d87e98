"""Writes that never leave a half-written file or folder behind.

Temporary files and folders are created private (mode 0600 / 0700, as :mod:`tempfile` makes
them) and given the mode a plain ``open()`` or ``mkdir()`` would have given them (0666 / 0777
less the process umask) before they are renamed into place, so a finished file is as readable
as any other file the user writes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def current_umask() -> int:
    """The process umask, read without changing it where the system tells it (Linux), else by
    setting and restoring it at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def usual_mode(*, directory: bool = False) -> int:
    """The mode ``open()`` (or ``mkdir()`` with ``directory``) gives a new file under the current umask."""
    return (0o777 if directory else 0o666) & ~current_umask()


def temporary_file(final: Path) -> tuple[int, str]:
    """A new temporary file beside ``final`` (``.<name>.*.tmp``) with the usual mode: ``(fd, path)``."""
    final = Path(final)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    try:
        os.fchmod(fd, usual_mode())
    except BaseException:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    return fd, tmp


def write_bytes_atomic(path: Path | str, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    ``durable`` also flushes the file to disk before the rename (survives a power cut);
    files inside a staging folder that is itself renamed into place can skip it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temporary_file(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path | str, text: str, *, durable: bool = True) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), durable=durable)


def dumps_json(data: Any) -> str:
    """The project's one JSON style: sorted keys, two-space indent, UTF-8, final newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json_atomic(path: Path | str, data: Any) -> None:
    write_text_atomic(path, dumps_json(data))


def replace_dir_atomic(staging: Path, final: Path) -> None:
    """Move a fully written ``staging`` folder to ``final``, replacing what was there.

    The old folder is first renamed aside, so at every instant ``final`` is either the
    complete old folder, absent, or the complete new one; never a mix.
    """
    final = Path(final)
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
    os.replace(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def staging_dir(final: Path) -> Path:
    """A fresh empty folder beside ``final`` to build its next version in."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    folder.chmod(usual_mode(directory=True))
    return folder


def clean_stale_temporaries(folder: Path, *, name: str | None = None) -> None:
    """Remove leftovers of interrupted writes (``.name.*.tmp`` and ``.name.old-*``) in ``folder``;
    with ``name``, only those of that one file or folder (nothing else there is touched)."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    prefix = "." if name is None else f".{name}."
    for entry in folder.iterdir():
        if entry.name.startswith(prefix) and (entry.name.endswith(".tmp") or ".old-" in entry.name):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
