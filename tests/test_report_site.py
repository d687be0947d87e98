"""The report stage on real inputs: what the pages hold, the same bytes for the same inputs, and
"not available" (never a crash) for whatever is missing or in a newer format."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from tests.report_project import GRADERS, build_project, copy_inputs, read_tree
from vizhub_pipeline.core.errors import InputError
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.params import ReportParams, load_params
from vizhub_pipeline.report.boards import proportion_interval
from vizhub_pipeline.report.quality import alpha_band, icc_band
from vizhub_pipeline.report.stage import run_report


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The graded and aggregated project with a first report, built once; each test works on its own
    copy (whose rebuilds take the thumbnails from that first report)."""
    layout = build_project(tmp_path_factory.mktemp("report") / "project")
    run_report(layout, ReportParams())
    return layout.root


@pytest.fixture
def layout(template, tmp_path) -> Layout:
    shutil.copytree(template, tmp_path / "project", symlinks=True)
    return Layout.at(tmp_path / "project")


def page(layout: Layout, name: str) -> str:
    return (layout.report / name).read_text(encoding="utf-8")


def rewrite_csv(path: Path, change) -> None:
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    columns, rows = change(list(rows[0].keys()) if rows else [], rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def test_the_report_has_every_page_and_says_what_it_wrote(layout):
    shutil.rmtree(layout.report)
    summary = run_report(layout, ReportParams())
    challenges = sorted(p.name for p in layout.challenges.iterdir() if p.is_dir())
    expected = ["data.html", "index.html", "quality.html"]
    expected += [f"challenges/{c}.html" for c in challenges]
    expected += ["models/baseline__reference.html", "models/baseline__starter.html"]
    assert summary.pages == sorted(expected)
    shots = sorted(layout.renders.glob("*/*/*.png"))
    assert summary.pictures.sources == len(shots) and summary.pictures.problems == 0
    assert summary.pictures.stored == len({p.read_bytes() for p in shots})  # identical shots stored once
    assert "report: wrote results/report/" in summary.lines()[0]
    full = sorted((layout.report / "img").iterdir())
    assert len(full) == len(list((layout.report / "thumbs").iterdir())) == summary.pictures.stored
    assert {p.read_bytes() for p in full} == {p.read_bytes() for p in shots}  # the screenshots themselves


def test_pages_show_scores_checks_notes_and_grading_quality(layout):
    run_report(layout, ReportParams())
    index = page(layout, "index.html")
    assert "Human scores" in index and "Automated results and cost" in index
    assert '<svg class="chart"' in index and "baseline/reference" in index
    # code tests, votes and judges do not exist in this project: their sections are left out
    assert "Code tests" not in index and "Bradley-Terry" not in index and "Judge:" not in index
    gallery = page(layout, "challenges/stockPriceChart.html")
    assert gallery.count('class="card"') == 2 and "checks passed" in gallery
    assert "a bar per month" in gallery  # a check name of this challenge
    assert "(run in the page)" in gallery  # its script checks are marked
    quality = page(layout, "quality.html")
    assert "Krippendorff" in quality and "Koo &amp; Li 2016" in quality
    for grader in GRADERS:
        assert grader in quality
    data = page(layout, "data.html")
    assert "unknown" in data and "no source column" in data  # old grade files: source unknown
    assert "aggregate:" in data and "thumbnail_width: 400" in data  # params.yaml sections


def test_notes_are_shown_as_text_never_as_markup(layout):
    run_report(layout, ReportParams())
    pages = "".join(path.read_text() for path in layout.report.rglob("*.html"))
    assert "&lt;script&gt;alert(" in pages
    assert "&lt;img src=https://example.com/x.png&gt;" in pages
    assert "<script>alert" not in pages and "<img src=https://example.com" not in pages
    assert "Bars are right.\nThe title is cut off." in pages


def test_the_disagreement_queue_links_to_the_grader_review_view(layout):
    run_report(layout, ReportParams(grader_url="http://127.0.0.1:9123/"))
    quality = page(layout, "quality.html")
    disputed = next(csv.DictReader(io.StringIO((layout.consensus / "disagreements.csv").read_text())))
    folder = disputed["model"].replace("/", "__")
    assert f'href="http://127.0.0.1:9123/review/{disputed["challenge"]}/{folder}"' in quality
    gallery = page(layout, f"challenges/{disputed['challenge']}.html")
    assert f'href="http://127.0.0.1:9123/review/{disputed["challenge"]}/{folder}"' in gallery


def test_the_default_review_links_use_the_graders_default_port(layout):
    from vizhub_pipeline.cli.grader import grade

    port = next(option.default for option in grade.params if option.name == "port")
    assert ReportParams().grader_url == f"http://127.0.0.1:{port}"
    assert load_params(layout.params).report == ReportParams()  # the shipped params.yaml says the same


def test_same_inputs_give_the_same_bytes_from_scratch_again_and_in_another_folder(layout, tmp_path):
    run_report(layout, ReportParams())
    first = read_tree(layout.report)
    run_report(layout, ReportParams())  # images taken from the previous report
    assert read_tree(layout.report) == first
    shutil.rmtree(layout.report)
    run_report(layout, ReportParams())  # everything encoded again
    assert read_tree(layout.report) == first
    elsewhere = Layout.at(tmp_path / "somewhere" / "else")
    shutil.copytree(layout.root, elsewhere.root, symlinks=True)
    shutil.rmtree(elsewhere.report)
    run_report(elsewhere, ReportParams())
    assert read_tree(elsewhere.report) == first
    for name, data in first.items():
        assert str(layout.root).encode() not in data, name
        assert str(tmp_path).encode() not in data, name


def test_a_rebuild_reuses_unchanged_images_and_encodes_a_changed_one(layout):
    shutil.rmtree(layout.report)
    assert run_report(layout, ReportParams()).pictures.reused == 0
    changed = sorted(layout.renders.glob("*/*/screenshot.png"))[0]
    from PIL import Image

    with Image.open(changed) as image:
        image.load()
        image.putpixel((0, 0), (255, 0, 0))
        image.save(changed)
    stats = run_report(layout, ReportParams()).pictures
    assert stats.encoded == 1 and stats.reused == stats.stored - 1


def test_a_project_with_no_results_gets_a_report_that_says_why(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    layout = Layout.at(root)
    summary = run_report(layout, ReportParams())
    assert summary.pages == ["data.html", "index.html", "quality.html"]
    assert any(
        "results/consensus/leaderboard.csv does not exist: run `vizhub aggregate` first" in line
        for line in summary.lines()
    )
    index = page(layout, "index.html")
    assert index.count("Not available:") >= 2 and "leaderboard.csv does not exist" in index
    quality = page(layout, "quality.html")
    assert "reliability.json does not exist" in quality and "graders.csv does not exist" in quality
    assert "params.yaml does not exist" in page(layout, "data.html")


def test_outputs_before_any_grade_and_before_aggregate(tmp_path):
    layout = copy_inputs(tmp_path / "project")  # renders and outputs, no grade, no consensus
    run_report(layout, ReportParams())
    gallery = page(layout, "challenges/stockPriceChart.html")
    assert gallery.count('class="card"') == 2 and "not graded yet" in gallery
    assert "Human scores" in page(layout, "index.html")


def test_newer_columns_and_keys_are_read_by_name(layout):
    # grade files gain source and blind; the leaderboard gains the interval unit and a note
    path = layout.grades / "alice-2026-11-20.csv"

    def add_provenance(columns, rows):
        for row in rows:
            row.update(source="app", blind="true")
        return columns + ["source", "blind"], rows

    rewrite_csv(path, add_provenance)

    def add_unit(columns, rows):
        for row in rows:
            row.update(interval_unit="grades", interval_note="only one challenge graded: interval over grades")
        return ["interval_unit", "interval_note"] + columns, rows

    rewrite_csv(layout.consensus / "leaderboard.csv", add_unit)
    render = sorted(layout.renders.glob("*/*/render.json"))[0]
    data = json.loads(render.read_text())
    data["future_key"] = {"anything": [1, 2]}
    data["checks"][0]["weight"] = 2
    render.write_text(json.dumps(data))
    run_report(layout, ReportParams())
    data_page = page(layout, "data.html")
    assert "app 26" in data_page and "true 26" in data_page
    assert "only one challenge graded: interval over grades" in page(layout, "index.html")


def test_code_test_results_make_their_own_leaderboard(layout):
    renders = sorted(layout.renders.glob("*/*/render.json"))
    for path, status in zip(renders[:4], ("passed", "failed", "passed", "timeout"), strict=True):
        data = json.loads(path.read_text())
        data["test"] = {
            "status": status,
            "exit_code": 0 if status == "passed" else 1,
            "message": f"test {status}",
            "stdout": "ok 1\n",
            "stderr": "",
        }
        path.write_text(json.dumps(data))
    run_report(layout, ReportParams())
    index = page(layout, "index.html")
    assert "Code tests" in index
    gallery = page(layout, f"challenges/{renders[1].parent.parent.name}.html")
    assert "Code test: failed (test failed)" in gallery and "ok 1" in gallery


def test_votes_and_judge_leaderboards_appear_when_their_files_exist(layout):
    (layout.consensus / "votes_leaderboard.csv").write_text(
        "rank,model,score,ci_low,ci_high,votes\n1,baseline/reference,1120.5,1080.2,1161.0,40\n2,baseline/starter,879.5,839.0,919.8,40\n"
    )
    (layout.consensus / "judge_leaderboard.csv").write_text(
        "judge,rank,model,overall_mean,overall_ci_low,overall_ci_high\n"
        "gpt-4o,1,baseline/reference,4.2,3.9,4.5\ngpt-4o,2,baseline/starter,1.1,0.8,1.4\n"
    )
    run_report(layout, ReportParams())
    index = page(layout, "index.html")
    assert "Pairwise votes (Bradley-Terry)" in index and "1120.50 [1080.20, 1161.00]" in index
    assert "Judge: gpt-4o" in index and "4.20 [3.90, 4.50]" in index


def test_a_broken_screenshot_or_record_is_named_on_its_card(layout):
    shot = sorted(layout.renders.glob("stockPriceChart/*/screenshot.png"))[0]
    shot.write_bytes(b"not a png")
    broken = sorted(layout.renders.glob("carBrushScatter/*/render.json"))[0]
    broken.write_text("{ nope")
    summary = run_report(layout, ReportParams())
    assert summary.pictures.problems == 1
    gallery = page(layout, "challenges/stockPriceChart.html")
    assert "Screenshot: screenshot is not a readable image" in gallery
    assert "results/renders/carBrushScatter/" in page(layout, "challenges/carBrushScatter.html")
    assert "not valid JSON" in page(layout, "data.html")


def test_a_failed_generation_is_shown_on_its_card_with_its_error(layout):
    # failed generations are left out of the grading queue; the report is where they are seen
    meta = layout.visualization_dir("sensorZoomLine", "baseline/starter") / "meta.json"
    data = json.loads(meta.read_text())
    data.update(status="error", error="HTTP 503 from https://api.example.com: <overloaded>")
    meta.write_text(json.dumps(data))
    run_report(layout, ReportParams())
    gallery = page(layout, "challenges/sensorZoomLine.html")
    assert "generation error" in gallery
    assert "generation: HTTP 503 from https://api.example.com: &lt;overloaded&gt;" in gallery


def test_a_bad_grader_url_names_its_key(layout):
    with pytest.raises(InputError, match=r"params.yaml: report.grader_url: must start with http"):
        run_report(layout, ReportParams(grader_url="127.0.0.1:8765"))
    (layout.params).write_text("report:\n  thumbnail_width: 10\n")
    with pytest.raises(InputError, match="report.thumbnail_width: expected a whole number of at least 64"):
        load_params(layout.params)


def test_the_command_writes_the_report(layout):
    from click.testing import CliRunner

    from vizhub_pipeline.cli import cli

    result = CliRunner().invoke(cli, ["report", "--html", "--project", str(layout.root)])
    assert result.exit_code == 0, result.output
    assert "report: wrote results/report/" in result.output
    assert (layout.report / "index.html").is_file()


@pytest.mark.parametrize(
    "successes, trials, low, high",
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table II, method 3 (Wilson score interval)
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_rates_have_wilson_intervals_as_published(successes, trials, low, high):
    interval = proportion_interval(successes, trials, 0.95)
    assert interval.value == successes / trials and interval.trials == trials
    assert round(interval.low, 4) == low and round(interval.high, 4) == high


def test_agreement_bands_in_words():
    assert [alpha_band(v).word for v in (None, 0.5, 0.667, 0.79, 0.8, 1.0)] == [
        "not computed",
        "unreliable",
        "tentative",
        "tentative",
        "reliable",
        "reliable",
    ]
    assert [icc_band(v).word for v in (None, 0.49, 0.5, 0.75, 0.9, 0.91)] == [
        "not computed",
        "poor",
        "moderate",
        "good",
        "good",
        "excellent",
    ]


def test_the_dvc_stage_builds_the_report_once_and_keeps_it_out_of_git(layout):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    root = layout.root
    shutil.rmtree(layout.report)
    for name in ("dvc.yaml", ".gitignore", "package-lock.json"):
        shutil.copy(REPO_ROOT / name, root / name)
    (root / "vizhub_pipeline").symlink_to(REPO_ROOT / "vizhub_pipeline", target_is_directory=True)
    with open(root / ".gitignore", "a") as handle:
        handle.write("/vizhub_pipeline\n")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")

    def run(*command):
        result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    run("git", "init", "-q", "-b", "main")
    run("dvc", "init", "-q")
    first = run("dvc", "repro", "--single-item", "report")
    assert "Running stage 'report'" in first and (layout.report / "index.html").is_file()
    assert "Running stage" not in run("dvc", "repro", "--single-item", "report")
    (layout.params).write_text(layout.params.read_text().replace("thumbnail_width: 400", "thumbnail_width: 300"))
    assert "Running stage 'report'" in run("dvc", "repro", "--single-item", "report")  # any params.yaml change
    run("git", "add", "-A")
    assert "results/report" not in run("git", "status", "--porcelain", "--ignored=no")
    assert not any(line.startswith("results/report/") for line in run("git", "ls-files").splitlines())


def test_the_automated_board_counts_pages_only_and_code_tests_apart(tmp_path):
    from tests.mixed_project import make_mixed_project
    from vizhub_pipeline.analysis.aggregate import run_aggregate
    from vizhub_pipeline.core.params import AggregateParams
    from vizhub_pipeline.report.boards import automated_board, code_challenges, code_test_board
    from vizhub_pipeline.report.outputs import collect_outputs
    from vizhub_pipeline.report.tables import read_table

    layout = make_mixed_project(tmp_path)
    run_aggregate(layout, AggregateParams(bootstrap=20))
    leaderboard = read_table(layout.consensus / "leaderboard.csv", layout.root)
    consensus = read_table(layout.consensus / "consensus.csv", layout.root)
    outputs = collect_outputs(layout, consensus, {})
    assert code_challenges(outputs) == {"triple"}
    rows = {row["model"]: row for row in automated_board(leaderboard, consensus, 0.95, code_challenges(outputs)).rows}
    # bars only: model/a passed both checks of its one page, model/b one of two (the test runs are not pages)
    assert (rows["model/a"]["all_checks"].value, rows["model/a"]["all_checks"].trials) == (1.0, 1)
    assert (rows["model/b"]["all_checks"].value, rows["model/b"]["all_checks"].trials) == (0.0, 1)
    assert (rows["model/a"]["render_rate"].value, rows["model/a"]["render_rate"].trials) == (1.0, 1)
    tests = {row["model"]: (row["passed"], row["tested"]) for row in code_test_board(outputs).rows}
    assert tests == {"model/a": (3, 5), "model/b": (1, 2)}  # model/b's test run of an older version is not counted
