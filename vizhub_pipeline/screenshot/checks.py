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
    """Run ``checks`` in ``page`` (one round trip for the in-page ones), in their written order."""
    from vizhub_pipeline.screenshot.browser import read_js

    in_page = [
        {"type": check.type, "name": check.name, "spec": dict(check.spec)}
        for check in checks
        if check.type != "no_console_errors"
    ]
    answers: dict[str, dict] = {}
    if in_page:
        raw = await page.evaluate(read_js("checks.js"), in_page, timeout=timeout)
        if not isinstance(raw, list) or len(raw) != len(in_page):
            raise VizhubError("the checks script returned an unexpected answer (the page may have replaced built-ins)")
        answers = {item["name"]: item for item in raw}
    results = []
    for check in checks:
        if check.type == "no_console_errors":
            results.append(check_console(check, console_errors, page_errors, step))
            continue
        answer = answers[check.name]
        results.append(CheckResult(check.name, check.type, bool(answer["passed"]), str(answer["message"]), step))
    return results


def failed_checks(checks: Sequence[Check], message: str, step: str | None = None) -> list[CheckResult]:
    """Every check marked failed with one reason (the page could not be checked)."""
    return [CheckResult(check.name, check.type, False, message, step) for check in checks]
