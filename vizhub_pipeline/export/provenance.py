"""Where the exported data came from: how each grade was given, and what an imported output's
completion is.

Grades are read through the one judgement reader (:mod:`vizhub_pipeline.core.judgements`), the
same rows the aggregate stage counts: human sources only, each grader's latest grade of an
output, and only grades of the artifact that was exported.

An imported output (``origin`` in its meta.json) was graded on the files it holds, which need
not be what its raw reply says: the original project kept its starter when it could not parse a
reply. Its completion is therefore rebuilt from those files, in the reply format the prompt asks
for (a file block per file), so that ``chosen`` and ``rejected`` are what the graders saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from vizhub_pipeline.core.challenges import Challenge
from vizhub_pipeline.core.errors import VizhubError
from vizhub_pipeline.core.layout import hash_files
from vizhub_pipeline.core.prompting import format_file_block, read_only_files
from vizhub_pipeline.core.records import Generation

SOURCE_LABELS = {
    "app": "in the grading app",
    "cli": "in the terminal grader (`vizhub grade --cli`)",
    "imported": "imported from another project's grade files",
    "unknown": "source not recorded (a grade file older than the `source` column)",
}


def grade_source_key(source: str, blind: bool | None) -> str:
    """``"<source>, blind"``, ``"<source>, not blind"`` or ``"<source>, blind not recorded"``."""
    if blind is None:
        return f"{source}, blind not recorded"
    return f"{source}, {'blind' if blind else 'not blind'}"


def describe_grade_source(key: str) -> str:
    """The words the card uses for a key of :func:`grade_source_key`."""
    source, _, blindness = key.partition(", ")
    where = SOURCE_LABELS.get(source, source)
    how = {
        "blind": "blind (model names hidden)",
        "not blind": "not blind (model names known to the grader)",
    }.get(blindness, "whether blind is not recorded")
    return f"{where}; {how}"


def read_grade_sources(root: Path) -> dict[tuple[tuple[str, str, int], str], list[tuple[str, bool | None]]]:
    """``{(output, artifact hash): [(source, blind), ...]}``: each grader's latest human grade of
    each output, the rows the aggregate stage counts."""
    from vizhub_pipeline.core.judgements.collect import read_project_records
    from vizhub_pipeline.core.judgements.columns import is_human_source
    from vizhub_pipeline.core.judgements.kind import pick_latest
    from vizhub_pipeline.core.judgements.scores import KIND

    grades = [grade for grade in read_project_records(root, KIND) if is_human_source(grade.source)]
    index: dict[tuple[tuple[str, str, int], str], list[tuple[str, bool | None]]] = {}
    for grade in pick_latest(KIND, grades).values():
        index.setdefault((grade.key, grade.artifact_hash), []).append((grade.source, grade.blind))
    return index


def count_grade_sources(
    index: Mapping[tuple[tuple[str, str, int], str], list[tuple[str, bool | None]]],
    exported: Mapping[tuple[str, str, int], str],
) -> dict[str, int]:
    """How the grades behind the exported outputs were given: ``{grade_source_key: grades}``.

    ``exported`` maps each exported output (challenge, model, sample) to its artifact hash."""
    counts: dict[str, int] = {}
    for key, artifact in exported.items():
        for source, blind in index.get((key, artifact), ()):
            name = grade_source_key(source, blind)
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def graded_files_reply(folder: Path, generation: Generation, challenge: Challenge, where: str) -> str:
    """The completion of an imported output: a file block for each file it holds, as the prompt
    asks replies to be written, leaving out only unchanged data files too large to send back
    (the prompt shows those in part, read-only). Raises VizhubError when the files on disk are
    not the ones meta.json records (their artifact hash differs) or cannot be read as text."""
    files: dict[str, str] = {}
    for name in generation.files:
        try:
            files[name] = (folder / name).read_bytes().decode("utf-8")  # bytes as hashed: no newline translation
        except FileNotFoundError:
            raise VizhubError(f"{where}/{name} is missing (listed in meta.json)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise VizhubError(f"{where}/{name} cannot be read as text: {exc}") from None
    if hash_files(files) != generation.artifact_hash:
        raise VizhubError(
            f"the files in {where} are not the ones its meta.json records (artifact hash "
            f"{hash_files(files)}, meta.json {generation.artifact_hash})"
        )
    hidden = read_only_files(challenge.files)
    kept = [name for name in files if not (name in hidden and files[name] == challenge.files.get(name))]
    if not kept:
        raise VizhubError(f"{where} holds only read-only data files: there is no completion to export")
    ordered = sorted(kept, key=lambda name: (name != challenge.entry, name))
    return "\n".join(format_file_block(name, files[name]) for name in ordered)
