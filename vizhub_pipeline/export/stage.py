"""The export stage: human consensus turned into preference datasets for HuggingFace and TRL.

Reads ``results/consensus/consensus.csv`` one challenge at a time, the replies the models gave
(``visualizations/<challenge>/<item>/response.md``) and the prompt they saw
(:func:`vizhub_pipeline.core.prompting.build_messages`), and writes, beside the output file
(``exports/`` by default):

- ``preferences.jsonl``: pairs (``prompt``, ``chosen``, ``rejected``, ``margin``, ``score_chosen``,
  ``score_rejected`` and metadata), for DPO and reward modelling;
- ``kto.jsonl``: unpaired rows (``prompt``, ``completion``, ``label``) from score thresholds;
- ``sft.jsonl``: the best output of each challenge (``prompt``/``completion``, or ``messages``);
- ``openai_dpo.jsonl``: the pairs in the OpenAI / Together / Fireworks DPO format;
- with images, ``images/``: the screenshots, once each, and ``metadata.jsonl`` (:mod:`.images`);
- ``README.md``: the dataset card (:mod:`vizhub_pipeline.export.card`); ``meta.json``: counts, input hashes.

Pairs come from the consensus scores and from pairwise votes (:mod:`.votes`); an imported output's
completion is the files that were graded (:mod:`.provenance`). Rows are encoded in :mod:`.rows`.

In the standard format the prompt is one string: the system message, a blank line, then the user
message (task and starter files), exactly the text the model was sent. In the conversational
format it is the list of messages, and replies are ``[{"role": "assistant", "content": ...}]``.

Every file is streamed to a temporary file and renamed into place once all are complete: memory
does not grow with the number of pairs, and a failed run leaves the previous export whole.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import groupby
from pathlib import Path

from vizhub_pipeline.core.atomic import (
    clean_stale_temporaries,
    temporary_file,
    write_json_atomic,
    write_text_atomic,
)
from vizhub_pipeline.core.challenges import Challenge
from vizhub_pipeline.core.errors import InputError, VizhubError
from vizhub_pipeline.core.layout import Layout, is_safe_slug, shorter_path
from vizhub_pipeline.core.params import ExportParams
from vizhub_pipeline.core.prompting import build_messages, prompt_hash
from vizhub_pipeline.core.records import (
    ConsensusRow,
    Generation,
    PreferencePair,
    read_consensus,
    read_generation,
)
from vizhub_pipeline.export.images import IMAGES_DIR, METADATA_FILE, ImageStore, remove_images
from vizhub_pipeline.export.provenance import count_grade_sources, graded_files_reply, read_grade_sources
from vizhub_pipeline.export.rows import EligibleOutput, EncodedOutput, dumps, item_line, openai_line, pair_line
from vizhub_pipeline.export.votes import Key, VoteCounts, VotedPair, VoteIndex, read_votes

FORMATS = ("standard", "conversational")
PAIR_MODES = ("all", "best-vs-rest")
KTO_FILE, SFT_FILE, CARD_FILE, META_FILE = "kto.jsonl", "sft.jsonl", "README.md", "meta.json"
OPENAI_FILE = "openai_dpo.jsonl"
DATA_FILES = ("pairs", "kto", "sft", "openai")
STARTER_MODEL = "baseline/starter"  # its screenshot is the prompt image with --images
_EPSILON = 1e-9  # margins are rounded to 4 digits; this keeps 0.5 >= 0.5 true after float arithmetic


@dataclass
class ModelStats:
    items: int = 0
    score_sum: float = 0.0
    chosen: int = 0
    rejected: int = 0
    best: int = 0

    @property
    def mean(self) -> float:
        return self.score_sum / self.items if self.items else 0.0


@dataclass
class ExportSummary:
    """What the export did, for the CLI, the card and meta.json."""

    output: Path
    rows: int = 0
    ungraded: int = 0
    too_few_votes: int = 0
    eligible: int = 0
    candidates: int = 0
    below_margin: int = 0
    largest_below: float | None = None
    pairs: int = 0
    kto_true: int = 0
    kto_false: int = 0
    sft: int = 0
    problems: list[str] = field(default_factory=list)
    models: dict[str, ModelStats] = field(default_factory=dict)
    challenges: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (eligible items, pairs)
    graders: dict[int, int] = field(default_factory=dict)  # graders per eligible item -> items
    margins: dict[str, int] = field(default_factory=dict)  # margin bucket -> pairs
    files: dict[str, int] = field(default_factory=dict)  # file name -> rows
    reason: str | None = None  # why there is no pair, when there is none
    imported: int = 0  # exported outputs brought in by `vizhub import`
    score_pairs: int = 0
    vote_pairs: int = 0
    replaced_by_votes: int = 0  # score pairs left out because votes compare the same two outputs
    reversed_by_votes: int = 0  # ... of which the votes prefer the other output
    votes: VoteCounts = field(default_factory=VoteCounts)
    grade_sources: dict[str, int] = field(default_factory=dict)  # "<source>, <blind>" -> grades behind the export

    def lines(self, verbose: bool = False) -> list[str]:
        out = [
            f"exported {self.pairs} preference pairs, {self.kto_true + self.kto_false} KTO rows "
            f"({self.kto_true} desirable, {self.kto_false} undesirable), {self.sft} SFT rows "
            f"to {shorter_path(self.output.parent)}",
            f"consensus rows: {self.rows} ({self.eligible} eligible, {self.ungraded} ungraded, "
            f"{self.too_few_votes} with too few votes, {len(self.problems)} left out for problems)",
        ]
        if self.reason:
            out.append(f"no preference pair: {self.reason}")
        if self.votes.read:
            out.append(
                f"pairwise votes: {self.vote_pairs} pairs from {self.votes.read} votes "
                f"({self.votes.ties} ties, {self.votes.both_bad} both bad, {self.votes.stale} stale, "
                f"{self.votes.split} pairs split evenly; {self.replaced_by_votes} score pairs replaced)"
            )
        if self.problems:
            shown = self.problems if verbose else self.problems[:5]
            out.extend(f"left out: {problem}" for problem in shown)
            if len(shown) < len(self.problems):
                out.append(f"... and {len(self.problems) - len(shown)} more (--verbose lists all)")
        if verbose:
            out.append(f"candidate pairs: {self.candidates}, below the margin: {self.below_margin}")
        return out


# --------------------------------------------------------------------------- pure functions


def prompt_text(messages: Sequence[dict[str, str]]) -> str:
    """The standard-format prompt: each message's text, unchanged, in order, joined by a blank line."""
    return "\n\n".join(message["content"] for message in messages)


