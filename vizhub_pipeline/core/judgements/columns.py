"""How each column of a judgement file is read, written and checked: one codec per kind of value.

A codec turns the text of a cell into a value or says in words why it cannot, turns a value
back into text, checks a value before it is written, and may flag stored text that a person
reading the file in a spreadsheet should not see as it is (a formula). Every kind of judgement
reads and writes through these codecs, so a rule such as "graded_at is a UTC time" is written
once. Messages name the column; the reader adds the file and line.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vizhub_pipeline.core.judgements import notes as note_text
from vizhub_pipeline.core.layout import is_safe_slug

HUMAN_SOURCES = ("app", "cli", "imported", "unknown")
JUDGE_PREFIX = "judge:"


class CellError(ValueError):
    """A cell whose text is not a value of its column; the message names the column."""


class Codec:
    """Text <-> value for one column. ``required``: an empty cell is an error; ``dtype``: the
    numpy type of the column once read (``object`` for text and mixed values)."""

    required = True
    dtype = "object"
    flags_text = False  # whether :meth:`unsafe` can say anything

    def parse(self, name: str, raw: str) -> Any:
        """The value of a non-empty cell (or of any cell when not ``required``); raises :class:`CellError`."""
        return raw.strip()

    def parse_many(self, name: str, raws: list[str]) -> tuple[list[Any], dict[int, str]]:
        """Each distinct cell text's value, and the message of each one that is not a value."""
        values: list[Any] = []
        errors: dict[int, str] = {}
        for index, raw in enumerate(raws):
            try:
                values.append(self.parse(name, raw))
            except CellError as exc:
                values.append(None)
                errors[index] = str(exc)
        return values, errors

    def format(self, value: Any) -> str:
        return str(value)

    def check(self, name: str, value: Any) -> str | None:
        """What is wrong with a value about to be written, or ``None``."""
        if not isinstance(value, str) or not value.strip():
            return f"{name} must be non-empty text, got {value!r}"
        if "\0" in value or "\n" in value or "\r" in value:
            return f"{name} must be one line of text without NUL characters, got {value!r}"
        return None

    def unsafe(self, name: str, raw: str) -> str | None:
        """A problem of the stored text itself that readers of the file should be told about."""
        return None


class Text(Codec):
    """Required text, surrounding spaces dropped."""

    def parse_many(self, name: str, raws: list[str]) -> tuple[list[Any], dict[int, str]]:
        return [raw.strip() for raw in raws], {}


class Slug(Text):
    """A name such as a grader's: letters, digits, ``-`` and ``_`` when written."""

    def check(self, name: str, value: Any) -> str | None:
        if not isinstance(value, str) or not is_safe_slug(value):
            return f"{name} {value!r} is not a safe name (letters, digits, '-', '_')"
        return None


