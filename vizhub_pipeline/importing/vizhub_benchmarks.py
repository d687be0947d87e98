"""The importer for the original JavaScript project, vizhub-benchmarks.

Its layout (``PATH`` is a checkout)::

    benchmarks/challenges/<challenge>/challenge.json    {"name": ..., "type": ...}
    benchmarks/challenges/<challenge>/prompt.md
    benchmarks/challenges/<challenge>/files/            the starter
    benchmarks/challenges/<challenge>/<provider>/<model>/   the files a model wrote + llmResponse.md
    benchmarks/results/results.csv                      challenge,model,passFail,grade,aesthetics,...
    benchmarks/results/grades/<grader>.csv              challenge,model,type,passFail,grade,aesthetics,
                                                        reviewedBy,reviewedAt,notes

Its models were all called through OpenRouter, so ``<provider>/<model>`` becomes the litellm
id ``openrouter/<provider>/<model>`` (the id that regenerates it); the original id stays in
meta.json's ``origin``. Code challenges say only their name in challenge.json: they are
recognised by their files (``functions.mjs`` and the test ``index.mjs``, run with Node).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from vizhub_pipeline.core.atomic import (
    dumps_json,
    replace_dir_atomic,
    staging_dir,
    write_bytes_atomic,
    write_text_atomic,
)
from vizhub_pipeline.core.challenges import load_challenge
from vizhub_pipeline.core.errors import ChallengeError, InputError
from vizhub_pipeline.core.judgements.scores import Grade
from vizhub_pipeline.core.layout import Layout, hash_files, is_safe_slug
from vizhub_pipeline.core.prompting import build_messages, prompt_hash
from vizhub_pipeline.core.records import Generation, read_generation
from vizhub_pipeline.importing import ImportSummary, importer

SOURCE = "vizhub-benchmarks"
PROVIDER = "openrouter"
RESPONSE = "llmResponse.md"
RESERVED = ("meta.json", "response.md")
CODE_FILES = ("functions.mjs", "index.mjs")  # how the original's code challenges are recognised
GRADE_HEADER = ("challenge", "model", "type", "passFail", "grade", "aesthetics", "reviewedBy", "reviewedAt", "notes")
RESULTS_HEADER = ("challenge", "model", "passFail", "grade", "aesthetics", "reviewedBy", "reviewedAt", "notes", "type")


@dataclass
class OriginalChallenge:
    """One challenge folder of the original, read and checked."""

    name: str
    folder: Path
    type: str  # visualization | code
    prompt: str
    files: dict[str, bytes]
    outputs: list[Path]  # <provider>/<model> folders


@dataclass(frozen=True)
class OriginalGrade:
    challenge: str
    model: str  # the original id, <provider>/<model>
    functionality: int
    aesthetics: int
    grader: str
    graded_at: str  # canonical UTC, YYYY-MM-DDTHH:MM:SSZ
    notes: str


@importer("vizhub-benchmarks", "a checkout of the original JavaScript project (benchmarks/ inside)")
def import_vizhub_benchmarks(source: Path, layout: Layout) -> ImportSummary:
    """Import challenges, outputs and grades of the checkout ``source`` into ``layout``."""
    root = _benchmarks_root(source)
    summary = ImportSummary(SOURCE)
    results = _read_results(root / "results" / "results.csv", summary)
    imported_challenges: dict[str, OriginalChallenge] = {}
    for folder in sorted(p for p in (root / "challenges").iterdir() if p.is_dir() and not p.name.startswith(".")):
        original = _read_challenge(folder, summary)
        if original is None:
            continue
        if _import_challenge(original, layout, summary):
            imported_challenges[original.name] = original
    known: dict[tuple[str, str], str] = {}  # (challenge, original model id) -> artifact hash
    for original in imported_challenges.values():
        # the prompt the original's models were sent, as far as it can be rebuilt (see the card)
        rebuilt = prompt_hash(build_messages(load_challenge(layout.challenge_dir(original.name))))
        for folder in original.outputs:
            hashed = _import_output(original, folder, root, layout, results, rebuilt, summary)
            if hashed is not None:
                known[(original.name, _original_id(original.folder, folder))] = hashed
    grades_dir = root / "results" / "grades"
    if grades_dir.is_dir():
        for path in sorted(grades_dir.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                _import_grade_file(path, root, layout, known, summary)
    return summary


# --------------------------------------------------------------------------- reading the original


def _benchmarks_root(source: Path) -> Path:
    for candidate in (source / "benchmarks", source):
        if (candidate / "challenges").is_dir():
            return candidate
    raise InputError(source, "not a vizhub-benchmarks checkout: no benchmarks/challenges/ folder in it")


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root.parent).as_posix()


def _read_challenge(folder: Path, summary: ImportSummary) -> OriginalChallenge | None:
    """The challenge of ``folder``, or None after recording why it cannot be imported."""
    name = folder.name
    meta_path = folder / "challenge.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        summary.problems.append(f"{meta_path}: missing (every challenge of the original has challenge.json)")
        return None
    except json.JSONDecodeError as exc:
        summary.problems.append(f"{meta_path}:{exc.lineno}: not valid JSON: {exc.msg}")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        summary.problems.append(f"{meta_path}: cannot read: {exc}")
        return None
    if not isinstance(meta, dict) or meta.get("name", name) != name:
        summary.problems.append(f"{meta_path}: name: expected {name!r} (the folder's name)")
        return None
    if not is_safe_slug(name):
        summary.problems.append(f"{folder}: the challenge name is not a slug (letters, digits, '_', '-')")
        return None
    try:
        prompt = (folder / "prompt.md").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        summary.problems.append(f"{folder / 'prompt.md'}: cannot read: {exc}")
        return None
    files = _read_files(folder / "files")
    if not files:
        summary.problems.append(f"{folder / 'files'}: missing or empty (the starter files)")
        return None
    kind = meta.get("type")
    if kind is None:
        kind = "code" if all(name in files for name in CODE_FILES) else "visualization"
    if kind not in ("visualization", "code") or (kind == "code" and not all(n in files for n in CODE_FILES)):
        summary.problems.append(f"{meta_path}: type: cannot import a {kind!r} challenge with files {sorted(files)}")
        return None
    if kind == "visualization" and "index.html" not in files:
        summary.problems.append(f"{folder / 'files'}: a visualization needs index.html")
        return None
    outputs = [
        model
        for provider in sorted(p for p in folder.iterdir() if p.is_dir() and p.name != "files")
        for model in sorted(p for p in provider.iterdir() if p.is_dir())
    ]
    return OriginalChallenge(name, folder, kind, prompt, files, outputs)


def _read_files(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    }


def _read_results(path: Path, summary: ImportSummary) -> dict[tuple[str, str], str]:
    """``{(challenge, original model): "pass" | "fail"}`` from the original's results.csv."""
    if not path.is_file():
        return {}
    rows = _read_csv(path, RESULTS_HEADER, summary)
    out = {}
    for line, row in rows or []:
        verdict = row["passFail"].strip()
        if verdict not in ("pass", "fail", ""):
            summary.problems.append(f"{path}:{line}: passFail: expected pass or fail, found {verdict!r}")
            return {}
        if verdict:
            out[(row["challenge"].strip(), row["model"].strip())] = verdict
    return out


