"""``vizhub challenge new`` and ``vizhub challenge check``."""

from __future__ import annotations

import click

from vizhub_pipeline.cli.common import project_option


@click.group()
def challenge() -> None:
    """Create and validate challenge folders.

    \b
    Example:
        vizhub challenge new barChartRace
        vizhub challenge check
    """


@challenge.command("new")
@click.argument("name")
@click.option("--title", help="The challenge title (default: NAME).")
@project_option
def new(name: str, title: str | None, project) -> None:
    """Scaffold challenges/NAME with challenge.yaml, prompt.md and a starter.

    \b
    Example:
        vizhub challenge new barChartRace --title "Bar chart race"
    """
    from vizhub_pipeline.core.challenges import scaffold_challenge
    from vizhub_pipeline.core.layout import Layout

    folder = scaffold_challenge(Layout.at(project).challenges, name, title)
    click.echo(f"Created {folder}")
    click.echo("Next: write prompt.md, edit files/, add a solution in reference/, then run `vizhub challenge check`.")


@challenge.command("check")
@click.argument("names", nargs=-1)
@project_option
def check(names: tuple[str, ...], project) -> None:
    """Validate challenge folders (all, or NAMES); name the file and field at fault.

    Exits 1 when any challenge has a problem.

    \b
    Example:
        vizhub challenge check
        vizhub challenge check stockPriceChart
    """
    from vizhub_pipeline.core.challenges import discover_challenges
    from vizhub_pipeline.core.layout import Layout

    challenges, problems = discover_challenges(Layout.at(project).challenges, names)
    for item in challenges:
        click.echo(f"ok    {item.id}: {len(item.checks)} checks, {len(item.interactions)} interaction steps")
    for problem in problems:
        click.echo(f"error {problem}", err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in challenge folders")
    click.echo(f"{len(challenges)} challenge(s) valid")


COMMANDS = [challenge]
