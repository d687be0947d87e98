"""The report's copies of the screenshots: the full-size PNG itself and a thumbnail for each.

The full-size image is the screenshot's own bytes (lossless by definition), hard-linked into the
report when the file system allows it, so it costs no time and no disk, else copied. The
thumbnail is decoded and re-encoded by Pillow as a small WebP. Files are named by a hash of
their source bytes (and, for thumbnails, the settings), so a screenshot shared by several
outputs is stored once and a rebuild takes unchanged thumbnails from the previous report.
A source Pillow cannot read as a PNG of sane size is not shown: its card says why.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import shutil
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

FULL_DIR = "img"
THUMB_DIR = "thumbs"
MAX_PIXELS = 40_000_000  # larger screenshots are not shown (decompression bombs)
THUMB_OPTIONS = {"quality": 80, "method": 1}  # method 1: near the smallest files at a third of the time of 4
PARALLEL_FROM = 32  # fewer thumbnails are made in this process (starting workers costs more)


@dataclass(frozen=True)
class Picture:
    """Where one screenshot is in the report (paths relative to the report folder) and its size."""

    full: str | None
    thumb: str | None
    width: int = 0
    height: int = 0
    thumb_width: int = 0
    thumb_height: int = 0
    problem: str | None = None


@dataclass
class PictureStats:
    sources: int = 0
    stored: int = 0  # distinct images in the report
    encoded: int = 0  # thumbnails made in this run
    reused: int = 0  # thumbnails taken from the previous report
    linked: int = 0  # full-size images hard-linked rather than copied
    problems: int = 0


def thumb_tag(thumb_width: int) -> bytes:
    """Everything besides the source bytes that decides a thumbnail's bytes."""
    from PIL import Image, features

    options = sorted(THUMB_OPTIONS.items())
    return f"pillow {Image.__version__} webp {features.version('webp')} {thumb_width} {options}".encode()


def thumb_size(width: int, height: int, thumb_width: int) -> tuple[int, int]:
    if width <= thumb_width:
        return width, height
    return thumb_width, max(1, round(height * thumb_width / width))


def make_pictures(
    sources: Iterable[Path], out: Path, previous: Path | None, thumb_width: int, *, workers: int | None = None
) -> tuple[dict[Path, Picture], PictureStats]:
    """Put every source's full-size image and thumbnail into ``out``; return each source's picture."""
    tag = thumb_tag(thumb_width)
    stats = PictureStats()
    (out / FULL_DIR).mkdir(parents=True, exist_ok=True)
    (out / THUMB_DIR).mkdir(parents=True, exist_ok=True)

    unique = sorted(set(sources))
    if workers is None:
        workers = min(8, os.cpu_count() or 1) if len(unique) >= PARALLEL_FROM else 1
    arguments = [(source, out, previous, thumb_width, tag) for source in unique]
    results = _in_workers(arguments, workers) if workers > 1 else None
    if results is None:
        results = [_picture_of(argument) for argument in arguments]
    pictures = {source: picture for source, (picture, _, _) in zip(unique, results, strict=True)}
    thumbs = {picture.thumb for picture in pictures.values() if picture.thumb}
    stats.sources = len(unique)
    stats.stored = len({picture.full for picture in pictures.values() if picture.full})
    stats.reused = sum(reused for _, reused, _ in results)
    stats.encoded = len(thumbs) - stats.reused
    stats.linked = sum(linked for _, _, linked in results)
    stats.problems = sum(1 for picture in pictures.values() if picture.problem)
    return pictures, stats


def _in_workers(arguments: list, workers: int) -> list[tuple[Picture, bool, bool]] | None:
    """Every picture made by ``workers`` processes (decoding and encoding hold the GIL, so threads would
    not help); ``None`` where processes cannot be started (no semaphores in a sandbox, say)."""
    try:
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return list(pool.map(_picture_of, arguments, chunksize=max(1, len(arguments) // (workers * 8))))
    except (OSError, NotImplementedError):
        return None


def _picture_of(arguments: tuple[Path, Path, Path | None, int, bytes]) -> tuple[Picture, bool, bool]:
    return _picture(*arguments)


def _picture(
    source: Path, out: Path, previous: Path | None, thumb_width: int, tag: bytes
) -> tuple[Picture, bool, bool]:
    """(picture, thumbnail reused, full-size image linked)."""
    from PIL import Image

    try:
        data = source.read_bytes()
    except OSError as exc:
        return Picture(None, None, problem=f"screenshot cannot be read: {exc.strerror or exc}"), False, False
    try:
        with Image.open(io.BytesIO(data)) as opened:
            kind, (width, height) = opened.format, opened.size
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        return Picture(None, None, problem=f"screenshot is not a readable image ({exc})"), False, False
    if kind != "PNG":
        return Picture(None, None, problem=f"screenshot is a {kind} file, not a PNG"), False, False
    if width * height > MAX_PIXELS:
        return Picture(None, None, problem=f"screenshot of {width}x{height} pixels is too large to show"), False, False
    full_key = hashlib.sha256(data).hexdigest()[:20]
    thumb_key = hashlib.sha256(tag + b"\0" + data).hexdigest()[:20]
    full, thumb = f"{FULL_DIR}/{full_key}.png", f"{THUMB_DIR}/{thumb_key}.webp"
    small = thumb_size(width, height, thumb_width)
    reused = previous is not None and _link(previous / thumb, out / thumb)
    if not reused and not (out / thumb).exists():
        problem = _write_thumbnail(data, out / thumb, small)
        if problem:
            return Picture(None, None, problem=problem), False, False
    linked = _link(source, out / full)
    if not linked and not (out / full).exists():
        shutil.copyfile(source, out / full)
    return Picture(full, thumb, width, height, *small), reused, linked


def _link(source: Path, target: Path) -> bool:
    """Hard-link ``source`` to ``target``; ``False`` when there is no source or no hard link is possible."""
    try:
        os.link(source, target)
        return True
    except FileExistsError:
        return False  # the same image, already placed for another output
    except OSError:
        return False


def _write_thumbnail(data: bytes, target: Path, size: tuple[int, int]) -> str | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            small = _shrink(opened, size)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        return f"screenshot is not a readable image ({exc})"
    buffer = io.BytesIO()
    small.save(buffer, "WEBP", **THUMB_OPTIONS)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{id(buffer)}.tmp")
    temporary.write_bytes(buffer.getvalue())
    os.replace(temporary, target)  # two outputs sharing a screenshot may write it at once
    return None


def _shrink(image, size: tuple[int, int]):
    """A new RGB(A) image of ``size``: a fast integer reduce first, then Lanczos for the rest."""
    from PIL import Image

    if image.mode not in ("RGB", "RGBA"):
        alpha = image.mode in ("LA", "PA") or "transparency" in image.info
        image = image.convert("RGBA" if alpha else "RGB")
    if image.width <= size[0]:
        return image.copy()
    factor = image.width // size[0]
    if factor > 1:
        image = image.reduce(factor)
    return image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)
