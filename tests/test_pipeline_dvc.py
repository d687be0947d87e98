"""`dvc repro` on a temporary two-challenge project: the real pipeline, run by DVC."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # every test runs dvc repro on a real project

BIN = Path(sys.executable).parent


def run(command, cwd, **kwargs):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", LITELLM_LOCAL_MODEL_COST_MAP="True")
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def dvc_project(project):
    """The two-challenge project as a git + DVC repository with this repository's pipeline."""
    shutil.copy(REPO_ROOT / "dvc.yaml", project / "dvc.yaml")
    shutil.copy(REPO_ROOT / "params.yaml", project / "params.yaml")
    shutil.copy(REPO_ROOT / "package-lock.json", project / "package-lock.json")
    (project / "vizhub_pipeline").symlink_to(REPO_ROOT / "vizhub_pipeline", target_is_directory=True)
    if (REPO_ROOT / "node_modules").exists():
        (project / "node_modules").symlink_to(REPO_ROOT / "node_modules", target_is_directory=True)
    (project / ".gitignore").write_text("/vizhub_pipeline\n/node_modules\n")
    for folder in ("results/grades", "results/votes", "results/consensus", "results/renders", "exports"):
        (project / folder).mkdir(parents=True, exist_ok=True)
    run(["git", "init", "-q", "-b", "main"], project)
    run(["dvc", "init", "-q"], project)
    run(["dvc", "config", "core.analytics", "false"], project)
    return project


def test_dvc_repro_builds_everything_then_has_nothing_to_do(dvc_project):
    first = run(["dvc", "repro"], dvc_project)
    for stage in ("generate", "screenshot", "aggregate", "export", "report"):
        assert f"Running stage '{stage}'" in first.stdout
    for challenge in ("barsOne", "barsTwo"):
        for model in ("baseline__starter", "baseline__reference"):
            assert (dvc_project / "visualizations" / challenge / model / "meta.json").is_file()
            render = json.loads((dvc_project / "results" / "renders" / challenge / model / "render.json").read_text())
            # the starter draws nothing (a TODO), the reference draws its three bars
            assert render["status"] == ("blank" if model == "baseline__starter" else "rendered")
    consensus = (dvc_project / "results" / "consensus" / "consensus.csv").read_text().splitlines()
    assert len(consensus) == 1 + 4  # header, then every output, ungraded on a fresh project
    assert json.loads((dvc_project / "results" / "metrics.json").read_text())
    assert (dvc_project / "exports" / "README.md").is_file()
    assert (dvc_project / "exports" / "preferences.jsonl").read_text() == ""
    assert (dvc_project / "dvc.lock").is_file()
    second = run(["dvc", "repro"], dvc_project)
    assert "Running stage" not in second.stdout
    status = run(["dvc", "status"], dvc_project)
    assert "Data and pipelines are up to date" in status.stdout


def test_a_new_challenge_without_a_reference_does_not_break_dvc_repro(dvc_project):
    run(["vizhub", "challenge", "new", "barChartRace"], dvc_project / "challenges")  # from a subfolder too
    result = run(["dvc", "repro"], dvc_project)
    assert "baseline/reference skipped (no reference solution): barChartRace" in result.stdout
    assert (dvc_project / "visualizations" / "barChartRace" / "baseline__starter" / "meta.json").is_file()
    assert not (dvc_project / "visualizations" / "barChartRace" / "baseline__reference").exists()


def test_editing_one_challenge_regenerates_only_that_challenge(dvc_project):
    run(["dvc", "repro"], dvc_project)
    untouched = (dvc_project / "visualizations" / "barsOne" / "baseline__starter" / "meta.json").read_text()
    (dvc_project / "challenges" / "barsTwo" / "prompt.md").write_text("Draw the bars in green.\n")
    result = run(["dvc", "repro"], dvc_project)
    assert "Running stage 'generate'" in result.stdout
    assert "generate: 2 done, 2 skipped (unchanged)" in result.stdout
    assert (dvc_project / "visualizations" / "barsOne" / "baseline__starter" / "meta.json").read_text() == untouched


def test_grades_committed_by_two_graders_flow_into_consensus_and_a_preference_dataset(dvc_project):
    """The product's loop: repro, two experts grade (committed with pygit2), repro again."""
    from vizhub_pipeline.core.layout import Layout
    from vizhub_pipeline.core.records import Grade, read_generation
    from vizhub_pipeline.export.card import read_reliability
    from vizhub_pipeline.grading.submit import submit_judgements

    run(["dvc", "repro"], dvc_project)
    run(["git", "add", "-A"], dvc_project)
    run(["git", "-c", "user.name=ci", "-c", "user.email=ci@example.org", "commit", "-q", "-m", "outputs"], dvc_project)
    layout = Layout.at(dvc_project)
    scores = {  # grader -> model -> (functionality, aesthetics)
        "alice": {"baseline/reference": (5, 4), "baseline/starter": (0, 1)},
        "bob": {"baseline/reference": (4, 4), "baseline/starter": (1, 0)},
    }
    for grader, by_model in scores.items():
        grades = []
        for challenge in ("barsOne", "barsTwo"):
            for model, (functionality, aesthetics) in by_model.items():
                folder = dvc_project / "visualizations" / challenge / model.replace("/", "__")
                artifact = read_generation(folder / "meta.json").artifact_hash
                grades.append(
                    Grade(challenge, model, 0, artifact, functionality, aesthetics, "", grader, "2026-11-28T12:00:00Z")
                )
        assert submit_judgements(layout, grades).commit_id

    log = run(["git", "log", "--format=%an|%s"], dvc_project).stdout.splitlines()
    assert log[:2] == [
        "bob|grade: bob graded 4 outputs of barsOne, barsTwo",
        "alice|grade: alice graded 4 outputs of barsOne, barsTwo",
    ]
    result = run(["dvc", "repro"], dvc_project)
    assert "Running stage 'aggregate'" in result.stdout and "Running stage 'export'" in result.stdout
    assert "Running stage 'generate'" not in result.stdout and "Running stage 'screenshot'" not in result.stdout

    pairs = [json.loads(line) for line in (dvc_project / "exports" / "preferences.jsonl").read_text().splitlines()]
    assert sorted(pair["challenge"] for pair in pairs) == ["barsOne", "barsTwo"]
    reference = (dvc_project / "challenges" / "barsOne" / "reference" / "index.html").read_text()
    for pair in pairs:
        assert (pair["model_chosen"], pair["model_rejected"]) == ("baseline/reference", "baseline/starter")
        assert pair["score_chosen"] == 4.25 and pair["score_rejected"] == 0.5 and pair["margin"] == 3.75
        assert reference in pair["chosen"]
    reliability = read_reliability(dvc_project / "results" / "consensus" / "reliability.json")
    assert reliability["graders"] == 2 and reliability["alpha"]
    card = (dvc_project / "exports" / "README.md").read_text()
    overall = next(entry for entry in reliability["alpha"] if entry["dimension"] == "overall")
    assert f"| Krippendorff's alpha (ordinal) | overall | {overall['value']:.3f} |" in card
