"""Untrusted text made safe to print on a terminal.

Error messages of generated pages, check messages, grade notes and file names come from
outside: a page can put ``ESC [2J`` (clear the screen), an OSC sequence (set the window title)
or a newline followed by a fake "All 12 checks passed" in its console errors. Everything
printed from such text goes through :func:`for_terminal`, which shows each control character
as a visible escape (``\\x1b``, ``\\n``, ``\\u202e``) instead of letting the terminal act on it.
"""

from __future__ import annotations

import re

# C0 controls (tab and newline too: one untrusted value stays on one line), DEL, C1 controls,
# and the invisible marks that reorder or hide text: bidi embeddings, overrides and isolates,
# the line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: object) -> str:
    """``text`` as a string with every control character shown as an escape, never acted on."""
    return _UNSAFE.sub(_escape, str(text))