def rank_items(items: Iterable[EligibleOutput]) -> list[EligibleOutput]:
    """Best first: higher overall mean, then more graders, then model id and sample (stable, total)."""
    return sorted(items, key=lambda item: (-item.score, -item.row.n_graders, item.row.model, item.row.sample))


def candidate_pairs(
    ranked: Sequence[EligibleOutput], mode: str
) -> Iterator[tuple[EligibleOutput, EligibleOutput, float]]:
    """Every ``(better, worse, margin)`` to consider in ``ranked`` (best first): all pairs, or the
    best against each other item."""
    firsts = range(1) if mode == "best-vs-rest" else range(len(ranked))
    for i in firsts:
        for j in range(i + 1, len(ranked)):
            yield ranked[i], ranked[j], round(ranked[i].score - ranked[j].score, 4)


def keeps_margin(margin: float, min_margin: float) -> bool:
    """A pair is kept when the chosen side is strictly better and by at least ``min_margin``."""
    return margin > 0 and margin >= min_margin - _EPSILON


def kto_label(score: float, desirable: float, undesirable: float) -> bool | None:
    """True at or above ``desirable``, False at or below ``undesirable``, None (left out) between."""
    if score >= desirable - _EPSILON:
        return True
    if score <= undesirable + _EPSILON:
        return False
    return None


