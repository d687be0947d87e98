"""``vizhub grade``: open the grader in the browser (or grade in the terminal with --cli)."""

from __future__ import annotations

import click

from vizhub_pipeline.cli.common import load_project_params, project_option, selection_options


@click.command()
@selection_options
@click.option("--grader", "grader", metavar="NAME", help="Your grader name (default: from git config user.name).")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on; keep 127.0.0.1 unless you know why."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port of the grader page (0: any free port).",
)
@click.option(
    "--blind/--no-blind",
    default=None,
    help="Hide model names until you grade, in an order drawn for you (default: grade.blind in params.yaml, true).",
)
@click.option(
    "--open/--no-open", "open_browser", default=True, show_default=True, help="Open the page in your browser."
)
@click.option(
    "--branch",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[NAME]",
    help=(
        "Commit grades on this branch (alone: grades/<grader>-<date>), ready for a pull request. "
        "Default: the current branch."
    ),
)
@click.option("--cli", "use_cli", is_flag=True, help="Grade in the terminal instead of the browser.")
@click.option(
    "--pairwise",
    is_flag=True,
    help="Vote on pairs of outputs of a challenge (A/B) instead of scoring each; votes go to results/votes/.",
)
@click.option(
    "--include-failed",
    is_flag=True,
    help="With --cli: grade outputs whose generation failed (status error) too; left out and counted by default.",
)
@project_option
def grade(
    challenges, models, grader, host, port, blind, open_browser, branch, use_cli, pairwise, include_failed, project
) -> None:
    """Grade model outputs in a local web app; each grade is committed to git for you.

    The page shows each output live (sandboxed), its screenshots and checks, its code
    and a diff against the starter. Keys: 0-5 functionality, Shift+0-5 aesthetics,
    N notes, Enter submit, arrows move, U next ungraded, ? help. Without --models,
    every model found in visualizations/ is shown. Grades go to
    results/grades/<grader>-<date>.csv. Stop the server with Ctrl+C.

    With --pairwise, two outputs of one challenge are shown side by side (blind) and you
    vote: A left better, B right better, T tie, X both bad, S skip, F flag, N note. The
    pairs the current votes are least sure of, and those with fewest votes, come first.
    Votes go to results/votes/<grader>-<date>.csv.

    \b
    Examples:
        vizhub grade --challenge stockPriceChart --grader alice
        vizhub grade --pairwise --challenge stockPriceChart
        vizhub grade --pairwise --cli --challenge stockPriceChart
    """
    import dataclasses
    import datetime

    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.grading.names import resolve_grader
    from vizhub_pipeline.grading.submit import check_can_commit

    layout = Layout.at(project)
    params = load_project_params(project)
    if blind is not None:
        params = dataclasses.replace(params, grade=dataclasses.replace(params.grade, blind=blind))
    name = resolve_grader(grader, layout.root)
    if branch == "":
        branch = f"grades/{name}-{datetime.datetime.now(datetime.UTC).date().isoformat()}"
    if pairwise and include_failed:
        raise click.UsageError("--include-failed does not go with --pairwise: a pair compares two runnable outputs")
    if pairwise and use_cli:
        from vizhub_pipeline.grading.pairwise_terminal import run_pairwise_session

        run_pairwise_session(
            layout, grader=name, challenges=challenges, models=models or (), params=params, branch=branch
        )
        return
    if use_cli:
        from vizhub_pipeline.grading.terminal import run_grading_session

        run_grading_session(
            layout,
            grader=name,
            challenges=challenges,
            models=models or (),
            params=params,
            branch=branch,
            include_failed=include_failed,
        )
        return
    if include_failed:
        raise click.UsageError("--include-failed works with --cli: the web app has nothing to show of a failed output")
    from vizhub_pipeline.grading.web.server import build_server

    note = check_can_commit(layout, commit=True, branch=branch)
    server, warnings = build_server(
        layout,
        name,
        challenges=challenges,
        models=models or (),
        blind=params.grade.blind,
        host=host,
        port=port,
        commit=params.grade.commit != "batch" or bool(branch),
        branch=branch,
        pairwise=pairwise,
        pair_seed=params.grade.pairwise_seed,
        repeat_share=params.grade.pairwise_repeat_share,
    )
    if note:
        warnings.append(note)
    for line in warnings:
        click.echo(f"warning: {line}", err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host}: anyone who can reach this address can grade as {name}", err=True)
    click.echo(f"{'Voting on pairs' if pairwise else 'Grading'} as {name}: {server.url}/  (Ctrl+C to stop)")
    if branch:
        click.echo(
            f"{'Votes' if pairwise else 'Grades'} are committed on branch {branch}; "
            f"when done: git push origin {branch}, then open a pull request."
        )
    if open_browser:
        import webbrowser

        webbrowser.open(f"{server.url}/")
    result = server.run()
    if result is not None:
        click.echo(result.message)


COMMANDS = [grade]
