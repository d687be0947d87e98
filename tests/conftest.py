"""Shared fixtures: a temporary project, and the loopback model server."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

REPO_ROOT = Path(__file__).resolve().parents[1]

BAR_HTML = """\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Bars</title>
<script src="https://cdn.jsdelivr.net/npm/d3@7"></script></head>
<body><div id="chart"></div>
<script>
// TODO: draw one rect.bar per row of data.csv
</script></body></html>
"""

BAR_REFERENCE = """\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Bars</title>
<script src="https://cdn.jsdelivr.net/npm/d3@7"></script></head>
<body><div id="chart"></div>
<script>
d3.csv("data.csv", d3.autoType).then(rows => {
  const svg = d3.select("#chart").append("svg").attr("width", 400).attr("height", 300);
  svg.selectAll("rect").data(rows).join("rect").attr("class", "bar")
    .attr("x", (d, i) => 20 + i * 60).attr("width", 50)
    .attr("y", d => 280 - d.value * 20).attr("height", d => d.value * 20).attr("fill", "steelblue");
});
</script></body></html>
"""


def write_challenge(root: Path, name: str, *, title: str = "Bars", prompt: str = "Draw one bar per row.") -> Path:
    """A small valid challenge with a starter and a reference."""
    folder = root / "challenges" / name
    (folder / "files").mkdir(parents=True)
    (folder / "reference").mkdir()
    (folder / "challenge.yaml").write_text(
        textwrap.dedent(
            f"""\
            title: {title}
            description: Bars from data.csv.
            tags: [d3, bar]
            difficulty: easy
            checks:
              - type: count
                selector: "rect.bar"
                equals: 3
              - type: no_console_errors
            """
        ),
        encoding="utf-8",
    )
    (folder / "prompt.md").write_text(prompt + "\n", encoding="utf-8")
    (folder / "files" / "index.html").write_text(BAR_HTML, encoding="utf-8")
    (folder / "files" / "data.csv").write_text("name,value\na,3\nb,5\nc,9\n", encoding="utf-8")
    (folder / "reference" / "index.html").write_text(BAR_REFERENCE, encoding="utf-8")
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A temporary benchmark project with two challenges; every output goes inside it."""
    root = tmp_path / "project"
    root.mkdir()
    write_challenge(root, "barsOne", title="Bars one")
    write_challenge(root, "barsTwo", title="Bars two", prompt="Draw bars, sorted.")
    return root


@pytest.fixture
def loopback(monkeypatch):
    """The OpenAI-compatible loopback server, with litellm's openai provider pointed at it."""
    from tests.loopback_server import LoopbackServer

    server = LoopbackServer().start()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")
    monkeypatch.setenv("OPENAI_API_BASE", server.url)
    yield server
    server.stop()


# Slow tests in modules that do not carry the mark themselves: (file, test function), or
# (file, None) for every test of the file. A name that no longer matches a test of its file
# stops the run, so a renamed test cannot slip into `make test-fast` unnoticed.
SLOW_TESTS = (
    ("test_grader_browser.py", None),  # the grader driven in real Chromium
    ("test_pairwise_browser.py", None),  # pairwise voting driven in real Chromium
    ("test_pairwise_app.py", "test_vizhub_grade_pairwise_serves_the_pair_queue"),  # a grader server in a subprocess
    ("test_aggregate.py", "test_dvc_reads_the_metrics_and_plots"),  # dvc on a real project
    ("test_grader_app.py", "test_vizhub_grade_serves_until_interrupted"),  # a grader server in a subprocess
    ("test_grades.py", "test_two_processes_grading_at_once_lose_no_row"),  # two grading processes
)


def pytest_collection_modifyitems(config, items):
    from tests.hostile_tally import check_markers

    check_markers(items)
    collected: dict[str, set[str]] = {}
    for item in items:
        collected.setdefault(item.path.name, set()).add(getattr(item, "originalname", item.name))
    for filename, function in SLOW_TESTS:
        if function is not None and filename in collected and function not in collected[filename]:
            raise pytest.UsageError(f"tests/conftest.py SLOW_TESTS names {filename}::{function}, which is not a test")
    slow = {(filename, function) for filename, function in SLOW_TESTS}
    for item in items:
        name = getattr(item, "originalname", item.name)
        if (item.path.name, None) in slow or (item.path.name, name) in slow:
            item.add_marker(pytest.mark.slow)
