import dataclasses

import pytest
from pydantic import ValidationError

from tests.conftest import REPO_ROOT
from vizhub_pipeline.core.errors import InputError
from vizhub_pipeline.core.params import AggregateParams, GenerateParams, Params, load_params


def test_the_shipped_params_file_loads():
    params = load_params(REPO_ROOT / "params.yaml")
    assert params.generate.models == ("baseline/starter", "baseline/reference")


def test_a_missing_file_gives_the_defaults(tmp_path):
    assert load_params(tmp_path / "params.yaml") == Params()


def test_values_are_typed_and_models_may_be_a_comma_list(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("generate:\n  models: gpt-4o, baseline/starter\n  timeout: 30\n")
    params = load_params(path)
    assert params.generate.models == ("gpt-4o", "baseline/starter")
    assert params.generate.timeout == 30.0 and isinstance(params.generate.timeout, float)


@pytest.mark.parametrize(
    "text, message",
    [
        ("generate:\n  temprature: 1\n", "generate.temprature: unknown key"),
        ("generate:\n  samples: two\n", "generate.samples: expected a whole number, found 'two'"),
        ("generate:\n  samples: true\n", "generate.samples: expected a whole number, found True"),
        ("generate: [1]\n", "generate: expected a mapping"),
        ("generate:\n  models: [1, 2]\n", "generate.models: expected a list of strings"),
        ("generate: {\n", "not valid YAML"),
        ("screenshot:\n  concurrency: 0\n", "screenshot.concurrency: expected a whole number of at least 1, found 0"),
        ("screenshot:\n  concurrency: 1.5\n", "screenshot.concurrency: expected a whole number, found 1.5"),
    ],
)
def test_bad_params_name_the_key(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as failure:
        load_params(path)
    assert str(failure.value).startswith(str(path))
    assert message in str(failure.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("generate:\n  temperature: true\n", "generate.temperature: expected a number, found True"),
        ("generate:\n  models: 5\n", "generate.models: expected a list of strings"),
        ("generate:\n", "generate: expected a mapping"),
        ("export:\n  format: 3\n", "export.format: expected text, found 3"),
        ("grade:\n  blind: maybe\n", "grade.blind: expected true or false, found 'maybe'"),
        ("aggregate:\n  bootstrap: 1e3\n", "aggregate.bootstrap: expected a whole number, found '1e3'"),
        ("grade:\n  pairwise_repeat_share: 1\n", "grade.pairwise_repeat_share: expected a number below 1.0, found 1"),
        (
            "grade:\n  pairwise_repeat_share: -0.1\n",
            "grade.pairwise_repeat_share: expected a number of at least 0.0, found -0.1",
        ),
        ("grade:\n  pairwise_seed: 0.5\n", "grade.pairwise_seed: expected a whole number, found 0.5"),
    ],
)
def test_more_bad_values_name_the_key_and_what_was_expected(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as failure:
        load_params(path)
    assert str(failure.value) == f"{path}: {message}"


def test_of_several_bad_keys_the_first_in_the_file_is_named(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("screenshot:\n  seed: x\naggregate:\n  seed: y\ngenerate:\n  backoff: z\n  samples: w\n")
    with pytest.raises(InputError) as failure:
        load_params(path)
    assert str(failure.value) == f"{path}: screenshot.seed: expected a whole number, found 'x'"


def test_the_unknown_key_message_lists_the_known_ones(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("grade:\n  comit: batch\n")
    with pytest.raises(InputError) as failure:
        load_params(path)
    known = "blind, commit, pairwise_repeat_share, pairwise_seed"
    assert str(failure.value) == f"{path}: grade.comit: unknown key (known: {known})"


def test_other_sections_and_null_seeds_are_accepted(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("plots:\n  anything: [1, 2]\ngenerate:\n  seed: null\n  models: [gpt-4o]\n")
    params = load_params(path)
    assert params.generate.seed is None and params.generate.models == ("gpt-4o",)
    assert params.aggregate == AggregateParams()


def test_the_objects_passed_inward_are_immutable_and_replace_makes_a_checked_copy(tmp_path):
    params = load_params(REPO_ROOT / "params.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.aggregate.bootstrap = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.generate = GenerateParams()  # type: ignore[misc]
    changed = dataclasses.replace(params.aggregate, bootstrap=50)
    assert (changed.bootstrap, params.aggregate.bootstrap) == (50, 1000)
    with pytest.raises(ValidationError):
        dataclasses.replace(params.aggregate, bootstrap="many")
