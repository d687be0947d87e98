"""The edit prompt a model sees: instruction, the challenge's prompt.md and its files.

Files are shown as markdown file blocks (``**index.html**`` then a fenced block), and
the model is asked to answer in the same form; :mod:`vizhub_pipeline.generate.replies` reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from vizhub_pipeline.core.challenges import Challenge
from vizhub_pipeline.core.layout import hash_bytes

SYSTEM_PROMPT = """\
You are an expert front-end engineer who builds and edits interactive data visualizations \
(D3, Vega-Lite, Chart.js, plain SVG and Canvas).

You are given a task and the current files of a small web page. Make the change the task asks for.

Answer with the complete new content of every file you change, each as a file block: \
the file name in bold on its own line, such as **index.html**, then a fenced code block \
holding the whole file. Do not send diffs, and do not shorten a file with ellipses or \
"rest unchanged" comments. Files you leave out stay exactly as they are. \
The page runs offline: load libraries from their usual CDN URLs \
(for example https://cdn.jsdelivr.net/npm/d3@7), which are served locally; \
no other network access is available."""

MAX_SHOWN_BYTES = 16_000  # larger files (data) are shown in part and are read-only
_LANGUAGES = {
    "html": "html",
    "htm": "html",
    "js": "js",
    "mjs": "js",
    "css": "css",
    "json": "json",
    "csv": "csv",
    "tsv": "tsv",
    "md": "markdown",
    "svg": "svg",
}


def language_of(name: str) -> str:
    return _LANGUAGES.get(name.rsplit(".", 1)[-1].lower(), "") if "." in name else ""


def fence_for(content: str) -> str:
    """A backtick fence longer than any backtick run at the start of a line in ``content``."""
    longest = 0
    for line in content.splitlines():
        stripped = line.lstrip()
        run = len(stripped) - len(stripped.lstrip("`"))
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def read_only_files(files: Mapping[str, str]) -> set[str]:
    """Files too large to show whole; the model sees their start and cannot replace them."""
    return {name for name, content in files.items() if len(content.encode("utf-8")) > MAX_SHOWN_BYTES}


def format_file_block(name: str, content: str, *, truncated: bool = False) -> str:
    shown = content
    note = ""
    if truncated:
        lines = content.splitlines(keepends=True)
        kept, size = [], 0
        for line in lines:
            if size + len(line.encode("utf-8")) > MAX_SHOWN_BYTES // 4:
                break
            kept.append(line)
            size += len(line.encode("utf-8"))
        shown = "".join(kept)
        note = (
            f"\n(First {len(kept)} of {len(lines)} lines shown. This data file is read-only:"
            " it stays as it is, do not send it back.)\n"
        )
    if not shown.endswith("\n"):
        shown += "\n"
    fence = fence_for(shown)
    return f"**{name}**\n{fence}{language_of(name)}\n{shown}{fence}\n{note}"


def build_user_prompt(challenge: Challenge, files: Mapping[str, str] | None = None) -> str:
    files = challenge.files if files is None else files
    hidden = read_only_files(files)
    blocks = [
        format_file_block(name, files[name], truncated=name in hidden)
        for name in sorted(files, key=_file_order(challenge))
    ]
    return "## Task\n\n" + challenge.prompt.strip() + "\n\n## Files\n\n" + "\n".join(blocks)


def build_messages(challenge: Challenge) -> list[dict[str, str]]:
    """The chat messages sent to every model for ``challenge`` (what exports call the prompt)."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": build_user_prompt(challenge)},
    ]


def prompt_hash(messages: list[dict[str, str]]) -> str:
    """A hash of the messages a model is sent: generate records it in meta.json, and a later
    stage compares it with the challenge's current prompt to tell whether an output is stale."""
    return hash_bytes(json.dumps(messages, sort_keys=True, ensure_ascii=False).encode("utf-8"))


def _file_order(challenge: Challenge):
    def key(name: str):
        return (name != challenge.entry, name)

    return key
