"""A small project with a visualization challenge and a code challenge, rendered and tested.

``bars`` (visualization): model/a rendered cleanly and passed both checks; model/b rendered with a
page error and passed one check of two.
``triple`` (code): model/a's five samples ran ``passed, passed, failed, timeout, passed``; model/b's
two samples: sample 0 ``passed``, sample 1 ``error``; model/b's sample 2 has a test run of an older
artifact (outdated, not counted) and sample 3 was never tested.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.conftest import write_challenge
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.records import CheckResult, Generation, Render, write_generation, write_render

TRIPLE_TESTS = {
    ("model/a", 0): "passed",
    ("model/a", 1): "passed",
    ("model/a", 2): "failed",
    ("model/a", 3): "timeout",
    ("model/a", 4): "passed",
    ("model/b", 0): "passed",
    ("model/b", 1): "error",
}


def artifact(challenge: str, model: str, sample: int) -> str:
    return f"{challenge}-{model}-{sample}".replace("/", "_")


def write_code_challenge(root: Path, name: str = "triple") -> None:
    folder = root / "challenges" / name
    (folder / "files").mkdir(parents=True)
    (folder / "challenge.yaml").write_text(
        textwrap.dedent(
            """\
            title: Triple
            type: code
            entry: functions.mjs
            test:
              command: [node, index.mjs]
            """
        ),
        encoding="utf-8",
    )
    (folder / "prompt.md").write_text("Implement triple in functions.mjs.\n", encoding="utf-8")
    (folder / "files" / "functions.mjs").write_text("export function triple(n) {\n}\n", encoding="utf-8")
    (folder / "files" / "index.mjs").write_text("import './functions.mjs';\n", encoding="utf-8")


def add_output(layout: Layout, challenge: str, model: str, sample: int = 0) -> None:
    write_generation(
        layout.visualization_dir(challenge, model, sample) / "meta.json",
        Generation(challenge, model, sample, "ok", "in", artifact_hash=artifact(challenge, model, sample)),
    )


def code_render(challenge: str, model: str, sample: int, status: str, artifact_hash: str | None = None) -> Render:
    return Render(
        challenge,
        model,
        sample,
        status,
        artifact_hash or artifact(challenge, model, sample),
        f"r-{model}-{sample}",
        checks=(CheckResult("test passes", "test", status == "passed", f"node index.mjs: {status}"),),
        error=None if status in ("passed", "failed") else status,
        test={  # as screenshot/code_tests.py records a run
            "command": ["node", "index.mjs"],
            "protected": [],
            "test_modified": [],
            "status": status,
            "exit_code": {"passed": 0, "failed": 1}.get(status),
            "message": status,
            "stdout": "",
            "stderr": "",
            "stdout_cut": False,
            "stderr_cut": False,
        },
    )


def make_mixed_project(root: Path) -> Layout:
    layout = Layout.at(root)
    write_challenge(root, "bars")
    write_code_challenge(root)
    for model, page_errors, checks in (
        ("model/a", (), (True, True)),
        ("model/b", ("TypeError: x is undefined",), (True, False)),
    ):
        add_output(layout, "bars", model)
        write_render(
            layout.render_dir("bars", model) / "render.json",
            Render(
                "bars",
                model,
                0,
                "rendered",
                artifact("bars", model, 0),
                f"r-{model}",
                checks=tuple(CheckResult(f"check {i}", "count", ok) for i, ok in enumerate(checks)),
                page_errors=page_errors,
            ),
        )
    for (model, sample), status in TRIPLE_TESTS.items():
        add_output(layout, "triple", model, sample)
        write_render(
            layout.render_dir("triple", model, sample) / "render.json", code_render("triple", model, sample, status)
        )
    add_output(layout, "triple", "model/b", 2)
    write_render(
        layout.render_dir("triple", "model/b", 2) / "render.json",
        code_render("triple", "model/b", 2, "passed", artifact_hash="an older artifact"),
    )
    add_output(layout, "triple", "model/b", 3)
    return layout
