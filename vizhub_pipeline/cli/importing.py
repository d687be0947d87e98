"""``vizhub import``: bring another benchmark's data into the project."""

from __future__ import annotations

from pathlib import Path

import click

from vizhub_pipeline.cli.common import project_option, say


@click.command("import")
@click.argument("name", metavar="NAME")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@project_option
def import_command(name: str, path: Path, project: Path) -> None:
    """Import the challenges, model outputs and grades of the checkout PATH.

    NAME is the layout of PATH; `vizhub-benchmarks` is the original JavaScript project.
    Outputs keep their origin in meta.json and are never regenerated, pruned or
    overwritten by `vizhub generate`; grades keep their grader and time and are marked
    source=imported. Nothing already here is overwritten, and a second import changes
    nothing. Exits 1 when a file could not be read (that file imports nothing).

    \b
    Example:
        vizhub import vizhub-benchmarks ../vizhub-benchmarks
    """
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.importing import run_import

    summary = run_import(name, path, Layout.at(project))
    for line in summary.lines():
        say(line)
    if not summary.ok:
        raise click.ClickException(f"{len(summary.problems)} file(s) could not be imported (see problem lines above)")


COMMANDS = [import_command]