class Score(Codec):
    """A whole number from ``low`` to ``high``."""

    dtype = "int8"

    def __init__(self, low: int = 0, high: int = 5):
        self.low, self.high = low, high

    def parse(self, name: str, raw: str) -> int:
        text = raw.strip()
        if text.isascii() and text.isdigit() and self.low <= int(text) <= self.high:
            return int(text)
        raise CellError(f"{name} must be an integer from {self.low} to {self.high}, found {text!r}")

    def check(self, name: str, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            return f"{name} must be an integer from {self.low} to {self.high}, got {value!r}"
        return None


class Sample(Codec):
    """A whole number, 0 when the cell is empty."""

    required = False
    dtype = "int64"

    def parse(self, name: str, raw: str) -> int:
        text = raw.strip() or "0"
        if text.isascii() and text.isdigit():
            return int(text)
        raise CellError(f"{name} must be a whole number, found {raw!r}")

    def check(self, name: str, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{name} must be a whole number, got {value!r}"
        return None


class UtcTime(Codec):
    """An ISO 8601 time in UTC, read as ``YYYY-MM-DDTHH:MM:SSZ`` so that comparing the texts
    compares the times (``12:00:00.5Z`` or ``+00:00`` would sort wrongly as written)."""

    def parse(self, name: str, raw: str) -> str:
        return canonical_utc(parse_utc(name, raw.strip()))

    def parse_many(self, name: str, raws: list[str]) -> tuple[list[Any], dict[int, str]]:
        """The usual form is checked with numpy all at once; any other form one by one."""
        import numpy as np

        stripped = [raw.strip() for raw in raws]
        values: list[Any] = list(stripped)
        errors: dict[int, str] = {}
        for index in np.flatnonzero(~check_canonical_times(stripped)).tolist():
            try:
                values[index] = canonical_utc(parse_utc(name, stripped[index]))
            except CellError as exc:
                values[index] = None
                errors[index] = str(exc)
        return values, errors

    def check(self, name: str, value: Any) -> str | None:
        try:
            parse_utc(name, value)
        except CellError as exc:
            return str(exc)
        return None


class Notes(Codec):
    """Free text on one line (line breaks written as ``\\n``), safe to open in a spreadsheet."""

    required = False
    flags_text = True

    def parse(self, name: str, raw: str) -> str:
        try:
            return note_text.decode_note(raw)
        except ValueError as exc:
            raise CellError(f"{name}: {exc}") from None

    def format(self, value: Any) -> str:
        return note_text.encode_note(value)

    def check(self, name: str, value: Any) -> str | None:
        if not isinstance(value, str):
            return f"{name} must be text"
        if "\0" in value:
            return f"{name} must not contain NUL characters"
        return None

    def unsafe(self, name: str, raw: str) -> str | None:
        return note_text.check_formula(name, raw, note_text.FORMULA_PREFIXES)


class LegacyNotes(Notes):
    """Notes as files without the ``source`` column stored them: literal line breaks, and a
    ``'`` before a formula character only."""

    def parse(self, name: str, raw: str) -> str:
        return note_text.decode_legacy_note(raw)

    def format(self, value: Any) -> str:
        raise NotImplementedError("files in the older format are read, never written")

    def unsafe(self, name: str, raw: str) -> str | None:
        return note_text.check_formula(name, raw, note_text.LEGACY_FORMULA_PREFIXES)


class Source(Codec):
    """Who or what made a judgement: ``app``, ``cli``, ``imported``, ``unknown`` (not recorded;
    counted as human) or ``judge:<model>``."""

    def parse(self, name: str, raw: str) -> str:
        text = raw.strip()
        if text in HUMAN_SOURCES or (text.startswith(JUDGE_PREFIX) and text[len(JUDGE_PREFIX) :].strip()):
            return text
        raise CellError(f"{name} must be app, cli, imported, unknown or judge:<model>, found {text!r}")

    def check(self, name: str, value: Any) -> str | None:
        if not isinstance(value, str):
            return f"{name} must be app, cli, imported, unknown or judge:<model>, got {value!r}"
        try:
            self.parse(name, value)
        except CellError:
            return f"{name} must be app, cli, imported, unknown or judge:<model>, got {value!r}"
        return Codec.check(self, name, value)


class Flag(Codec):
    """``true`` or ``false``; with ``optional``, an empty cell reads as ``None`` (not known)."""

    def __init__(self, *, optional: bool = False):
        self.required = not optional

    def parse(self, name: str, raw: str) -> bool | None:
        text = raw.strip()
        if text in ("true", "false"):
            return text == "true"
        if not text and not self.required:
            return None
        allowed = "true, false or empty (not known)" if not self.required else "true or false"
        raise CellError(f"{name} must be {allowed}, found {text!r}")

    def format(self, value: Any) -> str:
        return "" if value is None else "true" if value else "false"

    def check(self, name: str, value: Any) -> str | None:
        if isinstance(value, bool) or (value is None and not self.required):
            return None
        return f"{name} must be true or false{'' if self.required else ' or None'}, got {value!r}"


class Choice(Codec):
    """One of a few words."""

    def __init__(self, *choices: str):
        self.choices = choices

    def parse(self, name: str, raw: str) -> str:
        text = raw.strip()
        if text in self.choices:
            return text
        raise CellError(f"{name} must be one of {', '.join(self.choices)}, found {text!r}")

    def check(self, name: str, value: Any) -> str | None:
        return None if value in self.choices else f"{name} must be one of {', '.join(self.choices)}, got {value!r}"


def is_human_source(source: str) -> bool:
    """A person made it (``unknown``, from files that did not record it, counts as a person)."""
    return source in HUMAN_SOURCES


# --------------------------------------------------------------------------- times


def parse_utc(name: str, text: Any) -> datetime:
    """``text`` as an aware UTC time; raises :class:`CellError` saying which form is expected."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError, TypeError):
        raise CellError(f"{name} must be an ISO 8601 UTC time such as 2026-11-28T12:00:00Z, found {text!r}") from None
    offset = parsed.utcoffset()
    if offset is None or offset.total_seconds() != 0:
        raise CellError(f"{name} must be in UTC (end in Z), found {text!r}")
    return parsed


def canonical_utc(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``: the one form of a time once read."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now_iso() -> str:
    return canonical_utc(datetime.now(UTC))


def check_canonical_times(values: list[str]):
    """For each text, whether it is a valid time written ``YYYY-MM-DDTHH:MM:SSZ`` (numpy, all at once)."""
    import numpy as np

    if not values:
        return np.zeros(0, dtype=bool)
    chars = np.asarray(values, dtype="U21").view(np.uint32).reshape(len(values), 21)
    digits = chars - ord("0")
    digit_at = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
    canonical = (chars[:, 20] == 0) & (digits[:, digit_at] <= 9).all(axis=1)
    for position, char in ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "Z")):
        canonical &= chars[:, position] == ord(char)
    d = np.where(canonical[:, None], digits[:, :19], 0).astype(np.int64)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 5] * 10 + d[:, 6]
    day = d[:, 8] * 10 + d[:, 9]
    hour, minute, second = d[:, 11] * 10 + d[:, 12], d[:, 14] * 10 + d[:, 15], d[:, 17] * 10 + d[:, 18]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    lengths = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)] + (
        leap & (month == 2)
    )
    valid = canonical & (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= lengths)
    return valid & (hour <= 23) & (minute <= 59) & (second <= 59)
