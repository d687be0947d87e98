"""The grading library's exceptions. Only the CLI turns them into click errors."""

from __future__ import annotations

from pathlib import Path

from vizhub_pipeline.core.errors import VizhubError


class GradeError(VizhubError):
    """A judgement that cannot be written, a grader name that cannot be used, or a comparison
    that cannot be made."""


class GradeCommitError(GradeError):
    """The judgements are saved on disk but could not be committed; ``path`` says where they are."""

    def __init__(self, message: str, path: Path):
        super().__init__(message)
        self.path = path
