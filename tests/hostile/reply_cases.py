"""Model replies built to make the parser slow, each with the files it must still yield.

Every case is sized by ``size`` (characters of its hostile part), so the same shapes serve the
tests (small enough to stay quick) and ``bench/bench_replies.py`` (2 MB). Each hostile part is
followed by an ordinary file block, so a case also checks that the parser did its job after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

KNOWN = {"index.html": "<html></html>\n", "data.csv": "a,b\n", "style.css": "body {}\n"}
BLOCK = "**index.html**\n```html\n<p>ok</p>\n```\n"
BARE_BLOCK = "```html\n<p>ok</p>\n```\n"  # named from the line before it, or by its language
OK = {"index.html": "<p>ok</p>\n"}
X = {"x.js": "<p>ok</p>\n"}  # the name in the line before a bare block


@dataclass(frozen=True)
class ReplyCase:
    name: str
    build: Callable[[int], str]  # size -> the whole reply
    files: dict[str, str]  # what parse_reply(reply, KNOWN) must yield


def _repeat(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit))


def _line_then_block(unit: str, *, bare: bool = False, prefix: str = "", suffix: str = "") -> Callable[[int], str]:
    """One long line of ``unit`` (the line a name would be read from when ``bare``), then a block."""
    return lambda size: (
        prefix + _repeat(unit, size) + suffix + ("\n" if bare else "\n\n") + (BARE_BLOCK if bare else BLOCK)
    )


CASES = [
    # the audit's line: every "a" after a "-" was a place a bare file name could start
    ReplyCase("dashes", _line_then_block("a-"), OK),
    ReplyCase("dashes before a block", _line_then_block("a-", bare=True), OK),
    ReplyCase("slashes before a block", _line_then_block("a/", bare=True), OK),
    ReplyCase("dots before a block", _line_then_block("a.", bare=True), OK),
    ReplyCase("name characters before a block", _line_then_block("a.b-c/d:e~f_", bare=True), OK),
    ReplyCase("words before a block", _line_then_block("é-x ", bare=True), OK),
    ReplyCase("quoted name without its closing quote", _line_then_block("a.", bare=True, prefix="`"), OK),
    ReplyCase("backticks", _line_then_block("`a.js", bare=True), {"a.js": "<p>ok</p>\n"}),
    ReplyCase("lone backticks", _line_then_block("`", prefix="x"), OK),
    # a name line with whitespace where its end should be: each split of the spaces was tried
    ReplyCase("spaces after a bold name", _line_then_block(" ", bare=True, prefix="**x.js**", suffix="!"), X),
    ReplyCase("spaces after a heading name", _line_then_block(" ", bare=True, prefix="# x.js", suffix="!"), X),
    ReplyCase("spaces after a quoted name", _line_then_block(" ", bare=True, prefix="`x.js`", suffix="!"), X),
    ReplyCase("spaces after a name and colon", _line_then_block(" ", bare=True, prefix="x.js:", suffix="!"), X),
    ReplyCase("colons", _line_then_block("a.b: ", bare=True), OK),
    ReplyCase("file labels", _line_then_block("file: ", bare=True), OK),
    ReplyCase("tabs and spaces", _line_then_block(" \t", bare=True), OK),
    # the fence's info string
    ReplyCase(
        "spaces in a fence's info string",
        lambda size: "```js" + _repeat(" ", size) + "!\nx\n```\n" + BLOCK,
        OK,
    ),
    ReplyCase(
        "a long name in a fence's info string",
        lambda size: "```js " + _repeat("a.", size) + "\nx\n```\n" + BLOCK,
        OK,
    ),
    ReplyCase(
        "title= repeated in a fence's info string",
        lambda size: "```html " + _repeat('title="', size) + "\nx\n```\n" + BLOCK,
        {"title=": "x\n", **OK},
    ),
    # structure: many lines, many blocks, blocks that never close
    ReplyCase("empty lines", lambda size: _repeat("\n", size) + BLOCK, OK),
    ReplyCase("carriage returns", lambda size: _repeat("\r", size) + BLOCK, OK),
    ReplyCase(
        "many named blocks of one file",
        lambda size: _repeat("**style.css**\n```css\nb{}\n```\n", size) + BLOCK,
        {"style.css": "b{}\n", **OK},
    ),
    ReplyCase("many empty fences", lambda size: BLOCK + _repeat("```\n", size), OK),
    ReplyCase("nested fences that never close", lambda size: BLOCK + "```\n" + _repeat("```js\n", size), OK),
    ReplyCase("html tags without an end", lambda size: BLOCK + _repeat("<html>", size), OK),
]


def ordinary_reply(size: int) -> str:
    """A reply as a model writes one: prose, then files of ordinary code, about ``size`` characters."""
    line = "  svg.append('rect').attr('x', (d) => x(d.name)).attr('width', x.bandwidth()); // bars\n"
    script = _repeat(line, size // 2)
    page = "<!DOCTYPE html>\n<html>\n<body>\n" + _repeat('<p class="note">A note on the chart.</p>\n', size // 2)
    return (
        "I moved the drawing into its own file and added notes.\n\n"
        f"**index.html**\n```html\n{page}</body>\n</html>\n```\n\n"
        f"And the script:\n\n**js/chart.js**\n```js\n{script}```\n\nLet me know if you want more.\n"
    )
