"""Hostile model replies: names no file system can hold, replies built to be slow, huge replies.

A bad reply costs its own item (recorded as an error, naming the file or the size) and nothing
else: the other items of the run are written, and the run goes on.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.hostile.reply_cases import CASES, KNOWN, ReplyCase, ordinary_reply
from tests.loopback_server import Behaviour
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.params import GenerateParams, load_params
from vizhub_pipeline.core.records import read_generation
from vizhub_pipeline.generate.names import MAX_DEPTH, name_conflicts, name_problem
from vizhub_pipeline.generate.replies import parse_reply
from vizhub_pipeline.generate.stage import KEPT_OF_A_LONG_REPLY, over_cap, run_generate

# a bad name used to abort the whole run and lose the other items' results
pytestmark = pytest.mark.hostile(area="replies", guards="loss", outcome="clear_error")

FAST = GenerateParams(retries=1, backoff=0.01, timeout=5)
GOOD = "**index.html**\n```html\n<p>model output</p>\n```\n"
LONG_PART = "n" * 300 + ".js"
DEEP = "d/" * 2100 + "x.js"


def block(name: str, body: str = "x") -> str:
    return f"**{name}**\n```js\n{body}\n```\n"


# ------------------------------------------------------------------ slow replies


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
@pytest.mark.hostile(area="replies", guards="hang", outcome="held")
def test_hostile_shapes_parse_to_the_right_files(case: ReplyCase):
    """Sized like the audit's line: a quadratic parser takes minutes on each of these."""
    parsed = parse_reply(case.build(80_000), KNOWN)
    assert parsed.files == case.files
    assert parsed.invalid == [] and parsed.refused == []


@pytest.mark.hostile(area="replies", guards="hang", outcome="held")
def test_the_audits_80_kb_line_of_dashes_parses():
    line = "-".join(["a"] * 40_000)
    parsed = parse_reply(f"Notes:\n{line}\n```html\n<p>x</p>\n```\n", KNOWN)
    assert parsed.files == {"index.html": "<p>x</p>\n"}
    assert parse_reply(f"{line} index.html\n```html\n<p>y</p>\n```\n", {}).files == {"index.html": "<p>y</p>\n"}


@pytest.mark.hostile(area="replies", outcome="control")
def test_an_ordinary_reply_parses_whole():
    parsed = parse_reply(ordinary_reply(200_000), KNOWN)
    assert sorted(parsed.files) == ["index.html", "js/chart.js"]
    assert parsed.files["index.html"].endswith("</body>\n</html>\n")
    assert len(parsed.files["js/chart.js"]) > 99_000 and parsed.files["js/chart.js"].endswith("; // bars\n")


# ------------------------------------------------------------------ names


@pytest.mark.parametrize(
    ("name", "says"),
    [
        (LONG_PART, "303 bytes long (at most 255)"),
        ("é" * 130 + ".js", "263 bytes long (at most 255)"),  # 133 characters, but bytes count
        ("abcdefghi/" * 45 + "x.js", "the name is 454 bytes long (at most 400)"),
        ("a/" * MAX_DEPTH + "x.js", f"{MAX_DEPTH + 1} levels deep (at most {MAX_DEPTH})"),
        (DEEP, "bytes long"),
        ("a|b.js", "'|', which Windows refuses"),
        ("what?.js", "'?', which Windows refuses"),
        ('say"hi".js', "'\"', which Windows refuses"),
        ("tab\there.js", "'\\t', which Windows refuses"),
        ("bell\x07.js", "'\\x07', which Windows refuses"),
        ("a:b.js", "':', which Windows refuses"),
        ("js./app.js", "ends in a dot or a space"),
        ("app.js ", "ends in a dot or a space"),
        ("CON.js", "Windows device name"),
        ("lib/nul", "Windows device name"),
        ("com1.txt", "Windows device name"),
        ("x\ud800.js", "lone surrogate"),
    ],
)
def test_names_some_common_file_system_cannot_hold(name, says):
    problem = name_problem(name)
    assert problem is not None and says in problem


@pytest.mark.parametrize(
    "name", ["index.html", "js/app.js", "a b/c-d_e.min.js", "données.csv", "n" * 255, "a/" * 15 + "x", "console.js"]
)
@pytest.mark.hostile(area="replies", outcome="control")
def test_ordinary_names_pass(name):
    assert name_problem(name) is None


def test_a_file_that_another_name_needs_as_a_folder_conflicts():
    assert name_conflicts(["index.html", "index.html/x.js"]) == [
        "'index.html' is a file, but 'index.html/x.js' needs it to be a folder"
    ]
    assert name_conflicts(["data.csv/rows.csv"], existing=["data.csv"]) == [
        "'data.csv' is a file, but 'data.csv/rows.csv' needs it to be a folder"
    ]
    assert name_conflicts(["js/a.js", "js/b.js", "index.html"], existing=["index.html"]) == []


