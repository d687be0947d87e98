"""What there is to grade: the outputs, their per-grader order, and who graded what.

An item is one runnable output (``visualizations/<challenge>/<model>[@k]/`` with status
``ok``). Items are named by an opaque id, so neither URLs nor the page reveal the model
in blind mode: an HMAC of the item under the project's grader secret
(``.vizhub/grader-secret``, made on first use, ignored by git), so nobody without the project's
folder can work out which id is which model, and ids stay the same across restarts. The
:class:`Catalog` caches the outputs and the grades and reloads them when their folders or
files change on disk.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vizhub_pipeline.core.challenges import Challenge
from vizhub_pipeline.core.errors import InputError
from vizhub_pipeline.core.judgements.scores import latest_grades
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.records import Grade, iter_generations
from vizhub_pipeline.grading.loading import left_out_note

DEEP_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class GradableOutput:
    """One output to grade."""

    id: str
    challenge: str
    model: str
    sample: int
    artifact_hash: str
    folder: Path
    files: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.challenge, self.model, self.sample)


SECRET_FOLDER = ".vizhub"
SECRET_FILE = "grader-secret"


def project_secret(root: Path) -> bytes:
    """The project's grader secret: random bytes in ``<root>/.vizhub/grader-secret``, made once
    (mode 0600) and never committed (the folder holds a ``.gitignore`` of ``*``). Two graders
    starting at once agree: the file is linked into place whole, and the loser reads the winner's."""
    import secrets
    import tempfile

    folder = Path(root) / SECRET_FOLDER
    path = folder / SECRET_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    if len(data) >= 32:
        return data
    if data:
        raise InputError(path, "the grader secret is shorter than 32 bytes: delete the file to make a new one")
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# vizhub's local files: never committed\n*\n", encoding="utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{SECRET_FILE}.", suffix=".tmp", dir=folder)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_hex(32).encode("ascii"))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another grader made it first: use theirs
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path.read_bytes()


def make_item_id(secret: bytes, challenge: str, model: str, sample: int) -> str:
    """A short opaque id of an item: an HMAC under the project's secret (does not show the model
    name, and cannot be computed without the secret)."""
    import hmac

    message = f"{challenge}\0{model}\0{sample}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:16]


def _rank(*parts: str) -> str:
    return hashlib.sha256("\0".join(("vizhub-grade-order",) + parts).encode("utf-8")).hexdigest()


def order_items(items: Iterable[GradableOutput], grader: str, *, blind: bool) -> list[GradableOutput]:
    """The order a grader sees the items in.

    Not blind: by challenge, model and sample. Blind: challenges in an order drawn from
    the grader's name, and within each challenge the outputs in an order drawn from the
    grader's name too. Each position depends only on the grader and the item, so the order
    is the same across reloads and adding an output does not reshuffle the others.
    """
    items = list(items)
    if not blind:
        return sorted(items, key=lambda item: item.key)
    return sorted(
        items,
        key=lambda item: (
            _rank(grader, item.challenge),
            item.challenge,
            _rank(grader, item.challenge, item.model, str(item.sample)),
            item.key,
        ),
    )


def scan_items(
    layout: Layout, challenges: Iterable[str] = (), models: Iterable[str] = (), *, secret: bytes
) -> tuple[list[GradableOutput], list[str]]:
    """Every gradable output (status ``ok``) of the selection, and notes on what was left out."""
    only_challenges = set(challenges)
    only_models = set(models)
    items: list[GradableOutput] = []
    notes: list[str] = []
    failed: list[tuple[str, str | None]] = []
    generations = iter_generations(layout.visualizations)
    while True:
        try:
            folder, generation = next(generations)
        except StopIteration:
            break
        except InputError as exc:
            notes.append(f"skipped an unreadable output: {exc}")
            continue
        if only_challenges and generation.challenge not in only_challenges:
            continue
        if only_models and generation.model not in only_models:
            continue
        if generation.status != "ok" or not generation.artifact_hash:
            failed.append((generation.status, generation.error))
            continue
        items.append(
            GradableOutput(
                id=make_item_id(secret, generation.challenge, generation.model, generation.sample),
                challenge=generation.challenge,
                model=generation.model,
                sample=generation.sample,
                artifact_hash=generation.artifact_hash,
                folder=folder,
                files=tuple(generation.files),
            )
        )
    note = left_out_note(failed, hint=" and are not shown here: nothing to run")
    if note:
        notes.append(note)
    return items, notes


@dataclass(frozen=True)
class Progress:
    mine: int  # items this grader has a current grade for
    everyone: int  # items anyone has a current grade for
    total: int
    graders: int  # graders with at least one grade in the selection


@dataclass
class GradeIndex:
    """This grader's latest grades, and every grader's current (not stale) grades per item."""

    mine: dict[tuple[str, str, int], Grade] = field(default_factory=dict)
    # (item key, artifact hash) -> graders whose latest grade of the item is of that version
    graders_by_version: dict[tuple[tuple[str, str, int], str], set[str]] = field(default_factory=dict)

    def status(self, item: GradableOutput) -> str:
        """``ungraded``, ``graded`` or ``stale`` (graded before the output changed)."""
        grade = self.mine.get(item.key)
        if grade is None:
            return "ungraded"
        return "graded" if grade.artifact_hash == item.artifact_hash else "stale"

    def progress(self, items: list[GradableOutput]) -> Progress:
        mine = sum(1 for item in items if self.status(item) == "graded")
        everyone = 0
        graders: set[str] = set()
        for item in items:
            names = self.graders_by_version.get((item.key, item.artifact_hash))
            if names:
                everyone += 1
                graders |= names
        return Progress(mine=mine, everyone=everyone, total=len(items), graders=len(graders))


