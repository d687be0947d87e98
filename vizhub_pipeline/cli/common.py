"""Options that travel together, shared by the commands."""

from __future__ import annotations

import functools
from pathlib import Path

import click


def say(line: str, *, err: bool = False) -> None:
    """Print one line of a stage's output. Such lines quote untrusted text (model errors, page
    errors, file names from replies), so control characters are shown as escapes, never acted on."""
    from vizhub_pipeline.core.terminal_text import for_terminal

    click.echo(for_terminal(line), err=err)


def project_option(func):
    """``--project DIR``: the benchmark checkout to work in (default: the current folder)."""
    return click.option(
        "--project",
        "project",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help="The benchmark project folder (where params.yaml and challenges/ are).",
    )(func)


def _split_models(ctx, param, value):
    if value is None:
        return None
    models: list[str] = []
    for chunk in value:
        models.extend(part.strip() for part in chunk.split(",") if part.strip())
    return tuple(models) or None


def selection_options(func):
    """``--challenge`` (repeatable) and ``--models a,b``: which items to work on."""

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
        help="Comma-separated model ids (repeatable). Default: generate.models in params.yaml when generating; "
        "every model found in visualizations/ otherwise.",
    )
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


def load_project_params(project: Path):
    """Load params.yaml of ``project`` (defaults where it is absent)."""
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.core.params import load_params

    return load_params(Layout.at(project).params)
