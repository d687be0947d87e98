"""Options that travel together, shared by the commands."""

from __future__ import annotations

import functools
from pathlib import Path

import click


def _resolve_project(ctx, param, value):
    """An explicit ``--project`` is taken as given; otherwise the project root is found by walking
    up from the current folder. Its ``.env`` is loaded (the environment wins)."""
    from vizhub_pipeline.core.errors import PrerequisiteError
    from vizhub_pipeline.core.layout import find_project_root

    if value is None:
        try:
            value = find_project_root()
        except PrerequisiteError as exc:
            raise click.ClickException(str(exc)) from None
    load_dotenv_of(Path(value))
    return value


def load_dotenv_of(root: Path) -> None:
    """Provider keys may live in ``.env`` at the project root; variables already set win."""
    path = root / ".env"
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def say(line: str, *, err: bool = False) -> None:
    """Print one line of a stage's output. Such lines quote untrusted text (model errors, page
    errors, file names from replies), so control characters are shown as escapes, never acted on."""
    from vizhub_pipeline.core.terminal_text import for_terminal

    click.echo(for_terminal(line), err=err)


def project_option(func):
    """``--project DIR``: the benchmark checkout to work in (default: found from the current folder up)."""
    return click.option(
        "--project",
        "project",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        callback=_resolve_project,
        help="The benchmark project folder (where params.yaml and challenges/ are). "
        "Default: the current folder or the nearest folder above it that holds them.",
    )(func)


def _split_models(ctx, param, value):
    if value is None:
        return None
    models: list[str] = []
    for chunk in value:
        models.extend(part.strip() for part in chunk.split(",") if part.strip())
    return tuple(models) or None


_MODELS_HELP = {
    "generate": "Comma-separated model ids (repeatable). Default: generate.models in params.yaml.",
    "outputs": "Comma-separated model ids (repeatable). Default: every model found in visualizations/.",
}


def selection_options(func=None, *, models_default: str = "outputs"):
    """``--challenge`` (repeatable) and ``--models a,b``: which items to work on.

    ``models_default`` says what an absent ``--models`` means: ``generate`` (the models of
    params.yaml) or ``outputs`` (every model with an output in visualizations/).
    """

    def decorate(func):
        @click.option(
            "--challenge",
            "challenges",
            multiple=True,
            metavar="ID",
            help="Only this challenge (repeat for several). Default: all.",
        )
        @click.option(
            "--models",
            "models",
            multiple=True,
            callback=_split_models,
            metavar="A,B",
            help=_MODELS_HELP[models_default],
        )
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return func(*args, **kwargs)

        return wrapper

    return decorate if func is None else decorate(func)


def load_project_params(project: Path):
    """Load params.yaml of ``project`` (defaults where it is absent)."""
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.core.params import load_params

    return load_params(Layout.at(project).params)
