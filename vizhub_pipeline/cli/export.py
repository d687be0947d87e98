"""``vizhub export huggingface``: preference datasets for HuggingFace and TRL."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from vizhub_pipeline.cli.common import load_project_params, project_option

# Options both export commands take (each use makes its own click.Option).
MIN_VOTES = click.option(
    "--min-votes",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only outputs scored by at least N graders. Default: export.min_votes.",
)
MIN_MARGIN = click.option(
    "--min-margin",
    type=click.FloatRange(0, 5),
    default=None,
    metavar="X",
    help="Only pairs whose overall consensus differs by at least X (0-5). Default: export.min_margin.",
)


@click.group()
def export() -> None:
    """Export human preferences as training data.

    \b
    Example:
        vizhub export huggingface --min-votes 2 --format conversational
        vizhub export openai --min-margin 1
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
@MIN_VOTES
@MIN_MARGIN
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
    help="Copy the screenshots into the dataset (images/, named by content): chosen_image, rejected_image, and "
    "images (the starter's screenshot, the prompt image). Default: export.images.",
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


@export.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("exports/openai_dpo.jsonl"),
    show_default=True,
    metavar="FILE",
    help="The .jsonl file to write (relative to the project).",
)
@MIN_VOTES
@MIN_MARGIN
@click.option(
    "--pairs",
    type=click.Choice(["all", "best-vs-rest"]),
    default=None,
    help="all: every pair of outputs of a challenge; best-vs-rest: the best against each other. Default: export.pairs.",
)
@project_option
def openai(output, min_votes, min_margin, pairs, project) -> None:
    """Write the preference pairs in the OpenAI DPO fine-tuning format.

    One JSON object per line: input.messages (the prompt's system and user
    messages), preferred_output and non_preferred_output (one assistant message
    each), the format that OpenAI, Together and Fireworks accept for DPO. The
    pairs are those `vizhub export huggingface` writes with the same options
    (which also writes this file as exports/openai_dpo.jsonl beside its card).

    \b
    Example:
        vizhub export openai --output exports/openai_dpo.jsonl --min-margin 1
    """
    from vizhub_pipeline.core.layout import Layout, shorter_path
    from vizhub_pipeline.export.stage import run_export

    params = load_project_params(project).export
    overrides = {"min_votes": min_votes, "min_margin": min_margin, "pairs": pairs, "images": False}
    params = dataclasses.replace(params, **{key: value for key, value in overrides.items() if value is not None})
    layout = Layout.at(project)
    summary = run_export(layout, params, openai_only=output)
    click.echo(f"exported {summary.pairs} preference pairs in the OpenAI format to {shorter_path(summary.output)}")
    if summary.reason:
        click.echo(f"no preference pair: {summary.reason}")
    if summary.problems:
        click.echo(f"{len(summary.problems)} outputs left out for problems (`vizhub export huggingface -v` lists them)")


COMMANDS = [export]