def index_grades(all_grades: Iterable[Grade], grader: str) -> GradeIndex:
    index = GradeIndex()
    current: dict = defaultdict(set)
    for (name, key), grade in latest_grades(all_grades).items():
        current[(key, grade.artifact_hash)].add(name)
        if name == grader:
            index.mine[key] = grade
    index.graders_by_version = dict(current)
    return index


def _folders_signature(visualizations: Path) -> tuple:
    """The name and inode of every output folder. An output the generate stage writes again
    is a new folder renamed into place, so its inode changes; reading the folders needs no
    ``stat`` of each output (the inode comes with the directory listing)."""
    out: list = []
    try:
        challenges = sorted((entry.name, entry.path) for entry in os.scandir(visualizations) if entry.is_dir())
    except OSError:
        return ()
    for name, path in challenges:
        try:
            out.append((name, tuple(sorted((entry.name, entry.inode()) for entry in os.scandir(path)))))
        except OSError:
            continue
    return tuple(out)


def _outputs_signature(visualizations: Path) -> tuple:
    """The modification times of every ``<challenge>/<output>/meta.json`` (and of the folders
    above them), so a regenerated or hand-edited output is noticed on the next request."""
    out: list = []
    try:
        challenges = sorted(os.scandir(visualizations), key=lambda entry: entry.name)
    except OSError:
        return ()
    for challenge in challenges:
        if not challenge.is_dir():
            continue
        out.append((challenge.name, challenge.stat().st_mtime_ns))
        try:
            outputs = list(os.scandir(challenge.path))
        except OSError:
            continue
        for output in outputs:
            try:
                meta = os.stat(os.path.join(output.path, "meta.json"))
            except OSError:
                continue
            out.append((output.name, meta.st_mtime_ns, meta.st_size, meta.st_ino))
    return tuple(out)


def _files_signature(folder: Path) -> tuple:
    try:
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.csv")))
    except OSError:
        return ()


class Catalog:
    """The items of one grading session and the grades, reloaded when the disk changes."""

    def __init__(
        self,
        layout: Layout,
        grader: str,
        *,
        blind: bool,
        challenges: dict[str, Challenge],
        only_models: Iterable[str] = (),
        branch: str | None = None,
    ):
        self.layout = layout
        self.grader = grader
        self.blind = blind
        self.challenges = challenges
        self.only_models = tuple(only_models)
        self.branch = branch  # grades committed on this branch are read from it too
        self.notes: list[str] = []
        self.secret = project_secret(layout.root)
        self._lock = threading.Lock()
        self._items_signature: tuple | None = None
        self._shallow_signature: tuple | None = None
        self._deep_checked = 0.0
        self._items: list[GradableOutput] = []
        self._by_id: dict[str, GradableOutput] = {}
        self._grades_signature: tuple | None = None
        self._grades = GradeIndex()

    # -- items
    def items(self, challenge: str | None = None) -> list[GradableOutput]:
        """The session's items in this grader's order (only ``challenge``'s when given), as of
        the last :meth:`refresh`."""
        if self._items_signature is None:
            self.refresh()
        if challenge:
            return [item for item in self._items if item.challenge == challenge]
        return list(self._items)

    def item_id(self, challenge: str, model: str, sample: int = 0) -> str:
        """The id this session gives an item."""
        return make_item_id(self.secret, challenge, model, sample)

    def get(self, item_id: str) -> GradableOutput | None:
        if self._items_signature is None:
            self.refresh()
        return self._by_id.get(item_id)

    def refresh(self) -> None:
        """Rescan the outputs if any changed on disk; called once a request.

        The generate stage replaces an output's folder by a rename: that is checked every
        time, from the folder listings. Edits inside an output's folder (a hand-edited
        meta.json) are looked for at most every :data:`DEEP_CHECK_SECONDS` (a ``stat`` an output).
        """
        shallow = _folders_signature(self.layout.visualizations)
        now = time.monotonic()
        if shallow == self._shallow_signature and now - self._deep_checked < DEEP_CHECK_SECONDS:
            return
        signature = _outputs_signature(self.layout.visualizations)
        self._shallow_signature, self._deep_checked = shallow, now
        if signature == self._items_signature:
            return
        with self._lock:
            if signature == self._items_signature:
                return
            found, notes = scan_items(self.layout, self.challenges, self.only_models, secret=self.secret)
            found = [item for item in found if item.challenge in self.challenges]
            self._items = order_items(found, self.grader, blind=self.blind)
            self._by_id = {item.id: item for item in self._items}
            self.notes = notes
            self._items_signature = signature

    # -- grades
    def grades(self) -> GradeIndex:
        """The grade index (people's grades only), reread when a grade file changed."""
        signature = _files_signature(self.layout.grades)
        if signature == self._grades_signature:
            return self._grades
        with self._lock:
            if signature != self._grades_signature:
                from vizhub_pipeline.grading.loading import keep_human_grades, load_grades

                grades = keep_human_grades(load_grades(self.layout, branch=self.branch))
                self._grades = index_grades(grades, self.grader)
                self._grades_signature = signature
        return self._grades

    def forget_grades(self) -> None:
        """Force a reread (after a submission: with a branch, no file on disk changes)."""
        self._grades_signature = None
