"""The dataset card: size buckets, the features it declares, reliability read defensively, the header."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from vizhub_pipeline.core.params import ExportParams
from vizhub_pipeline.export.card import card_header, features, read_reliability, render_card, size_category
from vizhub_pipeline.export.stage import ExportSummary, ModelStats


@pytest.mark.parametrize(
    "rows, bucket",
    [
        (0, "n<1K"),
        (999, "n<1K"),
        (1000, "1K<n<10K"),
        (435_000, "100K<n<1M"),
        (1_000_000, "1M<n<10M"),
        (2_000_000_000, "n>1B"),
    ],
)
def test_size_categories_follow_the_hub_buckets(rows, bucket):
    assert size_category(rows) == bucket


@pytest.mark.parametrize("fmt", ["standard", "conversational"])
def test_declared_features_are_what_datasets_expects(fmt):
    from datasets import Features, Image, List, Value

    text = Value("string") if fmt == "standard" else List({"role": Value("string"), "content": Value("string")})
    stats = {name: Value("float64") for name in ("mean", "median", "std", "ci_low", "ci_high")}
    scores = {dim: dict(stats) for dim in ("functionality", "aesthetics", "overall")}
    pairs = Features._from_yaml_list(features("pairs", fmt, images=True))
    assert pairs["prompt"] == text and pairs["chosen"] == text and pairs["rejected"] == text
    assert pairs["margin"] == Value("float64") and pairs["n_graders_chosen"] == Value("int64")
    assert pairs["scores_rejected"] == scores and pairs["images"] == List(Image())
    assert pairs["chosen_image"] == Image() and pairs["rejected_image"] == Image()
    assert pairs["pair_source"] == Value("string") and pairs["votes_chosen"] == Value("int64")
    kto_images = Features._from_yaml_list(features("kto", fmt, images=True))
    assert kto_images["completion_image"] == Value("string") and kto_images["images"] == List(Value("string"))
    kto = Features._from_yaml_list(features("kto", fmt, images=False))
    assert kto["label"] == Value("bool") and kto["completion"] == text and "images" not in kto
    sft = Features._from_yaml_list(features("sft", fmt, images=False))
    assert ("messages" in sft) == (fmt == "conversational") and ("completion" in sft) == (fmt == "standard")


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "reliability.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_reliability_is_missing_or_unreadable_without_failing(tmp_path):
    assert read_reliability(tmp_path / "absent.json")["status"] == "missing"
    broken = read_reliability(write(tmp_path, "{oops"))
    assert broken["status"] == "unreadable" and broken["alpha"] == []


def test_reliability_in_another_layout_is_unreadable_not_guessed(tmp_path):
    found = read_reliability(write(tmp_path, {"alpha": [0.5], "icc": None}))
    assert found["status"] == "unreadable" and found["alpha"] == []
    assert "reliability.json" in found["error"]


def test_reliability_reads_the_layout_the_aggregate_stage_writes(tmp_path):
    alpha = {"value": 0.71234, "ci_low": 0.6, "ci_high": 0.8, "units": 40, "values": 95}
    data = {
        "confidence": 0.95,
        "methods": {"alpha": "Krippendorff's alpha, ordinal level", "icc": "ICC(2,1) and ICC(2,k)"},
        "grades": {"read": 120, "counted": 110, "graders": 4},
        "alpha": {
            "functionality": alpha,
            "aesthetics": {**alpha, "value": None, "ci_low": None, "ci_high": None},
            "overall": alpha,
        },
        "alpha_by_challenge": {"bars": {"overall": {"value": 0.1, "ci_low": 0.0, "ci_high": 0.2}}},
        "icc": {
            "items": 12,
            "graders": ["ana", "ben"],
            "functionality": {"icc2_1": 0.55, "icc2_k": 0.7},
            "aesthetics": None,
            "overall": {"icc2_1": 0.6, "icc2_k": 0.75},
        },
        "pairwise_mean_kappa": {"overall": 0.5},
    }
    found = read_reliability(write(tmp_path, data))
    assert [(e["dimension"], e["value"], e["ci_low"]) for e in found["alpha"]] == [
        ("functionality", 0.71234, 0.6),
        ("overall", 0.71234, 0.6),
    ]
    assert [(e["label"], e["dimension"], e["value"]) for e in found["icc"]] == [
        ("ICC(2,1)", "functionality", 0.55),
        ("ICC(2,k)", "functionality", 0.7),
        ("ICC(2,1)", "overall", 0.6),
        ("ICC(2,k)", "overall", 0.75),
    ]
    assert found["graders"] == 4
    assert read_reliability(write(tmp_path, {"alpha": {"overall": {"value": None}}, "icc": None}))["alpha"] == []


def _summary(tmp_path: Path, **counts) -> tuple[ExportSummary, dict[str, Path]]:
    paths = {
        "pairs": tmp_path / "preferences.jsonl",
        "kto": tmp_path / "kto.jsonl",
        "sft": tmp_path / "sft.jsonl",
        "openai": tmp_path / "openai_dpo.jsonl",
    }
    summary = ExportSummary(output=paths["pairs"], **counts)
    summary.files = {"preferences.jsonl": summary.pairs, "kto.jsonl": summary.kto_true, "sft.jsonl": summary.sft}
    return summary, paths


def test_header_declares_configs_only_for_files_with_rows(tmp_path):
    summary, paths = _summary(tmp_path, pairs=0, kto_true=2, sft=1)
    header = card_header(summary, ExportParams(), paths)
    assert [c["config_name"] for c in header["configs"]] == ["kto", "sft"]
    empty, paths = _summary(tmp_path)
    assert "configs" not in card_header(empty, ExportParams(), paths)


def test_header_with_images_adds_the_vision_task_and_a_custom_licence(tmp_path):
    summary, paths = _summary(tmp_path, pairs=1500, kto_true=1, sft=1)
    header = card_header(summary, replace(ExportParams(), images=True, license="cc-by-4.0"), paths)
    assert header["license"] == "cc-by-4.0" and header["size_categories"] == ["1K<n<10K"]
    assert header["task_categories"] == ["text-generation", "image-text-to-text"] and "vision" in header["tags"]
    assert header["dataset_info"][0]["features"][-1] == {"name": "images", "list": "image"}
    assert header["configs"][0]["data_files"] == [{"split": "train", "path": "images/*"}]  # the image-folder rows


@pytest.mark.parametrize("fmt, pairs, images", [("standard", "all", False), ("conversational", "best-vs-rest", True)])
def test_every_template_branch_renders(tmp_path, fmt, pairs, images):
    summary, paths = _summary(tmp_path, pairs=3, kto_true=1, sft=1, eligible=3, rows=4, ungraded=1)
    summary.models = {
        "m/a": ModelStats(items=2, score_sum=7.0, chosen=2, best=1),
        "m/b": ModelStats(items=1, score_sum=1.0, rejected=2),
    }
    summary.challenges = {f"c{i:02d}": (3, 3) for i in range(60)}
    summary.graders = {2: 3}
    summary.margins = {"[1, 2)": 2, "[0.5, 1)": 1}
    reliability = {
        "status": "ok",
        "alpha": [
            {
                "dimension": "overall",
                "label": "Krippendorff's alpha (ordinal)",
                "value": 0.5,
                "ci_low": None,
                "ci_high": None,
            }
        ],
        "icc": [{"dimension": "overall", "label": "ICC(2,1)", "value": 0.25, "ci_low": None, "ci_high": None}],
        "graders": None,
    }
    params = replace(ExportParams(), format=fmt, pairs=pairs, images=images)
    card = render_card(summary, params, paths, reliability)
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["annotations_creators"] == ["expert-generated"]
    assert "| Krippendorff's alpha (ordinal) | overall | 0.500 | n/a |" in card
    assert "| ICC(2,1) | overall | 0.250 | n/a |" in card
    assert "| `m/a` | 2 | 3.50 | 2 | 0 | 1 |" in card
    assert "... and 10 more" in card
    assert card.index("| [0.5, 1) | 1 |") < card.index("| [1, 2) | 2 |")
    assert ("`chosen_image`, `rejected_image`: the screenshots" in card) == images
    assert ("the best output and each other output" in card) == (pairs == "best-vs-rest")
    assert ("`prompt` is the list of chat messages" in card) == (fmt == "conversational")
    assert card.endswith("\n") and "\n\n\n" not in card
