"""The hostile suite's tally (tests/hostile_tally.py): counting on a tiny suite, and every case marked."""

from __future__ import annotations

import textwrap

import pytest

from tests.hostile_tally import ROOT, Tally, collect, marker_fields, run_suite

FIXTURE_SUITE = """
import time

import pytest


@pytest.mark.hostile(area="pages", guards="escape", outcome="held")
def test_holds():
    assert True


@pytest.mark.hostile(area="pages", guards="loss", outcome="held")
def test_hangs():
    while True:
        time.sleep(60)


@pytest.mark.hostile(area="replies", guards="escape", outcome="clear_error")
def test_escapes():
    assert "the attack" == "refused"


@pytest.mark.hostile(area="grader", outcome="control")
def test_control():
    pass


@pytest.mark.hostile(area="grader", guards="escape", outcome="held")
@pytest.mark.skip(reason="no Chromium here")
def test_skipped():
    pass


def test_not_hostile():
    pass
"""

INI = """\
[pytest]
markers =
    hostile(area, guards, outcome): a hostile case
"""


@pytest.fixture
def fixture_suite(tmp_path):
    (tmp_path / "pytest.ini").write_text(INI, encoding="utf-8")
    (tmp_path / "test_fixture.py").write_text(textwrap.dedent(FIXTURE_SUITE), encoding="utf-8")
    return tmp_path


@pytest.mark.slow
def test_passing_failing_and_hanging_cases_are_counted_by_their_markers(fixture_suite):
    # the hanging case sleeps forever: the limit decides nothing but how long the test waits for it
    tally = run_suite(fixture_suite, ["test_fixture.py"], limit=5, workers=1)
    by_name = {case.id.split("::")[1]: case for case in tally.cases}
    assert sorted(by_name) == ["test_control", "test_escapes", "test_hangs", "test_holds", "test_skipped"]
    assert {name: case.counted_as for name, case in by_name.items()} == {
        "test_holds": "held",
        "test_hangs": "hung",
        "test_escapes": "escaped",
        "test_control": "control ok",
        "test_skipped": "skipped",
    }
    assert by_name["test_hangs"].message.startswith("still running after 5 s: ")
    assert "in test_hangs" in by_name["test_hangs"].message  # where it hung, from faulthandler
    assert "assert 'the attack' == 'refused'" in by_name["test_escapes"].message
    assert by_name["test_skipped"].message == "skipped: no Chromium here"
    # the case after the hung one ran in a second pytest run
    assert tally.runs == 2 and tally.problems == []
    pages = tally.counts("pages")
    assert (pages["tried"], pages["held"], pages["hung"], pages["escaped"]) == (2, 1, 1, 0)
    totals = tally.counts()
    assert (totals["tried"], totals["held"], totals["escaped"], totals["hung"]) == (3, 1, 1, 1)
    assert (totals["control ok"], totals["skipped"], totals["clear error"]) == (1, 1, 0)
    assert not tally.ok


def test_a_tally_with_nothing_escaped_lost_or_hung_is_ok():
    from tests.hostile_tally import Case

    held = Case("t.py::a", "pages", "escape", "held", False, counted_as="held")
    skipped = Case("t.py::b", "pages", "escape", "held", False, counted_as="skipped")
    assert Tally([held, skipped]).ok
    assert not Tally([]).ok  # nothing marked hostile was found: not a pass
    for bad in ("escaped", "lost", "hung", "not run", "control failed"):
        assert not Tally([held, Case("t.py::c", "grader", "loss", "held", False, counted_as=bad)]).ok
    assert not Tally([held], problems=["t.py: pytest exited 2 before running every case"]).ok


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"area": "page", "guards": "escape", "outcome": "held"}, "hostile area='page': must be one of pages,"),
        ({"area": "pages", "guards": "leak", "outcome": "held"}, "hostile guards='leak': must be one of escape,"),
        ({"area": "pages", "outcome": "held"}, "hostile guards=None"),
        ({"area": "pages", "guards": "escape", "outcome": "ok"}, "hostile outcome='ok': must be one of held,"),
        ({"area": "pages", "guards": "escape", "outcome": "control"}, "hostile outcome='control' guards nothing"),
        ({"area": "pages", "guards": "escape", "outcome": "held", "why": "x"}, "hostile has no field why"),
    ],
)
def test_a_malformed_marker_says_what_is_wrong(kwargs, says):
    with pytest.raises(ValueError) as info:
        marker_fields(pytest.mark.hostile(**kwargs).mark)
    assert str(info.value).startswith(says)


@pytest.mark.slow  # a pytest subprocess
def test_a_malformed_marker_stops_the_collection_naming_the_test(tmp_path):
    (tmp_path / "pytest.ini").write_text(INI, encoding="utf-8")
    (tmp_path / "test_bad.py").write_text(
        "import pytest\n\n\n@pytest.mark.hostile(area='pages', guards='escape')\ndef test_bad():\n    pass\n",
        encoding="utf-8",
    )
    with pytest.raises(RuntimeError, match=r"test_bad.py::test_bad: hostile outcome=None: must be one of"):
        collect(tmp_path, ["test_bad.py"])


@pytest.mark.slow
def test_every_test_under_tests_hostile_carries_the_marker():
    collected = collect(ROOT, ["tests/hostile"], marked_only=False)
    assert len(collected) > 100
    unmarked = [event["id"] for event in collected if event["fields"] is None]
    assert unmarked == [], "add @pytest.mark.hostile(area=, guards=, outcome=) to these (see tests/hostile_tally.py)"
