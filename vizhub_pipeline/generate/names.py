"""Which file names a reply may write: ones every common file system and git can hold.

An output folder is committed and cloned on Linux, macOS and Windows, so a name is checked
against all of them, not only the machine that runs ``generate``. A reply holding a name
that fails here is refused whole (recorded as the item's error): the page would otherwise
be written without a file it names, or not be writable at all.

Names reaching these checks are already relative and inside the folder (``replies.safe_path``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

MAX_PART_BYTES = 255  # one file or folder name (ext4, APFS; NTFS allows 255 UTF-16 units)
MAX_NAME_BYTES = 400  # the whole relative name, so the full path stays well under Linux's 4,096
MAX_DEPTH = 16  # folders plus the file: ``a/b/c.js`` has depth 3

# Refused by Windows in any file or folder name (":" would also make an NTFS stream name).
_WINDOWS_FORBIDDEN = frozenset('<>:"|?*')
# Windows device names, refused with any extension (``con.js``, ``NUL.txt``).
_DEVICES = frozenset(
    ["con", "prn", "aux", "nul"] + [f"com{n}" for n in range(1, 10)] + [f"lpt{n}" for n in range(1, 10)]
)


def shown(name: str, limit: int = 80) -> str:
    """``name`` quoted for a message: escaped, and cut in the middle when long."""
    text = repr(name)
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]}...{text[-(limit // 2) :]} ({len(name)} characters)"


def name_problem(name: str) -> str | None:
    """Why ``name`` (a clean relative POSIX path) cannot be written on some common system, or None."""
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        return f"the name is {size} bytes long (at most {MAX_NAME_BYTES})"
    parts = name.split("/")
    if len(parts) > MAX_DEPTH:
        return f"the path is {len(parts)} levels deep (at most {MAX_DEPTH})"
    for part in parts:
        part_size = len(part.encode("utf-8", "surrogatepass"))
        if part_size > MAX_PART_BYTES:
            return f"the part {shown(part, 40)} is {part_size} bytes long (at most {MAX_PART_BYTES})"
        bad = sorted({c for c in part if ord(c) < 32 or ord(c) == 127 or c in _WINDOWS_FORBIDDEN})
        if bad:
            return f"it holds {', '.join(repr(c) for c in bad)}, which Windows refuses in a file name"
        if any(0xD800 <= ord(c) <= 0xDFFF for c in part):
            return "it holds a lone surrogate, which no file system can store as UTF-8"
        if part != part.rstrip(". "):
            return f"the part {shown(part, 40)} ends in a dot or a space, which Windows drops"
        if part.split(".")[0].rstrip(" ").lower() in _DEVICES:
            return f"the part {shown(part, 40)} is a Windows device name"
    return None


def _fold(name: str) -> str:
    """How a case-insensitive, normalising file system (macOS, Windows) sees ``name``."""
    return unicodedata.normalize("NFC", name).casefold()


def name_conflicts(written: Iterable[str], existing: Iterable[str] = ()) -> list[str]:
    """Names in ``written`` that cannot sit beside the others: each problem once, in order.

    A file cannot also be a folder (``index.html`` and ``index.html/x.js``), and two names that
    differ only in case or Unicode form are one file on macOS and Windows. ``existing`` are the
    files kept from the starter: a written name replaces the one it equals exactly.
    """
    written = list(dict.fromkeys(written))
    names = list(dict.fromkeys([*existing, *written]))
    files: dict[str, str] = {}  # folded name -> name as written
    folders: dict[str, str] = {}  # folded folder -> a file name that makes it a folder
    problems = []
    for name in names:
        parts = name.split("/")
        for depth in range(1, len(parts)):
            folders.setdefault(_fold("/".join(parts[:depth])), name)
    mentioned = set(written)
    for name in names:
        folded = _fold(name)
        other = files.get(folded)
        if other is not None and other != name and (name in mentioned or other in mentioned):
            problems.append(f"{shown(name)} and {shown(other)} differ only in case or Unicode form")
        files.setdefault(folded, name)
        inside = folders.get(folded)
        if inside is not None and (name in mentioned or inside in mentioned):
            problems.append(f"{shown(name)} is a file, but {shown(inside)} needs it to be a folder")
    return problems
