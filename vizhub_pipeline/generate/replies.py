"""Read a model's reply back into whole files.

The reply is expected as markdown file blocks (``**index.html**`` then a fenced block),
but models vary: names in headings, in the fence's info string or in the sentence before
the block, missing language tags, prose around the blocks, fences nested inside a file.
Paths that would leave the output folder are refused and recorded, never written. Names that
some common file system cannot hold (see :mod:`.names`) are listed in ``invalid``: the generate
stage then refuses the whole reply. The parser runs in time linear in the reply's length: every
pattern either is anchored or starts only where a name can start, and quantifiers that meet
the same characters twice are possessive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from vizhub_pipeline.core.prompting import language_of
from vizhub_pipeline.generate.names import name_conflicts, name_problem, shown

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_NAME_CHARS = r"[\w.\-/\\:~]+"
_NAME_LINE = [
    re.compile(rf"^\s*+\*\*\s*+`?(?:file(?:name)?\s*+:\s*+)?(?P<name>{_NAME_CHARS})`?\s*+\*\*\s*+:?\s*+$", re.I),
    re.compile(rf"^\s*+#{{1,6}}\s++`?(?:file(?:name)?\s*+:\s*+)?(?P<name>{_NAME_CHARS})`?\s*+:?\s*+$", re.I),
    re.compile(rf"^\s*+`(?P<name>{_NAME_CHARS})`\s*+:?\s*+$"),
    re.compile(rf"^\s*+(?:file(?:name)?|path)\s*+:\s*+`?(?P<name>{_NAME_CHARS})`?\s*+$", re.I),
    re.compile(rf"^\s*+(?P<name>{_NAME_CHARS}\.[A-Za-z0-9]{{1,8}})\s*+:\s*+$"),
]
_INFO_NAME = [
    re.compile(r"""(?:title|file|filename|path|name)\s*[=:]\s*["']?(?P<name>[^"'\s]+)["']?""", re.I),
    re.compile(r"^[A-Za-z0-9_+-]*+(?:\s*+:\s*+|\s++)(?P<name>[\w.\-/\\~]+\.[A-Za-z0-9]{1,8})\s*+$"),
    re.compile(r"^(?P<name>[\w.\-/\\~]+\.[A-Za-z0-9]{1,8})$"),
]
# A file name quoted in a sentence, or written bare with a known extension. A bare name starts only
# where no name character precedes it ("-" included): were every "a" of "a-a-a-..." a start, each
# would scan to the end of the run, and one long line would take quadratic time.
_QUOTED_NAME = re.compile(r"`([^`\s]+\.[A-Za-z0-9]{1,8})`")
_BARE_NAME = re.compile(r"(?<![\w/.\-])((?:\.{0,2}/)?[\w\-/]+\.(?:html?|css|js|mjs|json|csv|tsv|svg|md|txt))\b")
_DOCUMENT = re.compile(r"<!doctype html|<html[\s>]", re.I)


@dataclass
class ParsedReply:
    """What a reply changes: whole files by name, and what was refused or ignored."""

    files: dict[str, str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # unsafe or read-only paths, with the reason
    invalid: list[str] = field(default_factory=list)  # names no common file system can hold: the reply is refused
    ignored: list[str] = field(default_factory=list)  # blocks that could not be tied to a file

    @property
    def ok(self) -> bool:
        return bool(self.files)


# The generate stage writes these beside the output files (write_item in generate/stage.py): a reply may not.
RESERVED_NAMES = frozenset({"meta.json", "response.md"})


def safe_path(name: str) -> str | None:
    """``name`` as a clean relative POSIX path, or None if it could leave the folder."""
    name = name.strip().strip("`'\"")
    if name.startswith("./"):
        name = name[2:]
    if not name or "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        return None
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    if any(part.startswith(".") for part in parts):
        return None  # hidden files (.git, .htaccess) are not a page's business
    return name


def parse_reply(
    text: str,
    known: Mapping[str, str],
    *,
    entry: str = "index.html",
    read_only: set[str] | frozenset[str] = frozenset(),
) -> ParsedReply:
    """Parse ``text`` into files; ``known`` are the current files (names guide the matching)."""
    result = ParsedReply()
    blocks = _blocks(text)
    if not blocks:
        document = _bare_document(text)
        if document is not None:
            result.files[entry] = document
        return result
    for name, info, body in blocks:
        language = info.split()[0].lower() if info.split() else ""
        if name is None:
            name = _guess_name(language, body, known, entry)
        if name is None:
            result.ignored.append(f"a {language or 'plain'} block that names no file")
            continue
        if language in ("diff", "patch") or body.startswith(("--- ", "@@ ")):
            result.ignored.append(f"{name}: a diff, not a whole file")
            continue
        clean = safe_path(name)
        if clean is None:
            result.refused.append(f"{name}: path outside the output folder")
            continue
        if clean in RESERVED_NAMES:
            result.refused.append(f"{clean}: name reserved for the pipeline's own record of the item")
            continue
        if clean in read_only:
            result.refused.append(f"{clean}: read-only data file")
            continue
        problem = name_problem(clean)
        if problem is not None:
            result.invalid.append(f"{shown(clean)}: {problem}")
            continue
        result.files[clean] = body
    result.invalid += name_conflicts(result.files, known)
    return result


def _blocks(text: str) -> list[tuple[str | None, str, str]]:
    """``(name or None, info string, body)`` of every top-level fenced block, in order."""
    lines = text.splitlines()
    # Only a line holding three fence characters can open or close a block, so the loops visit
    # those alone: a reply of two million empty lines costs one pass of `in`, not two million matches.
    marks = [n for n, line in enumerate(lines) if "```" in line or "~~~" in line]
    blocks = []
    start = 0  # the first line after the last block
    m = 0
    while m < len(marks):
        i = marks[m]
        m += 1
        match = _FENCE.match(lines[i])
        if not match or (match["fence"][0] == "`" and "`" in match["info"]):
            continue  # prose that happens to hold a fence
        fence, info = match["fence"], match["info"].strip()
        depth, j = 0, len(lines)
        while m < len(marks):
            k = marks[m]
            m += 1
            inner = _FENCE.match(lines[k].lstrip())
            if inner and inner["fence"][0] == fence[0]:
                if inner["info"].strip():
                    depth += 1  # a nested block opens: closing fences carry no info string
                elif depth:
                    depth -= 1  # the nested block closes
                elif len(inner["fence"]) >= len(fence):
                    j = k
                    break  # our own closing fence
        name = _name_from_info(info) or _name_from_prose(_last_prose_line(lines, start, i))
        body = lines[i + 1 : j]
        content = "\n".join(body)
        if body:
            content += "\n"
        blocks.append((name, info, content))
        start = j + 1
    return blocks


def _last_prose_line(lines: list[str], start: int, stop: int) -> str | None:
    """The last non-blank line of ``lines[start:stop]``, the prose between two blocks."""
    for n in range(stop - 1, start - 1, -1):
        if lines[n].strip():
            return lines[n]
    return None


def _name_from_info(info: str) -> str | None:
    for pattern in _INFO_NAME:
        match = pattern.search(info)
        if match:
            return match["name"]
    return None


def _name_from_prose(last: str | None) -> str | None:
    """The file named just before a block: a name line, or a single file name in the last sentence."""
    if last is None:
        return None
    for pattern in _NAME_LINE:
        match = pattern.match(last)
        if match and ("." in match["name"] or "/" in match["name"]):
            return match["name"]
    mentioned = _QUOTED_NAME.findall(last) or _BARE_NAME.findall(last)
    unique = list(dict.fromkeys(mentioned))
    return unique[0] if len(unique) == 1 else None


def _guess_name(language: str, body: str, known: Mapping[str, str], entry: str) -> str | None:
    if _DOCUMENT.search(body[:2000]):
        return entry
    if language:
        matching = [name for name in known if language_of(name) == _normalise_language(language)]
        if len(matching) == 1:
            return matching[0]
    return None


def _normalise_language(language: str) -> str:
    return {"javascript": "js", "htm": "html", "htmlmixed": "html", "xml": "svg"}.get(language, language)


def _bare_document(text: str) -> str | None:
    """A reply that is one HTML document with no fences at all."""
    start = _DOCUMENT.search(text)
    end = text.lower().rfind("</html>")
    if start is None or end < start.start():
        return None
    return text[start.start() : end + len("</html>")] + "\n"


def format_files_reply(files: Mapping[str, str]) -> str:
    """A reply in the requested form, holding ``files`` (used by the built-in baselines)."""
    from vizhub_pipeline.core.prompting import format_file_block

    return "\n".join(format_file_block(name, files[name]) for name in sorted(files))
