"""What the report tells about the project itself: its challenges and its parameters.

Challenge folders are read leniently (a title, a type, the prompt): a challenge with a
problem is still shown, under its id, and ``vizhub challenge check`` says what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vizhub_pipeline.core.layout import Layout, is_safe_slug
from vizhub_pipeline.report.tables import Unavailable, relative_name


@dataclass(frozen=True)
class ChallengeInfo:
    id: str
    title: str
    type: str = "visualization"
    difficulty: str = ""
    tags: tuple[str, ...] = ()
    description: str = ""
    prompt: str = ""
    problem: str | None = None


def read_challenge(folder: Path, root: Path) -> ChallengeInfo:
    import yaml

    challenge_id = folder.name
    path = folder / "challenge.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return ChallengeInfo(challenge_id, challenge_id, problem=f"{relative_name(path, root)} does not exist")
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return ChallengeInfo(challenge_id, challenge_id, problem=f"{relative_name(path, root)} cannot be read: {exc}")
    if not isinstance(data, dict):
        return ChallengeInfo(challenge_id, challenge_id, problem=f"{relative_name(path, root)} is not a mapping")
    try:
        prompt = (folder / "prompt.md").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        prompt = ""
    tags = data.get("tags")
    return ChallengeInfo(
        id=challenge_id,
        title=_text(data.get("title")) or challenge_id,
        type=_text(data.get("type")) or "visualization",
        difficulty=_text(data.get("difficulty")),
        tags=tuple(str(tag) for tag in tags) if isinstance(tags, list) else (),
        description=_text(data.get("description")),
        prompt=prompt.strip(),
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def read_challenges(layout: Layout, ids: set[str]) -> dict[str, ChallengeInfo]:
    """Every challenge folder, plus an entry for each id in ``ids`` that has none (results without a challenge)."""
    found: dict[str, ChallengeInfo] = {}
    if layout.challenges.is_dir():
        for folder in sorted(layout.challenges.iterdir()):
            if folder.is_dir() and not folder.name.startswith("."):
                found[folder.name] = read_challenge(folder, layout.root)
    for challenge_id in sorted(ids - set(found)):
        found[challenge_id] = ChallengeInfo(
            challenge_id, challenge_id, problem=f"challenges/{challenge_id}/ does not exist (results only)"
        )
    return {key: found[key] for key in sorted(found) if is_safe_slug(key)}


def read_params_sections(path: Path, root: Path) -> list[tuple[str, str]] | Unavailable:
    """Each top-level section of ``params.yaml`` as YAML text, sorted by section name."""
    import yaml

    name = relative_name(path, root)
    if not path.is_file():
        return Unavailable(f"{name} does not exist: every stage ran with its defaults")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return Unavailable(f"{name} cannot be read: {exc}")
    if not isinstance(data, dict):
        return Unavailable(f"{name} is not a mapping of sections")
    return [
        (
            str(section),
            yaml.safe_dump({section: data[section]}, sort_keys=True, allow_unicode=True, default_flow_style=False),
        )
        for section in sorted(data, key=str)
    ]
