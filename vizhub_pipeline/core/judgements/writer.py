"""Writing judgement files: rows as CSV text, one physical line each, and appending to a file.

Text is RFC 4180 CSV (CRLF line ends for a new file, as the RFC says) in UTF-8, columns in the
order the kind declares them, each cell written by its column's codec. A file in the older
format (without the columns added since) is rewritten in the current format the first time
rows are appended to it, so that one file never mixes the two.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.errors import VizhubError
from vizhub_pipeline.core.judgements.kind import JudgementKind
from vizhub_pipeline.core.judgements.reader import BOM, read_judgement_file


class AppendError(VizhubError):
    """A file that rows cannot safely be appended to; the message says how to fix it."""


def format_rows(kind: JudgementKind, records: Iterable[Any], *, header: bool, lineterminator: str = "\r\n") -> str:
    """CSV text of ``records``; ``lineterminator="\\n"`` matches a file that uses LF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=lineterminator)
    if header:
        writer.writerow(kind.header)
    for record in records:
        writer.writerow([col.codec.format(getattr(record, col.name)) for col in kind.columns])
    return buffer.getvalue()


def append_rows(kind: JudgementKind, existing: bytes | None, records: list[Any], where: Path | str) -> bytes:
    """The file's bytes with ``records`` appended in its own line-end style (a new file: CRLF)."""
    if not existing:
        return format_rows(kind, records, header=True).encode("utf-8")
    fix = f"fix the file (vizhub validate {where}) before grading more"
    try:
        text = existing.decode("utf-8")
    except UnicodeDecodeError:
        raise AppendError(f"{where}: not UTF-8 text; {fix}") from None
    body = text.lstrip(BOM)
    first = body.split("\n", 1)[0]
    newline = "\r\n" if first.endswith("\r") else "\n"
    header = [cell.strip() for cell in first.rstrip("\r").split(",")]
    if kind.legacy_header is not None and header == list(kind.legacy_header):
        return _rewrite_older_file(kind, text, records, where, newline, fix)
    if header != list(kind.header):
        raise AppendError(f"{where}:1: the header is not {','.join(kind.header)}; {fix}")
    if body.count('"') % 2:
        raise AppendError(f"{where}: a quoted field is never closed, so new rows would land inside it; {fix}")
    out = existing
    if not existing.endswith(b"\n"):
        out += newline.encode()
    return out + format_rows(kind, records, header=False, lineterminator=newline).encode("utf-8")


def _rewrite_older_file(kind: JudgementKind, text: str, records: list[Any], where, newline: str, fix: str) -> bytes:
    """An older-format file in the current format (every row kept), with ``records`` after it."""
    file = read_judgement_file(kind, where, text)
    if file.problems:
        raise AppendError(f"{file.problems[0]}; {fix}")
    bom = BOM if text.startswith(BOM) else ""
    rows = format_rows(kind, [*file.records(), *records], header=True, lineterminator=newline)
    return (bom + rows).encode("utf-8")