def test_names_that_differ_only_in_case_or_unicode_form_conflict():
    assert name_conflicts(["Index.html"], existing=["index.html"]) == [
        "'Index.html' and 'index.html' differ only in case or Unicode form"
    ]
    assert len(name_conflicts(["caf\u00e9.js", "cafe\u0301.js"])) == 1
    assert name_conflicts(["JS/a.js", "js/b.js"]) == []  # one folder on some systems, two on others: no file lost
    assert name_conflicts([], existing=["A.txt", "a.txt"]) == []  # the starter's own names are not the reply's fault


@pytest.mark.parametrize(
    ("reply", "named"),
    [
        (block("index.html") + block("index.html/x.js"), "index.html/x.js"),
        (block(LONG_PART), LONG_PART[:20]),
        (block(DEEP), "'d/d/d/d/"),
        (block("Index.html"), "Index.html"),
        ('```js title="a|b.js"\nx\n```\n', "a|b.js"),
    ],
    ids=["file and folder", "300-character name", "2,100 levels", "case twin of a starter file", "windows char"],
)
def test_the_parser_lists_names_no_file_system_can_hold(reply, named):
    parsed = parse_reply(reply + GOOD, KNOWN)
    assert len(parsed.invalid) == 1 and named in parsed.invalid[0]


@pytest.mark.parametrize("name", ["../x.js", "/abs/x.js", "a\x00b.js", "a/../../b.js"])
@pytest.mark.hostile(area="replies", guards="escape", outcome="clear_error")
def test_names_leaving_the_folder_are_still_refused_one_by_one(name):
    parsed = parse_reply(f'```js title="{name}"\nx\n```\n' + GOOD, KNOWN)
    assert parsed.files == {"index.html": "<p>model output</p>\n"} and parsed.invalid == []
    assert parsed.refused == [f"{name}: path outside the output folder"]


# ------------------------------------------------------------------ through the generate stage


def one_bad_item(bad_reply: str):
    """The loopback's answer: ``bad_reply`` for model m1 on barsTwo, a good reply for the others."""

    def answer(request: dict) -> Behaviour:
        prompt = request["messages"][-1]["content"]
        bad = request["model"] == "m1" and "Draw bars, sorted." in prompt
        return Behaviour(reply=bad_reply if bad else GOOD)

    return answer


@pytest.mark.parametrize(
    ("bad_reply", "message"),
    [
        (block("index.html") + block("index.html/x.js"), "'index.html/x.js' needs it to be a folder"),
        (block(LONG_PART) + GOOD, "(303 characters): the part"),
        (block(DEEP) + GOOD, "the name is 4204 bytes long (at most 400)"),
        (block("Data.csv") + GOOD, "'Data.csv' and 'data.csv' differ only in case"),
        (
            '```js title="chart<1>.js"\nx\n```\n' + GOOD,
            "'chart<1>.js': it holds '<', '>', which Windows refuses in a file name",
        ),
    ],
    ids=["file and folder", "300-character name", "2,100 levels", "case twin", "windows chars"],
)
def test_a_reply_with_an_unwritable_name_fails_its_item_only(project, loopback, bad_reply, message):
    loopback.default = one_bad_item(bad_reply)
    params = replace(FAST, models=("openai/m1", "openai/m2"))
    summary = run_generate(Layout.at(project), params, progress=False)
    assert (summary.done, summary.failed) == (3, 1)
    assert len(summary.failures) == 1 and summary.failures[0].startswith("barsTwo / openai/m1: reply refused")
    folder = project / "visualizations" / "barsTwo" / "openai__m1"
    generation = read_generation(folder / "meta.json")
    assert generation.status == "error" and generation.files == () and generation.artifact_hash is None
    assert generation.error.startswith("reply refused, a file name it gives cannot be written: ")
    assert message in generation.error
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "response.md"]
    assert (folder / "response.md").read_text() == bad_reply
    for challenge, model in (("barsOne", "m1"), ("barsOne", "m2"), ("barsTwo", "m2")):
        good = project / "visualizations" / challenge / f"openai__{model}"
        assert read_generation(good / "meta.json").status == "ok"
        assert (good / "index.html").read_text() == "<p>model output</p>\n"
    again = run_generate(Layout.at(project), params, progress=False)  # the error is asked again, the rest kept
    assert (again.skipped, again.failed) == (3, 1) and len(loopback.requests) == 5


