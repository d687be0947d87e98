"""``vizhub screenshot``: render the visualizations in headless Chromium and run their checks."""

from __future__ import annotations

import click

from vizhub_pipeline.cli.common import load_project_params, project_option, say, selection_options


@click.command()
@selection_options
@click.option("--force", is_flag=True, help="Render again even the pages whose render.json is up to date.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar on stderr (default: only on a terminal).",
)
@project_option
def screenshot(challenges, models, force, progress, project) -> None:
    """Render visualizations/ in Chromium; write results/renders/<challenge>/<model>/.

    Each page runs sandboxed (network cut off, CDN libraries served from
    node_modules, virtual time) and gets screenshot.png, one shot per interaction
    step and render.json with its status and checks; results/renders/summary.csv
    lists all renders. Unchanged pages are skipped. Without --models, every model
    found in visualizations/ is rendered. Exits 1 when an item could not be handled
    or a challenge is invalid (a page that fails to render is a recorded result).

    \b
    Example:
        vizhub screenshot --challenge stockPriceChart --models gpt-4o --force
    """
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.screenshot.stage import run_screenshot

    params = load_project_params(project)
    summary = run_screenshot(
        Layout.at(project),
        params.screenshot,
        challenges=challenges,
        models=models,
        force=force,
        progress=progress,
        echo=lambda line: say(line, err=True),
    )
    for line in summary.lines():
        say(line)
    if not summary.ok:
        raise SystemExit(1)


COMMANDS = [screenshot]
