"""Helpers for the screenshot tests: one real Chromium on a background event loop, and
visualization folders written the way the generate stage writes them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from pathlib import Path

from vizhub_pipeline.core.layout import hash_files, item_dirname
from vizhub_pipeline.core.records import Generation, write_generation


class BrowserThread:
    """A :class:`BrowserSession` living on its own event loop thread, shared by many tests."""

    def __init__(self) -> None:
        from vizhub_pipeline.screenshot.browser import BrowserSession

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.session = BrowserSession()
        self.run(self.session.ensure())

    def run(self, coro, timeout: float = 120):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.run(self.session.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def write_visualization(
    root: Path,
    challenge: str,
    model: str,
    files: Mapping[str, str],
    *,
    sample: int = 0,
    status: str = "ok",
    error: str | None = None,
) -> Path:
    """``root/visualizations/<challenge>/<item>/`` with ``files`` and a meta.json, as generate writes it."""
    folder = Path(root) / "visualizations" / challenge / item_dirname(model, sample)
    folder.mkdir(parents=True, exist_ok=True)
    written = dict(files) if status == "ok" else {}
    for name, text in written.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "response.md").write_text("(reply)\n", encoding="utf-8")
    write_generation(
        folder / "meta.json",
        Generation(
            challenge=challenge,
            model=model,
            sample=sample,
            status=status,
            input_hash="0" * 16,
            artifact_hash=hash_files(written) if status == "ok" else None,
            files=tuple(sorted(written)),
            error=error,
        ),
    )
    return folder
