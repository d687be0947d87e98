"""Code challenges in the screenshot stage: each output's test runs in the real bubblewrap sandbox
with real node, and is recorded like a render (status, one test check, captured output)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.render_helpers import write_visualization
from tests.test_import import FIXTURE
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.params import GenerateParams, ScreenshotParams
from vizhub_pipeline.core.records import read_generation, read_render
from vizhub_pipeline.generate.stage import run_generate
from vizhub_pipeline.importing import run_import
from vizhub_pipeline.screenshot.stage import run_screenshot

pytestmark = pytest.mark.slow
PARAMS = ScreenshotParams(timeout=20)

TEST = """\
import { triple } from "./functions.mjs";

if (triple(4) !== 12) {
  console.error(`expected 12, got ${triple(4)}`);
  process.exit(1);
}
console.log("triple test passed");
"""


def write_code_challenge(root: Path) -> None:
    folder = root / "challenges" / "triple"
    (folder / "files").mkdir(parents=True)
    (folder / "reference").mkdir()
    (folder / "challenge.yaml").write_text(
        textwrap.dedent(
            """\
            title: Triple
            type: code
            entry: functions.mjs
            test:
              command: [node, index.mjs]
              protected: [index.mjs]
            """
        )
    )
    (folder / "prompt.md").write_text("Implement triple in functions.mjs so that index.mjs passes.\n")
    (folder / "files" / "functions.mjs").write_text("export function triple(n) {\n}\n")
    (folder / "files" / "index.mjs").write_text(TEST)
    (folder / "reference" / "functions.mjs").write_text("export function triple(n) {\n  return 3 * n;\n}\n")


def render(layout: Layout, challenge: str, model: str):
    return read_render(layout.render_dir(challenge, model) / "render.json")


def test_baselines_and_a_model_that_rewrote_the_test(tmp_path):
    root = tmp_path / "project"
    write_code_challenge(root)
    layout = Layout.at(root)
    assert run_generate(layout, GenerateParams(), progress=False).ok
    # a generated output that "fixed" the test instead of the function
    write_visualization(
        root,
        "triple",
        "cheat/model",
        {"functions.mjs": "export function triple(n) { return n; }\n", "index.mjs": "process.exit(0);\n"},
    )
    summary = run_screenshot(layout, PARAMS, progress=False)
    assert summary.ok, summary.lines()
    assert summary.tests == {"passed": 1, "failed": 2}
    assert "code tests: 1 passed, 2 failed, 0 error, 0 timeout; 1 changed their test file" in summary.lines()

    reference = render(layout, "triple", "baseline/reference")
    assert (reference.status, reference.screenshots, reference.error) == ("passed", (), None)
    assert [(c.name, c.type, c.passed, c.message) for c in reference.checks] == [
        ("test passes", "test", True, "node index.mjs: exit code 0")
    ]
    assert reference.test is not None
    assert reference.test["stdout"] == "triple test passed\n" and reference.test["exit_code"] == 0
    assert reference.test["protected"] == ["index.mjs"] and reference.test["test_modified"] == []

    starter = render(layout, "triple", "baseline/starter")
    assert starter.status == "failed" and starter.test["stderr"] == "expected 12, got undefined\n"

    cheat = render(layout, "triple", "cheat/model")
    assert cheat.status == "failed"  # the challenge's own index.mjs ran, not the output's
    assert cheat.test["test_modified"] == ["index.mjs"]

    rows = (layout.renders / "summary.csv").read_text().splitlines()
    assert any(row.startswith("triple,baseline/reference,0,passed,1,1,") for row in rows)

    # an unchanged run is skipped; a forced one writes the same bytes
    before = {p: p.read_bytes() for p in layout.renders.rglob("render.json")}
    assert run_screenshot(layout, PARAMS, progress=False).skipped == 3
    run_screenshot(layout, PARAMS, force=True, progress=False)
    assert {p: p.read_bytes() for p in layout.renders.rglob("render.json")} == before


def test_imported_outputs_run_on_their_own_files_as_the_original_did(tmp_path):
    root = tmp_path / "project"
    (root / "challenges").mkdir(parents=True)
    layout = Layout.at(root)
    run_import("vizhub-benchmarks", FIXTURE, layout)
    summary = run_screenshot(layout, PARAMS, challenges=["double"], progress=False)
    assert summary.ok, summary.lines()
    for model in ("openrouter/acme/model-a", "openrouter/acme/model-b"):
        result = render(layout, "double", model)
        origin = read_generation(layout.visualization_dir("double", model) / "meta.json").origin
        assert result.status == {"pass": "passed", "fail": "failed"}[origin["pass_fail"]], result
        assert result.test["protected"] == []  # its own index.mjs, as the original ran it
    rewritten = render(layout, "double", "openrouter/acme/model-b")
    assert rewritten.test["test_modified"] == ["index.mjs"]
    assert rewritten.test["stderr"] == "Test failed: expected 42, got 63\n"
    assert render(layout, "double", "openrouter/acme/model-a").test["test_modified"] == []


def test_a_failed_generation_is_recorded_without_running(tmp_path):
    root = tmp_path / "project"
    write_code_challenge(root)
    write_visualization(root, "triple", "broken/model", {}, status="error", error="HTTP 500")
    summary = run_screenshot(Layout.at(root), PARAMS, progress=False)
    result = render(Layout.at(root), "triple", "broken/model")
    assert result.status == "error" and result.error == "generation error: nothing to run: HTTP 500"
    assert summary.tests == {"error": 1}


def test_a_reformatted_test_file_is_not_a_modified_one(tmp_path):
    from vizhub_pipeline.core.challenges import load_challenge
    from vizhub_pipeline.screenshot.code_tests import modified_test_files

    write_code_challenge(tmp_path)
    challenge = load_challenge(tmp_path / "challenges" / "triple")
    output = tmp_path / "output.mjs"

    def changed(text: str) -> list[str]:
        output.write_text(text)
        return modified_test_files(challenge, {"index.mjs": output})

    reformatted = "\n" + TEST.replace("triple(4)", "triple( 4 )").replace("  console", "\tconsole") + "\n   \n"
    assert changed(reformatted) == []  # as two of the original's llama-4-maverick outputs did
    assert changed("// a comment line\n" + TEST) == []
    assert changed(TEST.replace("!== 12", "!== 13")) == ["index.mjs"]
    assert changed(TEST.replace("process.exit(1);", "")) == ["index.mjs"]
    assert modified_test_files(challenge, {}) == ["index.mjs"]  # deleted
