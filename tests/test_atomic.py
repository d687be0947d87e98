"""Atomic writes: whole files or nothing, with the mode a plain write would give."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest

from vizhub_pipeline.core.atomic import (
    clean_stale_temporaries,
    current_umask,
    replace_dir_atomic,
    staging_dir,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_current_umask_reads_without_changing_it():
    with umask(0o027):
        assert current_umask() == 0o027
        assert current_umask() == 0o027


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_atomic_files_get_the_mode_open_would_give(tmp_path, mask):
    with umask(mask):
        plain = tmp_path / "plain.txt"
        plain.write_text("x", encoding="utf-8")
        write_text_atomic(tmp_path / "a.txt", "x")
        write_bytes_atomic(tmp_path / "b.bin", b"x", durable=False)
        write_json_atomic(tmp_path / "c.json", {"x": 1})
    assert mode(plain) == 0o666 & ~mask
    for name in ("a.txt", "b.bin", "c.json"):
        assert mode(tmp_path / name) == 0o666 & ~mask, name


def test_a_staged_folder_gets_the_mode_mkdir_would_give(tmp_path):
    with umask(0o022):
        final = tmp_path / "out"
        staging = staging_dir(final)
        (staging / "f.txt").write_text("x", encoding="utf-8")
        replace_dir_atomic(staging, final)
    assert mode(final) == 0o755
    assert (final / "f.txt").read_text(encoding="utf-8") == "x"


def test_stale_temporaries_of_one_name_only(tmp_path):
    leftovers = [".report.ab12.tmp", ".report.old-41", ".consensus.cd34.tmp", ".metrics.json.ef.tmp"]
    for name in leftovers:
        if "json" in name:
            (tmp_path / name).write_text("x")  # a file's leftover
        else:
            (tmp_path / name).mkdir()  # a folder's
    (tmp_path / "report").mkdir()
    (tmp_path / ".report.keep").mkdir()  # neither .tmp nor .old-: not a leftover
    clean_stale_temporaries(tmp_path, name="report")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".consensus.cd34.tmp",
        ".metrics.json.ef.tmp",
        ".report.keep",
        "report",
    ]
    clean_stale_temporaries(tmp_path)  # every name
    assert sorted(p.name for p in tmp_path.iterdir()) == [".report.keep", "report"]
