"""The export stage: consensus rows in, TRL-ready JSONL files, a dataset card and meta.json out.

Every exported file is loaded with HuggingFace ``datasets`` (``load_dataset("json", ...)``) and
checked for the columns TRL's trainers read. Sources (paths in the TRL repository, huggingface/trl, main):

- docs/source/dataset_formats.md: preference = ``prompt``, ``chosen``, ``rejected`` (standard:
  strings; conversational: lists of ``{"role", "content"}``); unpaired preference (KTOTrainer,
  BCOTrainer) = ``prompt``, ``completion``, ``label`` (bool); prompt-completion or ``messages``
  for SFTTrainer; vision datasets add an ``images`` column.
- docs/source/dpo_trainer.md: DPOTrainer takes a preference dataset, explicit prompt
  recommended; for vision-language models an extra ``images`` column.
- docs/source/reward_trainer.md and trl/trainer/reward_trainer.py: RewardTrainer takes a
  preference dataset (implicit or explicit prompt); its DataCollatorForPreference passes an
  optional per-example ``margin`` on to the loss.
- docs/source/kto_trainer.md: KTOTrainer takes unpaired preference (or preference) data.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vizhub_pipeline.cli import cli
from vizhub_pipeline.core.challenges import load_challenge
from vizhub_pipeline.core.errors import InputError
from vizhub_pipeline.core.layout import Layout, hash_files
from vizhub_pipeline.core.params import ExportParams
from vizhub_pipeline.core.prompting import build_messages
from vizhub_pipeline.core.records import ConsensusRow, Generation, ScoreSummary, write_consensus, write_generation
from vizhub_pipeline.export.stage import EligibleOutput, candidate_pairs, kto_label, rank_items, run_export

PAIR_COLUMNS_TRL = {"prompt", "chosen", "rejected"}
EXPORT_FILES = ("preferences.jsonl", "kto.jsonl", "sft.jsonl", "openai_dpo.jsonl", "README.md", "meta.json")


@pytest.fixture(scope="session", autouse=True)
def offline_datasets(tmp_path_factory):
    """datasets never touches the network or the user's cache in these tests."""
    home = tmp_path_factory.mktemp("hf-home")
    old = {key: os.environ.get(key) for key in ("HF_DATASETS_OFFLINE", "HF_HOME", "HF_HUB_OFFLINE")}
    os.environ.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_HOME=str(home))
    yield
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def load_json(path: Path, tmp_path: Path, **kwargs):
    from datasets import load_dataset

    return load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf-cache"), **kwargs)


def summary_of(mean: float, graders: int = 2) -> ScoreSummary:
    if graders == 1:
        return ScoreSummary(mean, mean, float("nan"), float("nan"), float("nan"))
    return ScoreSummary(mean, mean, 0.5, max(0.0, mean - 0.5), min(5.0, mean + 0.5))


def reply_for(model: str, challenge: str) -> str:
    return f"Here is the page from {model}.\n\n**index.html**\n```html\n<p>{challenge} by {model}</p>\n```\n"


def add_output(
    project: Path,
    challenge: str,
    model: str,
    overall: float | None,
    *,
    graders: int = 2,
    sample: int = 0,
    status: str = "ok",
    write: bool = True,
    reply: str | None = None,
    screenshot: bool = False,
) -> ConsensusRow:
    """A visualization folder (meta.json, response.md) and its consensus row."""
    layout = Layout.at(project)
    reply = reply_for(model, challenge) if reply is None else reply
    files = {"index.html": f"<p>{challenge} by {model}</p>\n"}
    artifact = hash_files(files) if status == "ok" else None
    if write:
        folder = layout.visualization_dir(challenge, model, sample)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.html").write_text(files["index.html"], encoding="utf-8")
        (folder / "response.md").write_text(reply, encoding="utf-8")
        write_generation(
            folder / "meta.json",
            Generation(
                challenge=challenge,
                model=model,
                sample=sample,
                status=status,
                input_hash="in",
                artifact_hash=artifact,
                files=("index.html",),
            ),
        )
    if screenshot:
        from PIL import Image

        shot = layout.render_dir(challenge, model, sample) / "screenshot.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 6), (len(model) * 20 % 255, 90, 160)).save(shot)
    if overall is None:
        return ConsensusRow(challenge, model, sample, artifact, 0, 0, None, None, None)
    dims = summary_of(overall, graders)
    return ConsensusRow(challenge, model, sample, artifact or "h", graders, 0, dims, dims, dims)


def write_rows(project: Path, rows) -> None:
    write_consensus(project / "results" / "consensus" / "consensus.csv", rows)


def export(project: Path, **overrides):
    return run_export(Layout.at(project), replace(ExportParams(), **overrides))


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def standard_prompt(project: Path, challenge: str) -> str:
    system, user = build_messages(load_challenge(project / "challenges" / challenge))
    return system["content"] + "\n\n" + user["content"]


@pytest.fixture
def graded(project):
    """barsOne: three models 4.5 / 3.0 / 1.0; barsTwo: two models 4.0 / 3.8 (margin 0.2)."""
    rows = [
        add_output(project, "barsOne", "openai/gpt-4o", 4.5),
        add_output(project, "barsOne", "anthropic/claude-3-5-haiku", 3.0),
        add_output(project, "barsOne", "baseline/starter", 1.0),
        add_output(project, "barsTwo", "openai/gpt-4o", 4.0),
        add_output(project, "barsTwo", "baseline/starter", 3.8),
    ]
    write_rows(project, rows)
    return project


# --------------------------------------------------------------------------- pure functions


