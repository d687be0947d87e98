import pytest

from tests.conftest import REPO_ROOT
from vizhub_pipeline.core.errors import InputError
from vizhub_pipeline.core.params import Params, load_params


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
