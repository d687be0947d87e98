"""The generate stage with the real litellm path: baselines and the loopback server."""

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import BAR_HTML, BAR_REFERENCE, REPO_ROOT
from tests.loopback_server import Behaviour, LoopbackServer
from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.layout import Layout, hash_files
from vizhub_pipeline.core.params import GenerateParams
from vizhub_pipeline.core.records import read_generation
from vizhub_pipeline.generate.stage import run_generate

FAST = GenerateParams(retries=1, backoff=0.01, timeout=5)
GOOD_REPLY = "Here you go.\n\n**index.html**\n```html\n<p>model output</p>\n```\n"


def outputs(project: Path) -> dict[str, str]:
    return {
        str(p.relative_to(project / "visualizations")): p.read_text()
        for p in sorted((project / "visualizations").rglob("*"))
        if p.is_file()
    }


def meta(project, challenge, folder):
    return read_generation(project / "visualizations" / challenge / folder / "meta.json")


def test_baselines_write_starter_and_reference_outputs(project):
    summary = run_generate(Layout.at(project), GenerateParams(), progress=False)
    assert (summary.done, summary.failed, summary.skipped) == (4, 0, 0)
    starter = project / "visualizations" / "barsOne" / "baseline__starter"
    reference = project / "visualizations" / "barsOne" / "baseline__reference"
    assert (starter / "index.html").read_text() == BAR_HTML
    assert (reference / "index.html").read_text() == BAR_REFERENCE
    assert (reference / "data.csv").read_text() == "name,value\na,3\nb,5\nc,9\n"
    generation = read_generation(reference / "meta.json")
    assert generation.status == "ok"
    assert generation.model == "baseline/reference" and generation.challenge == "barsOne"
    assert generation.files == ("data.csv", "index.html")
    assert generation.artifact_hash == hash_files(
        {"index.html": BAR_REFERENCE, "data.csv": "name,value\na,3\nb,5\nc,9\n"}
    )
    assert generation.params == {"temperature": 0.0, "max_tokens": 8192, "seed": 42}
    assert generation.tokens_in > 0 and generation.cost == 0.0
    assert (reference / "response.md").read_text() == "**index.html**\n```html\n" + BAR_REFERENCE + "```\n"


def test_unchanged_items_are_not_requested_again_and_an_edit_reruns_only_its_challenge(project, loopback):
    loopback.default = Behaviour(reply=GOOD_REPLY)
    params = replace(FAST, models=("openai/m1", "openai/m2"))
    first = run_generate(Layout.at(project), params, progress=False)
    assert first.done == 4 and len(loopback.requests) == 4
    again = run_generate(Layout.at(project), params, progress=False)
    assert (again.done, again.skipped) == (0, 4) and len(loopback.requests) == 4
    (project / "challenges" / "barsTwo" / "prompt.md").write_text("Draw bars, sorted descending.\n")
    third = run_generate(Layout.at(project), params, progress=False)
    assert (third.done, third.skipped) == (2, 2) and len(loopback.requests) == 6
    assert all("sorted descending" in r["messages"][1]["content"] for r in loopback.requests[4:])
    fresh = run_generate(Layout.at(project), params, cache=False, progress=False)
    assert fresh.done == 4 and len(loopback.requests) == 10


def test_a_changed_generation_parameter_changes_the_input_hash(project, loopback):
    loopback.default = Behaviour(reply=GOOD_REPLY)
    params = replace(FAST, models=("openai/m1",))
    run_generate(Layout.at(project), params, challenges=("barsOne",), progress=False)
    run_generate(Layout.at(project), replace(params, temperature=0.7), challenges=("barsOne",), progress=False)
    assert len(loopback.requests) == 2
    assert loopback.requests[1]["temperature"] == 0.7


