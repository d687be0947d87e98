"""Challenge folders: read, validated field by field, and scaffolded.

A challenge is ``challenges/<id>/`` with ``challenge.yaml``, ``prompt.md``, ``files/``
(the starter the model edits) and an optional ``reference/`` overlaid on ``files/``.
A ``visualization`` challenge is rendered and checked in the browser; a ``code`` challenge
names a ``test`` command that is run, sandboxed, on each output (exit code 0 passes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vizhub_pipeline.core.errors import ChallengeError
from vizhub_pipeline.core.layout import is_safe_slug

CHALLENGE_TYPES = ("visualization", "code")
DIFFICULTIES = ("easy", "medium", "hard")
ACTIONS = ("hover", "click", "drag", "press", "wheel", "wait")
MAX_FILE_BYTES = 2_000_000

# check type -> (required fields, optional fields)
CHECK_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "count": (("selector",), ("min", "max", "equals")),
    "text": (("text",), ("selector", "ignore_case")),
    "attribute": (("selector", "attribute"), ("equals", "matches", "distinct_min")),
    "no_console_errors": ((), ()),
    "in_viewport": ((), ("selector", "margin")),
    "script": (("expr",), ()),
}
COMMON_CHECK_FIELDS = ("type", "name", "description")
TEST_FIELDS = ("command", "protected", "timeout")
TEST_RUNTIMES = ("node",)  # the programs a test command may start (what the sandbox provides)
STEP_FIELDS = ("name", "action", "selector", "nth", "at", "from", "to", "key", "delta_y", "wait_ms", "checks")


@dataclass(frozen=True)
class Viewport:
    width: int = 800
    height: int = 600


@dataclass(frozen=True)
class Check:
    """A deterministic assertion run in the rendered page.

    ``type`` is one of :data:`CHECK_FIELDS`; ``spec`` holds that type's fields as written.
    """

    type: str
    name: str
    spec: Mapping[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Step:
    """An interaction step; after it the page is shot again and its own checks run.

    ``at``, ``from`` and ``to`` are ``[x, y]`` fractions of the target element's box
    (``[0.5, 0.5]`` is its centre).
    """

    name: str
    action: str
    selector: str | None = None
    nth: int = 0
    at: tuple[float, float] = (0.5, 0.5)
    start: tuple[float, float] | None = None
    end: tuple[float, float] | None = None
    key: str | None = None
    delta_y: float = 0.0
    wait_ms: int = 0
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True)
class TestSpec:
    """How a code challenge is tested: ``command`` runs in the output's folder, exit code 0 passes.

    ``protected`` files are taken from the challenge's ``files/`` for every run of a generated
    output, so a model that rewrites the test cannot make it pass.
    """

    command: tuple[str, ...]
    protected: tuple[str, ...] = ()
    timeout: float | None = None  # seconds; None: the screenshot stage's timeout


@dataclass(frozen=True)
class Challenge:
    id: str
    path: Path
    title: str
    prompt: str
    files: Mapping[str, str]
    reference: Mapping[str, str] = field(default_factory=dict)
    type: str = "visualization"
    description: str = ""
    tags: tuple[str, ...] = ()
    difficulty: str = "medium"
    viewport: Viewport = Viewport()
    entry: str = "index.html"
    checks: tuple[Check, ...] = ()
    interactions: tuple[Step, ...] = ()
    test: TestSpec | None = None  # code challenges only

    @property
    def reference_files(self) -> dict[str, str]:
        """The reference solution: ``reference/`` overlaid on ``files/`` (empty if there is none)."""
        if not self.reference:
            return {}
        return {**self.files, **self.reference}


def load_challenge(folder: Path) -> Challenge:
    """Read one challenge folder; raises :class:`ChallengeError` naming the file and field at fault."""
    problems = validate_challenge(folder)
    if problems:
        raise problems[0]
    return _load(Path(folder))


def validate_challenge(folder: Path) -> list[ChallengeError]:
    """Every problem in one challenge folder (an empty list when it is valid)."""
    folder = Path(folder)
    problems: list[ChallengeError] = []
    try:
        _load(folder, problems)
    except ChallengeError as exc:
        problems.append(exc)
    return problems


def discover_challenges(
    root: Path, only: tuple[str, ...] | list[str] = ()
) -> tuple[list[Challenge], list[ChallengeError]]:
    """The valid challenges under ``root`` (sorted by id) and the problems of the others.

    With ``only``, just those ids; an id that has no folder is a problem too.
    """
    root = Path(root)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []
    problems: list[ChallengeError] = []
    if only:
        by_name = {p.name: p for p in folders}
        for name in only:
            if name not in by_name:
                known = ", ".join(sorted(by_name)) or "none"
                problems.append(ChallengeError(root / name, f"no such challenge (known: {known})"))
        folders = [by_name[name] for name in sorted(set(only)) if name in by_name]
    challenges = []
    for folder in folders:
        found = validate_challenge(folder)
        if found:
            problems.extend(found)
        else:
            challenges.append(_load(folder))
    return challenges, problems


def _load(folder: Path, problems: list[ChallengeError] | None = None) -> Challenge:
    """Build the challenge; with ``problems``, collect field problems instead of raising at the first."""
    collected: list[ChallengeError] = [] if problems is None else problems

    def fail(path: Path, message: str, field_name: str | None = None) -> None:
        error = ChallengeError(path, message, field=field_name)
        if problems is None:
            raise error
        collected.append(error)

    if not is_safe_slug(folder.name):
        fail(folder, "the folder name must be a slug: letters, digits, '_' and '-', starting with a letter or digit")
    meta_path = folder / "challenge.yaml"
    if not meta_path.is_file():
        raise ChallengeError(meta_path, "missing (every challenge needs challenge.yaml)")
    try:
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ChallengeError(
            meta_path, f"not valid YAML: {getattr(exc, 'problem', exc)}", line=None if mark is None else mark.line + 1
        ) from None
    except UnicodeDecodeError:
        raise ChallengeError(meta_path, "not UTF-8 text") from None
    if not isinstance(meta, dict):
        raise ChallengeError(meta_path, "expected a mapping of fields (title, description, checks, ...)")

    known = {
        "title",
        "type",
        "description",
        "tags",
        "difficulty",
        "viewport",
        "entry",
        "checks",
        "interactions",
        "test",
    }
    for key in meta:
        if key not in known:
            fail(meta_path, f"unknown field (known: {', '.join(sorted(known))})", str(key))

    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        fail(meta_path, "required: a non-empty title", "title")
        title = folder.name
    kind = meta.get("type", "visualization")
    if kind not in CHALLENGE_TYPES:
        fail(meta_path, f"must be one of {', '.join(CHALLENGE_TYPES)}", "type")
    description = meta.get("description", "")
    if not isinstance(description, str):
        fail(meta_path, "must be text", "description")
        description = ""
    tags = meta.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        fail(meta_path, "must be a list of words", "tags")
        tags = []
    difficulty = meta.get("difficulty", "medium")
    if difficulty not in DIFFICULTIES:
        fail(meta_path, f"must be one of {', '.join(DIFFICULTIES)}", "difficulty")
    viewport = _viewport(meta.get("viewport", {}), meta_path, fail)
    entry = meta.get("entry", "index.html")
    if not isinstance(entry, str) or not _safe_relative(entry):
        fail(meta_path, "must be a relative file path inside files/", "entry")
        entry = "index.html"

    checks = _checks(meta.get("checks", []), meta_path, "checks", fail)
    steps = _steps(meta.get("interactions", []), meta_path, fail)
    test = None
    if kind == "code":
        if "test" not in meta:
            fail(meta_path, "a code challenge needs a test, e.g. {command: [node, index.mjs]}", "test")
        else:
            test = _test(meta["test"], meta_path, fail)
        for key in ("checks", "interactions", "viewport"):
            if meta.get(key):
                fail(meta_path, f"a code challenge is tested by its test command, not by {key}", key)
    elif "test" in meta:
        fail(meta_path, "only a code challenge has a test (type: code)", "test")

    prompt_path = folder / "prompt.md"
    prompt = ""
    if not prompt_path.is_file():
        fail(prompt_path, "missing (the instruction given to the model)")
    else:
        prompt = _read_text(prompt_path, fail)
        if not prompt.strip():
            fail(prompt_path, "is empty")
    files = _read_tree(folder / "files", fail, required=True)
    reference = _read_tree(folder / "reference", fail, required=False)
    if files and entry not in files:
        fail(folder / "files" / entry, f"missing: the entry file named by challenge.yaml field entry ({entry})")
    if test is not None and files:
        for name in test.protected:
            if name not in files:
                fail(meta_path, f"{name} is not a file of files/", "test.protected")
    for name in reference:
        if ".." in Path(name).parts:
            fail(folder / "reference" / name, "reference files must stay inside the folder")
    return Challenge(
        id=folder.name,
        path=folder,
        title=title.strip(),
        prompt=prompt,
        files=files,
        reference=reference,
        type=kind,
        description=description.strip(),
        tags=tuple(tags),
        difficulty=difficulty,
        viewport=viewport,
        entry=entry,
        checks=checks,
        interactions=steps,
        test=test,
    )


def _test(value: Any, path: Path, fail) -> TestSpec | None:
    if not isinstance(value, dict):
        fail(path, "must be a mapping with a command, e.g. {command: [node, index.mjs]}", "test")
        return None
    ok = True
    for key in value:
        if key not in TEST_FIELDS:
            fail(path, f"unknown field (known: {', '.join(TEST_FIELDS)})", f"test.{key}")
            ok = False
    command = value.get("command")
    if isinstance(command, str):
        command = command.split()
    if not (isinstance(command, list) and command and all(isinstance(part, str) and part for part in command)):
        fail(path, "must be a list such as [node, index.mjs]", "test.command")
        return None
    if command[0] not in TEST_RUNTIMES:
        fail(path, f"must start with one of {', '.join(TEST_RUNTIMES)} (what the sandbox provides)", "test.command")
        ok = False
    protected = value.get("protected", [])
    if not (isinstance(protected, list) and all(isinstance(name, str) and _safe_relative(name) for name in protected)):
        fail(path, "must be a list of file names of files/", "test.protected")
        ok = False
    timeout = value.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        fail(path, "must be a number of seconds above 0", "test.timeout")
        ok = False
    if not ok:
        return None
    return TestSpec(tuple(command), tuple(protected), None if timeout is None else float(timeout))


def _viewport(value: Any, path: Path, fail) -> Viewport:
    if not isinstance(value, dict):
        fail(path, "must be a mapping with width and height", "viewport")
        return Viewport()
    result = {}
    for key in value:
        if key not in ("width", "height"):
            fail(path, "unknown key (known: width, height)", f"viewport.{key}")
    for key, default in (("width", 800), ("height", 600)):
        number = value.get(key, default)
        if isinstance(number, bool) or not isinstance(number, int) or not 100 <= number <= 4000:
            fail(path, "must be a whole number of pixels from 100 to 4000", f"viewport.{key}")
            number = default
        result[key] = number
    return Viewport(**result)


def _checks(value: Any, path: Path, where: str, fail) -> tuple[Check, ...]:
    if not isinstance(value, list):
        fail(path, "must be a list of checks", where)
        return ()
    checks = []
    names = set()
    for index, raw in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(raw, dict):
            fail(path, "must be a mapping with a type", at)
            continue
        kind = raw.get("type")
        if kind not in CHECK_FIELDS:
            fail(path, f"type must be one of {', '.join(CHECK_FIELDS)}", f"{at}.type")
            continue
        required, optional = CHECK_FIELDS[kind]
        ok = True
        for key in raw:
            if key not in required + optional + COMMON_CHECK_FIELDS:
                fail(path, f"unknown field for a {kind} check (known: {', '.join(required + optional)})", f"{at}.{key}")
                ok = False
        for key in required:
            if key not in raw:
                fail(path, f"a {kind} check needs {key}", f"{at}.{key}")
                ok = False
        ok = _check_values(kind, raw, path, at, fail) and ok
        if not ok:
            continue
        name = raw.get("name") or _default_check_name(kind, raw, index)
        if name in names:
            fail(path, f"repeated check name {name!r}", f"{at}.name")
        names.add(name)
        spec = {key: item for key, item in raw.items() if key not in COMMON_CHECK_FIELDS}
        checks.append(Check(type=kind, name=name, spec=spec, description=str(raw.get("description", ""))))
    return tuple(checks)


def _check_values(kind: str, raw: dict, path: Path, at: str, fail) -> bool:
    ok = True
    for key in ("selector", "text", "attribute", "equals" if kind == "attribute" else "", "matches", "expr"):
        if key and key in raw and (not isinstance(raw[key], str) or not raw[key]):
            fail(path, "must be non-empty text", f"{at}.{key}")
            ok = False
    int_keys = ("min", "max", "equals") if kind == "count" else ("distinct_min", "margin")
    for key in int_keys:
        if key in raw and (isinstance(raw[key], bool) or not isinstance(raw[key], int) or raw[key] < 0):
            fail(path, "must be a whole number, 0 or more", f"{at}.{key}")
            ok = False
    if kind == "count" and not any(key in raw for key in ("min", "max", "equals")):
        fail(path, "a count check needs min, max or equals", at)
        ok = False
    if kind == "attribute" and sum(key in raw for key in ("equals", "matches", "distinct_min")) != 1:
        fail(path, "an attribute check needs exactly one of equals, matches, distinct_min", at)
        ok = False
    if kind == "attribute" and isinstance(raw.get("matches"), str):
        import re

        try:
            re.compile(raw["matches"])
        except re.error as exc:
            fail(path, f"not a valid regular expression: {exc}", f"{at}.matches")
            ok = False
    if "ignore_case" in raw and not isinstance(raw["ignore_case"], bool):
        fail(path, "must be true or false", f"{at}.ignore_case")
        ok = False
    return ok


def _default_check_name(kind: str, raw: dict, index: int) -> str:
    subject = raw.get("selector") or raw.get("text") or ""
    return f"{kind} {subject}".strip() if subject else f"{kind} #{index + 1}"


def _steps(value: Any, path: Path, fail) -> tuple[Step, ...]:
    if not isinstance(value, list):
        fail(path, "must be a list of steps", "interactions")
        return ()
    steps = []
    names = set()
    for index, raw in enumerate(value):
        at = f"interactions[{index}]"
        if not isinstance(raw, dict):
            fail(path, "must be a mapping with name and action", at)
            continue
        for key in raw:
            if key not in STEP_FIELDS:
                fail(path, f"unknown field (known: {', '.join(STEP_FIELDS)})", f"{at}.{key}")
        name = raw.get("name")
        if not isinstance(name, str) or not is_safe_slug(name):
            fail(path, "required: a slug such as hover-first-bar", f"{at}.name")
            continue
        if name in names:
            fail(path, f"repeated step name {name!r}", f"{at}.name")
        names.add(name)
        action = raw.get("action")
        if action not in ACTIONS:
            fail(path, f"must be one of {', '.join(ACTIONS)}", f"{at}.action")
            continue
        selector = raw.get("selector")
        if action in ("hover", "click", "drag", "wheel") and (not isinstance(selector, str) or not selector):
            fail(path, f"a {action} step needs a selector", f"{at}.selector")
            continue
        if action == "press" and not isinstance(raw.get("key"), str):
            fail(path, "a press step needs a key such as Escape", f"{at}.key")
            continue
        points = {}
        for key in ("at", "from", "to"):
            if key in raw:
                point = raw[key]
                if not (
                    isinstance(point, list)
                    and len(point) == 2
                    and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in point)
                ):
                    fail(path, "must be [x, y], fractions of the element's box", f"{at}.{key}")
                    continue
                points[key] = (float(point[0]), float(point[1]))
        if action == "drag" and not ("from" in points and "to" in points):
            fail(path, "a drag step needs from and to", at)
            continue
        nth = raw.get("nth", 0)
        wait_ms = raw.get("wait_ms", 0)
        for key, number in (("nth", nth), ("wait_ms", wait_ms)):
            if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                fail(path, "must be a whole number, 0 or more", f"{at}.{key}")
        delta_y = raw.get("delta_y", 0)
        if isinstance(delta_y, bool) or not isinstance(delta_y, (int, float)):
            fail(path, "must be a number", f"{at}.delta_y")
            delta_y = 0
        checks = _checks(raw.get("checks", []), path, f"{at}.checks", fail)
        steps.append(
            Step(
                name=name,
                action=action,
                selector=selector,
                nth=nth if isinstance(nth, int) else 0,
                at=points.get("at", (0.5, 0.5)),
                start=points.get("from"),
                end=points.get("to"),
                key=raw.get("key"),
                delta_y=float(delta_y),
                wait_ms=wait_ms if isinstance(wait_ms, int) else 0,
                checks=checks,
            )
        )
    return tuple(steps)


def _safe_relative(name: str) -> bool:
    if not name or name.startswith(("/", "\\")) or "\\" in name or ":" in name:
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def _read_text(path: Path, fail) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(path, f"cannot read: {exc.strerror or exc}")
        return ""
    if len(data) > MAX_FILE_BYTES:
        fail(path, f"larger than {MAX_FILE_BYTES // 1_000_000} MB")
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        fail(path, "not UTF-8 text (challenge files are text)")
        return ""


def _read_tree(folder: Path, fail, *, required: bool) -> dict[str, str]:
    if not folder.is_dir():
        if required:
            fail(folder, "missing (the starter files the model edits)")
        return {}
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            files[path.relative_to(folder).as_posix()] = _read_text(path, fail)
    if required and not files:
        fail(folder, "is empty")
    return files


# --------------------------------------------------------------------------- scaffolding

_TEMPLATE_YAML = """\
title: {title}
type: visualization
description: >-
  One or two sentences on what the model must build or change.
