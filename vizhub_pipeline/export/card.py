"""The dataset card (``exports/README.md``): a HuggingFace YAML header and a body rendered with Jinja2.

The header declares one config per non-empty file with its ``data_files`` and ``features``,
so ``datasets.load_dataset("<folder or repo>", "pairs")`` types every column even where a
statistic is null in the first rows. The body explains the rubric, the graders, their
agreement (from the aggregate stage's ``reliability.json``, read defensively), the models,
the challenges, the counts and how to load the files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

from vizhub_pipeline.core import rubric
from vizhub_pipeline.core.params import ExportParams
from vizhub_pipeline.core.records import DIMENSIONS
from vizhub_pipeline.export.images import IMAGES_DIR
from vizhub_pipeline.export.provenance import describe_grade_source

TEMPLATE = "dataset_card.md.j2"
PRETTY_NAME = "VizHub: human preferences on AI edits of interactive data visualizations"
SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
)
MAX_LISTED_CHALLENGES = 50
ALPHA_LABEL = "Krippendorff's alpha (ordinal)"
ICC_FORMS = (("icc2_1", "ICC(2,1)"), ("icc2_k", "ICC(2,k)"))


def size_category(rows: int) -> str:
    """HuggingFace's ``size_categories`` bucket for ``rows`` examples."""
    for limit, name in SIZE_CATEGORIES:
        if rows < limit:
            return name
    return "n>1B"


# --------------------------------------------------------------------------- features


def _string(name: str) -> dict:
    return {"name": name, "dtype": "string"}


def _dtype(name: str, dtype: str) -> dict:
    return {"name": name, "dtype": dtype}


def _messages(name: str) -> dict:
    return {"name": name, "list": [_string("role"), _string("content")]}


def _scores(name: str) -> dict:
    # fresh dicts for every dimension: shared ones would be dumped as YAML aliases
    stats = ("mean", "median", "std", "ci_low", "ci_high")
    return {
        "name": name,
        "struct": [{"name": dim, "struct": [_dtype(stat, "float64") for stat in stats]} for dim in DIMENSIONS],
    }


def features(kind: str, fmt: str, images: bool) -> list[dict]:
    """The columns of one export file as HuggingFace YAML ``features`` (the order rows are written in)."""
    text = _messages if fmt == "conversational" else _string
    if kind == "pairs":
        columns = [text("prompt"), text("chosen"), text("rejected")]
        columns += [_dtype(name, "float64") for name in ("margin", "score_chosen", "score_rejected")]
        columns += [_string("challenge"), _string("model_chosen"), _string("model_rejected")]
        columns += [
            _dtype(name, "int64")
            for name in ("sample_chosen", "sample_rejected", "n_graders_chosen", "n_graders_rejected")
        ]
        columns += [_scores("scores_chosen"), _scores("scores_rejected")]
        columns += [_string("artifact_hash_chosen"), _string("artifact_hash_rejected")]
        columns += [_string("pair_source"), _string("source"), _dtype("votes_chosen", "int64")]
        columns += [_dtype("votes_rejected", "int64"), _string("dataset_version")]
    else:
        if kind == "kto":
            columns = [text("prompt"), text("completion"), _dtype("label", "bool")]
        elif fmt == "conversational":
            columns = [_messages("messages")]
        else:
            columns = [_string("prompt"), _string("completion")]
        columns += [_dtype("score", "float64"), _string("challenge"), _string("model")]
        columns += [_dtype("sample", "int64"), _dtype("n_graders", "int64"), _scores("scores")]
        columns += [_string("artifact_hash"), _string("dataset_version")]
    if images and kind == "pairs":
        # the pairs config reads images/ (metadata.jsonl and the PNGs): decoded images
        columns += [_dtype("chosen_image", "image"), _dtype("rejected_image", "image")]
        columns.append({"name": "images", "list": "image"})
    elif images:
        columns += [_string("completion_image"), {"name": "images", "list": "string"}]
    return columns


# --------------------------------------------------------------------------- reliability


