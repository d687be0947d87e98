"""Every shipped challenge, for real: a visualization's reference renders and passes all its checks
(interaction steps included) and its starter fails at least one; a code challenge's test passes on
the reference and fails on the starter, in the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.render_helpers import BrowserThread, write_visualization
from vizhub_pipeline.core.challenges import load_challenge, validate_challenge
from vizhub_pipeline.core.params import ScreenshotParams

pytestmark = pytest.mark.slow  # every test renders in real Chromium

CHALLENGES = Path(__file__).resolve().parents[1] / "challenges"
FOLDERS = (
    sorted(p for p in CHALLENGES.iterdir() if p.is_dir() and not p.name.startswith(".")) if CHALLENGES.is_dir() else []
)


@pytest.fixture(scope="module")
def browser():
    thread = BrowserThread()
    yield thread
    thread.close()


def render(browser: BrowserThread, tmp_path: Path, folder: Path, model: str, files: dict):
    from vizhub_pipeline.core.mirror import Mirror, find_node_modules
    from vizhub_pipeline.core.records import read_generation
    from vizhub_pipeline.screenshot.stage import RenderItem, page_files, render_item

    challenge = load_challenge(folder)
    viz = write_visualization(tmp_path, challenge.id, model, files)
    generation = read_generation(viz / "meta.json")
    item = RenderItem(
        viz, generation, challenge, challenge.viewport.width, challenge.viewport.height, page_files(viz, generation)
    )
    out = tmp_path / "out" / model.replace("/", "_")
    out.mkdir(parents=True)
    mirror = Mirror(find_node_modules(Path(__file__).resolve().parents[1]))
    return browser.run(render_item(browser.session, item, ScreenshotParams(timeout=20), mirror, "test", out))


def run_test(tmp_path: Path, folder: Path, model: str, files: dict):
    import asyncio

    from vizhub_pipeline.core.records import read_generation
    from vizhub_pipeline.screenshot.stage import RenderItem, page_files, run_code_item

    challenge = load_challenge(folder)
    viz = write_visualization(tmp_path, challenge.id, model, files)
    generation = read_generation(viz / "meta.json")
    item = RenderItem(viz, generation, challenge, 800, 600, page_files(viz, generation))
    return asyncio.run(run_code_item(item, ScreenshotParams(timeout=20), "test", tmp_path))


def describe(render) -> str:
    lines = [f"status {render.status} {render.error or ''}"]
    lines += [f"  {'ok  ' if c.passed else 'FAIL'} [{c.step or 'page'}] {c.name}: {c.message}" for c in render.checks]
    lines += [f"  page error: {e}" for e in render.page_errors] + [f"  console: {e}" for e in render.console_errors]
    lines += [f"  blocked: {e}" for e in render.blocked_requests]
    return "\n".join(lines)


@pytest.mark.skipif(not FOLDERS, reason="no challenges shipped yet")
@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
def test_reference_passes_and_starter_fails(browser, tmp_path, folder):
    problems = validate_challenge(folder)
    assert not problems, "\n".join(str(p) for p in problems)
    challenge = load_challenge(folder)
    assert challenge.reference, f"{folder} has no reference/ solution"
    if challenge.test is not None:
        reference = run_test(tmp_path, folder, "baseline/reference", challenge.reference_files)
        assert reference.status == "passed", reference
        starter = run_test(tmp_path, folder, "baseline/starter", dict(challenge.files))
        assert starter.status == "failed", starter
        return
    assert challenge.checks, f"{folder} has no checks"

    reference = render(browser, tmp_path, folder, "baseline/reference", challenge.reference_files)
    assert reference.status == "rendered", describe(reference)
    assert all(check.passed for check in reference.checks), describe(reference)
    assert not reference.blocked_requests, describe(reference)

    starter = render(browser, tmp_path, folder, "baseline/starter", dict(challenge.files))
    assert any(not check.passed for check in starter.checks), describe(starter)


def test_check_render_verifies_reference_and_starter_in_chromium(project):
    from click.testing import CliRunner

    from tests.conftest import BAR_HTML, BAR_REFERENCE, write_challenge
    from vizhub_pipeline.cli import cli

    (project / "challenges" / "barsTwo" / "files" / "index.html").write_text(BAR_REFERENCE, encoding="utf-8")
    write_challenge(project, "barsThree")
    (project / "challenges" / "barsThree" / "reference" / "index.html").write_text(BAR_HTML, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["challenge", "check", "--render", "--project", str(project)], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert "ok    barsOne: 2 checks, 0 interaction steps, reference passes and starter fails in Chromium" in lines
    two = project / "challenges" / "barsTwo"
    assert (
        f"error {two}: the starter passes every check: the checks cannot tell an unedited page from a solution" in lines
    )
    three = project / "challenges" / "barsThree"
    assert f"error {three}: the reference did not render (blank)" in lines
    assert (
        f"error {three}: the reference fails check 'count rect.bar': 0 element(s) match rect.bar (expected exactly 3)"
        in lines
    )
    assert lines[-1] == "Error: 3 problem(s) in challenge folders"
