"""Every command documents itself with an example, and --help is fast (no heavy imports)."""

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from vizhub_pipeline.cli import cli


def walk(group: click.Group, prefix=()):
    for name, command in sorted(group.commands.items()):
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from walk(command, prefix + (name,))


COMMANDS = list(walk(cli))


def test_there_are_commands():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"generate", "benchmark", "challenge new", "challenge check"} <= names


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_each_command_has_help_with_an_example(path, command):
    assert command.help and command.help.strip(), f"vizhub {' '.join(path)} has no help text"
    assert "Example" in command.help, f"vizhub {' '.join(path)} help has no example"
    result = CliRunner().invoke(cli, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for parameter in command.params:
        if isinstance(parameter, click.Option) and not parameter.hidden:
            assert parameter.help, f"vizhub {' '.join(path)} {parameter.opts[0]} has no help"


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from vizhub_pipeline.cli import cli\n"
        "try:\n    cli(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('litellm', 'playwright', 'pandas', 'pygit2', 'fastapi', 'numpy', 'scipy', 'datasets')"
        " if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "HEAVY:", result.stdout


def test_python_dash_m_works():
    result = subprocess.run(
        [sys.executable, "-m", "vizhub_pipeline", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "vizhub, version" in result.stdout
