"""The ``vizhub`` command line: parses options, loads params and calls the library.

Each command group lives in its own module and imports heavy libraries only inside
the command that needs them, so ``vizhub --help`` stays instant.
"""

from __future__ import annotations

import os

import click

from vizhub_pipeline import __version__
from vizhub_pipeline.core.errors import VizhubError


class VizhubGroup(click.Group):
    """Turns the library's own errors into ``Error: ...`` and exit 1, without a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except VizhubError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=VizhubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vizhub")
def cli() -> None:
    """Benchmark AI code editing on data visualizations, grade it, export preferences.

    \b
    Example:
        vizhub benchmark --challenge stockPriceChart --models gpt-4o
    """


def _register() -> None:
    from vizhub_pipeline.cli import aggregate, challenge, export, generate, grader, grades, importing, screenshot

    for module in (challenge, importing, generate, screenshot, grader, grades, aggregate, export):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    cli(prog_name="vizhub")