def test_a_change_past_the_shown_start_of_a_large_data_file_reruns_the_item(project, loopback):
    """The prompt shows only the start of a large file; the cache key covers all of it."""
    from vizhub_pipeline.core.prompting import MAX_SHOWN_BYTES

    loopback.default = Behaviour(reply=GOOD_REPLY)
    params = replace(FAST, models=("openai/m1",))
    data = project / "challenges" / "barsOne" / "files" / "data.csv"
    rows = "".join(f"r{n},{n}\n" for n in range(MAX_SHOWN_BYTES // 4))
    data.write_text("name,value\n" + rows + "last,1\n")
    run_generate(Layout.at(project), params, challenges=("barsOne",), progress=False)
    data.write_text("name,value\n" + rows + "last,2\n")
    again = run_generate(Layout.at(project), params, challenges=("barsOne",), progress=False)
    assert again.done == 1 and len(loopback.requests) == 2
    assert loopback.requests[0]["messages"] == loopback.requests[1]["messages"]  # the prompt did not show the change
    written = project / "visualizations" / "barsOne" / "openai__m1" / "data.csv"
    assert written.read_text().endswith("last,2\n")


def test_files_the_reply_does_not_name_keep_the_starter(project, loopback):
    loopback.default = Behaviour(reply=GOOD_REPLY)
    run_generate(Layout.at(project), replace(FAST, models=("openai/m1",)), challenges=("barsOne",), progress=False)
    folder = project / "visualizations" / "barsOne" / "openai__m1"
    assert (folder / "index.html").read_text() == "<p>model output</p>\n"
    assert (folder / "data.csv").read_text() == "name,value\na,3\nb,5\nc,9\n"
    assert (folder / "response.md").read_text() == GOOD_REPLY


def test_a_reply_without_file_blocks_is_unparseable_and_kept(project, loopback):
    loopback.default = Behaviour(reply="I would rather not.")
    summary = run_generate(
        Layout.at(project), replace(FAST, models=("openai/m1",)), challenges=("barsOne",), progress=False
    )
    assert summary.unparseable == 1 and summary.failed == 0
    folder = project / "visualizations" / "barsOne" / "openai__m1"
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "response.md"]
    assert (folder / "response.md").read_text() == "I would rather not."
    generation = read_generation(folder / "meta.json")
    assert generation.status == "unparseable" and generation.artifact_hash is None
    assert "no file blocks" in generation.error


@pytest.mark.hostile(area="replies", guards="escape", outcome="clear_error")
def test_paths_outside_the_item_folder_are_refused_and_recorded(project, loopback, tmp_path):
    loopback.default = Behaviour(
        reply="**../../escape.html**\n```html\nx\n```\n**/tmp/abs.html**\n```html\nx\n```\n"
        "**..\\win.html**\n```html\nx\n```\n**index.html**\n```html\n<p>ok</p>\n```\n"
    )
    run_generate(Layout.at(project), replace(FAST, models=("openai/m1",)), challenges=("barsOne",), progress=False)
    generation = meta(project, "barsOne", "openai__m1")
    assert generation.status == "ok"
    assert generation.files == ("data.csv", "index.html")
    for name in ("../../escape.html", "/tmp/abs.html", "..\\win.html"):
        assert f"{name}: path outside the output folder" in generation.error
    assert not (project / "escape.html").exists() and not (project / "visualizations" / "escape.html").exists()
    assert not Path("/tmp/abs.html").exists()


def test_a_missing_key_fails_only_that_models_items(project, loopback, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    loopback.default = Behaviour(reply=GOOD_REPLY)
    lines = []
    params = replace(FAST, models=("anthropic/claude-3-5-haiku-latest", "openai/m1", "baseline/starter"))
    summary = run_generate(Layout.at(project), params, progress=False, echo=lines.append)
    assert summary.done == 4 and summary.failed == 2
    message = (
        "anthropic/claude-3-5-haiku-latest: ANTHROPIC_API_KEY is not set; "
        "export ANTHROPIC_API_KEY=... or add it to .env"
    )
    assert lines == [f"model not run: {message}"]
    assert not (project / "visualizations" / "barsOne" / "anthropic__claude-3-5-haiku-latest").exists()


def test_an_unknown_model_fails_its_items_only(project):
    summary = run_generate(
        Layout.at(project), replace(FAST, models=("no-such-model-xyz", "baseline/starter")), progress=False
    )
    assert summary.done == 2 and summary.failed == 2
    assert "unknown model 'no-such-model-xyz'" in summary.setup_errors["no-such-model-xyz"]


def test_a_failing_call_is_recorded_as_error_and_retried_next_run(project, loopback):
    loopback.default = Behaviour(status=500)
    params = replace(FAST, models=("openai/m1",), retries=1)
    summary = run_generate(Layout.at(project), params, challenges=("barsOne",), progress=False)
    assert summary.failed == 1 and "500" in summary.failures[0]
    generation = meta(project, "barsOne", "openai__m1")
    assert generation.status == "error" and "500" in generation.error
    loopback.default = Behaviour(reply=GOOD_REPLY)
    summary = run_generate(Layout.at(project), params, challenges=("barsOne",), progress=False)
    assert summary.done == 1 and meta(project, "barsOne", "openai__m1").status == "ok"


def test_a_broken_challenge_is_reported_and_the_others_still_run(project):
    (project / "challenges" / "barsTwo" / "challenge.yaml").write_text("title: Broken\ndifficulty: impossible\n")
    summary = run_generate(Layout.at(project), GenerateParams(), progress=False)
    assert summary.done == 2
    assert [str(e) for e in summary.challenge_errors] == [
        f"{project / 'challenges' / 'barsTwo' / 'challenge.yaml'}: difficulty: must be one of easy, medium, hard"
    ]
    assert not (project / "visualizations" / "barsTwo").exists()


def test_samples_get_their_own_folders_and_seeds(project, loopback):
    loopback.default = Behaviour(reply=GOOD_REPLY)
    run_generate(
        Layout.at(project), replace(FAST, models=("openai/m1",), samples=2), challenges=("barsOne",), progress=False
    )
    assert meta(project, "barsOne", "openai__m1").params["seed"] == 42
    assert meta(project, "barsOne", "openai__m1@1").params["seed"] == 43
    assert sorted(r["seed"] for r in loopback.requests) == [42, 43]


def test_concurrency_is_bounded_per_provider(project, loopback):
    for name in ("barsThree", "barsFour"):
        from tests.conftest import write_challenge

        write_challenge(project, name)
    loopback.default = Behaviour(reply=GOOD_REPLY, delay=0.3)
    params = replace(FAST, models=("openai/m1", "openai/m2", "openai/m3"), concurrency=3)
    summary = run_generate(Layout.at(project), params, progress=False)
    assert summary.done == 12
    assert loopback.max_in_flight == 3


def test_prune_removes_outputs_of_models_no_longer_listed(project):
    run_generate(Layout.at(project), GenerateParams(), progress=False)
    summary = run_generate(
        Layout.at(project), GenerateParams(models=("baseline/reference",)), prune=True, progress=False
    )
    assert sorted(summary.pruned.removed) == [
        "visualizations/barsOne/baseline__starter",
        "visualizations/barsTwo/baseline__starter",
    ]
    assert sorted(outputs(project)) == sorted(
        f"{c}/baseline__reference/{f}"
        for c in ("barsOne", "barsTwo")
        for f in ("data.csv", "index.html", "meta.json", "response.md")
    )


def test_cli_generate_prints_a_summary_and_exits_1_on_failure(project):
    runner = CliRunner()
    result = runner.invoke(cli, ["generate", "--project", str(project)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "generate: 4 done, 0 skipped (unchanged), 0 unparseable, 0 failed" in result.output
    result = runner.invoke(
        cli, ["generate", "--project", str(project), "--models", "nope-xyz,baseline/starter"], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    assert "generate: 0 done, 2 skipped (unchanged), 0 unparseable, 2 failed" in result.output


@pytest.mark.slow
def test_ctrl_c_leaves_no_half_written_item_and_the_next_run_resumes(project):
    from tests.conftest import write_challenge

    for index in range(6):
        write_challenge(project, f"extra{index}")
    # Two replies come back; the requests after them are held until the run is stopped, so the
    # SIGINT always lands with requests in flight, however slowly this machine schedules the test.
    released = threading.Event()
    answered = itertools.count()  # next() is atomic: exactly two requests are answered before the SIGINT

    def behaviour(request: dict) -> Behaviour:
        held = not released.is_set() and next(answered) >= 2
        return Behaviour(reply=GOOD_REPLY, delay=120.0 if held else 0.4)

    server = LoopbackServer(behaviour).start()
    try:
        env = dict(
            os.environ, OPENAI_API_KEY="sk-loopback", OPENAI_API_BASE=server.url, LITELLM_LOCAL_MODEL_COST_MAP="True"
        )
        command = [
            sys.executable,
            "-m",
            "vizhub_pipeline",
            "generate",
            "--project",
            str(project),
            "--models",
            "openai/m1",
        ]
        params_file = project / "params.yaml"
        params_file.write_text("generate:\n  concurrency: 2\n  retries: 0\n")
        # A child inherits an ignored SIGINT (CI started in the background ignores it, and Python then
        # keeps ignoring it): give the child the default that a user's terminal gives it.
        inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            process = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        finally:
            signal.signal(signal.SIGINT, inherited)
        deadline = time.monotonic() + 60
        while len(server.requests) < 4 and time.monotonic() < deadline:  # both held requests in flight
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
        released.set()
        assert process.returncode != 0
        written = sorted((project / "visualizations").glob("*/*"))
        for folder in written:
            assert not folder.name.startswith("."), f"left a temporary folder: {folder}"
            assert (folder / "meta.json").is_file() and (folder / "index.html").is_file()
        done_before = len(written)
        assert done_before <= 2  # at most the two answered requests, each written whole
        before = len(server.requests)
        rerun = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        assert f"generate: {8 - done_before} done, {done_before} skipped" in rerun.stdout
        assert len(server.requests) - before == 8 - done_before
        assert not list((project / "visualizations").glob("*/.*"))
    finally:
        server.stop()


def test_a_missing_key_is_printed_once(project, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = CliRunner().invoke(
        cli, ["generate", "--project", str(project), "--models", "gpt-4o,baseline/starter"], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    message = "gpt-4o: OPENAI_API_KEY is not set; export OPENAI_API_KEY=... or add it to .env"
    assert result.output.count(message) == 1, result.output
    assert "1 model(s) not run (see above): gpt-4o" in result.output.splitlines()


def test_a_misspelt_challenge_counts_as_failed(project):
    result = CliRunner().invoke(
        cli,
        ["generate", "--project", str(project), "--challenge", "barsOnee", "--models", "baseline/starter"],
        catch_exceptions=False,
    )
    assert result.exit_code == 1, result.output
    assert "generate: 0 done, 0 skipped (unchanged), 0 unparseable, 1 failed" in result.output.splitlines()
    assert result.output.count("barsOnee: no such challenge (known: barsOne, barsTwo)") == 1, result.output


def test_retries_of_an_endpoint_that_is_not_running_are_shown(project, monkeypatch):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    monkeypatch.setenv("OPENAI_API_BASE", url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    lines: list[str] = []
    params = replace(FAST, models=("openai/served",), retries=1)
    summary = run_generate(Layout.at(project), params, challenges=("barsOne",), progress=False, echo=lines.append)
    assert summary.failed == 1
    assert len(lines) == 1 and lines[0].startswith(f"retrying: openai/served at {url}: "), lines
    assert summary.failures[0].endswith(f"({url}, after 2 attempts)"), summary.failures


def test_the_reference_baseline_skips_a_challenge_without_a_reference_and_says_so(project):
    import shutil

    shutil.rmtree(project / "challenges" / "barsTwo" / "reference")
    summary = run_generate(Layout.at(project), GenerateParams(), progress=False)
    assert (summary.done, summary.failed) == (3, 0) and summary.ok
    assert "baseline/reference skipped (no reference solution): barsTwo" in summary.lines()
    assert not (project / "visualizations" / "barsTwo" / "baseline__reference").exists()
    assert (project / "visualizations" / "barsTwo" / "baseline__starter" / "meta.json").is_file()
