"""Lenient readers for the files the report shows: CSV by column name, JSON by key.

The formats of the other stages grow columns and keys over time; the report reads only the
names it knows, tolerates the rest, and turns a missing or unreadable file into an
:class:`Unavailable` that the page shows with its reason instead of failing the stage.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Unavailable:
    """A part of the report that cannot be shown, and why (shown to the reader as is)."""

    reason: str


@dataclass
class Table:
    """The rows of a CSV file as dicts keyed by column name (cells are stripped text)."""

    path: str
    columns: tuple[str, ...]
    rows: list[dict[str, str]] = field(default_factory=list)

    def has(self, column: str) -> bool:
        return column in self.columns


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to the project (forward slashes), so no absolute path reaches a page."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return Path(path).name


def read_table(path: Path, root: Path, *, missing: str = "") -> Table | Unavailable:
    """The CSV at ``path``; :class:`Unavailable` naming the file when it is absent or unreadable."""
    name = relative_name(path, root)
    if not path.is_file():
        return Unavailable(f"{name} does not exist{': ' + missing if missing else ''}")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return Unavailable(f"{name} cannot be read: {exc}")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        rows = [
            {key.strip(): (value or "").strip() for key, value in row.items() if isinstance(key, str)} for row in reader
        ]
    except csv.Error as exc:
        return Unavailable(f"{name}:{reader.line_num}: malformed CSV ({exc})")
    columns = tuple(name.strip() for name in reader.fieldnames or ())
    return Table(name, columns, rows)


def read_json_object(path: Path, root: Path, *, missing: str = "") -> dict[str, Any] | Unavailable:
    """The JSON object at ``path``, or :class:`Unavailable` naming the file (and line) at fault."""
    name = relative_name(path, root)
    if not path.is_file():
        return Unavailable(f"{name} does not exist{': ' + missing if missing else ''}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return Unavailable(f"{name} cannot be read: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        return Unavailable(f"{name} is not UTF-8 text: {exc.reason}")
    except json.JSONDecodeError as exc:
        return Unavailable(f"{name}:{exc.lineno}: not valid JSON ({exc.msg})")
    if not isinstance(data, dict):
        return Unavailable(f"{name}: expected a JSON object")
    return data


def to_float(value: Any) -> float | None:
    """A finite number from a cell or JSON value; ``None`` for empty, text or NaN."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def to_int(value: Any) -> int | None:
    number = to_float(value)
    return None if number is None or number != int(number) else int(number)


def get_path(data: Any, *keys: str) -> Any:
    """``data[k1][k2]...`` or ``None`` when any level is missing or not an object."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
