"""The grades library on real git repositories: names, appends, commits, bad input, concurrency."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

from tests.grade_repo import git, head_files, isolated_git, make_grade, make_project, status  # noqa: F401
from vizhub_pipeline.core.judgements.scores import GRADE_COLUMNS, KIND, read_grade_file
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.grading import gitrepo
from vizhub_pipeline.grading.errors import GradeCommitError, GradeError
from vizhub_pipeline.grading.loading import graded_items, latest_by_grader, load_grades
from vizhub_pipeline.grading.names import grade_file_path, resolve_grader, slugify_grader
from vizhub_pipeline.grading.submit import submit_judgements as submit_grades

pytestmark = pytest.mark.usefixtures("isolated_git")
HEADER = ",".join(GRADE_COLUMNS)
FILE = "results/grades/alice-2026-11-28.csv"


@pytest.fixture
def layout(tmp_path) -> Layout:
    return make_project(tmp_path / "p")


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name, slug",
    [
        ("alice", "alice"),
        ("Alice Smith", "alice-smith"),
        ("  José  Núñez ", "jose-nunez"),
        ("bob_2", "bob_2"),
        ("O'Brien, Pat", "o-brien-pat"),
    ],
)
def test_grader_names_become_slugs(name, slug):
    assert slugify_grader(name) == slug


@pytest.mark.parametrize(
    "name, message",
    [
        (
            "alice/bob",
            "grader name 'alice/bob' contains '/': use letters, digits, '-' and '_' only "
            "(for example alice or alice-smith)",
        ),
        (
            "../etc",
            "grader name '../etc' contains '/': use letters, digits, '-' and '_' only "
            "(for example alice or alice-smith)",
        ),
        (
            "a..b",
            "grader name 'a..b' contains '..': use letters, digits, '-' and '_' only "
            "(for example alice or alice-smith)",
        ),
        (
            "a\\b",
            "grader name 'a\\\\b' contains '\\\\': use letters, digits, '-' and '_' only "
            "(for example alice or alice-smith)",
        ),
        (
            "!!!",
            "grader name '!!!' has no letters or digits to make a name from: "
            "pass --grader with letters, digits, '-' or '_'",
        ),
    ],
)
@pytest.mark.hostile(area="grade files", guards="escape", outcome="clear_error")
def test_unusable_grader_names_are_refused(name, message):
    with pytest.raises(GradeError) as info:
        slugify_grader(name)
    assert str(info.value) == message


def test_resolve_grader_from_option_then_git_config(tmp_path):
    root = tmp_path / "p"
    make_project(root, user="Carol Ann")
    assert resolve_grader("Dave", root) == "dave"
    assert resolve_grader(None, root) == "carol-ann"
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GradeError) as info:
        resolve_grader(None, plain)
    assert str(info.value) == 'no grader name: pass --grader NAME, or set one with git config user.name "Your Name"'


def test_grade_file_path(layout):
    assert grade_file_path(layout, "alice", date(2026, 11, 28)) == layout.grades / "alice-2026-11-28.csv"
    with pytest.raises(GradeError):
        grade_file_path(layout, "../alice", date(2026, 11, 28))


# --------------------------------------------------------------------------- submit and commit


def test_submit_appends_and_commits_only_the_grade_file(layout):
    root = layout.root
    (root / "README.md").write_text("# staged\n")
    git(root, "add", "README.md")
    (root / "scratch.txt").write_text("untracked\n")
    before = status(root)

    first = submit_grades(layout, [make_grade(notes="solid")])
    second = submit_grades(
        layout, [make_grade("barsTwo", "baseline/starter"), make_grade("barsOne", "baseline/reference")]
    )

    assert first.path == root / FILE and first.branch == "main"
    assert first.message == f"Saved 1 grade to {FILE} and committed {first.commit_id[:7]} on main"
    assert status(root) == before
    assert head_files(root) == [FILE] and head_files(root, "HEAD~1") == [FILE]
    log = git(root, "log", "-2", "--format=%an|%ae|%cn|%ce|%s%n%(trailers:only,unfold)").split("\n\n")
    assert log[0].splitlines() == [
        "Alice|alice@example.org|Alice|alice@example.org|grade: alice graded 2 outputs of barsOne, barsTwo",
        "Grader: alice",
        "Challenges: barsOne, barsTwo",
        "Count: 2",
    ]
    assert log[1].splitlines()[0].endswith("|grade: alice graded 1 output of barsOne")
    assert git(root, "rev-parse", "HEAD").strip() == second.commit_id
    committed = git(root, "show", f"HEAD:{FILE}")
    assert committed.splitlines() == [
        HEADER,
        "barsOne,baseline/starter,0,1111aaaa1111aaaa,3,4,solid,alice,2026-11-28T10:00:00Z,app,true",
        "barsTwo,baseline/starter,0,3333cccc3333cccc,3,4,,alice,2026-11-28T10:00:00Z,app,true",
        "barsOne,baseline/reference,0,2222bbbb2222bbbb,3,4,,alice,2026-11-28T10:00:00Z,app,true",
    ]
    assert (root / FILE).read_bytes().count(b"\r\n") == 4  # RFC 4180 line ends


def test_author_is_the_grader_when_not_the_git_user(layout):
    submit_grades(layout, [make_grade(grader="bob", at="2026-11-29T08:00:00Z")])
    assert git(layout.root, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s").strip() == (
        "bob <bob@vizhub.local>|bob <bob@vizhub.local>|grade: bob graded 1 output of barsOne"
    )
    assert head_files(layout.root) == ["results/grades/bob-2026-11-29.csv"]


def test_commit_message_wording():
    grades = [make_grade(c) for c in ("a", "b", "c", "d")]
    assert KIND.commit_message("alice", grades[:1]).splitlines()[0] == "grade: alice graded 1 output of a"
    assert KIND.commit_message("alice", grades).splitlines() == [
        "grade: alice graded 4 outputs of 4 challenges",
        "",
        "Grader: alice",
        "Challenges: a, b, c, d",
        "Count: 4",
    ]


def test_a_later_grade_supersedes_the_earlier_one_when_read(layout):
    submit_grades(layout, [make_grade(functionality=1, notes="first look")])
    submit_grades(layout, [make_grade(functionality=5, notes="on reflection", at="2026-11-28T11:00:00Z")])
    submit_grades(layout, [make_grade(functionality=2, grader="bob")])
    assert len(load_grades(layout)) == 3
    mine = graded_items(layout, "alice")
    assert list(mine) == [("barsOne", "baseline/starter", 0)]
    assert (mine[("barsOne", "baseline/starter", 0)].functionality, mine[("barsOne", "baseline/starter", 0)].notes) == (
        5,
        "on reflection",
    )
    assert sorted(latest_by_grader(load_grades(layout))) == ["alice", "bob"]


@pytest.mark.hostile(area="grade files", guards="loss", outcome="held")
def test_notes_survive_commas_quotes_newlines_and_formula_prefixes(layout):
    notes = [
        "a, b",
        'says "hi"',
        "two\nlines",
        "crlf\r\nend\r",
        '=HYPERLINK("x")',
        "+1",
        "-2",
        "@SUM(A1)",
        "\tTAB",
        "'=looks neutralised",
        "'quoted",
        "''",
        "back\\slash \\n not a break",
        "\\",
        "",
    ]
    grades = [make_grade(notes=note, at=f"2026-11-28T10:00:{i:02d}Z") for i, note in enumerate(notes)]
    submit_grades(layout, grades)
    raw = (layout.root / FILE).read_bytes().decode("utf-8")
    assert "'=HYPERLINK" in raw and ",'+1," in raw and ",'-2," in raw and "'@SUM" in raw and "'\tTAB" in raw
    assert ",''=looks neutralised," in raw and ",''quoted," in raw and ",two\\nlines," in raw
    assert len(raw.split("\r\n")) == len(notes) + 2 and "\n" not in raw.replace("\r\n", "")  # one line per grade
    assert [grade.notes for grade in read_grade_file(layout.root / FILE)] == notes


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            {"functionality": 6},
            "grade 1 (barsOne/baseline/starter): functionality must be an integer from 0 to 5, got 6",
        ),
        ({"aesthetics": -1}, "grade 1 (barsOne/baseline/starter): aesthetics must be an integer from 0 to 5, got -1"),
        (
            {"functionality": 2.5},
            "grade 1 (barsOne/baseline/starter): functionality must be an integer from 0 to 5, got 2.5",
        ),
        (
            {"functionality": "3"},
            "grade 1 (barsOne/baseline/starter): functionality must be an integer from 0 to 5, got '3'",
        ),
        (
            {"aesthetics": True},
            "grade 1 (barsOne/baseline/starter): aesthetics must be an integer from 0 to 5, got True",
        ),
        (
            {"challenge": "nope"},
            "grade 1 (nope/baseline/starter): unknown challenge 'nope': no outputs in {root}/visualizations/nope",
        ),
        ({"challenge": "../x"}, "grade 1 (../x/baseline/starter): unknown challenge '../x': not a challenge id"),
        (
            {"model": "gpt-9"},
            "grade 1 (barsOne/gpt-9): unknown model 'gpt-9' (sample 0) for challenge 'barsOne': "
            "no {root}/visualizations/barsOne/gpt-9/meta.json",
        ),
        (
            {"artifact": "ffffffffffffffff"},
            "grade 1 (barsOne/baseline/starter): stale: the grade is for artifact 'ffffffffffffffff' but "
            "barsOne/baseline/starter is now '1111aaaa1111aaaa'; look at the current output and grade again",
        ),
        ({"notes": "a\0b"}, "grade 1 (barsOne/baseline/starter): notes must not contain NUL characters"),
        (
            {"at": "2026-11-28 10:00"},
            "grade 1 (barsOne/baseline/starter): graded_at must be in UTC (end in Z), found '2026-11-28 10:00'",
        ),
        (
            {"at": "yesterday"},
            "grade 1 (barsOne/baseline/starter): graded_at must be an ISO 8601 UTC time such as "
            "2026-11-28T12:00:00Z, found 'yesterday'",
        ),
    ],
)
@pytest.mark.hostile(area="grade files", guards="loss", outcome="clear_error")
def test_bad_grades_are_refused_and_nothing_is_written(layout, changes, message):
    submit_grades(layout, [make_grade(notes="kept")])
    before = (layout.root / FILE).read_bytes()
    head = git(layout.root, "rev-parse", "HEAD")
    with pytest.raises(GradeError) as info:
        submit_grades(layout, [make_grade("barsTwo", "baseline/starter"), make_grade(**changes)])
    assert str(info.value) == "nothing written: " + message.replace("grade 1", "grade 2").format(root=layout.root)
    assert (layout.root / FILE).read_bytes() == before
    assert git(layout.root, "rev-parse", "HEAD") == head


@pytest.mark.parametrize("grader", ["al/ice", "../alice", "al ice", ""])
@pytest.mark.hostile(area="grade files", guards="escape", outcome="clear_error")
def test_unsafe_grader_in_a_grade_is_refused(layout, grader):
    with pytest.raises(GradeError) as info:
        submit_grades(layout, [make_grade(grader=grader)])
    assert str(info.value) == f"nothing written: grader {grader!r} is not a safe name (letters, digits, '-', '_')"
    assert not layout.grades.exists()


def test_one_grader_per_submission(layout):
    with pytest.raises(GradeError, match="one grader per submission, got alice, bob"):
        submit_grades(layout, [make_grade(), make_grade(grader="bob")])
    with pytest.raises(GradeError, match="nothing to submit"):
        submit_grades(layout, [])


def test_appending_keeps_a_bom_crlf_or_lf_file_valid(layout):
    path = layout.root / FILE
    path.parent.mkdir(parents=True)
    row = "barsOne,baseline/starter,0,1111aaaa1111aaaa,2,2,old,alice,2026-11-28T09:00:00Z,cli,false"
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + row + "\r\n").encode())
    submit_grades(layout, [make_grade(notes="new")])
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == 3 and data.count(b"\n") == 3
    assert [g.notes for g in read_grade_file(path)] == ["old", "new"]

    lf = layout.root / "results/grades/alice-2026-11-29.csv"
    lf.write_text(
        HEADER + "\n" + row.replace("09:00:00Z", "2026-11-29T09:00:00Z"[11:]).replace("2026-11-28", "2026-11-29")
    )  # no final newline
    submit_grades(layout, [make_grade(notes="lf", at="2026-11-29T10:00:00Z")])
    assert b"\r" not in lf.read_bytes()
    assert [g.notes for g in read_grade_file(lf)] == ["old", "lf"]
    assert status(layout.root) == []


@pytest.mark.hostile(area="grade files", guards="loss", outcome="clear_error")
def test_a_file_with_a_wrong_header_is_not_appended_to(layout):
    path = layout.root / FILE
    path.parent.mkdir(parents=True)
    path.write_text("challenge,model,score\n")
    with pytest.raises(GradeError) as info:
        submit_grades(layout, [make_grade()])
    assert str(info.value) == (
        f"{path}:1: the header is not {HEADER}; fix the file (vizhub validate {path}) before grading more"
    )
    assert path.read_text() == "challenge,model,score\n"


@pytest.mark.hostile(area="grade files", guards="loss", outcome="clear_error")
def test_a_file_with_an_unclosed_quote_is_not_appended_to(layout):
    path = layout.root / FILE
    path.parent.mkdir(parents=True)
    text = HEADER + '\nbarsOne,baseline/starter,0,1111aaaa1111aaaa,2,2,"open note\n'
    path.write_text(text)
    with pytest.raises(GradeError) as info:
        submit_grades(layout, [make_grade()])
    assert str(info.value) == (
        f"{path}: a quoted field is never closed, so new rows would land inside it; "
        f"fix the file (vizhub validate {path}) before grading more"
    )
    assert path.read_text() == text


def test_outside_git_the_file_is_written_and_commits_are_off(tmp_path):
    layout = make_project(tmp_path / "p", init=False)
    result = submit_grades(layout, [make_grade()])
    assert result.commit_id is None
    assert result.message == f"Saved 1 grade to {FILE}; commits are off: {layout.root} is not in a git repository"
    assert len(read_grade_file(layout.root / FILE)) == 1


def test_unborn_repository(tmp_path):
    layout = make_project(tmp_path / "p", commit=False)
    before = status(layout.root)
    result = submit_grades(layout, [make_grade()])
    assert git(layout.root, "log", "--format=%P|%s").splitlines() == ["|grade: alice graded 1 output of barsOne"]
    assert status(layout.root) == before
    assert result.branch == "main"


def test_detached_head_is_refused_before_writing(layout):
    git(layout.root, "checkout", "-q", "--detach")
    with pytest.raises(GradeError) as info:
        submit_grades(layout, [make_grade()])
    assert str(info.value) == (
        f"HEAD is detached in {layout.root}: check out a branch first (git switch <branch>), "
        "or grade onto a branch of its own with --branch"
    )
    assert not (layout.root / FILE).exists()
    result = submit_grades(layout, [make_grade()], branch="grades/alice-2026-11-28")
    assert git(layout.root, "show", "--format=%s", "--name-only", "grades/alice-2026-11-28").split("\n")[:3] == [
        "grade: alice graded 1 output of barsOne",
        "",
        FILE,
    ]
    assert result.push_command == "git push origin grades/alice-2026-11-28"


def test_held_index_lock_keeps_the_grade_on_disk(layout, monkeypatch):
    monkeypatch.setattr(gitrepo, "INDEX_LOCK_TIMEOUT", 0.2)
    lock = layout.root / ".git" / "index.lock"
    lock.write_text("")
    with pytest.raises(GradeCommitError) as info:
        submit_grades(layout, [make_grade(notes="safe")])
    assert str(info.value) == (
        f"Saved 1 grade to {FILE}, but could not commit: {lock} is held by another git process (waited 0.2 s); "
        "if no git command is running, remove that file and commit again"
    )
    assert info.value.path == layout.root / FILE
    assert [g.notes for g in read_grade_file(layout.root / FILE)] == ["safe"]
    lock.unlink()
    submit_grades(layout, [make_grade(notes="next", at="2026-11-28T10:05:00Z")])  # commits both rows
    assert git(layout.root, "show", f"HEAD:{FILE}").count("alice,2026") == 2
    assert status(layout.root) == []


def test_branch_submission_leaves_head_index_and_working_tree_untouched(layout):
    root = layout.root
    (root / "README.md").write_text("staged\n")
    git(root, "add", "README.md")
    head = git(root, "rev-parse", "HEAD")
    index = (root / ".git" / "index").read_bytes()
    before = status(root)

    first = submit_grades(layout, [make_grade()], branch="grades/alice-2026-11-28")
    second = submit_grades(
        layout, [make_grade("barsTwo", "openai/gpt-4o", functionality=0)], branch="grades/alice-2026-11-28"
    )

    assert git(root, "rev-parse", "HEAD") == head
    assert (root / ".git" / "index").read_bytes() == index
    assert status(root) == before
    assert not (root / "results").exists()
    assert first.branch == second.branch == "grades/alice-2026-11-28"
    assert second.message == (
        f"Committed 1 grade ({FILE}) as {second.commit_id[:7]} on branch grades/alice-2026-11-28; "
        "open a pull request after: git push origin grades/alice-2026-11-28"
    )
    assert git(root, "show", f"grades/alice-2026-11-28:{FILE}").count("\n") == 3
    assert git(root, "rev-parse", "grades/alice-2026-11-28~2") == head
    assert set(graded_items(layout, "alice", branch="grades/alice-2026-11-28")) == {
        ("barsOne", "baseline/starter", 0),
        ("barsTwo", "openai/gpt-4o", 0),
    }
    assert graded_items(layout, "alice") == {}


def test_branch_needs_git_and_a_valid_name(tmp_path, layout):
    with pytest.raises(GradeError, match=r"--branch 'bad\.\.name' is not a valid git branch name"):
        submit_grades(layout, [make_grade()], branch="bad..name")
    plain = make_project(tmp_path / "plain", init=False)
    with pytest.raises(GradeError, match="--branch needs a git repository"):
        submit_grades(plain, [make_grade()], branch="grades/x")


WORKER = """
import sys
from vizhub_pipeline.grading.submit import submit_judgements
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.records import Grade
layout = Layout.at(sys.argv[1])
who = sys.argv[2]
for i in range(int(sys.argv[3])):
    model = "baseline/starter" if i % 2 else "baseline/reference"
    artifact = "1111aaaa1111aaaa" if i % 2 else "2222bbbb2222bbbb"
    grade = Grade("barsOne", model, 0, artifact, i % 6, 5 - i % 6, f"{who}-{i}", sys.argv[4], "2026-11-28T10:00:00Z")
    submit_judgements(layout, [grade])
