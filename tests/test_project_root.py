"""Project discovery: every command finds the project root by walking up from the current folder."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.loopback_server import Behaviour, LoopbackServer
from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.errors import PrerequisiteError
from vizhub_pipeline.core.layout import find_project_root

GOOD_REPLY = "**index.html**\n```html\n<p>from the model</p>\n```\n"


@pytest.fixture
def rooted(project: Path) -> Path:
    """The test project with the params.yaml that marks a project root."""
    (project / "params.yaml").write_text("generate:\n  models: [baseline/starter]\n", encoding="utf-8")
    return project


def outside_message(folder: Path) -> str:
    return (
        f"Error: not inside a vizhub project: neither {folder.resolve()} nor a folder above it holds challenges/ "
        "and dvc.yaml or params.yaml; cd into the project (a clone of the benchmark) or pass --project DIR\n"
    )


def test_the_root_is_found_from_any_subfolder(rooted):
    deep = rooted / "challenges" / "barsOne" / "files"
    assert find_project_root(deep) == rooted.resolve()
    assert find_project_root(rooted) == rooted.resolve()


def test_a_folder_with_challenges_but_no_params_or_dvc_yaml_is_not_a_root(project):
    with pytest.raises(PrerequisiteError, match="not inside a vizhub project"):
        find_project_root(project / "challenges")


def test_challenge_check_from_the_challenges_folder(rooted, monkeypatch):
    monkeypatch.chdir(rooted / "challenges")
    result = CliRunner().invoke(cli, ["challenge", "check"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "2 challenge(s) valid"


def test_report_from_a_subfolder_reads_the_projects_results(rooted, monkeypatch):
    runner = CliRunner()
    monkeypatch.chdir(rooted / "challenges")
    for command in (["generate"], ["screenshot"], ["aggregate"]):
        result = runner.invoke(cli, command, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert (rooted / "results" / "metrics.json").is_file()
    assert not (rooted / "challenges" / "results").exists()
    result = runner.invoke(cli, ["report", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert '"leaderboard"' in result.output


@pytest.mark.parametrize(
    "args",
    [["report"], ["grade", "--cli", "--grader", "alice"], ["grade", "--no-open", "--grader", "alice"], ["generate"]],
    ids=lambda args: " ".join(args),
)
def test_outside_a_project_every_command_says_so_and_exits_1(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args, input="", catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert result.output == outside_message(tmp_path)
    assert not (tmp_path / "results").exists()


def test_dotenv_is_read_from_the_project_root_not_the_current_folder(rooted, monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)  # restored after the test, whatever .env sets
    with LoopbackServer(Behaviour(reply=GOOD_REPLY)) as server:
        (rooted / ".env").write_text(f"OPENAI_API_KEY=sk-dotenv\nOPENAI_API_BASE={server.url}\n", encoding="utf-8")
        monkeypatch.chdir(rooted / "challenges" / "barsOne")
        result = CliRunner().invoke(
            cli, ["generate", "--challenge", "barsOne", "--models", "openai/m1"], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        assert len(server.requests) == 1
    output = rooted / "visualizations" / "barsOne" / "openai__m1" / "index.html"
    assert output.read_text() == "<p>from the model</p>\n"
