"""``vizhub challenge new`` and ``vizhub challenge check``."""

from __future__ import annotations

import click

from vizhub_pipeline.cli.common import load_project_params, project_option


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
@click.option(
    "--render",
    is_flag=True,
    help="Also render each challenge in Chromium: its reference must pass every check and its starter fail one.",
)
@project_option
def check(names: tuple[str, ...], render: bool, project) -> None:
    """Validate challenge folders (all, or NAMES); name the file and field at fault.

    A challenge is also unfinished while its prompt or description is still the
    placeholder of `vizhub challenge new`, or while reference/ is empty. With --render,
    the reference solution and the starter are rendered in Chromium (a code challenge's
    test is run): the reference must pass every check, the starter fail at least one.
    Exits 1 when any challenge has a problem.

    \b
    Example:
        vizhub challenge check
        vizhub challenge check stockPriceChart --render
    """
    from vizhub_pipeline.core.challenges import discover_challenges, unfinished_parts
    from vizhub_pipeline.core.layout import Layout

    layout = Layout.at(project)
    challenges, problems = discover_challenges(layout.challenges, names)
    unfinished = {item.id: unfinished_parts(item) for item in challenges}
    rendered: dict[str, list[str]] = {}
    if render:
        from vizhub_pipeline.screenshot.verify import verify_challenges

        params = load_project_params(project)
        rendered = verify_challenges(challenges, params.screenshot)
    count = len(problems)
    for item in challenges:
        found = [str(problem) for problem in unfinished[item.id]] + [
            f"{item.path}: {p}" for p in rendered.get(item.id, [])
        ]
        count += len(found)
        if found:
            for line in found:
                click.echo(f"error {line}", err=True)
            continue
        verified = ", reference passes and starter fails in Chromium" if item.id in rendered else ""
        click.echo(f"ok    {item.id}: {len(item.checks)} checks, {len(item.interactions)} interaction steps{verified}")
    for problem in problems:
        click.echo(f"error {problem}", err=True)
    if count:
        raise click.ClickException(f"{count} problem(s) in challenge folders")
    click.echo(f"{len(challenges)} challenge(s) valid")


COMMANDS = [challenge]