"""


@pytest.mark.parametrize("graders", [("alice", "alice"), ("alice", "bob")], ids=["same-file", "two-files"])
@pytest.mark.hostile(area="grade files", guards="loss", outcome="held")
def test_two_processes_grading_at_once_lose_no_row(layout, graders):
    root = layout.root
    count = 12
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(root), f"p{n}", str(count), grader], stderr=subprocess.PIPE, text=True
        )
        for n, grader in enumerate(graders)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    notes = sorted(grade.notes for grade in load_grades(layout))
    assert notes == sorted(f"p{n}-{i}" for n in range(2) for i in range(count))
    assert git(root, "rev-list", "--count", "HEAD").strip() == str(1 + 2 * count)
    for rev in git(root, "rev-list", "HEAD~" + str(2 * count) + "..HEAD").split():
        assert len(head_files(root, rev)) == 1
    assert status(root) == []
    git(root, "fsck", "--strict", "--no-progress")
    for path in layout.grades.glob("*.csv"):
        assert git(root, "show", f"HEAD:{path.relative_to(root).as_posix()}").replace(
            "\r", ""
        ) == path.read_text().replace("\r", "")


# --------------------------------------------------------------------------- older files and merges


def test_appending_to_an_older_file_rewrites_it_in_the_current_format(layout):
    path = layout.root / FILE
    path.parent.mkdir(parents=True)
    older = ",".join(GRADE_COLUMNS[:9])
    rows = [
        "barsOne,baseline/starter,0,1111aaaa1111aaaa,2,2,'=SUM(A1),alice,2026-11-28T09:00:00+00:00",
        'barsTwo,baseline/starter,0,3333cccc3333cccc,1,1,"two\nlines",alice,2026-11-28T09:30:00Z',
    ]
    path.write_bytes(("\ufeff" + older + "\n" + "\n".join(rows) + "\n").encode())
    before = read_grade_file(path)
    assert [(g.notes, g.source, g.blind) for g in before] == [
        ("=SUM(A1)", "unknown", None),
        ("two\nlines", "unknown", None),
    ]
    submit_grades(layout, [make_grade(notes="new")])
    text = path.read_bytes().decode("utf-8")
    assert text.splitlines() == [
        "\ufeff" + HEADER,
        "barsOne,baseline/starter,0,1111aaaa1111aaaa,2,2,'=SUM(A1),alice,2026-11-28T09:00:00Z,unknown,",
        "barsTwo,baseline/starter,0,3333cccc3333cccc,1,1,two\\nlines,alice,2026-11-28T09:30:00Z,unknown,",
        "barsOne,baseline/starter,0,1111aaaa1111aaaa,3,4,new,alice,2026-11-28T10:00:00Z,app,true",
    ]
    assert "\r" not in text  # the file's own LF line ends
    assert read_grade_file(path) == [*before, make_grade(notes="new")]
    assert status(layout.root) == []


@pytest.mark.hostile(area="grade files", guards="loss", outcome="held")
def test_the_same_grader_on_two_branches_merges_with_git(layout):
    """Two grading branches both add to results/grades/alice-<day>.csv, with multi-line notes;
    the shipped .gitattributes makes `git merge` keep the rows of both, and the result reads back."""
    from tests.conftest import REPO_ROOT
    from vizhub_pipeline.grading.validate import validate_judgement_files

    root = layout.root
    (root / ".gitattributes").write_bytes((REPO_ROOT / ".gitattributes").read_bytes())
    git(root, "add", ".gitattributes")
    git(root, "commit", "-q", "-m", "merge judgement files by union")
    first = [make_grade(notes='bars fine\ntooltip, "missing"\n', at="2026-11-28T10:00:00Z")]
    second = [
        make_grade("barsTwo", "openai/gpt-4o", notes="line one\r\nline two", at="2026-11-28T10:00:00Z"),
        make_grade("barsTwo", "baseline/starter", notes="=1+1\n'=x", at="2026-11-28T11:00:00Z"),
    ]
    git(root, "switch", "-q", "-c", "grades/one")
    submit_grades(layout, first)
    git(root, "switch", "-q", "-c", "grades/two", "main")
    submit_grades(layout, second)
    git(root, "switch", "-q", "main")
    git(root, "merge", "-q", "--no-edit", "grades/one")
    git(root, "merge", "-q", "--no-edit", "grades/two")
    assert status(root) == []
    text = (root / FILE).read_text(encoding="utf-8")
    assert text.count(HEADER) == 1 and "<<<<<<<" not in text and len(text.splitlines()) == 4
    assert sorted(load_grades(layout), key=lambda g: g.graded_at + g.challenge) == sorted(
        first + second, key=lambda g: g.graded_at + g.challenge
    )
    assert validate_judgement_files(layout).problems == []