def _read_csv(path: Path, header: tuple[str, ...], summary: ImportSummary) -> list[tuple[int, dict[str, str]]] | None:
    """The rows of a CSV file with ``header`` (any order) and their line numbers, or None after
    recording the file's first problem."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        summary.problems.append(f"{path}:1: not UTF-8 text ({exc.reason})")
        return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        names = [cell.strip() for cell in next(reader)]
    except StopIteration:
        summary.problems.append(f"{path}:1: empty file: expected the header {','.join(header)}")
        return None
    except csv.Error as exc:
        summary.problems.append(f"{path}:1: malformed CSV: {exc}")
        return None
    missing = [name for name in header if name not in names]
    if missing:
        summary.problems.append(f"{path}:1: missing column(s) {', '.join(missing)} (expected {','.join(header)})")
        return None
    rows = []
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            summary.problems.append(f"{path}:{line}: malformed CSV: {exc}")
            return None
        start, line = line, reader.line_num + 1
        if not cells or not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(names):
            summary.problems.append(f"{path}:{start}: expected {len(names)} fields, found {len(cells)}")
            return None
        rows.append((start, dict(zip(names, cells, strict=True))))
    return rows


# --------------------------------------------------------------------------- challenges


def _title(name: str) -> str:
    """``stockPriceChart`` -> ``Stock price chart``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).split()
    return " ".join([words[0].capitalize()] + [word.lower() for word in words[1:]]) if words else name


