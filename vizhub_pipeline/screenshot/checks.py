"""The checks of challenge.yaml, run in a rendered page; each gives pass or fail with a message.

Semantics (the fields are validated by :mod:`vizhub_pipeline.core.challenges`):

- ``count``: the number of elements matching ``selector`` is ``equals`` / at least ``min`` / at
  most ``max``.
- ``text``: ``text`` is a substring of the visible text (``innerText``; ``textContent`` for SVG)
  of at least one element matching ``selector`` (default ``body``); ``ignore_case`` folds case.
- ``attribute``: per matching element, ``getAttribute(attribute)`` or else the computed style
  property of that name. ``equals`` / ``matches`` (a JavaScript regular expression) must hold for
  every match, and there must be at least one; ``distinct_min``: at least N distinct values.
- ``no_console_errors``: no console error and no uncaught page error so far.
- ``in_viewport``: every match of ``selector`` (default ``svg, canvas``) lies inside the viewport,
  with 1 px tolerance; no match fails.
- ``script``: the JavaScript expression ``expr`` (awaited if a promise) is truthy.

Where they run: every check but ``script`` runs in an isolated world of the page (its DOM, none of
its JavaScript), so a page cannot fake a result by replacing built-ins such as ``Boolean``,
``Array.prototype.some``, ``querySelectorAll`` or ``getComputedStyle``. A ``script`` check exists to
read the page's own state (D3's ``__data__``, a chart object), which an isolated world cannot see,
so it runs in the page's world and its result says so (``page_world``): the page could fake it.
No other check depends on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from vizhub_pipeline.core.challenges import Check
from vizhub_pipeline.core.errors import VizhubError
from vizhub_pipeline.core.records import CheckResult


class EvaluatingPage(Protocol):
    """What the checks need of a page (:class:`vizhub_pipeline.screenshot.browser.SandboxedPage` has it)."""

    async def evaluate(self, expression: str, arg: Any = None, *, timeout: float = 10.0) -> Any: ...

    async def evaluate_isolated(self, function: str, arg: Any = None, *, timeout: float = 10.0) -> Any: ...


PAGE_WORLD_TYPES = ("script",)  # check types that must read the page's own JavaScript state


def check_console(
    check: Check, console_errors: Sequence[str], page_errors: Sequence[str], step: str | None
) -> CheckResult:
    """``no_console_errors`` from what the page logged so far."""
    problems = list(page_errors) + list(console_errors)
    if not problems:
        return CheckResult(check.name, check.type, True, "no console errors", step)
    first = problems[0] if len(problems[0]) <= 160 else problems[0][:157] + "..."
    message = f"{len(page_errors)} uncaught error(s) and {len(console_errors)} console error(s); first: {first}"
    return CheckResult(check.name, check.type, False, message, step)


async def run_checks(
    page: EvaluatingPage,
    checks: Sequence[Check],
    *,
    console_errors: Sequence[str] = (),
    page_errors: Sequence[str] = (),
    step: str | None = None,
    timeout: float = 10.0,
) -> list[CheckResult]:
    """Run ``checks`` in ``page``, in their written order: one round trip to an isolated world for
    most, one to the page's own world for ``script`` checks (see the module's docstring)."""
    from vizhub_pipeline.screenshot.browser import read_js

    def specs(world_types: bool) -> list[dict[str, Any]]:
        return [
            {"type": check.type, "name": check.name, "spec": dict(check.spec)}
            for check in checks
            if check.type != "no_console_errors" and (check.type in PAGE_WORLD_TYPES) == world_types
        ]

    answers: dict[str, dict] = {}
    isolated, in_page = specs(False), specs(True)
    if isolated:
        answers.update(
            _answers(await page.evaluate_isolated(read_js("checks.js"), isolated, timeout=timeout), isolated)
        )
    if in_page:
        answers.update(_answers(await page.evaluate(read_js("checks.js"), in_page, timeout=timeout), in_page))
    results = []
    for check in checks:
        if check.type == "no_console_errors":
            results.append(check_console(check, console_errors, page_errors, step))
            continue
        answer = answers[check.name]
        passed, message = answer.get("passed"), answer.get("message")
        page_world = check.type in PAGE_WORLD_TYPES
        results.append(CheckResult(check.name, check.type, passed is True, str(message), step, page_world=page_world))
    return results


def _answers(raw: Any, asked: list[dict[str, Any]]) -> dict[str, dict]:
    """The checks script's answers by check name, after making sure they have its shape."""
    if not isinstance(raw, list) or len(raw) != len(asked) or not all(isinstance(item, dict) for item in raw):
        raise VizhubError("the checks script returned an unexpected answer (the page may have replaced built-ins)")
    names = [item.get("name") for item in raw]
    if names != [spec["name"] for spec in asked]:
        raise VizhubError(
            "the checks script answered for other checks than it was asked (the page may have interfered)"
        )
    return {item["name"]: item for item in raw}


def failed_checks(checks: Sequence[Check], message: str, step: str | None = None) -> list[CheckResult]:
    """Every check marked failed with one reason (the page could not be checked)."""
    return [CheckResult(check.name, check.type, False, message, step) for check in checks]
