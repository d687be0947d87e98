"""What the page shows of one item: highlighted code, the diff against the starter, the render.

Highlighting happens on the server with Pygments (escaped HTML, classes only, no inline
styles), and is cached by artifact hash, since an item's files never change under one hash.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from vizhub_pipeline.core.challenges import Challenge
from vizhub_pipeline.core.errors import InputError
from vizhub_pipeline.core.records import Render, read_render
from vizhub_pipeline.grading.web.items import GradableOutput

MAX_SHOWN_CHARS = 200_000  # a larger file (data) is shown in part
IMAGE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


@dataclass(frozen=True)
class FileView:
    name: str
    html: str  # highlighted, escaped
    change: str  # "added", "changed" or "unchanged" against the starter
    lines: int
    truncated: bool = False


@dataclass(frozen=True)
class DiffView:
    html: str
    added: int
    removed: int
    changed_files: tuple[str, ...]


@dataclass(frozen=True)
class Shot:
    name: str  # file name inside the render folder
    caption: str


@dataclass
class RenderView:
    """The screenshot stage's record of an item, or why there is none."""

    render: Render | None = None
    problem: str | None = None  # "not rendered yet", or why render.json could not be read
    outdated: bool = False  # rendered from another version of the files
    shots: list[Shot] = field(default_factory=list)


def _formatter():
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(cssclass="hl", wrapcode=True)


@functools.lru_cache(maxsize=1)
def pygments_css() -> str:
    return _formatter().get_style_defs(".hl")


def _lexer(name: str, text: str):
    from pygments.lexers import TextLexer, get_lexer_for_filename
    from pygments.util import ClassNotFound

    if name.lower().endswith((".csv", ".tsv", ".txt")):
        return TextLexer()
    try:
        return get_lexer_for_filename(name, text[:2000])
    except ClassNotFound:
        return TextLexer()


@functools.lru_cache(maxsize=512)
def highlight(name: str, text: str) -> str:
    """``text`` as highlighted, escaped HTML, chosen by the file name."""
    from pygments import highlight as run

    return run(text, _lexer(name, text), _formatter())


def read_item_files(item: GradableOutput) -> dict[str, str | None]:
    """The item's files as text (``None`` for a file that is not UTF-8 text or is missing)."""
    root = item.folder.resolve()
    out: dict[str, str | None] = {}
    for name in item.files:
        path = (item.folder / name).resolve()
        if root not in path.parents:
            out[name] = None
            continue
        try:
            out[name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            out[name] = None
    return out


def file_views(files: dict[str, str | None], starter: dict[str, str], entry: str) -> list[FileView]:
    """One view a file, the entry file first, then the others by name."""
    names = sorted(files, key=lambda name: (name != entry, name))
    views = []
    for name in names:
        text = files[name]
        if text is None:
            views.append(FileView(name, "<p class=note>Not shown: not UTF-8 text, or unreadable.</p>", "changed", 0))
            continue
        truncated = len(text) > MAX_SHOWN_CHARS
        shown = text[:MAX_SHOWN_CHARS] if truncated else text
        change = "added" if name not in starter else ("unchanged" if starter[name] == text else "changed")
        views.append(FileView(name, highlight(name, shown), change, text.count("\n") + 1, truncated))
    return views


@functools.lru_cache(maxsize=256)
def _diff(pairs: tuple[tuple[str, str, str], ...]) -> DiffView:
    from pygments import highlight as run
    from pygments.lexers import DiffLexer

    chunks: list[str] = []
    added = removed = 0
    changed: list[str] = []
    for name, old, new in pairs:
        lines = list(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                new.splitlines(keepends=True),
                fromfile=f"starter/{name}" if old or name else "/dev/null",
                tofile=f"output/{name}",
                n=3,
            )
        )
        if not lines:
            continue
        changed.append(name)
        for line in lines[2:]:
            if line.startswith("+"):
                added += 1
            elif line.startswith("-"):
                removed += 1
        chunks.append(
            "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
        )
    text = "".join(chunks)
    html = run(text, DiffLexer(), _formatter()) if text else ""
    return DiffView(html=html, added=added, removed=removed, changed_files=tuple(changed))


def diff_view(files: dict[str, str | None], starter: dict[str, str]) -> DiffView:
    """A unified diff of every text file that differs from the starter."""
    pairs = []
    for name in sorted(files):
        text = files[name]
        if text is None or len(text) > MAX_SHOWN_CHARS or len(starter.get(name, "")) > MAX_SHOWN_CHARS:
            continue
        if starter.get(name) != text:
            pairs.append((name, starter.get(name, ""), text))
    return _diff(tuple(pairs))


def render_view(render_dir: Path, item: GradableOutput, challenge: Challenge | None) -> RenderView:
    """The render of an item; a missing or unreadable render.json is reported, not raised."""
    path = render_dir / "render.json"
    if not path.is_file():
        return RenderView(
            problem="Not rendered yet: run `vizhub screenshot` (or `dvc repro`) to get screenshots and checks."
        )
    try:
        render = read_render(path)
    except (InputError, TypeError) as exc:
        return RenderView(problem=f"render.json could not be read: {exc}")
    view = RenderView(render=render, outdated=bool(render.artifact_hash and render.artifact_hash != item.artifact_hash))
    steps = {step.name for step in challenge.interactions} if challenge else set()
    steps |= {check.step for check in render.checks if check.step}
    for index, name in enumerate(render.screenshots):
        if Path(name).suffix.lower() not in IMAGE_SUFFIXES or "\\" in name or ".." in name.split("/"):
            continue
        stem = Path(name).stem
        matches = sorted((step for step in steps if stem.endswith(step)), key=len)
        if matches:
            caption = f"after step {matches[-1]}"
        else:
            caption = "initial page" if index == 0 else stem
        view.shots.append(Shot(name=name, caption=caption))
    return view


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|#)")


def unwrap_prompt(text: str) -> str:
    """The prompt with its hard line breaks joined, so it reads well in a narrow column: a line
    goes on the previous one unless either is blank, it starts a list item or a heading, the
    previous one is a heading, or it is inside a fenced code block (kept as written)."""
    lines: list[str] = []
    fenced = joinable = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            lines.append(line)
            joinable = False
            continue
        if not fenced and joinable and line.strip() and not _LIST_ITEM.match(line):
            lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
            continue
        lines.append(line)
        joinable = not fenced and bool(line.strip()) and not line.lstrip().startswith("#")  # a heading ends
    return "\n".join(lines)
