"""``vizhub generate`` and ``vizhub benchmark``."""

from __future__ import annotations

import click

from vizhub_pipeline.cli.common import load_project_params, project_option, say, selection_options


def _generate(project, challenges, models, cache, prune=False, allow_dropped=False):
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.generate.stage import run_generate

    params = load_project_params(project)
    summary = run_generate(
        Layout.at(project),
        params.generate,
        challenges=challenges,
        models=models,
        cache=cache,
        prune=prune,
        allow_dropped=allow_dropped,
        echo=lambda line: say(line, err=True),
    )
    for line in summary.lines():
        say(line)
    return summary, params


cache_option = click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="Skip items whose prompt, files, model and parameters are unchanged since their last output.",
)


@click.command()
@selection_options(models_default="generate")
@cache_option
@click.option(
    "--prune",
    is_flag=True,
    help="Remove the outputs generate made for models or challenges no longer in the benchmark "
    "(full runs only; imported or graded outputs are kept).",
)
@click.option(
    "--allow-dropped",
    is_flag=True,
    help="Do not fail when grades name outputs that no longer exist.",
)
@project_option
def generate(challenges, models, cache, prune, allow_dropped, project) -> None:
    """Have each model edit each challenge; write visualizations/<challenge>/<model>/.

    Models are litellm ids; keys come from the environment or .env
    (OPENAI_API_KEY, ANTHROPIC_API_KEY, OPENROUTER_API_KEY, ...).
    Imported outputs (vizhub import) are never asked for again, overwritten or pruned.
    Exits 1 when an item or model failed, or when grades name outputs that no longer
    exist (unless --allow-dropped); the others are still written.

    \b
    Example:
        vizhub generate --challenge stockPriceChart --models gpt-4o,anthropic/claude-3-5-haiku-latest
    """
    summary, _ = _generate(project, challenges, models, cache, prune, allow_dropped)
    if not summary.ok:
        raise SystemExit(1)


@click.command()
@selection_options(models_default="generate")
@cache_option
@project_option
def benchmark(challenges, models, cache, project) -> None:
    """Generate, then screenshot, the selected challenges and models (the original's command).

    \b
    Example:
        vizhub benchmark --challenge stockPriceChart --models gpt-4o,openrouter/anthropic/claude-3.5-haiku
    """
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.screenshot.stage import run_screenshot

    summary, params = _generate(project, challenges, models, cache)
    shots = run_screenshot(
        Layout.at(project),
        params.screenshot,
        challenges=challenges,
        models=models or params.generate.models,
        echo=lambda line: say(line, err=True),
    )
    for line in shots.lines():
        say(line)
    if not (summary.ok and shots.ok):
        raise SystemExit(1)


COMMANDS = [generate, benchmark]
