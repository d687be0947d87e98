"""The reply parser on the shapes real models answer in."""

import pytest

from vizhub_pipeline.generate.replies import format_files_reply, parse_reply, safe_path

KNOWN = {"index.html": "<html></html>", "data.csv": "a,b\n", "style.css": "body {}"}


def test_several_files_with_prose_around():
    reply = (
        "Sure! I added a legend and moved the styles.\n\n"
        "**index.html**\n```html\n<!DOCTYPE html>\n<html></html>\n```\n\n"
        "And the stylesheet:\n\n**style.css**\n```css\n.legend { font: 12px sans-serif; }\n```\n"
        "Let me know if you want changes."
    )
    parsed = parse_reply(reply, KNOWN)
    assert parsed.files == {
        "index.html": "<!DOCTYPE html>\n<html></html>\n",
        "style.css": ".legend { font: 12px sans-serif; }\n",
    }
    assert parsed.refused == [] and parsed.ignored == []


def test_missing_language_tag_is_matched_by_content_or_name():
    reply = "**style.css**\n```\nbody { margin: 0 }\n```\n\n```\n<!doctype html><html><body></body></html>\n```"
    parsed = parse_reply(reply, KNOWN)
    assert parsed.files["style.css"] == "body { margin: 0 }\n"
    assert parsed.files["index.html"].startswith("<!doctype html>")


@pytest.mark.parametrize(
    "reply",
    [
        "### index.html\n```html\n<p>x</p>\n```",
        "`index.html`:\n```html\n<p>x</p>\n```",
        "File: index.html\n```html\n<p>x</p>\n```",
        '```html title="index.html"\n<p>x</p>\n```',
        "```index.html\n<p>x</p>\n```",
        "Here is the updated `index.html` with the fix:\n```html\n<p>x</p>\n```",
        "**`index.html`**\n```html\n<p>x</p>\n```",
    ],
)
def test_file_name_forms(reply):
    assert parse_reply(reply, KNOWN).files == {"index.html": "<p>x</p>\n"}


def test_a_lone_block_in_a_known_language_goes_to_the_only_file_of_that_language():
    parsed = parse_reply("```css\nh1 { color: red }\n```", KNOWN)
    assert parsed.files == {"style.css": "h1 { color: red }\n"}


def test_nested_fences_inside_a_file_stay_in_that_file():
    reply = (
        "**README.md**\n````markdown\n# Usage\n```js\nrender();\n```\n````\n\n"
        "**notes.md**\n```markdown\nSee:\n```bash\nmake run\n```\ndone\n```\n"
        "**index.html**\n```html\n<b>ok</b>\n```\n"
    )
    files = parse_reply(reply, KNOWN).files
    assert files["README.md"] == "# Usage\n```js\nrender();\n```\n"
    assert files["notes.md"] == "See:\n```bash\nmake run\n```\ndone\n"
    assert files["index.html"] == "<b>ok</b>\n"


def test_a_fence_inside_a_javascript_template_literal_is_content():
    body = "const md = `\n```\n`;\nconsole.log(md);\n"
    reply = "**app.js**\n````js\n" + body + "````\n"
    assert parse_reply(reply, KNOWN).files == {"app.js": body}


def test_no_file_blocks_is_not_ok():
    parsed = parse_reply("I'm sorry, I can't help with that.", KNOWN)
    assert not parsed.ok and parsed.files == {}


def test_a_bare_html_document_without_fences_is_the_entry():
    parsed = parse_reply("Here:\n<!DOCTYPE html><html><body>x</body></html>\nThanks", KNOWN)
    assert parsed.files == {"index.html": "<!DOCTYPE html><html><body>x</body></html>\n"}


@pytest.mark.parametrize(
    "name", ["../x.html", "/etc/passwd", "a\\b.html", "C:/x.html", "a/../../b", ".git/config", "./../y"]
)
@pytest.mark.hostile(area="replies", guards="escape", outcome="clear_error")
def test_paths_outside_the_folder_are_refused_and_recorded(name):
    parsed = parse_reply(f"**{name}**\n```html\nbad\n```\n**index.html**\n```html\ngood\n```", KNOWN)
    assert parsed.files == {"index.html": "good\n"}
    assert len(parsed.refused) == 1 and name in parsed.refused[0]


@pytest.mark.hostile(area="replies", guards="escape", outcome="held")
def test_read_only_files_cannot_be_replaced():
    parsed = parse_reply("**data.csv**\n```csv\na,b\n1,2\n```", KNOWN, read_only={"data.csv"})
    assert parsed.files == {} and parsed.refused == ["data.csv: read-only data file"]


@pytest.mark.parametrize("name", ["meta.json", "response.md", "./meta.json"])
@pytest.mark.hostile(area="replies", guards="escape", outcome="held")
def test_the_pipelines_own_record_files_cannot_be_written_by_a_reply(name):
    parsed = parse_reply(f"**{name}**\n```json\n{{}}\n```\n**index.html**\n```html\ngood\n```", KNOWN)
    assert parsed.files == {"index.html": "good\n"}
    assert len(parsed.refused) == 1 and "reserved for the pipeline's own record" in parsed.refused[0]


def test_diffs_are_not_taken_for_whole_files():
    parsed = parse_reply("**index.html**\n```diff\n--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n```", KNOWN)
    assert parsed.files == {} and "diff" in parsed.ignored[0]


def test_safe_path_normalises_dot_slash():
    assert safe_path("./js/app.js") == "js/app.js"
    assert safe_path("js//app.js") is None


def test_format_files_reply_round_trips_through_the_parser():
    files = {"index.html": "<html>\n```\n</html>\n", "data.csv": "a,b\n1,2\n"}
    assert parse_reply(format_files_reply(files), files).files == files
