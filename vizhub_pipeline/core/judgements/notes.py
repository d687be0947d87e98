"""The text of a notes cell: one physical line, safe in a spreadsheet, read back exactly.

Current files write a note so that:

- it stays on one line: ``\\`` is written ``\\\\``, a line feed ``\\n`` and a carriage return
  ``\\r``. A union merge in git (``merge=union``) works line by line, so a row that spans
  lines would be cut apart by it;
- a spreadsheet does not run it: when the escaped text starts with ``=``, ``+``, ``-``,
  ``@``, a tab or ``'``, one ``'`` is put in front, and a reader drops exactly one leading
  ``'``. Because a note that itself starts with ``'`` also gets the extra ``'``, every note
  reads back as written (``'=x`` is stored ``''=x``).

Files in the older format (without the ``source`` column) kept line breaks as they were and
put the ``'`` only before a formula character; they are read with that rule.
"""

from __future__ import annotations

import re

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t")
LEGACY_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {"\\": "\\", "n": "\n", "r": "\r"}
_ESCAPE_RE = re.compile(r"[\\\n\r]")
_UNESCAPE_RE = re.compile(r"\\(.?)", re.DOTALL)


def encode_note(text: str) -> str:
    """The stored form of a note (one line, neutralised)."""
    escaped = _ESCAPE_RE.sub(lambda match: _ESCAPES[match.group()], text)
    return QUOTE + escaped if escaped.startswith(FORMULA_PREFIXES + (QUOTE,)) else escaped


def decode_note(stored: str) -> str:
    """The note as written; raises ``ValueError`` for a backslash that starts no known escape."""
    body = stored[1:] if stored.startswith(QUOTE) else stored
    if "\\" not in body:
        return body

    def unescape(match: re.Match) -> str:
        char = match.group(1)
        if char not in _UNESCAPES:
            shown = "\\" + char if char else "\\ at the end"
            raise ValueError(
                f"unknown escape {shown!r} (write a backslash as \\\\, a line break as \\n, a carriage return as \\r)"
            )
        return _UNESCAPES[char]

    return _UNESCAPE_RE.sub(unescape, body)


def decode_legacy_note(stored: str) -> str:
    """A note of an older file: a ``'`` before a formula character is dropped."""
    if stored.startswith(QUOTE) and stored[1:].startswith(LEGACY_FORMULA_PREFIXES):
        return stored[1:]
    return stored


def check_formula(name: str, stored: str, prefixes: tuple[str, ...]) -> str | None:
    """A message when the stored text starts like a formula without the protecting ``'``."""
    if stored.startswith(prefixes):
        return (
            f"{name} start with {stored[:1]!r}, which a spreadsheet runs as a formula; "
            "prefix the note with ' (vizhub writes it so)"
        )
    return None
