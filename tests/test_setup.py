"""What `make run` installs and prints, and the wording a new user reads first."""

import ast
import re
import tomllib
from importlib.metadata import packages_distributions

import pytest
from click.testing import CliRunner

from tests.conftest import REPO_ROOT
from vizhub_pipeline.cli import cli


def distribution_name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def readme_python_imports() -> set[str]:
    """The top-level modules imported by the README's Python code blocks."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    modules = set()
    for block in re.findall(r"```python\n(.*?)```", readme, flags=re.S):
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules


def test_make_run_installs_what_the_readme_tells_users_to_import():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    installed = {distribution_name(item) for item in project["dependencies"]}
    owners = packages_distributions()
    modules = readme_python_imports()
    assert "datasets" in modules  # the README's load_dataset snippet
    for module in sorted(modules):
        if module in ("vizhub_pipeline",) or module not in owners:
            continue  # the project itself, or the standard library
        names = {name.lower().replace("_", "-") for name in owners[module]}
        assert names & installed, f"the README imports {module}, which is not in [project] dependencies"


def makefile_recipe(target: str) -> list[str]:
    lines = (REPO_ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = lines.index(f"{target}:")
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line)
    return recipe


def test_creating_the_venv_prints_one_line_not_its_recipe():
    recipe = makefile_recipe("$(VENV)/bin/python")
    # a recipe line starts after a line that does not end in a backslash
    starts = [line for previous, line in zip(["", *recipe[:-1]], recipe, strict=True) if not previous.endswith("\\")]
    assert len(starts) >= 2
    assert all(line.startswith("\t@") for line in starts), starts
    echoes = [line for line in starts if line.startswith("\t@echo ")]
    assert len(echoes) == 1, starts


@pytest.mark.parametrize(
    "command, default",
    [
        ("generate", "Default: generate.models in params.yaml."),
        ("benchmark", "Default: generate.models in params.yaml."),
        ("screenshot", "Default: every model found in visualizations/."),
        ("grade", "Default: every model found in visualizations/."),
    ],
)
def test_models_help_names_the_default_of_its_own_command(command, default):
    option = next(param for param in cli.commands[command].params if param.name == "models")
    assert option.help is not None and option.help.endswith(default), option.help
    result = CliRunner().invoke(cli, [command, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "when generating" not in result.output
