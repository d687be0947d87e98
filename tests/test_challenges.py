"""Challenge folders: validation names the file and the field at fault; scaffolding."""

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import write_challenge
from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.challenges import (
    discover_challenges,
    load_challenge,
    scaffold_challenge,
    unfinished_parts,
    validate_challenge,
)
from vizhub_pipeline.core.errors import ChallengeError


def set_yaml(folder, text):
    (folder / "challenge.yaml").write_text(textwrap.dedent(text))


def messages(folder):
    return [str(problem) for problem in validate_challenge(folder)]


def test_a_valid_challenge_loads_with_its_files_reference_and_checks(tmp_path):
    folder = write_challenge(tmp_path, "bars")
    challenge = load_challenge(folder)
    assert challenge.id == "bars" and challenge.title == "Bars"
    assert sorted(challenge.files) == ["data.csv", "index.html"]
    assert sorted(challenge.reference_files) == ["data.csv", "index.html"]
    assert challenge.reference_files["data.csv"] == challenge.files["data.csv"]
    assert [c.type for c in challenge.checks] == ["count", "no_console_errors"]
    assert challenge.checks[0].spec == {"selector": "rect.bar", "equals": 3}
    assert challenge.viewport.width == 800 and challenge.entry == "index.html"


@pytest.mark.parametrize(
    "yaml_text, expected",
    [
        ("description: x\n", "challenge.yaml: title: required: a non-empty title"),
        ("title: T\ncolour: red\n", "challenge.yaml: colour: unknown field"),
        ("title: T\ntype: game\n", "challenge.yaml: type: must be one of visualization, code"),
        (
            "title: T\nviewport: {width: 20}\n",
            "challenge.yaml: viewport.width: must be a whole number of pixels from 100 to 4000",
        ),
        ("title: T\nentry: ../index.html\n", "challenge.yaml: entry: must be a relative file path inside files/"),
        (
            "title: T\nchecks:\n  - type: count\n    selector: rect\n",
            "challenge.yaml: checks[0]: a count check needs min, max or equals",
        ),
        (
            "title: T\nchecks:\n  - type: glow\n",
            "challenge.yaml: checks[0].type: type must be one of count, text, attribute",
        ),
        (
            "title: T\nchecks:\n  - type: text\n    txt: hi\n",
            "challenge.yaml: checks[0].txt: unknown field for a text check",
        ),
        (
            "title: T\nchecks:\n  - type: attribute\n    selector: rect\n    attribute: fill\n    matches: '('\n",
            "challenge.yaml: checks[0].matches: not a valid regular expression",
        ),
        (
            "title: T\ninteractions:\n  - name: hover\n    action: hover\n",
            "challenge.yaml: interactions[0].selector: a hover step needs a selector",
        ),
        (
            "title: T\ninteractions:\n  - name: brush\n    action: drag\n    selector: svg\n"
            "    from: [0.1]\n    to: [0.5, 0.5]\n",
            "challenge.yaml: interactions[0].from: must be [x, y]",
        ),
        ("title: [unclosed\n", "challenge.yaml: not valid YAML"),
    ],
)
def test_each_problem_names_the_file_and_field(tmp_path, yaml_text, expected):
    folder = write_challenge(tmp_path, "bars")
    set_yaml(folder, yaml_text)
    found = messages(folder)
    assert any(
        message.startswith(str(folder / expected.split(":")[0]) + ":") and expected.split(":", 1)[1].strip() in message
        for message in found
    ), found


def test_missing_files_are_named(tmp_path):
    folder = write_challenge(tmp_path, "bars")
    (folder / "prompt.md").unlink()
    (folder / "files" / "index.html").unlink()
    found = messages(folder)
    assert f"{folder / 'prompt.md'}: missing (the instruction given to the model)" in found
    assert (
        f"{folder / 'files' / 'index.html'}: missing: the entry file named by challenge.yaml field entry (index.html)"
        in found
    )


def test_binary_starter_files_are_refused(tmp_path):
    folder = write_challenge(tmp_path, "bars")
    (folder / "files" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    assert f"{folder / 'files' / 'logo.png'}: not UTF-8 text (challenge files are text)" in messages(folder)


def test_discover_reports_broken_folders_and_keeps_the_others(tmp_path):
    write_challenge(tmp_path, "good")
    bad = write_challenge(tmp_path, "bad")
    (bad / "challenge.yaml").unlink()
    (tmp_path / "challenges" / "not a slug").mkdir()
    found, problems = discover_challenges(tmp_path / "challenges")
    assert [c.id for c in found] == ["good"]
    assert f"{bad / 'challenge.yaml'}: missing (every challenge needs challenge.yaml)" in [str(p) for p in problems]
    assert any("not a slug" in str(p) and "must be a slug" in str(p) for p in problems)


def test_asking_for_an_unknown_challenge_is_a_problem(tmp_path):
    write_challenge(tmp_path, "good")
    found, problems = discover_challenges(tmp_path / "challenges", ["good", "nope"])
    assert [c.id for c in found] == ["good"]
    assert [str(p) for p in problems] == [f"{tmp_path / 'challenges' / 'nope'}: no such challenge (known: good)"]


def test_scaffold_makes_a_valid_challenge_and_refuses_bad_names(tmp_path):
    folder = scaffold_challenge(tmp_path, "barChartRace", "Bar chart race")
    assert validate_challenge(folder) == []
    with pytest.raises(ChallengeError, match="already exists"):
        scaffold_challenge(tmp_path, "barChartRace")
    with pytest.raises(ChallengeError, match="must be a slug"):
        scaffold_challenge(tmp_path, "../escape")


def test_cli_new_and_check(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["challenge", "new", "demo", "--project", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "challenges" / "demo"
    assert (folder / "challenge.yaml").is_file()
    result = runner.invoke(cli, ["challenge", "check", "--project", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        f"error {folder / 'prompt.md'}: still the placeholder of `vizhub challenge new`: write the task",
        f"error {folder / 'challenge.yaml'}: description: still the placeholder of `vizhub challenge new`: "
        "say what the model must do",
        f"error {folder / 'reference'}: no reference solution: add the files a correct answer changes "
        "(they overlay files/)",
        "Error: 3 problem(s) in challenge folders",
    ]
    (folder / "prompt.md").write_text("Draw a bar chart race of the data.\n", encoding="utf-8")
    yaml_text = (folder / "challenge.yaml").read_text(encoding="utf-8")
    yaml_text = yaml_text.replace("One or two sentences on what the model must build or change.", "A race.")
    (folder / "challenge.yaml").write_text(yaml_text, encoding="utf-8")
    (folder / "reference" / "index.html").write_text("<p>solved</p>\n", encoding="utf-8")
    result = runner.invoke(cli, ["challenge", "check", "--project", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1 challenge(s) valid" in result.output
    set_yaml(folder, "title: T\ndifficulty: extreme\n")
    result = runner.invoke(cli, ["challenge", "check", "--project", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 1
    assert (
        f"error {tmp_path / 'challenges' / 'demo' / 'challenge.yaml'}: difficulty: must be one of easy, medium, hard"
        in result.output
    )
    assert "Error: 1 problem(s) in challenge folders" in result.output


def test_an_unfinished_scaffold_is_valid_for_the_pipeline_but_not_finished(tmp_path):
    folder = scaffold_challenge(tmp_path, "barChartRace")
    assert validate_challenge(folder) == []  # the pipeline runs; check reports what is left to do
    assert [(Path(p.path).name, p.field) for p in unfinished_parts(load_challenge(folder))] == [
        ("prompt.md", None),
        ("challenge.yaml", "description"),
        ("reference", None),
    ]