@pytest.mark.hostile(area="replies", guards="escape", outcome="clear_error")
def test_a_reply_over_the_cap_is_an_error_and_only_its_start_is_kept(project, loopback):
    huge = GOOD + "// filler\n" * 30_000  # 300,047 bytes
    loopback.default = one_bad_item(huge)
    params = replace(FAST, models=("openai/m1", "openai/m2"), max_reply_bytes=100_000)
    summary = run_generate(Layout.at(project), params, progress=False)
    assert (summary.done, summary.failed) == (3, 1)
    folder = project / "visualizations" / "barsTwo" / "openai__m1"
    generation = read_generation(folder / "meta.json")
    assert generation.status == "error" and generation.files == ()
    assert generation.error == "the reply is 300,047 bytes, over generate.max_reply_bytes (100,000); it was not parsed"
    assert generation.tokens_out is not None
    kept = (folder / "response.md").read_text()
    assert kept.startswith(huge[: KEPT_OF_A_LONG_REPLY - 100])
    assert kept.endswith(
        "[vizhub: reply cut here. It was 300,047 bytes, over generate.max_reply_bytes (100,000); "
        f"only its first {KEPT_OF_A_LONG_REPLY:,} bytes are kept.]\n"
    )
    assert len(kept.encode()) < KEPT_OF_A_LONG_REPLY + 200
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "response.md"]
    assert read_generation(project / "visualizations" / "barsOne" / "openai__m1" / "meta.json").status == "ok"


@pytest.mark.hostile(area="replies", outcome="control")
def test_a_reply_at_the_cap_is_parsed():
    assert over_cap("x" * 100, 100) is None
    assert over_cap("x" * 101, 100) is not None


@pytest.mark.hostile(area="replies", guards="loss", outcome="held")
def test_a_cut_never_splits_a_character():
    error, kept = over_cap("é" * 100, 51)  # two bytes each: the 51st byte is half of one
    assert "200 bytes, over generate.max_reply_bytes (51)" in error
    assert kept.startswith("é" * 25 + "\n\n[vizhub: reply cut here.") and "first 50 bytes" in kept


@pytest.mark.hostile(area="replies", outcome="control")
def test_the_cap_is_a_parameter_with_a_default(tmp_path):
    assert GenerateParams().max_reply_bytes == 2_000_000
    path = tmp_path / "params.yaml"
    path.write_text("generate:\n  max_reply_bytes: 5000\n")
    assert load_params(path).generate.max_reply_bytes == 5000
    path.write_text("generate:\n  max_reply_bytes: 0\n")
    with pytest.raises(Exception, match="generate.max_reply_bytes"):
        load_params(path)


def test_a_name_the_file_system_refuses_at_write_time_is_the_items_error(project):
    """The last guard, behind the name checks: an OSError while writing becomes the item's error."""
    from vizhub_pipeline.core.challenges import discover_challenges
    from vizhub_pipeline.core.records import Generation
    from vizhub_pipeline.generate.stage import GenerationTask, ReplyWriteError, write_item

    layout = Layout.at(project)
    challenge = discover_challenges(layout.challenges, ("barsOne",))[0][0]
    item = GenerationTask(challenge, "openai/m1", 0)
    generation = Generation(challenge="barsOne", model="openai/m1", sample=0, status="ok", input_hash="h")
    with pytest.raises(ReplyWriteError, match=r"reply refused, could not write 'index.html/x.js': "):
        write_item(layout, item, generation, {"index.html": "a", "index.html/x.js": "b"}, "reply")
    assert not layout.visualization_dir("barsOne", "openai/m1", 0).exists()
    assert list((project / "visualizations" / "barsOne").iterdir()) == []  # no staging folder left behind


@pytest.mark.hostile(area="replies", guards="escape", outcome="held")
def test_a_reply_of_many_unusable_blocks_keeps_meta_json_small(project, loopback):
    from vizhub_pipeline.generate.stage import SHOWN_PROBLEMS

    loopback.default = Behaviour(reply=GOOD + "```\nx\n```\n" * 5000)
    params = replace(FAST, models=("openai/m1",))
    run_generate(Layout.at(project), params, challenges=("barsOne",), progress=False)
    generation = read_generation(project / "visualizations" / "barsOne" / "openai__m1" / "meta.json")
    assert generation.status == "ok"
    problems = generation.error.split("; ")
    assert problems[:-1] == ["a plain block that names no file"] * SHOWN_PROBLEMS
    assert problems[-1] == f"and {5000 - SHOWN_PROBLEMS:,} more"


@pytest.mark.hostile(area="replies", guards="loss", outcome="held")
def test_lone_surrogates_in_a_reply_are_replaced_and_noted(project, loopback):
    """JSON can carry "\\ud800", which no UTF-8 file can hold: it must not stop the run."""
    loopback.default = one_bad_item("**index.html**\n```html\n<p>a\ud800b</p>\n```\n")
    summary = run_generate(Layout.at(project), replace(FAST, models=("openai/m1", "openai/m2")), progress=False)
    assert (summary.done, summary.failed) == (4, 0)
    folder = project / "visualizations" / "barsTwo" / "openai__m1"
    assert (folder / "index.html").read_text() == "<p>a\ufffdb</p>\n"
    assert (folder / "response.md").read_text() == "**index.html**\n```html\n<p>a\ufffdb</p>\n```\n"
    generation = read_generation(folder / "meta.json")
    assert generation.status == "ok" and generation.error == "1 lone surrogate in the reply, replaced by U+FFFD"