def margin_bucket(margin: float) -> str:
    for low, high in ((0, 0.5), (0.5, 1), (1, 2), (2, 3), (3, 5)):
        if margin < high:
            return f"[{low}, {high})"
    return "[3, 5]"


def eligibility(row: ConsensusRow, min_votes: int) -> str | None:
    """None when the row can be exported, else ``"ungraded"`` or ``"too_few_votes"``."""
    if row.overall is None or row.n_graders <= 0 or not math.isfinite(row.overall.mean):
        return "ungraded"
    if row.n_graders < min_votes:
        return "too_few_votes"
    return None


def no_pair_reason(summary: ExportSummary, params: ExportParams) -> str:
    """Why no pair was written, in the words a maintainer needs."""
    if summary.rows == 0:
        return "the consensus file has no rows (no output has been generated and aggregated yet)"
    graded = summary.rows - summary.ungraded
    if graded == 0:
        return "no output has a human grade yet (grade with `vizhub grade`, then run `vizhub aggregate`)"
    if summary.eligible == 0:
        parts = []
        if summary.too_few_votes:
            parts.append(
                f"{summary.too_few_votes} graded outputs, "
                f"but none has the {params.min_votes} graders min_votes asks for"
            )
        if summary.problems:
            parts.append(f"{len(summary.problems)} rows left out for problems (listed with --verbose)")
        return "; ".join(parts)
    if summary.candidates == 0:
        return "no challenge has two eligible outputs to compare"
    largest = "" if summary.largest_below is None else f" (the largest is {summary.largest_below:g})"
    return f"all {summary.candidates} candidate pairs differ by less than min_margin {params.min_margin:g}{largest}"


def check_params(params: ExportParams, where: Path | str) -> None:
    def fail(name: str, message: str) -> None:
        raise InputError(where, message, field=f"export.{name}")

    if params.format not in FORMATS:
        fail("format", f"must be one of {', '.join(FORMATS)}, found {params.format!r}")
    if params.pairs not in PAIR_MODES:
        fail("pairs", f"must be one of {', '.join(PAIR_MODES)}, found {params.pairs!r}")
    if params.min_votes < 1:
        fail("min_votes", f"must be at least 1, found {params.min_votes}")
    if not 0 <= params.min_margin <= 5:
        fail("min_margin", f"must be from 0 to 5, found {params.min_margin:g}")
    for name in ("kto_desirable", "kto_undesirable", "sft_min_score"):
        if not 0 <= getattr(params, name) <= 5:
            fail(name, f"must be a score from 0 to 5, found {getattr(params, name):g}")
    if params.kto_undesirable >= params.kto_desirable:
        fail("kto_undesirable", f"must be below kto_desirable ({params.kto_desirable:g})")
    if not params.version.strip():
        fail("version", "must not be empty")


# --------------------------------------------------------------------------- files


