"""``vizhub export huggingface``: preference datasets for HuggingFace and TRL."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from vizhub_pipeline.cli.common import load_project_params, project_option


@click.group()
def export() -> None:
    """Export human preferences as training data.

    \b
    Example:
        vizhub export huggingface --min-votes 2 --format conversational
    """


@export.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Pairs file (.jsonl, relative to the project); kto.jsonl, sft.jsonl, README.md and meta.json go beside it. "
    "Default: export.output.",
)
@click.option(
    "--min-votes",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only outputs scored by at least N graders. Default: export.min_votes.",
)
@click.option(
    "--min-margin",
    type=click.FloatRange(0, 5),
    default=None,
    metavar="X",
    help="Only pairs whose overall consensus differs by at least X (0-5). Default: export.min_margin.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["standard", "conversational"]),
    default=None,
    help="standard: prompt and replies as text; conversational: role/content messages. Default: export.format.",
)
@click.option(
    "--pairs",
    type=click.Choice(["all", "best-vs-rest"]),
    default=None,
    help="all: every pair of outputs of a challenge; best-vs-rest: the best against each other. Default: export.pairs.",
)
@click.option(
    "--images/--no-images",
    default=None,
    help="Add the screenshots (paths under results/renders/) as an images column. Default: export.images.",
)
@click.option("--verbose", "-v", is_flag=True, help="List every left-out row and the counts per challenge.")
@project_option
def huggingface(output, min_votes, min_margin, fmt, pairs, images, verbose, project) -> None:
    """Write TRL preference pairs, KTO and SFT files and a dataset card to exports/.

    Reads results/consensus/consensus.csv (run `vizhub aggregate` first), the
    replies in visualizations/ and the prompts of challenges/. Rows whose
    visualization is missing or changed since grading are reported and left out.
    No eligible pair is not an error: the files are written empty and the
    message says why.

    \b
    Example:
        vizhub export huggingface --output exports/preferences.jsonl --min-votes 2 --min-margin 1 --pairs best-vs-rest
    """
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.export.stage import run_export

    params = load_project_params(project).export
    overrides = {
        "output": None if output is None else str(output),
        "min_votes": min_votes,
        "min_margin": min_margin,
        "format": fmt,
        "pairs": pairs,
        "images": images,
    }
    params = dataclasses.replace(params, **{key: value for key, value in overrides.items() if value is not None})
    echo = (lambda line: click.echo(line, err=True)) if verbose else None
    summary = run_export(Layout.at(project), params, echo=echo)
    for line in summary.lines(verbose=verbose):
        click.echo(line)


COMMANDS = [export]
