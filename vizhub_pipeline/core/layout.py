"""Where things live in a project, and how ids become safe folder names."""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vizhub_pipeline.core.errors import PrerequisiteError

SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
_PLAIN = set(string.ascii_letters + string.digits + ".-")
_HEX = set("0123456789abcdef")


def shorter_path(path: Path) -> Path:
    """``path`` relative to the current folder when inside it, for shorter messages."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError):
        return path


def is_safe_slug(value: str) -> bool:
    """A challenge id or grader name: letters, digits, ``_`` and ``-``, starting with a letter or digit."""
    return bool(SLUG_RE.match(value))


def model_to_dirname(model: str) -> str:
    """Make a model id a single, reversible path component.

    Letters, digits, ``.`` and ``-`` stay; ``/`` becomes ``__``; every other character
    (``_`` included) becomes ``_`` and two hex digits. A leading ``.`` is escaped too, so
    no result is ``.`` or ``..`` or hidden. ``openrouter/anthropic/claude-3.5-haiku``
    becomes ``openrouter__anthropic__claude-3.5-haiku``.
    """
    if not model:
        raise ValueError("a model id cannot be empty")
    out = []
    for index, char in enumerate(model):
        if char == "/":
            out.append("__")
        elif char in _PLAIN and not (index == 0 and char == "."):
            out.append(char)
        else:
            for byte in char.encode("utf-8"):
                out.append(f"_{byte:02x}")
    return "".join(out)


def dirname_to_model(name: str) -> str:
    """The inverse of :func:`model_to_dirname`; raises ``ValueError`` on a name it could not make."""
    out = bytearray()
    i = 0
    while i < len(name):
        char = name[i]
        if char == "_":
            if name[i + 1 : i + 2] == "_":
                out += b"/"
                i += 2
                continue
            code = name[i + 1 : i + 3]
            if len(code) != 2 or not set(code) <= _HEX:
                raise ValueError(f"not an encoded model folder name: {name!r}")
            out.append(int(code, 16))
            i += 3
        elif char in _PLAIN:
            out += char.encode()
            i += 1
        else:
            raise ValueError(f"not an encoded model folder name: {name!r}")
    model = out.decode("utf-8")
    if model_to_dirname(model) != name:
        raise ValueError(f"not an encoded model folder name: {name!r}")
    return model


def item_dirname(model: str, sample: int = 0) -> str:
    """The folder of one output: the model's folder name, plus ``@k`` for sample k > 0."""
    base = model_to_dirname(model)
    return base if sample == 0 else f"{base}@{sample}"


def parse_item_dirname(name: str) -> tuple[str, int]:
    """``(model, sample)`` from a folder made by :func:`item_dirname`."""
    base, sep, sample = name.partition("@")
    if sep and not (sample.isdigit() and int(sample) > 0 and str(int(sample)) == sample):
        raise ValueError(f"not an output folder name: {name!r}")
    return dirname_to_model(base), int(sample) if sep else 0


def hash_bytes(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:16]


def hash_files(files: Mapping[str, bytes | str]) -> str:
    """The artifact hash: 16 hex digits over the sorted file names and contents."""
    parts: list[bytes] = []
    for name in sorted(files):
        content = files[name]
        parts.append(name.encode("utf-8"))
        parts.append(content.encode("utf-8") if isinstance(content, str) else content)
    return hash_bytes(*parts)


PROJECT_MARKERS = ("dvc.yaml", "params.yaml")


def is_project_root(folder: Path) -> bool:
    """A project root holds ``challenges/`` and ``dvc.yaml`` or ``params.yaml``."""
    return (folder / "challenges").is_dir() and any((folder / name).is_file() for name in PROJECT_MARKERS)


def find_project_root(start: Path | str | None = None) -> Path:
    """The nearest folder from ``start`` (default: the current folder) up that is a project root.

    Walks up as git and dvc do, so every command works from any subfolder of the project;
    raises :class:`PrerequisiteError` when no folder on the way is one.
    """
    here = Path.cwd() if start is None else Path(start)
    here = here.resolve()
    for folder in (here, *here.parents):
        if is_project_root(folder):
            return folder
    raise PrerequisiteError(
        f"not inside a vizhub project: neither {here} nor a folder above it holds challenges/ and "
        "dvc.yaml or params.yaml; cd into the project (a clone of the benchmark) or pass --project DIR"
    )


@dataclass(frozen=True)
class Layout:
    """The folders of one project (a checkout of the benchmark)."""

    root: Path

    @classmethod
    def at(cls, root: Path | str = ".") -> Layout:
        return cls(Path(root).resolve())

    @property
    def challenges(self) -> Path:
        return self.root / "challenges"

    @property
    def visualizations(self) -> Path:
        return self.root / "visualizations"

    @property
    def renders(self) -> Path:
        return self.root / "results" / "renders"

    @property
    def grades(self) -> Path:
        return self.root / "results" / "grades"

    @property
    def consensus(self) -> Path:
        return self.root / "results" / "consensus"

    @property
    def metrics(self) -> Path:
        return self.root / "results" / "metrics.json"

    @property
    def results_csv(self) -> Path:
        """The original vizhub-benchmarks' main results file, one row per output."""
        return self.root / "results" / "results.csv"

    @property
    def report(self) -> Path:
        return self.root / "results" / "report"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def params(self) -> Path:
        return self.root / "params.yaml"

    def challenge_dir(self, challenge: str) -> Path:
        return self.challenges / challenge

    def visualization_dir(self, challenge: str, model: str, sample: int = 0) -> Path:
        return self.visualizations / challenge / item_dirname(model, sample)

    def render_dir(self, challenge: str, model: str, sample: int = 0) -> Path:
        return self.renders / challenge / item_dirname(model, sample)
