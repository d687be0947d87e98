"""`vizhub report` says what its numbers mean and names the outputs that need review."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.test_leaderboard import make_project
from vizhub_pipeline.analysis.aggregate import run_aggregate
from vizhub_pipeline.analysis.report import (
    alpha_band,
    describe_alpha,
    describe_icc,
    format_report,
    icc_band,
    read_report,
)
from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.params import AggregateParams

FAST = AggregateParams(bootstrap=200)


@pytest.mark.parametrize(
    "value, band",
    [(1.0, "reliable"), (0.800, "reliable"), (0.7999, "tentative"), (0.667, "tentative"), (0.6669, "unreliable")],
)
def test_alpha_bands_are_krippendorffs(value, band):
    assert alpha_band(value) == band


@pytest.mark.parametrize(
    "value, band",
    [(0.49, "poor"), (0.50, "moderate"), (0.7499, "moderate"), (0.75, "good"), (0.90, "good"), (0.901, "excellent")],
)
def test_icc_bands_are_koo_and_lis(value, band):
    assert icc_band(value) == band


def test_alpha_in_words_with_its_interval():
    assert describe_alpha(0.21, -0.18, 0.56) == "unreliable (below 0.667); so is its whole interval"
    assert describe_alpha(0.71, 0.52, 0.83) == (
        "tentative conclusions only (0.667 to 0.800); its interval spans unreliable to reliable: "
        "more grades are needed to be sure"
    )
    assert describe_alpha(0.85, None, None) == "reliable (at least 0.800)"
    assert (
        describe_alpha(None, None, None) == "no alpha: no output has two grades yet, or one score was given throughout"
    )


def test_icc_in_words_against_the_target():
    assert describe_icc(0.70) == "moderate, meets the 0.70 target"
    assert describe_icc(0.69) == "moderate, below the 0.70 target"
    assert describe_icc(0.93) == "excellent, meets the 0.70 target"


def disagreeing_project(root, outputs: int):
    """``outputs`` outputs on which two graders disagree wholly, plus agreed ones."""
    grades = {(f"chart{i:02d}", "model/a"): [(0, 0), (5, 5)] for i in range(outputs)}
    grades.update({(f"chart{i:02d}", "model/b"): [(3, 3), (3, 4)] for i in range(outputs)})
    grades[("chart00", "model/a")] = [(0, 1), (5, 5), (4, 4)]
    layout = make_project(root, grades)
    run_aggregate(layout, FAST)
    return layout


def test_the_items_that_need_review_are_named(tmp_path):
    layout = disagreeing_project(tmp_path, 2)
    text = format_report(read_report(layout.consensus, layout.metrics, root=layout.root))
    lines = text.splitlines()
    start = lines.index("Needs review (2, most disagreed first; regrade them or discuss them):")
    # chart01: overall 0 and 5, sd 3.54; chart00: overall 0.5, 5 and 4, mean 3.17, sd sqrt(11.17 / 2) = 2.36
    assert lines[start + 1 : start + 4] == [
        "  chart01 / model/a sample 0: graders disagree (overall sd 3.54, spread 5.0 points over 2 graders)",
        "  chart00 / model/a sample 0: graders disagree (overall sd 2.36, spread 4.5 points over 3 graders)",
        "  (also listed in results/consensus/disagreements.csv)",
    ]


def test_many_items_that_need_review_point_to_the_file(tmp_path):
    layout = disagreeing_project(tmp_path, 13)
    text = format_report(read_report(layout.consensus, layout.metrics, root=layout.root))
    assert "Needs review (13, most disagreed first" in text
    assert text.count("graders disagree (overall sd") == 10
    assert "  ... and 3 more: all are listed in results/consensus/disagreements.csv" in text


def test_the_report_command_explains_its_numbers(tmp_path):
    layout = disagreeing_project(tmp_path, 2)
    runner = CliRunner()
    result = runner.invoke(cli, ["report", "--project", str(layout.root)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "Leaderboard (mean human score 0-5 with 95% intervals over grades; "
        "rank = 1 + models whose interval lies wholly above)"
    )
    assert "n/a for" not in result.output  # every output has two grades or more
    prose = " ".join(result.output.split())  # the prose is wrapped
    assert "2 challenge(s) graded, too few to resample challenges" in prose  # the method text under the table
    assert "\n    alpha " in result.output and "(below 0.667)" in prose
    assert "(Krippendorff 2004)" in prose and "(Koo & Li 2016)" in prose
    assert "the target of the original vizhub-benchmarks is ICC of at least 0.70" in prose
    data = json.loads(
        runner.invoke(cli, ["report", "--json", "--project", str(layout.root)], catch_exceptions=False).output
    )
    assert [(row["challenge"], row["model"]) for row in data["review"]] == [
        ("chart01", "model/a"),
        ("chart00", "model/a"),
    ]
    assert data["leaderboard"][0]["interval_unit"] == "grades"


def test_no_review_and_no_grades_are_said_plainly(tmp_path):
    layout = make_project(tmp_path, {("bars", "model/a"): [(4, 4), (4, 4)], ("bars", "model/b"): [(2, 2), (2, 3)]})
    run_aggregate(layout, FAST)
    assert "No item needs review." in format_report(read_report(layout.consensus, layout.metrics))


def test_the_text_report_shows_code_test_pass_rates_with_intervals(tmp_path):
    from tests.mixed_project import make_mixed_project

    layout = make_mixed_project(tmp_path)
    run_aggregate(layout, FAST)
    lines = format_report(read_report(layout.consensus, layout.metrics)).splitlines()
    header = lines[1].split()
    assert header[header.index("renders") + 1] == "tests"
    row_a = next(line for line in lines if line.startswith("-     model/a"))
    row_b = next(line for line in lines if line.startswith("-     model/b"))
    assert "3/5 60% [23%, 88%]" in row_a  # Wilson 95%: 0.2307 to 0.8824
    assert "1/2 50% [9%, 91%]" in row_b
    assert any("with a 95% Wilson score interval" in line for line in lines)


def test_the_text_report_has_no_test_legend_without_code_challenges(tmp_path):
    layout = make_project(tmp_path, {("bars", "model/a"): [(4, 4), (3, 4)]})
    run_aggregate(layout, FAST)
    text = format_report(read_report(layout.consensus, layout.metrics))
    assert "Wilson" not in text
    header, row = text.splitlines()[1:3]
    assert row[header.index("tests") :].split()[0] == "-"
