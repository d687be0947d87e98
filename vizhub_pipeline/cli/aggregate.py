"""``vizhub aggregate`` and ``vizhub report``."""

from __future__ import annotations

import click

from vizhub_pipeline.cli.common import load_project_params, project_option, say


@click.command()
@project_option
def aggregate(project) -> None:
    """Turn grades, renders and generations into consensus, reliability and a leaderboard.

    Reads results/grades/*.csv, visualizations/*/*/meta.json and
    results/renders/*/*/render.json; writes results/consensus/,
    results/metrics.json and results/results.csv (the DVC stage `aggregate`). A malformed grade file stops
    the stage with its file and line; `vizhub validate` lists every problem.

    \b
    Example:
        vizhub aggregate && vizhub report
    """
    from vizhub_pipeline.analysis.aggregate import run_aggregate
    from vizhub_pipeline.core.layout import Layout

    params = load_project_params(project)
    summary = run_aggregate(Layout.at(project), params.aggregate, echo=lambda line: say(line, err=True))
    for line in summary.lines():
        say(line)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of tables.")
@click.option("--html", "as_html", is_flag=True, help="Write the offline HTML report to results/report/ instead.")
@project_option
def report(as_json, as_html, project) -> None:
    """Print the leaderboard and the grader reliability from results/ (after `vizhub aggregate`).

    Says what the numbers mean: which unit the leaderboard intervals resampled and how
    ranks follow from them, how reliable Krippendorff's alpha and the ICC are by the usual
    conventions, and which outputs need review.

    With --html, write results/report/ (the DVC stage `report`): leaderboards with
    intervals, every output's screenshots and checks, grading quality, provenance.

    \b
    Example:
        vizhub report
        vizhub report --json | jq '.leaderboard[0]'
        vizhub report --html && xdg-open results/report/index.html
    """
    if as_html and as_json:
        raise click.UsageError("choose --json or --html, not both")
    if as_html:
        from vizhub_pipeline.core.layout import Layout
        from vizhub_pipeline.report.stage import run_report

        summary = run_report(
            Layout.at(project), load_project_params(project).report, echo=lambda line: say(line, err=True)
        )
        click.echo("\n".join(summary.lines()))
        return
    from vizhub_pipeline.analysis.report import format_report, read_report
    from vizhub_pipeline.core.atomic import dumps_json
    from vizhub_pipeline.core.layout import Layout

    layout = Layout.at(project)
    data = read_report(layout.consensus, layout.metrics, root=layout.root)
    click.echo(dumps_json(data).rstrip("\n") if as_json else format_report(data))


COMMANDS = [aggregate, report]