def read_reliability(path: Path) -> dict[str, Any]:
    """The headline agreement figures of the aggregate stage's ``reliability.json``.

    Returns ``{"status": "missing" | "unreadable" | "ok", "alpha": [...], "icc": [...],
    "graders": int | None, "error": str | None}``; each alpha/ICC entry is ``{"dimension",
    "label", "value", "ci_low", "ci_high"}``, only for the figures that exist. The file's
    layout (see :mod:`vizhub_pipeline.analysis.aggregate`): ``alpha.<dimension>.{value, ci_low, ci_high}``,
    ``icc`` null or ``icc.<dimension>`` null or ``{icc2_1, icc2_k}``, ``grades.graders``.
    Per-challenge and per-grader breakdowns are left to results/consensus/.
    """
    result: dict[str, Any] = {"status": "missing", "alpha": [], "icc": [], "graders": None, "error": None}
    path = Path(path)
    if not path.is_file():
        return result
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        alpha = [
            {
                "dimension": dim,
                "label": ALPHA_LABEL,
                "value": _number(node["value"]),
                "ci_low": _number(node.get("ci_low")),
                "ci_high": _number(node.get("ci_high")),
            }
            for dim in DIMENSIONS
            for node in [data["alpha"].get(dim) or {"value": None}]
            if _number(node["value"]) is not None
        ]
        icc_block = data.get("icc") or {}
        icc = [
            {"dimension": dim, "label": label, "value": _number(node[key]), "ci_low": None, "ci_high": None}
            for dim in DIMENSIONS
            for node in [icc_block.get(dim) or {}]
            for key, label in ICC_FORMS
            if _number(node.get(key)) is not None
        ]
        graders = data.get("grades", {}).get("graders")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, AttributeError, TypeError) as exc:
        result.update(
            status="unreadable",
            error=f"{path}: not the layout the aggregate stage writes ({type(exc).__name__}: {exc})",
        )
        return result
    result.update(status="ok", alpha=alpha, icc=icc, graders=graders if isinstance(graders, int) else None)
    return result


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


# --------------------------------------------------------------------------- rendering


def card_header(summary, params: ExportParams, paths: dict[str, Path]) -> dict[str, Any]:
    """The YAML metadata of the card (a dict, dumped in insertion order)."""
    configs, infos = [], []
    for kind in ("pairs", "kto", "sft"):
        name = paths[kind].name
        if not summary.files.get(name):
            continue  # datasets cannot load a file with no rows: no config for it
        if kind == "pairs" and params.images:
            name = f"{IMAGES_DIR}/*"  # the image-folder layout: metadata.jsonl and the PNGs it names
        config: dict[str, Any] = {"config_name": kind, "data_files": [{"split": "train", "path": name}]}
        if kind == "pairs":
            config["default"] = True
        configs.append(config)
        infos.append({"config_name": kind, "features": features(kind, params.format, params.images)})
    tags = ["dpo", "preference", "rlhf", "code", "data-visualization", "kto", "sft", "human-feedback"]
    categories = ["text-generation"]
    if params.images:
        tags.append("vision")
        categories.append("image-text-to-text")
    header: dict[str, Any] = {
        "pretty_name": PRETTY_NAME,
        "license": params.license,
        "language": ["en"],
        "tags": tags,
        "task_categories": categories,
        "size_categories": [size_category(summary.pairs)],
        "annotations_creators": ["expert-generated"],
        "language_creators": ["machine-generated"],
        "source_datasets": ["original"],
    }
    if configs:
        header["configs"] = configs
        header["dataset_info"] = infos
    return header


def render_card(summary, params: ExportParams, paths: dict[str, Path], reliability: dict[str, Any]) -> str:
    """The full README.md text: YAML front matter, then the Jinja2 body."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    header = yaml.safe_dump(card_header(summary, params, paths), sort_keys=False, allow_unicode=True, width=1000)
    models = sorted(summary.models.items(), key=lambda entry: (-entry[1].mean, entry[0]))
    challenges = sorted(summary.challenges.items())
    graders = sorted(summary.graders.items())
    context = {
        "header": header.rstrip("\n"),
        "pretty_name": PRETTY_NAME,
        "params": params,
        "summary": summary,
        "files": {kind: paths[kind].name for kind in ("pairs", "kto", "sft", "openai")},
        "rows": {kind: summary.files.get(paths[kind].name, 0) for kind in ("pairs", "kto", "sft", "openai")},
        "models": models,
        "challenges": challenges[:MAX_LISTED_CHALLENGES],
        "more_challenges": max(0, len(challenges) - MAX_LISTED_CHALLENGES),
        "graders": graders,
        "grade_sources": [(describe_grade_source(key), count) for key, count in summary.grade_sources.items()],
        "margins": sorted(summary.margins.items(), key=lambda entry: float(entry[0][1:].split(",")[0])),
        "reliability": reliability,
        "rubric": {"functionality": rubric.FUNCTIONALITY, "aesthetics": rubric.AESTHETICS},
        "fmt": _fmt,
    }
    return environment.get_template(TEMPLATE).render(**context)


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.{digits}f}"
    return "0." + "0" * digits if text == "-0." + "0" * digits else text
