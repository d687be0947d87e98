"""``vizhub validate`` and ``vizhub diff``: checking and comparing grade files."""

from __future__ import annotations

from pathlib import Path

import click

from vizhub_pipeline.cli.common import project_option, say


@click.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--allow-stale", is_flag=True, help="Do not count grades of outputs that changed since as problems.")
@project_option
def validate(files, allow_stale, project) -> None:
    """Check grade files, for CI on grading pull requests.

    Checks the columns, score ranges (whole numbers 0-5), source (app, cli, imported,
    unknown or judge:<model>) and blind (true, false or empty), that each challenge and
    model exists in visualizations/, that the artifact hash is the current output's (else
    the grade is stale), notes a spreadsheet would run as formulas, that the file name
    matches the grader and date of its rows, that no time lies in the future, and that
    each grade is one line. Files in the older format (without the source and blind
    columns) are valid: a note says their grades read as source unknown, counted as human.
    Files that are not read (not <grader>-<YYYY-MM-DD>.csv, or in a subfolder) are
    problems. aggregate leaves out exactly the rows reported here for their content.
    Prints every problem as file:line: message and exits 1; exits 0 when all is clean.
    Default FILES: every file in results/grades/.

    \b
    Example:
        vizhub validate results/grades/alice-2026-11-28.csv
    """
    from vizhub_pipeline.core.layout import Layout, shorter_path
    from vizhub_pipeline.grading.validate import list_judgement_files, validate_judgement_files

    layout = Layout.at(project)
    chosen = list(files) if files else [shorter_path(path) for path in list_judgement_files(layout)]
    report = validate_judgement_files(layout, chosen, allow_stale=allow_stale)
    for problem in report.problems:
        say(str(problem))  # problems quote the files' text
    for note in report.notes:
        say(f"note: {note}")
    if report.problems:
        where = len({problem.path for problem in report.problems})
        click.echo(f"{len(report.problems)} problem(s) in {where} of {len(chosen)} grade file(s).", err=True)
        raise SystemExit(1)
    click.echo(f"OK: {len(chosen)} grade file(s), no problems.")


@click.command()
@click.argument("rev1", metavar="REV1")
@click.argument("rev2", metavar="[REV2]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON.")
@project_option
def diff(rev1, rev2, as_json, project) -> None:
    """Show how grades changed between two commits or branches, per grader.

    REV1 REV2 or REV1..REV2; with REV1 alone, compares it with the working tree.
    Lists grades added, changed (old -> new scores) and removed, comparing each
    grader's latest grade of each output (and likewise for every other kind of
    judgement). Rows that vizhub validate rejects for their content are not compared.

    \b
    Example:
        vizhub diff main grades/alice-2026-11-28
        vizhub diff HEAD~3..HEAD --json
    """
    from vizhub_pipeline.core.atomic import dumps_json
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.grading.diff import diff_judgements

    result = diff_judgements(Layout.at(project), rev1, rev2)
    click.echo(dumps_json(result.to_json()) if as_json else result.to_table(), nl=False)


COMMANDS = [validate, diff]