def test_pairs_keep_the_margin_and_best_vs_rest_pairs_only_the_best():
    rows = [
        add_output(Path("/nonexistent"), "c", f"m{i}", score, write=False)
        for i, score in enumerate((1.0, 4.5, 3.0, 4.0))
    ]
    ranked = rank_items(EligibleOutput(row=row, reply="r") for row in rows)
    assert [item.row.model for item in ranked] == ["m1", "m3", "m2", "m0"]
    every = [(a.row.model, b.row.model, m) for a, b, m in candidate_pairs(ranked, "all")]
    assert every == [
        ("m1", "m3", 0.5),
        ("m1", "m2", 1.5),
        ("m1", "m0", 3.5),
        ("m3", "m2", 1.0),
        ("m3", "m0", 3.0),
        ("m2", "m0", 2.0),
    ]
    best = [(a.row.model, b.row.model) for a, b, _ in candidate_pairs(ranked, "best-vs-rest")]
    assert best == [("m1", "m3"), ("m1", "m2"), ("m1", "m0")]
    assert [kto_label(s, 3.5, 2.0) for s in (5.0, 3.5, 3.4999, 2.5, 2.0, 0.0)] == [True, True, None, None, False, False]


# --------------------------------------------------------------------------- standard format


def test_standard_pairs_load_with_datasets_and_carry_trl_columns(graded, tmp_path):
    summary = export(graded)
    assert summary.pairs == 3  # barsTwo's 0.2 margin is below 0.5
    exports = graded / "exports"
    pairs = load_json(exports / "preferences.jsonl", tmp_path)
    assert PAIR_COLUMNS_TRL | {"margin", "score_chosen", "score_rejected"} <= set(pairs.column_names)
    assert pairs.features["prompt"].dtype == "string" and pairs.features["chosen"].dtype == "string"
    assert pairs.features["margin"].dtype == "float64"
    first = pairs[0]
    assert first["prompt"] == standard_prompt(graded, "barsOne")
    assert first["chosen"] == reply_for("openai/gpt-4o", "barsOne")
    assert first["rejected"] == reply_for("anthropic/claude-3-5-haiku", "barsOne")
    assert (first["margin"], first["score_chosen"], first["score_rejected"]) == (1.5, 4.5, 3.0)
    assert [(row["model_chosen"], row["model_rejected"], row["margin"]) for row in pairs] == [
        ("openai/gpt-4o", "anthropic/claude-3-5-haiku", 1.5),
        ("openai/gpt-4o", "baseline/starter", 3.5),
        ("anthropic/claude-3-5-haiku", "baseline/starter", 2.0),
    ]
    assert first["scores_chosen"]["functionality"] == {
        "mean": 4.5,
        "median": 4.5,
        "std": 0.5,
        "ci_low": 4.0,
        "ci_high": 5.0,
    }
    assert first["n_graders_chosen"] == 2 and first["challenge"] == "barsOne" and first["dataset_version"] == "0.1.0"
    assert first["artifact_hash_chosen"] == hash_files({"index.html": "<p>barsOne by openai/gpt-4o</p>\n"})
    assert all(row["chosen"].strip() and row["rejected"].strip() for row in pairs)

    kto = load_json(exports / "kto.jsonl", tmp_path)
    assert {"prompt", "completion", "label"} <= set(kto.column_names) and kto.features["label"].dtype == "bool"
    assert [(row["challenge"], row["model"], row["label"]) for row in kto] == [
        ("barsOne", "openai/gpt-4o", True),  # 4.5; claude's 3.0 lies between the thresholds
        ("barsOne", "baseline/starter", False),
        ("barsTwo", "openai/gpt-4o", True),
        ("barsTwo", "baseline/starter", True),
    ]
    sft = load_json(exports / "sft.jsonl", tmp_path)
    assert {"prompt", "completion"} <= set(sft.column_names)
    assert [(row["challenge"], row["model"], row["score"]) for row in sft] == [
        ("barsOne", "openai/gpt-4o", 4.5),
        ("barsTwo", "openai/gpt-4o", 4.0),
    ]
    assert sft[1]["prompt"] == standard_prompt(graded, "barsTwo")


def test_conversational_files_hold_role_content_messages(graded, tmp_path):
    export(graded, format="conversational", min_margin=0.1)
    exports = graded / "exports"
    messages = build_messages(load_challenge(graded / "challenges" / "barsTwo"))
    pairs = load_json(exports / "preferences.jsonl", tmp_path)
    assert len(pairs) == 4
    last = pairs[3]
    assert last["prompt"] == messages
    assert [m["role"] for m in last["prompt"]] == ["system", "user"]
    assert last["chosen"] == [{"role": "assistant", "content": reply_for("openai/gpt-4o", "barsTwo")}]
    assert last["rejected"] == [{"role": "assistant", "content": reply_for("baseline/starter", "barsTwo")}]
    assert last["margin"] == 0.2
    kto = load_json(exports / "kto.jsonl", tmp_path)
    assert kto[0]["completion"] == [{"role": "assistant", "content": reply_for("openai/gpt-4o", "barsOne")}]
    assert isinstance(kto[0]["label"], bool)
    sft = load_json(exports / "sft.jsonl", tmp_path)
    assert "messages" in sft.column_names and "prompt" not in sft.column_names
    assert sft[1]["messages"] == messages + [{"role": "assistant", "content": reply_for("openai/gpt-4o", "barsTwo")}]


@pytest.mark.parametrize("fmt", ["standard", "conversational"])
def test_the_card_configs_load_the_folder_with_the_declared_features(graded, tmp_path, fmt):
    from datasets import load_dataset
    from datasets.features import Features

    export(graded, format=fmt)
    exports = graded / "exports"
    header = yaml.safe_load((exports / "README.md").read_text(encoding="utf-8").split("---\n")[1])
    assert [c["config_name"] for c in header["configs"]] == ["pairs", "kto", "sft"]
    assert header["configs"][0]["data_files"] == [{"split": "train", "path": "preferences.jsonl"}]
    for info in header["dataset_info"]:
        assert "&id" not in (exports / "README.md").read_text(encoding="utf-8")  # no YAML aliases
        declared = Features._from_yaml_list(copy.deepcopy(info["features"]))
        file = next(c for c in header["configs"] if c["config_name"] == info["config_name"])["data_files"][0]["path"]
        inferred = load_json(exports / file, tmp_path).features
        assert declared == inferred, info["config_name"]
        from_card = load_dataset(str(exports), info["config_name"], split="train", cache_dir=str(tmp_path / "hf-cache"))
        assert from_card.features == declared and len(from_card) == len(read_lines(exports / file))


