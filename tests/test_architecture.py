"""The package reads as the pipeline: each DVC stage's package uses only itself and the core, and
every dvc.yaml stage depends on its own package plus the core (no hand-kept module lists)."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

PACKAGE = Path(__file__).resolve().parents[1] / "vizhub_pipeline"
STAGES = {"generate": "generate", "screenshot": "screenshot", "aggregate": "analysis", "export": "export"}
OPTIONAL_STAGES = {"report": "report"}  # a stage whose package may not exist in every checkout


def imported_packages(path: Path) -> set[str]:
    """The first component under vizhub_pipeline of every import in ``path`` (lazy ones too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "vizhub_pipeline" and len(parts) > 1:
                found.add(parts[1])
    return found


def stage_packages() -> dict[str, str]:
    packages = dict(STAGES)
    packages.update({stage: pkg for stage, pkg in OPTIONAL_STAGES.items() if (PACKAGE / pkg).is_dir()})
    return packages


def test_no_stage_imports_another_stage_or_a_tool():
    allowed_outside = {"core", "__version__"}
    problems = []
    for package in stage_packages().values():
        for path in sorted((PACKAGE / package).rglob("*.py")):
            for other in imported_packages(path) - allowed_outside - {package}:
                problems.append(f"{path.relative_to(PACKAGE.parent)} imports vizhub_pipeline.{other}")
    assert problems == []


def test_the_core_imports_no_stage_and_no_tool():
    problems = [
        f"{path.relative_to(PACKAGE.parent)} imports vizhub_pipeline.{other}"
        for path in sorted((PACKAGE / "core").rglob("*.py"))
        for other in imported_packages(path) - {"core"}
    ]
    assert problems == []


def test_each_dvc_stage_depends_on_its_package_and_the_core_only():
    stages = yaml.safe_load((PACKAGE.parent / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for stage, package in stage_packages().items():
        code = sorted(dep for dep in stages[stage]["deps"] if dep.startswith("vizhub_pipeline"))
        assert code == sorted(["vizhub_pipeline/core", f"vizhub_pipeline/{package}"]), stage
