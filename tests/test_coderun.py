"""The code-challenge runner: real bubblewrap, real node, hostile outputs.

Every hostile test ends by running a good output in the same place, which must pass. Folders that
a hostile output aims at are made world-readable or world-writable, so that only the sandbox
(not the unprivileged user it runs as) stands between the output and them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from vizhub_pipeline.core.errors import InputError, PrerequisiteError
from vizhub_pipeline.screenshot.coderun import (
    MAX_FILES,
    STATUSES,
    CodeRun,
    Limits,
    check_sandbox,
    run_sandboxed,
)
from vizhub_pipeline.screenshot.coderun_files import replace_host_paths

REPO_ROOT = Path(__file__).resolve().parents[1]
ROOMY = Limits(seconds=60)  # generous: the machine may be busy, and these runs are meant to finish

FUNCTIONS = """\
export function add(a, b) {
  return a + b;
}

export function reverseString(text) {
  return [...text].reverse().join("");
}
"""

WRONG_FUNCTIONS = """\
export function add(a, b) {
  return a - b;
}

export function reverseString(text) {
  return text;
}
"""

TEST = """\
import { add, reverseString } from "./functions.mjs";

const cases = [
  ["add(2, 3)", () => add(2, 3), 5],
  ["add(-4, 4)", () => add(-4, 4), 0],
  ["reverseString('abc')", () => reverseString("abc"), "cba"],
  ["reverseString('')", () => reverseString(""), ""],
];
let failures = 0;
for (const [name, run, expected] of cases) {
  const got = run();
  if (got !== expected) {
    failures += 1;
    console.error(`FAIL ${name}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
  }
}
console.log(`${cases.length - failures}/${cases.length} passed`);
process.exit(failures === 0 ? 0 : 1);
"""


def write_output(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def hostile(folder: Path, script: str, **more: str) -> Path:
    """An output whose test file is ``script`` (the functions are right: only the script misbehaves)."""
    return write_output(folder, {"functions.mjs": FUNCTIONS, "index.mjs": script, **more})


def run(folder: Path, limits: Limits = ROOMY, **kwargs) -> CodeRun:
    return run_sandboxed(folder, ["node", "index.mjs"], entry="index.mjs", limits=limits, **kwargs)


def assert_next_run_passes(place: Path) -> None:
    """After a hostile run, a good output runs normally."""
    good = write_output(place / f"good-{uuid.uuid4().hex[:8]}", {"functions.mjs": FUNCTIONS, "index.mjs": TEST})
    result = run(good)
    assert (result.status, result.stdout) == ("passed", "4/4 passed\n"), result


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with a hash of its bytes, and every folder."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        found[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
    return found


def processes_with(token: str) -> list[int]:
    """Host processes whose command line holds ``token``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.fixture
def open_place() -> Iterator[Path]:
    """A world-writable folder outside the project (pytest's tmp_path is closed to other users)."""
    folder = Path(tempfile.mkdtemp(prefix="vizhub-coderun-test-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder)


def test_sandbox_works_on_this_machine():
    check_sandbox()


# statuses


def test_a_correct_output_passes_and_its_record_is_the_same_every_run(tmp_path):
    folder = write_output(tmp_path / "out", {"functions.mjs": FUNCTIONS, "index.mjs": TEST})
    first, second = run(folder), run(folder)
    assert first.status == "passed" and first.exit_code == 0 and first.message == "exit code 0"
    assert first.stdout == "4/4 passed\n" and first.stderr == ""
    assert first.to_record() == second.to_record()
    assert "seconds" not in first.to_record() and first.seconds > 0


def test_a_wrong_output_fails_with_the_test_messages(tmp_path):
    result = run(write_output(tmp_path / "out", {"functions.mjs": WRONG_FUNCTIONS, "index.mjs": TEST}))
    assert (result.status, result.exit_code, result.message) == ("failed", 1, "exit code 1")
    assert result.stdout == "1/4 passed\n"
    assert "FAIL add(2, 3): expected 5, got -1" in result.stderr


@pytest.mark.slow  # runs until a time limit of seconds
@pytest.mark.hostile(area="code", guards="hang", outcome="clear_error")
def test_an_endless_test_times_out(tmp_path):
    folder = hostile(tmp_path / "out", "console.log('spinning');\nwhile (true) {}\n")
    result = run(folder, Limits(seconds=3))
    assert (result.status, result.exit_code, result.message) == ("timeout", None, "timed out after 3 s")
    assert_next_run_passes(tmp_path)


def test_a_missing_entry_file_is_an_error(tmp_path):
    result = run(write_output(tmp_path / "out", {"functions.mjs": FUNCTIONS}))
    assert (result.status, result.exit_code) == ("error", None)
    assert result.message == "the entry file index.mjs is missing from the output"


@pytest.mark.hostile(area="code", guards="escape", outcome="clear_error")
def test_a_symbolic_link_in_the_output_is_an_error(tmp_path):
    folder = write_output(tmp_path / "out", {"functions.mjs": FUNCTIONS, "index.mjs": TEST})
    (folder / "passwd.mjs").symlink_to("/etc/passwd")
    result = run(folder)
    assert (result.status, result.message) == ("error", "the output holds a symbolic link: passwd.mjs")


def test_a_sandbox_that_does_not_start_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("VIZHUB_BWRAP", shutil.which("false") or "/bin/false")
    result = run(write_output(tmp_path / "out", {"functions.mjs": FUNCTIONS, "index.mjs": TEST}))
    assert (result.status, result.exit_code) == ("error", None)
    assert result.message == "the sandbox could not start: exit code 1"


def test_a_machine_without_a_working_sandbox_is_told_so(monkeypatch):
    monkeypatch.setenv("VIZHUB_BWRAP", shutil.which("false") or "/bin/false")
    with pytest.raises(PrerequisiteError, match="the bubblewrap sandbox does not work on this machine"):
        check_sandbox()
    monkeypatch.setenv("VIZHUB_BWRAP", "/no/such/bwrap")
    with pytest.raises(PrerequisiteError, match="VIZHUB_BWRAP=/no/such/bwrap is not an executable file"):
        check_sandbox()


def test_an_output_too_big_for_the_sandbox_is_an_error(tmp_path):
    big = write_output(tmp_path / "big", {"index.mjs": TEST, "data.bin": "x" * 70_000})
    result = run(big, Limits(seconds=60, disk_bytes=64 * 1024))
    assert (result.status, result.message) == (
        "error",
        "the output's files take 77824 bytes, more than the sandbox's 65536",
    )
    many = write_output(tmp_path / "many", {"index.mjs": TEST, **{f"f{n}.js": "" for n in range(MAX_FILES)}})
    result = run(many)
    assert (result.status, result.message) == (
        "error",
        f"the output has {MAX_FILES + 1} files, more than the 200 a run copies",
    )


def test_a_missing_protected_file_names_it(tmp_path):
    folder = write_output(tmp_path / "out", {"functions.mjs": FUNCTIONS, "index.mjs": TEST})
    with pytest.raises(InputError, match="protected file index.mjs does not exist"):
        run(folder, protected={"index.mjs": tmp_path / "challenge" / "index.mjs"})
    with pytest.raises(InputError, match="path inside the output"):
        run(folder, protected={"../index.mjs": folder / "index.mjs"})


def test_statuses_are_the_documented_four():
    assert STATUSES == ("passed", "failed", "error", "timeout")


# protected files and the copy


def test_protected_test_file_replaces_the_outputs_rewritten_one(tmp_path):
    challenge = write_output(tmp_path / "challenge", {"index.mjs": TEST})
    cheat = "console.log('4/4 passed');\nprocess.exit(0);\n"
    folder = write_output(tmp_path / "out", {"functions.mjs": WRONG_FUNCTIONS, "index.mjs": cheat})
    assert run(folder).status == "passed"  # the rewrite would pass on its own
    result = run(folder, protected={"index.mjs": challenge / "index.mjs"})
    assert (result.status, result.stdout) == ("failed", "1/4 passed\n")
    assert (folder / "index.mjs").read_text(encoding="utf-8") == cheat


def test_protected_file_in_a_subfolder_the_output_lacks(tmp_path):
    challenge = write_output(tmp_path / "challenge", {"test/check.mjs": TEST.replace("./functions", "../functions")})
    folder = write_output(tmp_path / "out", {"functions.mjs": FUNCTIONS})
    result = run_sandboxed(
        folder,
        ["node", "test/check.mjs"],
        entry="test/check.mjs",
        protected={"test/check.mjs": challenge / "test/check.mjs"},
    )
    assert (result.status, result.stdout) == ("passed", "4/4 passed\n")


@pytest.mark.hostile(area="code", guards="escape", outcome="held")
def test_the_output_folder_is_never_modified(open_place):
    script = """\
import fs from "node:fs";
fs.writeFileSync("functions.mjs", "export const add = () => 0;\\n");
fs.rmSync("index.mjs");
fs.mkdirSync("made");
fs.writeFileSync("made/new.txt", "new\\n");
console.log("copy changed:", fs.readdirSync(".").sort().join(","));
"""
    folder = hostile(open_place / "out", script, **{"data/rows.csv": "a,b\n1,2\n"})
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    before = snapshot(folder)
    result = run(folder)
    assert snapshot(folder) == before
    assert (result.status, result.stdout) == ("passed", "copy changed: data,functions.mjs,made\n")
    assert_next_run_passes(open_place)


# hostile outputs


@pytest.mark.hostile(area="code", guards="escape", outcome="held")
def test_cannot_read_outside_its_copy(open_place):
    secret = open_place / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.parent.chmod(0o755)
    secret.write_text("TOP-SECRET-7f3a\n", encoding="utf-8")
    secret.chmod(0o644)
    targets = [str(secret), str(REPO_ROOT / "pyproject.toml"), str(REPO_ROOT / "params.yaml"), "/root", "/etc/passwd"]
    targets += ["/home", "/tmp", str(Path.home()), "/usr/lib/os-release", "/var"]
    script = f"""\
import fs from "node:fs";
for (const target of {json.dumps(targets)}) {{
  try {{
    const folder = fs.statSync(target).isDirectory();
    const found = folder ? fs.readdirSync(target).join(",") : fs.readFileSync(target, "utf8");
    console.log("READ", target, found.slice(0, 80));
  }} catch (error) {{
    console.log("DENIED", target, error.code);
  }}
}}
"""
    result = run(hostile(open_place / "out", script))
    assert result.status == "passed"
    assert "READ" not in result.stdout and "TOP-SECRET" not in result.stdout + result.stderr
    assert result.stdout.count("DENIED") == len(targets)
    assert_next_run_passes(open_place)


@pytest.mark.hostile(area="code", guards="escape", outcome="held")
def test_sees_no_variable_of_the_callers_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-test-5b1c")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-secret-test-9d2e")
    script = """\
import fs from "node:fs";
console.log(JSON.stringify(Object.keys(process.env).sort()));
console.log(JSON.stringify(process.env));
console.log(fs.readFileSync("/proc/self/environ", "utf8"));
console.log(fs.readFileSync("/proc/1/environ", "utf8"));
"""
    result = run(hostile(tmp_path / "out", script, **{".env": "ANTHROPIC_API_KEY=sk-from-dotenv\n"}))
    assert result.status == "passed", result
    assert result.stdout.splitlines()[0] == '["HOME","LANG","PATH","PWD","TMPDIR","TZ"]'
    for secret in ("sk-secret-test-5b1c", "ghp-secret-test-9d2e", "OPENAI_API_KEY", "GITHUB_TOKEN", "sk-from-dotenv"):
        assert secret not in result.stdout
    assert_next_run_passes(tmp_path)


@pytest.mark.hostile(area="code", guards="escape", outcome="held")
def test_cannot_write_outside_its_copy(open_place):
    folder = open_place / "out"
    targets = [str(open_place / "pwned.txt"), str(folder / "functions.mjs"), "/pwned.txt", "/tmp/pwned.txt"]
    targets += ["/usr/bin/pwned", "/dev/pwned", "/dev/shm/pwned", "/proc/pwned", "/etc/pwned"]
    script = f"""\
import fs from "node:fs";
for (const target of {json.dumps(targets)}) {{
  try {{
    fs.writeFileSync(target, "pwned\\n");
    console.log("WROTE", target);
  }} catch (error) {{
    console.log("DENIED", target, error.code);
  }}
}}
"""
    hostile(folder, script)
    for path in [folder, *folder.iterdir()]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    before = snapshot(open_place)
    result = run(folder)
    assert result.status == "passed"
    assert "WROTE" not in result.stdout and result.stdout.count("DENIED") == len(targets)
    assert snapshot(open_place) == before
    for target in ("/pwned.txt", "/tmp/pwned.txt", "/usr/bin/pwned", "/etc/pwned"):
        assert not os.path.exists(target)
    assert_next_run_passes(open_place)


@pytest.mark.hostile(area="code", guards="escape", outcome="held")
def test_cannot_fill_more_than_its_disk(tmp_path):
    script = """\
import fs from "node:fs";
const chunk = Buffer.alloc(1 << 20, 120);
let written = 0;
try {
  const fd = fs.openSync("big.bin", "w");
  for (; written < 64; written++) fs.writeSync(fd, chunk);
  console.log("WROTE ALL", written);
} catch (error) {
  console.log("STOPPED", written, error.code);
}
"""
    result = run(hostile(tmp_path / "out", script), Limits(seconds=60, disk_bytes=8 * 2**20))
    assert "WROTE ALL" not in result.stdout
    assert result.stdout.startswith("STOPPED") or result.message.endswith("(killed by SIGXFSZ)"), result
    assert_next_run_passes(tmp_path)


@pytest.mark.hostile(area="code", guards="escape", outcome="held")
def test_cannot_reach_a_loopback_listener(tmp_path):
    name = f"vizhub-coderun-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, socket.socket(socket.AF_UNIX) as unix:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(8)
        unix.bind("\0" + name)  # the abstract namespace belongs to the network namespace
        unix.listen(8)
        script = f"""\
import net from "node:net";
const attempts = [{{ host: "127.0.0.1", port: {tcp.getsockname()[1]} }}, {{ path: "\\0{name}" }}];
for (const where of attempts) {{
  const outcome = await new Promise((resolve) => {{
    const socket = net.connect(where, () => {{ socket.end(); resolve("JOINED"); }});
    socket.on("error", (error) => resolve("BLOCKED " + error.code));
  }});
  console.log(JSON.stringify(where), outcome);
}}
"""
        result = run(hostile(tmp_path / "out", script))
        tcp.setblocking(False)
        unix.setblocking(False)
        for listener in (tcp, unix):
            with pytest.raises(BlockingIOError):
                listener.accept()
    assert result.status == "passed"
    assert "JOINED" not in result.stdout and result.stdout.count("BLOCKED") == 2
    assert_next_run_passes(tmp_path)


@pytest.mark.slow  # a fork bomb in the sandbox
@pytest.mark.hostile(area="code", guards="escape", outcome="held")
def test_process_limit_stops_a_fork_bomb(tmp_path):
    token = f"bomb-{uuid.uuid4().hex}"
    script = f"""\
import {{ spawn }} from "node:child_process";
let live = 0;
let stopped = "";
while (live < 40) {{
  const outcome = await new Promise((resolve) => {{
    const child = spawn(process.execPath, ["-e", "/*{token}*/ console.log('up'); setInterval(() => {{}}, 1000);"]);
    child.stdout.once("data", () => resolve("up"));
    child.on("error", (error) => resolve(error.code));
    child.on("exit", (code, signal) => resolve("exited " + (signal || code)));
    setTimeout(() => resolve("stuck"), 10000);  // node hangs at start when it cannot make its threads
  }});
  if (outcome !== "up") {{ stopped = outcome; break; }}
  live += 1;
}}
console.log("live", live, stopped);
process.exit(0);
"""
    result = run(hostile(tmp_path / "out", script), Limits(seconds=120, tasks=64))
    assert result.status == "passed", result
    live = int(result.stdout.split()[1])
    assert live < 40 and result.stdout.split()[2:], result.stdout
    assert processes_with(token) == []
    assert_next_run_passes(tmp_path)


@pytest.mark.slow  # runs until a time limit of seconds
@pytest.mark.hostile(area="code", guards="hang", outcome="held")
def test_a_runaway_process_tree_is_killed_at_the_time_limit(tmp_path):
    token = f"tree-{uuid.uuid4().hex}"
    child = f"/*{token}*/ process.on('SIGTERM', () => {{}}); setInterval(() => {{}}, 1000);"
    script = f"""\
import {{ spawn }} from "node:child_process";
for (let i = 0; i < 3; i++) {{
  spawn(process.execPath, ["-e", {json.dumps(child)}], {{ detached: true, stdio: "ignore" }}).unref();
}}
setInterval(() => {{}}, 1000);
"""
    result = run(hostile(tmp_path / "out", script), Limits(seconds=4))
    assert result.status == "timeout"
    assert processes_with(token) == []
    assert_next_run_passes(tmp_path)


@pytest.mark.slow  # runs until a time limit of seconds
@pytest.mark.hostile(area="code", guards="hang", outcome="held")
def test_an_endless_fork_bomb_ends_at_the_time_limit(tmp_path):
    token = f"forever-{uuid.uuid4().hex}"
    bomb = f"""/*{token}*/ const {{ spawn }} = require("node:child_process");
const again = () => {{
  try {{
    const options = {{ detached: true, stdio: "ignore" }};
    spawn(process.execPath, ["-e", process.argv[1], process.argv[1]], options).on("error", () => {{}});
  }} catch {{}}
}};
setInterval(() => {{ again(); again(); }}, 5);"""
    script = f"""\
import {{ spawn }} from "node:child_process";
const bomb = {json.dumps(bomb)};
spawn(process.execPath, ["-e", bomb, bomb], {{ stdio: "ignore" }});
setInterval(() => {{}}, 1000);
"""
    result = run(hostile(tmp_path / "out", script), Limits(seconds=5, tasks=64))
    assert result.status == "timeout"
    assert processes_with(token) == []
    assert_next_run_passes(tmp_path)


@pytest.mark.hostile(area="code", guards="escape", outcome="held")
def test_cannot_use_more_memory_than_its_cap(tmp_path):
    script = """\
const kept = [];
let mib = 0;
try {
  while (mib < 1024) {
    kept.push(Buffer.alloc(64 << 20, 1));
    mib += 64;
  }
  console.log("REACHED", mib);
} catch (error) {
  console.log("STOPPED", mib, error.message);
}
"""
    result = run(hostile(tmp_path / "out", script), Limits(seconds=60, memory_bytes=256 * 2**20))
    assert "REACHED" not in result.stdout
    assert result.stdout.startswith("STOPPED") or result.status == "failed", result
    assert_next_run_passes(tmp_path)


# what is captured


@pytest.mark.hostile(area="code", guards="escape", outcome="held")
def test_output_is_capped_and_says_so(tmp_path):
    script = """\
process.stdout.write("é".repeat(300000));
process.stderr.write("x".repeat(100000));
"""
    result = run(hostile(tmp_path / "out", script), Limits(seconds=60, output_bytes=4001))
    assert result.status == "passed" and result.stdout_cut and result.stderr_cut
    assert result.stdout == "é" * 2000 + "\n[output cut at 4001 bytes]\n"
    assert result.stderr == "x" * 4001 + "\n[output cut at 4001 bytes]\n"
    whole = run(hostile(tmp_path / "small", "console.log('short');\n"), Limits(seconds=60, output_bytes=4001))
    assert (whole.stdout, whole.stdout_cut) == ("short\n", False)


@pytest.mark.hostile(area="code", guards="escape", outcome="held")
def test_host_paths_in_the_output_become_placeholders(open_place):
    folder = open_place / "out"
    home_file = str(Path.home() / "notes.txt")
    project_file = str(REPO_ROOT / "params.yaml")
    script = f"""\
console.log({json.dumps(home_file)});
console.log({json.dumps(project_file)});
console.log({json.dumps(str(open_place / "elsewhere.txt"))});
await import({json.dumps(str(folder / "helpers.mjs"))});
"""
    result = run(hostile(folder, script), project_root=REPO_ROOT)
    assert result.status == "failed"
    assert result.stdout.splitlines() == [
        "<home>/notes.txt",
        "<project>/params.yaml",
        f"<tmp>/{open_place.name}/elsewhere.txt",
    ]
    assert "Cannot find module '<output>/helpers.mjs'" in result.stderr
    for host_path in (str(Path.home()), str(REPO_ROOT), str(open_place)):
        assert host_path not in result.stdout + result.stderr
    assert_next_run_passes(open_place)


def test_replace_host_paths_longest_first_and_whole_names_only():
    places = {"/srv/p": "<project>", "/srv/p/out": "<output>", "/srv": "<tmp>"}
    text = "/srv/p/out/a.js /srv/p/outer/b.js /srv/p/c /srv/pq file:///srv/p/out"
    assert replace_host_paths(text, places) == "<output>/a.js <project>/outer/b.js <project>/c <tmp>/pq file://<output>"