def challenge_yaml(original: OriginalChallenge) -> str:
    """challenge.yaml for an imported challenge: what the original declared, and no more."""
    if original.type == "code":
        data: dict[str, Any] = {
            "title": _title(original.name),
            "type": "code",
            "description": f"Imported from {SOURCE}: implement {CODE_FILES[0]} so that {CODE_FILES[1]} passes.",
            "tags": ["javascript", "function", "imported"],
            "difficulty": "easy",
            "entry": CODE_FILES[0],
            "test": {"command": ["node", CODE_FILES[1]], "protected": [CODE_FILES[1]]},
        }
    else:
        data = {
            "title": _title(original.name),
            "type": "visualization",
            "description": f"Imported from {SOURCE}.",
            "tags": ["d3", "imported"],
            "difficulty": "medium",
            "viewport": {"width": 800, "height": 600},
            "entry": "index.html",
            "checks": [{"type": "no_console_errors", "name": "no console errors"}],
        }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _import_challenge(original: OriginalChallenge, layout: Layout, summary: ImportSummary) -> bool:
    """Write ``challenges/<name>/``; True when the challenge is (now or already) here as imported."""
    final = layout.challenge_dir(original.name)
    if final.exists():
        try:
            here = load_challenge(final)
        except ChallengeError as exc:
            summary.skip("challenges", original.name, f"challenges/{original.name} exists and is invalid: {exc}")
            return False
        same_files = {name: text.encode("utf-8") for name, text in here.files.items()} == original.files
        if here.prompt == original.prompt and same_files:
            summary.unchanged["challenges"] += 1
            return True
        summary.skip("challenges", original.name, "a challenge of that name with another prompt or starter is here")
        return False
    staging = staging_dir(final)
    try:
        write_text_atomic(staging / "challenge.yaml", challenge_yaml(original), durable=False)
        write_text_atomic(staging / "prompt.md", original.prompt, durable=False)
        for name, data in original.files.items():
            write_bytes_atomic(staging / "files" / name, data, durable=False)
        replace_dir_atomic(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        load_challenge(final)
    except ChallengeError as exc:  # the original's files do not make a valid challenge here
        shutil.rmtree(final, ignore_errors=True)
        summary.problems.append(str(exc))
        return False
    summary.imported["challenges"] += 1
    return True


# --------------------------------------------------------------------------- outputs


def _original_id(challenge_folder: Path, output_folder: Path) -> str:
    return output_folder.relative_to(challenge_folder).as_posix()


def model_id(original_model: str) -> str:
    """The litellm id that regenerates an original output: ``openrouter/<provider>/<model>``."""
    return f"{PROVIDER}/{original_model}"


def _import_output(
    original: OriginalChallenge,
    folder: Path,
    root: Path,
    layout: Layout,
    results: dict[tuple[str, str], str],
    rebuilt_prompt_hash: str,
    summary: ImportSummary,
) -> str | None:
    """Write one output folder; its artifact hash when it is (now or already) here, else None."""
    original_model = _original_id(original.folder, folder)
    label = f"{original.name}/{original_model}"
    files = _read_files(folder)
    response = files.pop(RESPONSE, None)
    clashing = [name for name in files if name in RESERVED]
    if clashing:
        summary.skip("outputs", label, f"a file is named {clashing[0]}, a name this project keeps for itself")
        return None
    if not files:
        summary.skip("outputs", label, "no files")
        return None
    model = model_id(original_model)
    final = layout.visualization_dir(original.name, model)
    origin: dict[str, Any] = {
        "source": SOURCE,
        "path": _relative(folder, root),
        "model": original_model,
        "response": RESPONSE if response is not None else None,
    }
    verdict = results.get((original.name, original_model))
    if verdict is not None:
        origin["pass_fail"] = verdict
    generation = Generation(
        challenge=original.name,
        model=model,
        sample=0,
        status="ok",
        input_hash=None,
        artifact_hash=hash_files(files),
        files=tuple(sorted(files)),
        prompt_hash=rebuilt_prompt_hash,
        origin=origin,
    )
    if response is None:
        summary.notes.append(f"{label}: the original has no {RESPONSE}; recorded in meta.json, none made up")
    if (final / "meta.json").is_file():
        try:
            here = read_generation(final / "meta.json")
        except InputError:
            here = None
        if here == generation and _same_files(final, files, response):
            summary.unchanged["outputs"] += 1
            return generation.artifact_hash
        why = (
            "an output imported from elsewhere is here"
            if here is not None and here.imported
            else "an output of this project is here"
        )
        summary.skip("outputs", label, f"{why} (visualizations/{original.name}/{final.name}); not overwritten")
        return None
    staging = staging_dir(final)
    try:
        for name, data in files.items():
            write_bytes_atomic(staging / name, data, durable=False)
        if response is not None:
            write_bytes_atomic(staging / "response.md", response, durable=False)
        # inside the staging folder nothing needs flushing on its own: the folder moves in whole
        write_text_atomic(staging / "meta.json", dumps_json(generation.to_json()), durable=False)
        replace_dir_atomic(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    summary.imported["outputs"] += 1
    return generation.artifact_hash


def _same_files(folder: Path, files: dict[str, bytes], response: bytes | None) -> bool:
    here = _read_files(folder)
    here.pop("meta.json", None)
    return here.pop("response.md", None) == response and here == files


# --------------------------------------------------------------------------- grades


def _canonical_time(text: str) -> str | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_original_grades(path: Path, summary: ImportSummary) -> list[OriginalGrade] | None:
    """The scored rows of one grade file of the original; None (and a problem recorded) when the
    file is malformed: then nothing of it is imported. Rows without a score are counted."""
    rows = _read_csv(path, GRADE_HEADER, summary)
    if rows is None:
        return None
    grades, blank = [], 0
    for line, row in rows:
        raw = {key: row[key].strip() for key in ("grade", "aesthetics")}
        if not raw["grade"] and not raw["aesthetics"]:
            blank += 1
            continue
        scores = {}
        for key, value in raw.items():
            if not (value.isascii() and value.isdigit() and 0 <= int(value) <= 5):
                summary.problems.append(f"{path}:{line}: {key}: expected a whole number from 0 to 5, found {value!r}")
                return None
            scores[key] = int(value)
        graded_at = _canonical_time(row["reviewedAt"])
        if graded_at is None:
            found = row["reviewedAt"]
            summary.problems.append(f"{path}:{line}: reviewedAt: expected an ISO 8601 time with Z, found {found!r}")
            return None
        grader = row["reviewedBy"].strip()
        if not is_safe_slug(grader):
            summary.problems.append(
                f"{path}:{line}: reviewedBy: expected a grader name such as ej-fox, found {grader!r}"
            )
            return None
        grades.append(
            OriginalGrade(
                challenge=row["challenge"].strip(),
                model=row["model"].strip(),
                functionality=scores["grade"],
                aesthetics=scores["aesthetics"],
                grader=grader,
                graded_at=graded_at,
                notes=row["notes"],
            )
        )
    if blank:
        summary.skip("grades", path.name, "no score given", blank)
    return grades


def _import_grade_file(
    path: Path, root: Path, layout: Layout, known: dict[tuple[str, str], str], summary: ImportSummary
) -> None:
    from vizhub_pipeline.importing.grade_rows import append_imported_grades

    grades = read_original_grades(path, summary)
    if grades is None:
        return
    rows = []
    for grade in grades:
        artifact = known.get((grade.challenge, grade.model))
        if artifact is None:
            summary.skip("grades", f"{grade.challenge}/{grade.model}", "its output was not imported")
            continue
        rows.append(
            Grade(
                challenge=grade.challenge,
                model=model_id(grade.model),
                sample=0,
                artifact_hash=artifact,
                functionality=grade.functionality,
                aesthetics=grade.aesthetics,
                notes=grade.notes,
                grader=grade.grader,
                graded_at=grade.graded_at,
                source="imported",
                blind=False,
            )
        )
    added, present = append_imported_grades(layout, rows)
    summary.imported["grades"] += added
    summary.unchanged["grades"] += present