class _Sink:
    """A JSONL file written to a temporary name beside ``final``, renamed in :meth:`commit`."""

    def __init__(self, final: Path):
        self.final = final
        fd, self.tmp = temporary_file(final)
        self.handle = os.fdopen(fd, "w", encoding="utf-8", newline="\n", buffering=1 << 20)
        self.rows = 0

    def write(self, line: str) -> None:
        self.handle.write(line)
        self.rows += 1

    def close(self) -> None:
        if not self.handle.closed:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()

    def commit(self) -> None:
        self.close()
        os.replace(self.tmp, self.final)

    def discard(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        Path(self.tmp).unlink(missing_ok=True)


def output_paths(layout: Layout, output: str | Path) -> dict[str, Path]:
    """The pairs file (``output``, relative to the project) and its companions in the same folder."""
    pairs = Path(output)
    pairs = pairs if pairs.is_absolute() else layout.root / pairs
    if pairs.suffix != ".jsonl":
        raise InputError(pairs, "the output must be a .jsonl file", field="export.output")
    folder = pairs.parent
    paths = {
        "pairs": pairs,
        "kto": folder / KTO_FILE,
        "sft": folder / SFT_FILE,
        "card": folder / CARD_FILE,
        "meta": folder / META_FILE,
        "openai": folder / OPENAI_FILE,
    }
    if pairs.name in (KTO_FILE, SFT_FILE, OPENAI_FILE):
        raise InputError(
            pairs, f"{pairs.name} is the name of another export file: choose another output name", field="export.output"
        )
    return paths


# --------------------------------------------------------------------------- reading inputs


class _Hashes:
    """Running hashes of what the export read, for meta.json."""

    def __init__(self):
        self.prompts = hashlib.sha256()
        self.replies = hashlib.sha256()
        self.screenshots = hashlib.sha256()

    def digest(self) -> dict[str, str]:
        return {name: getattr(self, name).hexdigest() for name in ("prompts", "replies", "screenshots")}


def _file_hash(path: Path) -> str | None:
    """The SHA-256 of the file at ``path``, or None when there is none."""
    return _sha256_file(path) if path.is_file() else None


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Prompt:
    challenge: Challenge
    messages: list[dict[str, str]]
    text: str  # the standard-format prompt
    json: str  # the prompt column, JSON-encoded in the export's format
    messages_json: str  # the messages, JSON-encoded (the OpenAI format's input)
    image: str | None = None  # with images: the JSON-encoded name of the starter's screenshot in images/


def _load_prompt(layout: Layout, challenge: str, conversational: bool) -> _Prompt:
    """The prompt the models are sent for ``challenge``; raises VizhubError when it cannot be built."""
    from vizhub_pipeline.core.challenges import load_challenge

    if not is_safe_slug(challenge):
        raise VizhubError(f"challenge id {challenge!r} is not a valid challenge folder name")
    folder = layout.challenge_dir(challenge)
    if not folder.is_dir():
        raise VizhubError(f"challenge {challenge} has no folder {folder.relative_to(layout.root)}")
    loaded = load_challenge(folder)
    messages = build_messages(loaded)
    text = prompt_text(messages)
    as_json = dumps(messages)
    return _Prompt(loaded, messages, text, as_json if conversational else dumps(text), as_json)


def prompt_matches(prompt: _Prompt, generation: Generation) -> bool | None:
    """Whether ``generation`` was made from this prompt (the ``prompt_hash`` generate recorded in
    meta.json); None when meta.json predates that field and cannot tell."""
    if generation.prompt_hash is None:
        return None
    return prompt_hash(prompt.messages) == generation.prompt_hash


def _load_output(
    layout: Layout, row: ConsensusRow, prompt: _Prompt, images: ImageStore | None, hashes: _Hashes
) -> EligibleOutput:
    """The reply (and screenshot) of one consensus row; raises VizhubError saying what is wrong."""
    try:
        folder = layout.visualization_dir(row.challenge, row.model, row.sample)
    except ValueError as exc:
        raise VizhubError(str(exc)) from None
    where = folder.relative_to(layout.root).as_posix()
    meta = folder / "meta.json"
    if not meta.is_file():
        raise VizhubError(f"no visualization at {where} (meta.json missing)")
    generation = read_generation(meta)
    if (generation.challenge, generation.model, generation.sample) != row.key:
        raise VizhubError(
            f"{where}/meta.json is for {generation.challenge} / {generation.model} sample {generation.sample}"
        )
    if generation.status != "ok":
        raise VizhubError(f"{where} has status {generation.status}, not ok")
    if generation.artifact_hash != row.artifact_hash:
        raise VizhubError(
            f"artifact hash differs: consensus {row.artifact_hash}, {where} {generation.artifact_hash} "
            "(the output changed after grading: regrade it, then rerun `vizhub aggregate`)"
        )
    if prompt_matches(prompt, generation) is False:
        raise VizhubError(f"the prompt of {row.challenge} changed since {where} was generated (run `vizhub generate`)")
    if generation.imported:
        reply = graded_files_reply(folder, generation, prompt.challenge, where)
    else:
        reply = _read_reply(folder / "response.md", where)
    hashes.replies.update(
        f"{row.challenge}\0{row.model}\0{row.sample}\0".encode() + hashlib.sha256(reply.encode()).digest()
    )
    screenshot = None
    if images is not None:
        screenshot = _copy_screenshot(layout, images, hashes, row.challenge, row.model, row.sample)
    return EligibleOutput(row=row, reply=reply, screenshot=screenshot, imported=generation.imported)


def _copy_screenshot(
    layout: Layout, images: ImageStore, hashes: _Hashes, challenge: str, model: str, sample: int = 0
) -> str:
    """Copy an output's screenshot into the export's images/ and return its name there."""
    png = layout.render_dir(challenge, model, sample) / "screenshot.png"
    where = png.relative_to(layout.root).as_posix()
    if not png.is_file():
        raise VizhubError(f"no screenshot at {where} (run `vizhub screenshot`; or export without --images)")
    name, digest = images.add(png)
    hashes.screenshots.update(where.encode() + b"\0" + bytes.fromhex(digest))
    return name


def _read_reply(response: Path, where: str) -> str:
    try:
        reply = response.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VizhubError(f"{where}/response.md is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VizhubError(f"{where}/response.md cannot be read: {exc}") from None
    if not reply.strip():
        raise VizhubError(f"{where}/response.md is empty")
    return reply


def _grouped_rows(path: Path) -> Iterator[tuple[str, list[tuple[int, ConsensusRow]]]]:
    """The consensus rows of each challenge, with their line numbers, one challenge at a time."""
    seen: set[str] = set()
    numbered = enumerate(read_consensus(path), start=2)
    for challenge, group in groupby(numbered, key=lambda pair: pair[1].challenge):
        rows = list(group)
        if challenge in seen:
            raise InputError(
                path,
                f"the rows of challenge {challenge!r} are not together: the file must be sorted by challenge "
                "(rerun `vizhub aggregate`)",
                line=rows[0][0],
            )
        seen.add(challenge)
        yield challenge, rows


# --------------------------------------------------------------------------- the stage


def run_export(
    layout: Layout,
    params: ExportParams,
    *,
    echo: Callable[[str], None] | None = None,
    openai_only: Path | None = None,
) -> ExportSummary:
    """Write the preference, KTO, SFT and OpenAI files, the dataset card and meta.json; see the
    module doc. With ``openai_only`` (a .jsonl path), write only the OpenAI-format pairs, there."""
    from vizhub_pipeline.export.card import read_reliability, render_card

    check_params(params, layout.params)
    paths = output_paths(layout, params.output)
    kinds: tuple[str, ...] = DATA_FILES
    if openai_only is not None:
        target = openai_only if openai_only.is_absolute() else layout.root / openai_only
        if target.suffix != ".jsonl":
            raise InputError(target, "the output must be a .jsonl file", field="--output")
        paths = {"pairs": target, "openai": target}
        kinds = ("openai",)
    consensus = layout.consensus / "consensus.csv"
    if not consensus.is_file():
        raise InputError(
            consensus, "missing: run `vizhub aggregate` first (it writes the consensus even without grades)"
        )
    paths["pairs"].parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(paths["pairs"].parent)  # left by an interrupted run
    summary = ExportSummary(output=paths["pairs"])
    conversational = params.format == "conversational"
    version = dumps(params.version)
    hashes = _Hashes()
    sinks: dict[str, _Sink] = {}
    images = ImageStore(paths["pairs"].parent) if params.images and openai_only is None else None
    grade_sources = read_grade_sources(layout.root)
    votes = read_votes(layout.root)
    try:
        for name in kinds:
            sinks[name] = _Sink(paths[name])
        if images is not None:
            images.folder.mkdir(parents=True, exist_ok=True)
            clean_stale_temporaries(images.folder)
            sinks["metadata"] = _Sink(images.folder / METADATA_FILE)
        for challenge, rows in _grouped_rows(consensus):
            collected = _collect_outputs(layout, challenge, rows, params, summary, hashes, images, votes)
            if collected is None:
                continue
            exported = {key: item.row.artifact_hash or "" for key, item in collected.loaded.items()}
            for name, count in count_grade_sources(grade_sources, exported).items():  # one challenge at a time
                summary.grade_sources[name] = summary.grade_sources.get(name, 0) + count
            summary.imported += sum(item.imported for item in collected.loaded.values())
            text = collected.prompt.text
            hashes.prompts.update(challenge.encode() + b"\0" + hashlib.sha256(text.encode()).digest())
            _write_challenge(challenge, collected, version, params, conversational, summary, sinks, grade_sources)
            if echo:
                items_count, pairs = summary.challenges[challenge]
                echo(f"{challenge}: {items_count} eligible outputs, {pairs} pairs")
        for sink in sinks.values():
            sink.close()
        summary.files = {paths[name].name: sink.rows for name, sink in sinks.items() if name in paths}
        if "metadata" in sinks:
            summary.files[f"{IMAGES_DIR}/{METADATA_FILE}"] = sinks["metadata"].rows
        if summary.pairs == 0:
            summary.reason = no_pair_reason(summary, params)
        if openai_only is None:
            summary.grade_sources = dict(sorted(summary.grade_sources.items()))
            reliability = read_reliability(layout.consensus / "reliability.json")
            card = render_card(summary, params, paths, reliability)
            meta = _meta(summary, params, paths, hashes, layout)
        for sink in sinks.values():
            sink.commit()
    except BaseException:
        for sink in sinks.values():
            sink.discard()
        raise
    if openai_only is None:
        write_text_atomic(paths["card"], card)
        write_json_atomic(paths["meta"], meta)
        if images is not None:
            images.prune()
        else:
            remove_images(paths["pairs"].parent)
    return summary


@dataclass
class _Collected:
    """One challenge's outputs to export: the eligible items (graded enough), the pairs its votes
    make, and every loaded output by key (eligible or only voted on)."""

    items: list[EligibleOutput]
    prompt: _Prompt
    voted: list[VotedPair]
    loaded: dict[Key, EligibleOutput]


def _collect_outputs(
    layout: Layout,
    challenge: str,
    rows: list[tuple[int, ConsensusRow]],
    params: ExportParams,
    summary: ExportSummary,
    hashes: _Hashes,
    images: ImageStore | None,
    votes: VoteIndex,
) -> _Collected | None:
    """The outputs of one challenge to export; None when it has none."""
    where = layout.consensus.joinpath("consensus.csv").relative_to(layout.root).as_posix()
    wanted = []
    keys: set[Key] = set()
    by_key: dict[Key, tuple[int, ConsensusRow]] = {}
    for line, row in rows:
        summary.rows += 1
        by_key.setdefault(row.key, (line, row))
        status = eligibility(row, params.min_votes)
        if status == "ungraded":
            summary.ungraded += 1
        elif status == "too_few_votes":
            summary.too_few_votes += 1
        elif row.key in keys:
            summary.problems.append(
                f"{where}:{line}: {row.challenge} / {row.model} sample {row.sample} appears twice; "
                "the later row is left out"
            )
        else:
            keys.add(row.key)
            wanted.append((line, row))
    voted = votes.pairs(challenge, {key: row.artifact_hash for key, (_, row) in by_key.items()}, summary.votes)
    vote_only = sorted({key for pair in voted for key in (pair.chosen, pair.rejected)} - keys)
    if not wanted and not voted:
        return None
    try:
        prompt = _load_prompt(layout, challenge, params.format == "conversational")
        if images is not None:  # the prompt's image: the starter as the model was given it
            starter = _copy_screenshot(layout, images, hashes, challenge, STARTER_MODEL)
            prompt = replace(prompt, image=dumps(starter))
    except VizhubError as exc:
        first = wanted[0][0] if wanted else by_key[vote_only[0]][0]
        count = len(wanted) + len(vote_only)
        summary.problems.append(f"{where}:{first}: {count} graded outputs of {challenge} left out: {exc}")
        return None
    items: list[EligibleOutput] = []
    loaded: dict[Key, EligibleOutput] = {}
    for line, row in wanted + [by_key[key] for key in vote_only]:
        try:
            item = _load_output(layout, row, prompt, images, hashes)
        except VizhubError as exc:
            summary.problems.append(f"{where}:{line}: {row.challenge} / {row.model} sample {row.sample}: {exc}")
            continue
        loaded[row.key] = item
        if row.key in keys:
            items.append(item)
    voted = [pair for pair in voted if pair.chosen in loaded and pair.rejected in loaded]
    return _Collected(items, prompt, voted, loaded) if items or voted else None


def _write_challenge(
    challenge: str,
    collected: _Collected,
    version: str,
    params: ExportParams,
    conversational: bool,
    summary: ExportSummary,
    sinks: dict[str, _Sink],
    grade_sources: Mapping[tuple[Key, str], list[tuple[str, bool | None]]],
) -> None:
    prompt = collected.prompt
    ranked = rank_items(collected.items)
    challenge_json = dumps(challenge)
    prompt_json = prompt.json
    pairs_sink, openai_sink, metadata_sink = sinks.get("pairs"), sinks.get("openai"), sinks.get("metadata")
    encoded = {key: EncodedOutput(item, conversational) for key, item in collected.loaded.items()}
    pairs_before = summary.pairs
    for item in ranked:
        summary.eligible += 1
        stats = summary.models.setdefault(item.row.model, ModelStats())
        stats.items += 1
        stats.score_sum += item.score
        summary.graders[item.row.n_graders] = summary.graders.get(item.row.n_graders, 0) + 1

    def grade_source(*outputs: EligibleOutput) -> str:
        found = {
            source
            for item in outputs
            for source, _blind in grade_sources.get((item.row.key, item.row.artifact_hash or ""), ())
        }
        return ",".join(sorted(found))

    def write(
        better: EligibleOutput, worse: EligibleOutput, margin: float | None, origin: tuple[str, str, int, int]
    ) -> None:
        chosen, rejected = encoded[better.row.key], encoded[worse.row.key]
        if pairs_sink is not None:
            pairs_sink.write(
                pair_line(prompt_json, challenge_json, version, chosen, rejected, margin, prompt.image, origin=origin)
            )
        if metadata_sink is not None:
            metadata_sink.write(
                pair_line(
                    prompt_json,
                    challenge_json,
                    version,
                    chosen,
                    rejected,
                    margin,
                    prompt.image,
                    origin=origin,
                    file_names=True,
                )
            )
        if openai_sink is not None:
            openai_sink.write(openai_line(prompt.messages_json, chosen, rejected))
        summary.pairs += 1
        summary.models.setdefault(better.row.model, ModelStats()).chosen += 1
        summary.models.setdefault(worse.row.model, ModelStats()).rejected += 1

    by_votes = {frozenset((pair.chosen, pair.rejected)): pair for pair in collected.voted}
    for better, worse, margin in candidate_pairs(ranked, params.pairs):
        summary.candidates += 1
        if not keeps_margin(margin, params.min_margin):
            summary.below_margin += 1
            if summary.largest_below is None or margin > summary.largest_below:
                summary.largest_below = margin
            continue
        voted = by_votes.get(frozenset((better.row.key, worse.row.key)))
        if voted is not None:  # the votes on these two outputs make the pair instead
            summary.replaced_by_votes += 1
            summary.reversed_by_votes += voted.chosen != better.row.key
            continue
        pair = PreferencePair(challenge, better.row, worse.row)
        write(better, worse, pair.margin, ("scores", grade_source(better, worse), 0, 0))
        summary.score_pairs += 1
        bucket = margin_bucket(pair.margin)
        summary.margins[bucket] = summary.margins.get(bucket, 0) + 1
    for voted in collected.voted:
        origin = ("vote", ",".join(voted.sources), voted.wins, voted.losses)
        write(collected.loaded[voted.chosen], collected.loaded[voted.rejected], None, origin)
        summary.vote_pairs += 1
    summary.challenges[challenge] = (len(ranked), summary.pairs - pairs_before)
    if "kto" not in sinks or not ranked:  # the OpenAI file alone, or only votes
        return
    for item in ranked:
        label = kto_label(item.score, params.kto_desirable, params.kto_undesirable)
        if label is None:
            continue
        enc = encoded[item.row.key]
        head = f'"prompt": {prompt_json}, "completion": {enc.completion}, "label": {"true" if label else "false"}'
        sinks["kto"].write(item_line(head, challenge_json, version, enc, prompt.image))
        if label:
            summary.kto_true += 1
        else:
            summary.kto_false += 1
    best = ranked[0]
    if best.score >= params.sft_min_score - _EPSILON:
        enc = encoded[best.row.key]
        if conversational:
            messages = prompt.messages + [{"role": "assistant", "content": best.reply}]
            head = f'"messages": {dumps(messages)}'
        else:
            head = f'"prompt": {prompt_json}, "completion": {enc.completion}'
        sinks["sft"].write(item_line(head, challenge_json, version, enc, prompt.image))
        summary.sft += 1
        summary.models[best.row.model].best += 1


def _meta(
    summary: ExportSummary, params: ExportParams, paths: dict[str, Path], hashes: _Hashes, layout: Layout
) -> dict:
    consensus = layout.consensus / "consensus.csv"
    inputs = {
        "consensus": _file_hash(consensus),
        "reliability": _file_hash(layout.consensus / "reliability.json"),
        **hashes.digest(),
    }
    if not params.images:
        inputs.pop("screenshots")
    return {
        "version": params.version,
        "params": {
            "format": params.format,
            "pairs": params.pairs,
            "min_votes": params.min_votes,
            "min_margin": params.min_margin,
            "images": params.images,
            "kto_desirable": params.kto_desirable,
            "kto_undesirable": params.kto_undesirable,
            "sft_min_score": params.sft_min_score,
        },
        "files": dict(sorted(summary.files.items())),
        "counts": {
            "consensus_rows": summary.rows,
            "ungraded": summary.ungraded,
            "too_few_votes": summary.too_few_votes,
            "left_out": len(summary.problems),
            "eligible": summary.eligible,
            "challenges": len(summary.challenges),
            "models": len(summary.models),
            "candidate_pairs": summary.candidates,
            "below_margin": summary.below_margin,
            "pairs": summary.pairs,
            "kto_desirable": summary.kto_true,
            "kto_undesirable": summary.kto_false,
            "sft": summary.sft,
            "imported_outputs": summary.imported,
            "score_pairs": summary.score_pairs,
            "vote_pairs": summary.vote_pairs,
            "score_pairs_replaced_by_votes": summary.replaced_by_votes,
            "score_pairs_reversed_by_votes": summary.reversed_by_votes,
            "votes": {
                "read": summary.votes.read,
                "tie": summary.votes.ties,
                "both_bad": summary.votes.both_bad,
                "stale": summary.votes.stale,
                "split_evenly": summary.votes.split,
            },
        },
        "grade_sources": summary.grade_sources,
        "no_pair_reason": summary.reason,
        "inputs": inputs,
    }