tags: [d3]
difficulty: medium
viewport: {{width: 800, height: 600}}
entry: index.html
checks:
  - type: count
    name: chart drawn
    selector: "#chart svg"
    min: 1
  - type: no_console_errors
    name: no console errors
  - type: in_viewport
    name: fits the viewport
    selector: "#chart svg"
interactions: []
"""

_TEMPLATE_PROMPT = """\
Describe the task for the model here: what to draw or change, from which data,
and what the result must show. Be as specific as a good issue would be.
"""

_TEMPLATE_HTML = """\
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <script src="https://cdn.jsdelivr.net/npm/d3@7"></script>
</head>
<body>
  <div id="chart"></div>
  <script>
    // TODO: the model fills this in.
  </script>
</body>
</html>
"""


def scaffold_challenge(root: Path, name: str, title: str | None = None) -> Path:
    """Create ``root/name`` with a challenge.yaml, prompt.md and a starter to edit."""
    if not is_safe_slug(name):
        raise ChallengeError(Path(root) / name, "a challenge name must be a slug: letters, digits, '_' and '-'")
    folder = Path(root) / name
    if folder.exists():
        raise ChallengeError(folder, "already exists")
    title = title or name
    (folder / "files").mkdir(parents=True)
    (folder / "reference").mkdir()
    (folder / "challenge.yaml").write_text(
        _TEMPLATE_YAML.format(title=yaml.safe_dump(title).splitlines()[0]), encoding="utf-8"
    )
    (folder / "prompt.md").write_text(_TEMPLATE_PROMPT, encoding="utf-8")
    (folder / "files" / "index.html").write_text(_TEMPLATE_HTML.format(title=title), encoding="utf-8")
    return folder


_PLACEHOLDER_DESCRIPTION = "One or two sentences on what the model must build or change."


def unfinished_parts(challenge: Challenge) -> list[ChallengeError]:
    """What `vizhub challenge new` left for the author that is still not done.

    A valid folder can still be unfinished: the placeholder prompt or description, or no
    reference solution. These do not stop the pipeline (the reference baseline skips a
    challenge without a reference), but ``vizhub challenge check`` reports them.
    """
    problems = []
    if challenge.prompt.strip() == _TEMPLATE_PROMPT.strip():
        problems.append(
            ChallengeError(
                challenge.path / "prompt.md", "still the placeholder of `vizhub challenge new`: write the task"
            )
        )
    if " ".join(challenge.description.split()) == _PLACEHOLDER_DESCRIPTION:
        problems.append(
            ChallengeError(
                challenge.path / "challenge.yaml",
                "still the placeholder of `vizhub challenge new`: say what the model must do",
                field="description",
            )
        )
    if not challenge.reference:
        problems.append(
            ChallengeError(
                challenge.path / "reference",
                "no reference solution: add the files a correct answer changes (they overlay files/)",
            )
        )
    return problems
