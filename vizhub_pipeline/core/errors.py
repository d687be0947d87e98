"""The library's own exceptions. Only the CLI turns them into click errors."""

from __future__ import annotations


class VizhubError(Exception):
    """Base class of every error the library raises on purpose."""


class InputError(VizhubError):
    """Bad input in a file: names the file and, where known, the line or field."""

    def __init__(self, path, message: str, *, line: int | None = None, field: str | None = None):
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = message
        where = self.path
        if line is not None:
            where += f":{line}"
        if field is not None:
            where += f": {field}"
        super().__init__(f"{where}: {message}")


class ChallengeError(InputError):
    """A challenge folder that does not follow the documented format."""


class GradeFileError(InputError):
    """A grade file that cannot be read."""


class PrerequisiteError(VizhubError):
    """Something the machine lacks (a browser, a key); the message says how to fix it."""