def test_a_statistic_null_in_the_first_rows_still_loads_through_the_card(project, tmp_path):
    """Single-grader outputs have no spread or interval (null); the card's features type them."""
    rows = [add_output(project, "barsOne", f"m{i}", 1.0 + i, graders=1) for i in range(4)]
    rows += [add_output(project, "barsTwo", f"m{i}", 1.0 + i, graders=3) for i in range(4)]
    write_rows(project, rows)
    export(project)
    pairs = read_lines(project / "exports" / "preferences.jsonl")
    assert pairs[0]["scores_chosen"]["overall"]["std"] is None and pairs[-1]["scores_chosen"]["overall"]["std"] == 0.5
    from datasets import load_dataset

    loaded = load_dataset(str(project / "exports"), "pairs", split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert loaded.features["scores_chosen"]["overall"]["std"].dtype == "float64"
    assert loaded[0]["scores_chosen"]["overall"]["std"] is None and loaded[-1]["scores_chosen"]["overall"]["std"] == 0.5


# --------------------------------------------------------------------------- selection


def test_best_vs_rest_pairs_the_best_output_against_each_other(project, tmp_path):
    write_rows(
        project, [add_output(project, "barsOne", f"m{i}", score) for i, score in enumerate((2.0, 5.0, 4.25, 0.5))]
    )
    summary = export(project, pairs="best-vs-rest")
    pairs = load_json(project / "exports" / "preferences.jsonl", tmp_path)
    assert [(row["model_chosen"], row["model_rejected"], row["margin"]) for row in pairs] == [
        ("m1", "m2", 0.75),
        ("m1", "m0", 3.0),
        ("m1", "m3", 4.5),
    ]
    assert summary.candidates == 3


def test_min_votes_and_min_margin_filter_pairs(project, tmp_path):
    rows = [
        add_output(project, "barsOne", "a", 5.0, graders=3),
        add_output(project, "barsOne", "b", 4.0, graders=1),
        add_output(project, "barsOne", "c", 3.5, graders=2),
        add_output(project, "barsOne", "d", 3.0, graders=2),
    ]
    write_rows(project, rows)
    loose = export(project, min_votes=1, min_margin=0.5)
    assert (loose.pairs, loose.below_margin) == (6, 0)  # b-c and c-d differ by exactly 0.5: kept
    strict = export(project, min_votes=2, min_margin=1.0)
    pairs = read_lines(project / "exports" / "preferences.jsonl")
    assert [(p["model_chosen"], p["model_rejected"]) for p in pairs] == [("a", "c"), ("a", "d")]
    assert (strict.too_few_votes, strict.eligible, strict.candidates, strict.below_margin) == (1, 3, 3, 1)


def test_margin_boundary_is_inclusive_and_ties_never_pair(project):
    rows = [add_output(project, "barsOne", m, s) for m, s in (("a", 3.5), ("b", 3.0), ("c", 3.0))]
    write_rows(project, rows)
    assert [(p["model_chosen"], p["model_rejected"]) for p in _pairs_after(project, min_margin=0.5)] == [
        ("a", "b"),
        ("a", "c"),
    ]
    assert [(p["model_chosen"], p["model_rejected"]) for p in _pairs_after(project, min_margin=0.0)] == [
        ("a", "b"),
        ("a", "c"),
    ]


def _pairs_after(project, **overrides):
    export(project, **overrides)
    return read_lines(project / "exports" / "preferences.jsonl")


# --------------------------------------------------------------------------- empty exports


@pytest.mark.parametrize(
    "case, reason",
    [
        ("ungraded", "no output has a human grade yet (grade with `vizhub grade`, then run `vizhub aggregate`)"),
        ("few_votes", "3 graded outputs, but none has the 3 graders min_votes asks for"),
        ("close", "all 3 candidate pairs differ by less than min_margin 0.5 (the largest is 0.4)"),
        ("alone", "no challenge has two eligible outputs to compare"),
    ],
)
def test_no_eligible_pair_writes_empty_valid_files_and_says_why(project, case, reason):
    if case == "ungraded":
        rows = [add_output(project, "barsOne", m, None) for m in ("a", "b")]
    elif case == "alone":
        rows = [add_output(project, "barsOne", "a", 4.0), add_output(project, "barsTwo", "a", 1.0)]
    else:
        rows = [add_output(project, "barsOne", m, s, graders=2) for m, s in (("a", 3.0), ("b", 2.8), ("c", 2.6))]
    write_rows(project, rows)
    summary = export(project, min_votes=3 if case == "few_votes" else 1)
    assert summary.pairs == 0 and summary.reason == reason
    exports = project / "exports"
    assert (exports / "preferences.jsonl").read_bytes() == b""
    card = (exports / "README.md").read_text(encoding="utf-8")
    assert f"Reason: {reason}." in card
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["size_categories"] == ["n<1K"]
    meta = json.loads((exports / "meta.json").read_text(encoding="utf-8"))
    assert meta["counts"]["pairs"] == 0 and meta["no_pair_reason"] == reason
    for name in ("preferences.jsonl", "kto.jsonl", "sft.jsonl"):
        assert all(json.loads(line) for line in (exports / name).read_text(encoding="utf-8").splitlines())
        listed = [c["data_files"][0]["path"] for c in header.get("configs", [])]
        assert (name in listed) == bool((exports / name).read_bytes())


def test_missing_consensus_is_a_clear_error(project):
    with pytest.raises(InputError) as failure:
        export(project)
    consensus = project.resolve() / "results" / "consensus" / "consensus.csv"
    assert (
        str(failure.value)
        == f"{consensus}: missing: run `vizhub aggregate` first (it writes the consensus even without grades)"
    )


# --------------------------------------------------------------------------- bad input


def test_rows_pointing_at_missing_or_changed_visualizations_are_reported_and_left_out(project, tmp_path):
    good = [add_output(project, "barsOne", "good-a", 4.0), add_output(project, "barsOne", "good-b", 1.0)]
    missing = add_output(project, "barsOne", "missing", 5.0, write=False)
    changed = replace(add_output(project, "barsOne", "changed", 5.0), artifact_hash="0000000000000000")
    broken = add_output(project, "barsOne", "broken", 5.0, status="unparseable")
    broken = replace(broken, artifact_hash="h")
    empty = add_output(project, "barsOne", "empty", 5.0, reply="  \n")
    unknown = add_output(project, "noSuchChallenge", "x", 5.0)
    write_rows(project, good + [missing, changed, broken, empty, unknown])
    summary = export(project)
    at = "results/consensus/consensus.csv"
    real_hash = hash_files({"index.html": "<p>barsOne by changed</p>\n"})
    assert summary.problems == [
        f"{at}:2: barsOne / broken sample 0: visualizations/barsOne/broken has status unparseable, not ok",
        f"{at}:3: barsOne / changed sample 0: artifact hash differs: consensus 0000000000000000, "
        "visualizations/barsOne/changed "
        f"{real_hash} (the output changed after grading: regrade it, then rerun `vizhub aggregate`)",
        f"{at}:4: barsOne / empty sample 0: visualizations/barsOne/empty/response.md is empty",
        f"{at}:7: barsOne / missing sample 0: no visualization at visualizations/barsOne/missing (meta.json missing)",
        f"{at}:8: 1 graded outputs of noSuchChallenge left out: "
        "challenge noSuchChallenge has no folder challenges/noSuchChallenge",
    ]
    pairs = load_json(project / "exports" / "preferences.jsonl", tmp_path)
    assert [(row["model_chosen"], row["model_rejected"]) for row in pairs] == [("good-a", "good-b")]
    meta = json.loads((project / "exports" / "meta.json").read_text(encoding="utf-8"))
    assert meta["counts"]["left_out"] == 5

    write_rows(project, [missing, changed])
    assert export(project).reason == "2 rows left out for problems (listed with --verbose)"


def test_unsorted_consensus_rows_are_refused_with_the_line(graded):
    path = graded / "results" / "consensus" / "consensus.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(lines[0] + lines[1] + lines[4] + lines[2] + lines[3] + lines[5], encoding="utf-8")
    with pytest.raises(InputError) as failure:
        export(graded)
    assert failure.value.line == 4  # barsOne again after barsTwo
    assert "the rows of challenge 'barsOne' are not together" in str(failure.value)


def test_bad_export_params_name_the_field(graded):
    (graded / "params.yaml").write_text("export:\n  format: chat\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["export", "huggingface", "--project", str(graded)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    params = (graded / "params.yaml").resolve()
    assert result.output == f"Error: {params}: export.format: must be one of standard, conversational, found 'chat'\n"


def test_a_failed_run_leaves_the_previous_export_whole(graded, monkeypatch):
    export(graded)
    before = {name: (graded / "exports" / name).read_bytes() for name in EXPORT_FILES}
    write_rows(graded, [add_output(graded, "barsOne", "z", 0.0)])

    def explode(*args, **kwargs):
        raise RuntimeError("card failed")

    monkeypatch.setattr("vizhub_pipeline.export.card.render_card", explode)
    with pytest.raises(RuntimeError):
        export(graded)
    assert {name: (graded / "exports" / name).read_bytes() for name in EXPORT_FILES} == before
    assert sorted(p.name for p in (graded / "exports").iterdir()) == sorted(EXPORT_FILES)


# --------------------------------------------------------------------------- determinism, card, images


def test_identical_inputs_give_byte_identical_files_anywhere(graded, tmp_path):
    export(graded, images=False)
    first = {name: (graded / "exports" / name).read_bytes() for name in EXPORT_FILES}
    export(graded)
    assert {name: (graded / "exports" / name).read_bytes() for name in EXPORT_FILES} == first
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(graded, moved, ignore=shutil.ignore_patterns("exports"))
    export(moved)
    assert {name: (moved / "exports" / name).read_bytes() for name in EXPORT_FILES} == first
    for content in first.values():
        assert str(graded).encode() not in content and str(graded.parent).encode() not in content


def test_the_card_has_the_header_rubric_counts_and_reliability(graded):
    reliability = {  # the layout the aggregate stage writes
        "alpha": {
            "functionality": {"value": 0.71, "ci_low": 0.6, "ci_high": 0.8, "units": 2, "values": 6},
            "aesthetics": {"value": 0.52, "ci_low": 0.4, "ci_high": 0.63, "units": 2, "values": 6},
            "overall": {"value": 0.66, "ci_low": 0.55, "ci_high": 0.75, "units": 2, "values": 6},
        },
        "alpha_by_challenge": {"barsOne": {"overall": {"value": 0.1, "ci_low": None, "ci_high": None}}},
        "icc": None,
        "grades": {"graders": 3},
    }
    (graded / "results" / "consensus" / "reliability.json").write_text(json.dumps(reliability), encoding="utf-8")
    export(graded)
    card = (graded / "exports" / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["license"] == "mit" and header["language"] == ["en"]
    assert {"dpo", "preference", "rlhf", "code", "data-visualization"} <= set(header["tags"])
    assert header["task_categories"] == ["text-generation"] and header["size_categories"] == ["n<1K"]
    assert header["annotations_creators"] == ["expert-generated"]
    assert "| Krippendorff's alpha (ordinal) | functionality | 0.710 | 0.600 to 0.800 |" in card
    assert "| Krippendorff's alpha (ordinal) | overall | 0.660 | 0.550 to 0.750 |" in card
    assert "3 graders took part." in card
    assert (
        "| 5 | Flawless, with thoughtful extras beyond the prompt |" in card
        and "| 0 | Unusable: broken layout, unreadable |" in card
    )
    assert "| `openai/gpt-4o` | 2 | 4.25 | 2 | 0 | 2 |" in card
    assert "| `barsOne` | 3 | 3 |" in card and "| `barsTwo` | 2 | 0 |" in card
    assert 'load_dataset("json", data_files="preferences.jsonl", split="train")' in card
    assert "DPOTrainer(" in card and "preference pairs: **3**" in card


def test_the_card_says_when_reliability_is_not_available(graded):
    export(graded)
    card = (graded / "exports" / "README.md").read_text(encoding="utf-8")
    assert "Inter-grader reliability: not available (the aggregate stage wrote no `reliability.json`)." in card
    (graded / "results" / "consensus" / "reliability.json").write_text("{not json", encoding="utf-8")
    export(graded)
    card = (graded / "exports" / "README.md").read_text(encoding="utf-8")
    assert "Inter-grader reliability: not available (`results/consensus/reliability.json` could not be read)." in card


def shoot(project: Path, challenge: str, model: str, color: tuple[int, int, int], size=(8, 6)) -> Path:
    from PIL import Image

    shot = Layout.at(project).render_dir(challenge, model) / "screenshot.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(shot)
    return shot


def test_images_are_copied_once_by_content_and_load_as_image_features(project, tmp_path):
    import hashlib

    from datasets import load_dataset

    rows = [add_output(project, "barsOne", m, s) for m, s in (("a", 4.0), ("bb", 2.0), ("noshot", 1.0))]
    rows += [add_output(project, "barsTwo", m, s) for m, s in (("a", 4.0), ("bb", 2.0))]
    write_rows(project, rows)
    colors = {"a": (200, 0, 0), "bb": (0, 200, 0), "baseline/starter": (0, 0, 200)}
    for model, color in colors.items():
        shoot(project, "barsOne", model, color)
    shoot(project, "barsTwo", "a", (1, 1, 1))
    shoot(project, "barsTwo", "bb", (2, 2, 2))  # barsTwo: no starter screenshot

    summary = export(project, images=True)
    assert summary.problems == [
        "results/consensus/consensus.csv:4: barsOne / noshot sample 0: "
        "no screenshot at results/renders/barsOne/noshot/screenshot.png"
        " (run `vizhub screenshot`; or export without --images)",
        "results/consensus/consensus.csv:5: 2 graded outputs of barsTwo left out: no screenshot at "
        "results/renders/barsTwo/baseline__starter/screenshot.png"
        " (run `vizhub screenshot`; or export without --images)",
    ]
    out = project / "exports"
    # content-named, each stored once (the starter's is the prompt image of every row of barsOne)
    expected = {
        hashlib.sha256((Layout.at(project).render_dir("barsOne", m) / "screenshot.png").read_bytes()).hexdigest()[:16]
        + ".png"
        for m in colors
    }
    assert {p.name for p in (out / "images").iterdir()} == expected | {"metadata.jsonl"}

    pairs = load_dataset(str(out), "pairs", split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert len(pairs) == 1
    row = pairs[0]
    assert (row["model_chosen"], row["model_rejected"]) == ("a", "bb")
    assert row["chosen_image"].convert("RGB").getpixel((0, 0)) == colors["a"]
    assert row["rejected_image"].convert("RGB").getpixel((0, 0)) == colors["bb"]
    assert [image.convert("RGB").getpixel((0, 0)) for image in row["images"]] == [colors["baseline/starter"]]
    assert row["prompt"] == standard_prompt(project, "barsOne")

    # the JSONL files hold paths that resolve from the export folder
    line = read_lines(out / "preferences.jsonl")[0]
    for path in (line["chosen_image"], line["rejected_image"], *line["images"]):
        assert (out / path).is_file(), path
    kto = read_lines(out / "kto.jsonl")
    assert [(k["model"], (out / k["completion_image"]).is_file(), k["images"]) for k in kto] == [
        ("a", True, line["images"]),
        ("bb", True, line["images"]),
    ]
    header = yaml.safe_load((out / "README.md").read_text(encoding="utf-8").split("---\n")[1])
    assert "image-text-to-text" in header["task_categories"]
    assert "screenshots" in json.loads((out / "meta.json").read_text(encoding="utf-8"))["inputs"]

    # a changed screenshot replaces its old copy; without --images the folder goes
    old = out / line["rejected_image"]
    shoot(project, "barsOne", "bb", (9, 9, 9))
    export(project, images=True)
    assert not old.exists() and len(list((out / "images").glob("*.png"))) == 3
    export(project, images=False)
    assert not (out / "images").exists()


# --------------------------------------------------------------------------- CLI


def test_cli_exports_with_options_and_reports_left_out_rows(graded, monkeypatch):
    monkeypatch.chdir(graded)
    write_rows(
        graded,
        [
            add_output(graded, "barsOne", "openai/gpt-4o", 4.5),
            add_output(graded, "barsOne", "baseline/starter", 1.0),
            add_output(graded, "barsOne", "gone", 3.0, write=False),
        ],
    )
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "export",
            "huggingface",
            "--project",
            str(graded),
            "--output",
            "out/prefs.jsonl",
            "--min-margin",
            "1",
            "--format",
            "conversational",
            "--pairs",
            "best-vs-rest",
            "--verbose",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    out = graded / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "kto.jsonl",
        "meta.json",
        "openai_dpo.jsonl",
        "prefs.jsonl",
        "sft.jsonl",
    ]
    assert len(read_lines(out / "prefs.jsonl")) == 1
    assert "exported 1 preference pairs" in result.output
    assert "1 SFT rows to out\n" in result.output  # relative to the current folder
    assert (
        "left out: results/consensus/consensus.csv:3: barsOne / gone sample 0: "
        "no visualization at visualizations/barsOne/gone (meta.json missing)" in result.output
    )
    assert "barsOne: 2 eligible outputs, 1 pairs" in result.output
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["params"]["format"] == "conversational" and meta["params"]["pairs"] == "best-vs-rest"


def test_cli_says_why_when_nothing_is_exported(project):
    write_rows(project, [add_output(project, "barsOne", "a", None)])
    result = CliRunner().invoke(cli, ["export", "huggingface", "--project", str(project)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "no preference pair: no output has a human grade yet" in result.output


# --------------------------------------------------------------------------- with the real generate stage


@pytest.mark.slow
def test_outputs_of_the_generate_stage_export_until_their_prompt_changes(project, tmp_path):
    """Real baseline generations (through litellm, offline); the export checks each output was
    generated from the prompt it writes, by the prompt_hash generate recorded in meta.json."""
    from vizhub_pipeline.core.params import GenerateParams
    from vizhub_pipeline.core.records import read_generation
    from vizhub_pipeline.generate.stage import run_generate

    run_generate(Layout.at(project), GenerateParams(), challenges=("barsOne",), progress=False)
    rows = []
    for model, score in (("baseline/reference", 4.5), ("baseline/starter", 1.0)):
        generation = read_generation(Layout.at(project).visualization_dir("barsOne", model) / "meta.json")
        dims = summary_of(score)
        rows.append(ConsensusRow("barsOne", model, 0, generation.artifact_hash, 2, 0, dims, dims, dims))
    write_rows(project, rows)
    summary = export(project)
    assert summary.problems == [] and summary.pairs == 1
    pair = load_json(project / "exports" / "preferences.jsonl", tmp_path)[0]
    assert pair["prompt"] == standard_prompt(project, "barsOne")
    assert pair["chosen"] == (project / "visualizations" / "barsOne" / "baseline__reference" / "response.md").read_text(
        encoding="utf-8"
    )

    (project / "challenges" / "barsOne" / "prompt.md").write_text("Draw one bar per row, in red.\n", encoding="utf-8")
    summary = export(project)
    assert summary.pairs == 0
    assert summary.problems == [
        f"results/consensus/consensus.csv:{line}: barsOne / {model} sample 0: the prompt of barsOne changed since "
        f"visualizations/barsOne/{folder} was generated (run `vizhub generate`)"
        for line, model, folder in (
            (2, "baseline/reference", "baseline__reference"),
            (3, "baseline/starter", "baseline__starter"),
        )
    ]


@pytest.mark.slow
def test_grades_through_the_real_aggregate_stage_to_the_card(project):
    """Real generate (baselines) -> grade files -> aggregate -> export: the file contract end to end."""
    from vizhub_pipeline.analysis.aggregate import run_aggregate
    from vizhub_pipeline.core.params import AggregateParams, GenerateParams
    from vizhub_pipeline.core.records import Grade, format_grade_rows, read_generation
    from vizhub_pipeline.generate.stage import run_generate

    layout = Layout.at(project)
    run_generate(layout, GenerateParams(), progress=False)
    folder = project / "results" / "grades"
    folder.mkdir(parents=True)
    scores = {"ana": ((5, 4), (1, 0)), "ben": ((4, 4), (0, 1)), "cy": ((5, 5), (1, 1))}
    for grader, ((rf, ra), (sf, sa)) in scores.items():
        grades = []
        for challenge in ("barsOne", "barsTwo"):
            for model, (f, a) in (("baseline/reference", (rf, ra)), ("baseline/starter", (sf, sa))):
                artifact = read_generation(layout.visualization_dir(challenge, model) / "meta.json").artifact_hash
                grades.append(Grade(challenge, model, 0, artifact, f, a, "", grader, "2026-11-28T12:00:00Z"))
        (folder / f"{grader}-2026-11-28.csv").write_text(
            format_grade_rows(grades, header=True), encoding="utf-8", newline=""
        )
    run_aggregate(layout, AggregateParams(bootstrap=50))
    summary = export(project, min_votes=3)
    assert (summary.pairs, summary.problems) == (2, [])
    pairs = read_lines(project / "exports" / "preferences.jsonl")
    assert [(p["challenge"], p["model_chosen"], p["model_rejected"], p["n_graders_chosen"]) for p in pairs] == [
        ("barsOne", "baseline/reference", "baseline/starter", 3),
        ("barsTwo", "baseline/reference", "baseline/starter", 3),
    ]
    assert pairs[0]["score_chosen"] == round((4.5 + 4.0 + 5.0) / 3, 4) and pairs[0]["margin"] == round(
        (4.5 + 4.0 + 5.0 - 0.5 - 0.5 - 1.0) / 3, 4
    )
    card = (project / "exports" / "README.md").read_text(encoding="utf-8")
    assert "3 graders took part." in card and "| Krippendorff's alpha (ordinal) | overall |" in card


def test_export_files_get_the_usual_umask_mode(graded):
    old = os.umask(0o022)
    try:
        export(graded)
    finally:
        os.umask(old)
    modes = {name: (graded / "exports" / name).stat().st_mode & 0o777 for name in EXPORT_FILES}
    assert modes == dict.fromkeys(EXPORT_FILES, 0o644)


# --------------------------------------------------------------------------- imported outputs

MINI_ORIGINAL = Path(__file__).parent / "fixtures" / "vizhub-benchmarks-mini"


def test_imported_outputs_export_their_graded_files_and_the_card_says_how_each_grade_was_given(tmp_path):
    """The original's layout imported for real, one grader added in the app (blind), aggregated
    for real: the imported outputs are exported (not dropped for a changed prompt or a missing
    reply), their completions are the files that were graded, and the card counts the grades by
    how they were given instead of calling them all blind."""
    from vizhub_pipeline.analysis.aggregate import run_aggregate
    from vizhub_pipeline.core.judgements.scores import Grade, format_grade_rows
    from vizhub_pipeline.core.params import AggregateParams
    from vizhub_pipeline.core.records import read_generation
    from vizhub_pipeline.importing import run_import

    project = tmp_path / "project"
    (project / "challenges").mkdir(parents=True)
    layout = Layout.at(project)
    run_import("vizhub-benchmarks", MINI_ORIGINAL, layout)
    model_a, model_b = "openrouter/acme/model-a", "openrouter/acme/model-b"
    grades = [
        Grade(
            "barChart",
            model,
            0,
            read_generation(layout.visualization_dir("barChart", model) / "meta.json").artifact_hash,
            f,
            a,
            "",
            "cy",
            "2026-11-28T12:00:00Z",
            "app",
            True,
        )
        for model, f, a in ((model_a, 5, 5), (model_b, 1, 2))
    ]
    (project / "results" / "grades" / "cy-2026-11-28.csv").write_text(
        format_grade_rows(grades, header=True), encoding="utf-8", newline=""
    )
    run_aggregate(layout, AggregateParams(bootstrap=20))

    summary = export(project)
    assert (summary.problems, summary.pairs, summary.imported) == ([], 1, 2)
    pair = load_json(project / "exports" / "preferences.jsonl", tmp_path)[0]
    assert (pair["model_chosen"], pair["model_rejected"], pair["n_graders_chosen"]) == (model_a, model_b, 2)
    assert pair["prompt"] == standard_prompt(project, "barChart")
    original = MINI_ORIGINAL / "benchmarks" / "challenges" / "barChart" / "acme"

    def blocks(folder: Path, *names: str) -> str:
        languages = {"html": "html", "csv": "csv", "js": "js"}
        return "\n".join(
            f"**{name}**\n```{languages[name.rsplit('.', 1)[1]]}\n{(folder / name).read_text()}```\n" for name in names
        )

    # the graded files (entry first), not the raw reply, which holds index.html alone with prose around it
    assert pair["chosen"] == blocks(original / "model-a", "index.html", "data.csv")
    assert pair["chosen"] != (original / "model-a" / "llmResponse.md").read_text()
    # model-b has no reply at all in the original: its graded files are the starter plus fileA.js
    assert pair["rejected"] == blocks(original / "model-b", "index.html", "data.csv", "fileA.js")

    meta = json.loads((project / "exports" / "meta.json").read_text(encoding="utf-8"))
    assert meta["grade_sources"] == {"app, blind": 2, "imported, not blind": 2}
    assert meta["counts"]["imported_outputs"] == 2
    card = (project / "exports" / "README.md").read_text(encoding="utf-8")
    assert "blind by default" not in card
    assert "| in the grading app; blind (model names hidden) | 2 |" in card
    assert "| imported from another project's grade files; not blind (model names known to the grader) | 2 |" in card
    assert "**Imported outputs.** 2 exported output(s)" in card and "the prompt was rebuilt" in card


def test_an_imported_output_whose_files_changed_is_left_out(tmp_path):
    from vizhub_pipeline.importing import run_import

    project = tmp_path / "project"
    (project / "challenges").mkdir(parents=True)
    layout = Layout.at(project)
    run_import("vizhub-benchmarks", MINI_ORIGINAL, layout)
    rows = []
    for model, score in (("openrouter/acme/model-a", 4.0), ("openrouter/acme/model-b", 1.0)):
        meta = json.loads((layout.visualization_dir("barChart", model) / "meta.json").read_text())
        dims = summary_of(score)
        rows.append(ConsensusRow("barChart", model, 0, meta["artifact_hash"], 2, 0, dims, dims, dims))
    write_rows(project, rows)
    (layout.visualization_dir("barChart", "openrouter/acme/model-b") / "fileA.js").write_text("changed\n")
    summary = export(project)
    assert summary.pairs == 0
    assert [problem.split(": the files in ")[0] for problem in summary.problems] == [
        "results/consensus/consensus.csv:3: barChart / openrouter/acme/model-b sample 0"
    ]
    assert "are not the ones its meta.json records" in summary.problems[0]


# --------------------------------------------------------------------------- the OpenAI format

# The per-line schema of DPO training files at OpenAI (fine-tuning guide, "Direct preference
# optimization", data format), Together ("Preference fine-tuning": input.messages, then a single
# assistant message as preferred_output and as non_preferred_output) and Fireworks ("DPO
# fine-tuning": input.messages; preferred_output and non_preferred_output, one assistant message).
MESSAGE = {
    "type": "object",
    "required": ["role", "content"],
    "additionalProperties": False,
    "properties": {"role": {"enum": ["system", "user", "assistant"]}, "content": {"type": "string", "minLength": 1}},
}
ASSISTANT_OUTPUT = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": {**MESSAGE, "properties": {**MESSAGE["properties"], "role": {"const": "assistant"}}},
}
OPENAI_DPO_LINE = {
    "type": "object",
    "required": ["input", "preferred_output", "non_preferred_output"],
    "additionalProperties": False,
    "properties": {
        "input": {
            "type": "object",
            "required": ["messages"],
            "properties": {"messages": {"type": "array", "minItems": 1, "items": MESSAGE}},
        },
        "preferred_output": ASSISTANT_OUTPUT,
        "non_preferred_output": ASSISTANT_OUTPUT,
    },
}


@pytest.mark.parametrize("fmt", ["standard", "conversational"])
def test_the_openai_file_holds_the_same_pairs_in_the_openai_dpo_schema(graded, fmt):
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(OPENAI_DPO_LINE)
    export(graded, format=fmt)
    lines = read_lines(graded / "exports" / "openai_dpo.jsonl")
    pairs = read_lines(graded / "exports" / "preferences.jsonl")
    assert len(lines) == len(pairs) == 3
    for line, pair in zip(lines, pairs, strict=True):
        jsonschema.validate(line, OPENAI_DPO_LINE)
        system, user = build_messages(load_challenge(graded / "challenges" / pair["challenge"]))
        assert line["input"]["messages"] == [system, user]
        replies = [reply_for(pair[f"model_{side}"], pair["challenge"]) for side in ("chosen", "rejected")]
        assert [line["preferred_output"][0]["content"], line["non_preferred_output"][0]["content"]] == replies
    card = (graded / "exports" / "README.md").read_text(encoding="utf-8")
    assert "| `openai_dpo.jsonl` | | 3 | DPO fine-tuning at OpenAI, Together or Fireworks (the same pairs) |" in card


def test_the_schema_refuses_what_the_services_refuse():
    """The schema above is not vacuous: each broken variant of a valid line fails it."""
    import jsonschema

    valid = {
        "input": {"messages": [{"role": "user", "content": "q"}]},
        "preferred_output": [{"role": "assistant", "content": "good"}],
        "non_preferred_output": [{"role": "assistant", "content": "bad"}],
    }
    jsonschema.validate(valid, OPENAI_DPO_LINE)
    broken = [
        {**valid, "prompt": "extra key"},
        {**valid, "preferred_output": [{"role": "user", "content": "good"}]},
        {**valid, "non_preferred_output": [{"role": "assistant", "content": "a"}] * 2},
        {**valid, "preferred_output": {"role": "assistant", "content": "good"}},
        {"input": valid["input"], "preferred_output": valid["preferred_output"]},
        {**valid, "input": {"messages": "q"}},
    ]
    for line in broken:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(line, OPENAI_DPO_LINE)


def test_cli_export_openai_writes_only_that_file(graded, monkeypatch):
    monkeypatch.chdir(graded)
    (graded / "params.yaml").write_text("export: {}\n")  # what marks a project folder (with challenges/)
    result = CliRunner().invoke(
        cli, ["export", "openai", "--output", "out/dpo.jsonl", "--min-margin", "2"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert result.output == "exported 2 preference pairs in the OpenAI format to out/dpo.jsonl\n"
    assert sorted(p.name for p in (graded / "out").iterdir()) == ["dpo.jsonl"]
    lines = read_lines(graded / "out" / "dpo.jsonl")
    assert [(line["preferred_output"][0]["content"], line["non_preferred_output"][0]["content"]) for line in lines] == [
        (reply_for("openai/gpt-4o", "barsOne"), reply_for("baseline/starter", "barsOne")),
        (reply_for("anthropic/claude-3-5-haiku", "barsOne"), reply_for("baseline/starter", "barsOne")),
    ]  # margins 3.5 and 2.0; 1.5 and 0.2 stay below --min-margin 2
    assert not (graded / "exports").exists()
    result = CliRunner().invoke(cli, ["export", "openai", "--output", "out/dpo.json"])
    assert result.exit_code == 1 and "the output must be a .jsonl file" in result.output


# --------------------------------------------------------------------------- pairwise votes


def write_votes(project: Path, grader: str, votes) -> None:
    from vizhub_pipeline.core.judgements.votes import KIND, Vote
    from vizhub_pipeline.core.judgements.writer import format_rows

    records = [
        Vote(challenge, a.model, 0, hash_a, b.model, 0, hash_b, winner, False, "", grader, at, source, True)
        for challenge, a, hash_a, b, hash_b, winner, at, source in votes
    ]
    folder = project / "results" / "votes"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{grader}-2026-11-28.csv").write_text(format_rows(KIND, records, header=True), encoding="utf-8")


def test_votes_become_pairs_merged_with_score_pairs_and_ties_are_counted(project, tmp_path):
    one = {m: add_output(project, "barsOne", m, s) for m, s in (("gpt", 4.5), ("claude", 3.0), ("starter", 1.0))}
    two = {m: add_output(project, "barsTwo", m, s) for m, s in (("gpt", 4.0), ("starter", 3.8))}
    two["mistral"] = add_output(project, "barsTwo", "mistral", None)  # never graded: only voted on
    write_rows(project, [*one.values(), *two.values()])

    def side(rows, model, artifact=None):
        return rows[model], artifact or rows[model].artifact_hash

    at = "2026-11-28T12:00:00Z"
    later = "2026-11-28T13:00:00Z"
    write_votes(
        project,
        "ana",
        [
            ("barsOne", *side(one, "starter"), *side(one, "claude"), "a", at, "app"),  # against the scores
            ("barsOne", *side(one, "gpt"), *side(one, "claude"), "both_bad", at, "app"),
            ("barsOne", *side(one, "gpt", "0000000000000000"), *side(one, "starter"), "a", at, "app"),  # stale
            ("barsTwo", *side(two, "gpt"), *side(two, "starter"), "tie", at, "app"),
            ("barsTwo", *side(two, "mistral"), *side(two, "gpt"), "b", at, "app"),
            ("barsTwo", *side(two, "gpt"), *side(two, "mistral"), "b", later, "app"),  # ana's latest: mistral
        ],
    )
    write_votes(project, "ben", [("barsOne", *side(one, "claude"), *side(one, "starter"), "b", at, "cli")])
    write_votes(project, "bot", [("barsOne", *side(one, "claude"), *side(one, "gpt"), "a", at, "judge:gpt-4o")])

    summary = export(project)
    assert summary.problems == []
    pairs = read_lines(project / "exports" / "preferences.jsonl")
    assert [
        (p["challenge"], p["model_chosen"], p["model_rejected"], p["pair_source"], p["source"])
        + (p["votes_chosen"], p["votes_rejected"], p["margin"])
        for p in pairs
    ] == [
        ("barsOne", "gpt", "claude", "scores", "", 0, 0, 1.5),
        ("barsOne", "gpt", "starter", "scores", "", 0, 0, 3.5),
        ("barsOne", "starter", "claude", "vote", "app,cli", 2, 0, None),  # replaces claude over starter
        ("barsTwo", "mistral", "gpt", "vote", "app", 1, 0, None),
    ]
    assert pairs[3]["score_chosen"] is None and pairs[3]["chosen"] == reply_for("mistral", "barsTwo")
    assert (summary.score_pairs, summary.vote_pairs, summary.replaced_by_votes, summary.reversed_by_votes) == (
        2,
        2,
        1,
        1,
    )
    meta = json.loads((project / "exports" / "meta.json").read_text(encoding="utf-8"))
    assert meta["counts"]["votes"] == {"read": 6, "tie": 1, "both_bad": 1, "stale": 1, "split_evenly": 0}
    card = (project / "exports" / "README.md").read_text(encoding="utf-8")
    assert "(2 from scores, 2 from votes)" in card
    assert "pairwise votes read: 6; ties: 1; both bad: 1;" in card
    assert len(read_lines(project / "exports" / "openai_dpo.jsonl")) == 4
    assert (
        "pairwise votes: 2 pairs from 6 votes (1 ties, 1 both bad, 1 stale, 0 pairs split evenly; "
        "1 score pairs replaced)" in summary.lines()
    )
    loaded = load_dataset_folder(project / "exports", tmp_path)
    assert loaded["pair_source"] == ["scores", "scores", "vote", "vote"] and loaded["margin"][2] is None

    # a second grader who disagrees splits the barsTwo pair evenly: it makes no pair
    write_votes(project, "cy", [("barsTwo", *side(two, "gpt"), *side(two, "mistral"), "a", at, "app")])
    summary = export(project)
    assert (summary.vote_pairs, summary.votes.split) == (1, 1)


def load_dataset_folder(folder: Path, tmp_path: Path):
    from datasets import load_dataset

    return load_dataset(str(folder), "pairs", split="train", cache_dir=str(tmp_path / "hf-folder-cache"))
