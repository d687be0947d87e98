import pytest

from vizhub_pipeline.core.layout import (
    dirname_to_model,
    hash_files,
    is_safe_slug,
    item_dirname,
    model_to_dirname,
    parse_item_dirname,
    shorter_path,
)

MODELS = [
    "gpt-4o",
    "baseline/starter",
    "openrouter/anthropic/claude-3.5-haiku",
    "ollama/llama3:8b",
    "azure/my_deployment",
    "a_/b",
    "a/_b",
    "..",
    ".hidden",
    "x@y",
    "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
    "modèle/ü",
]


@pytest.mark.parametrize("model", MODELS)
def test_model_dirname_round_trips_and_stays_one_safe_component(model):
    name = model_to_dirname(model)
    assert dirname_to_model(name) == model
    assert "/" not in name and "\\" not in name
    assert name not in (".", "..") and not name.startswith(".")


def test_model_dirnames_are_readable_for_common_ids():
    assert model_to_dirname("openrouter/anthropic/claude-3.5-haiku") == "openrouter__anthropic__claude-3.5-haiku"
    assert model_to_dirname("baseline/starter") == "baseline__starter"


def test_distinct_models_never_share_a_folder():
    names = [model_to_dirname(m) for m in MODELS]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("bad", ["a/b", "_zz", "a_", "a%b", "x@1"])
def test_dirname_to_model_rejects_names_it_did_not_make(bad):
    with pytest.raises(ValueError):
        dirname_to_model(bad)


def test_item_dirname_carries_the_sample():
    assert item_dirname("gpt-4o") == "gpt-4o"
    assert item_dirname("gpt-4o", 2) == "gpt-4o@2"
    assert parse_item_dirname("openai__gpt-4o@2") == ("openai/gpt-4o", 2)
    assert parse_item_dirname("gpt-4o") == ("gpt-4o", 0)
    with pytest.raises(ValueError):
        parse_item_dirname("gpt-4o@0")


def test_hash_files_depends_on_names_and_contents_not_order():
    a = hash_files({"index.html": "x", "data.csv": "y"})
    assert a == hash_files({"data.csv": "y", "index.html": "x"})
    assert a != hash_files({"index.html": "x", "data.csv": "z"})
    assert a != hash_files({"index.htm": "lx", "data.csv": "y"})
    assert len(a) == 16


def test_safe_slugs():
    assert is_safe_slug("stockPriceChart")
    assert is_safe_slug("alice-smith_2")
    for bad in ["", "../x", "a/b", "a b", ".x", "-x"]:
        assert not is_safe_slug(bad)


def test_shorter_path_is_relative_inside_the_current_folder_only(tmp_path, monkeypatch):
    from pathlib import Path

    inside = tmp_path / "exports" / "preferences.jsonl"
    monkeypatch.chdir(tmp_path)
    assert shorter_path(inside) == Path("exports/preferences.jsonl")
    outside = tmp_path.parent / "elsewhere.csv"
    assert shorter_path(outside) == outside
