"""How the export writes its rows: one JSON object per line, built from text each output's
fields were encoded to once (an output appears in many pairs).

Columns follow :data:`vizhub_pipeline.core.records.PREFERENCE_PAIR_COLUMNS` in the pairs file;
the OpenAI file has exactly ``input``, ``preferred_output`` and ``non_preferred_output``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from vizhub_pipeline.core.records import DIMENSIONS, PREFERENCE_PAIR_COLUMNS, ConsensusRow, ScoreSummary
from vizhub_pipeline.export.images import IMAGES_DIR

STATS = ("mean", "median", "std", "ci_low", "ci_high")


@dataclass(frozen=True)
class EligibleOutput:
    """One eligible output: its consensus row, the model's reply and, with images, its screenshot."""

    row: ConsensusRow
    reply: str
    screenshot: str | None = None  # with images: its file name in the export's images/ folder
    imported: bool = False  # brought in by `vizhub import`: reply rebuilt from the graded files

    @property
    def score(self) -> float:
        overall = self.row.overall
        if overall is None:  # eligibility() keeps ungraded rows out; this names the mistake if one gets in
            raise ValueError(f"{self.row.challenge} / {self.row.model} sample {self.row.sample} has no overall score")
        return overall.mean


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _number(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "null"
    value = round(float(value), 4)
    return "0.0" if value == 0 else repr(value)  # no "-0.0"


def _scores(row: ConsensusRow) -> str:
    parts = []
    for dim in DIMENSIONS:
        summary: ScoreSummary | None = getattr(row, dim)
        stats = ", ".join(f'"{stat}": {_number(getattr(summary, stat) if summary else None)}' for stat in STATS)
        parts.append(f'"{dim}": {{{stats}}}')
    return "{" + ", ".join(parts) + "}"


class EncodedOutput:
    """The JSON text of one item's fields, made once and reused in every row it appears in."""

    __slots__ = (
        "completion",
        "message",
        "model",
        "sample",
        "graders",
        "scores",
        "hash",
        "score",
        "image",
        "image_name",
    )

    def __init__(self, item: EligibleOutput, conversational: bool):
        self.message = dumps([{"role": "assistant", "content": item.reply}])
        self.completion = self.message if conversational else dumps(item.reply)
        self.model = dumps(item.row.model)
        self.sample = str(item.row.sample)
        self.graders = str(item.row.n_graders)
        self.scores = _scores(item.row)
        self.hash = dumps(item.row.artifact_hash)
        self.score = _number(item.row.overall.mean if item.row.overall is not None else None)
        self.image = dumps(None if item.screenshot is None else f"{IMAGES_DIR}/{item.screenshot}")
        self.image_name = dumps(item.screenshot)


def pair_line(
    prompt: str,
    challenge: str,
    version: str,
    chosen: EncodedOutput,
    rejected: EncodedOutput,
    margin: float | None,
    prompt_image: str | None,
    *,
    origin: tuple[str, str, int, int] = ("scores", "", 0, 0),
    file_names: bool = False,
) -> str:
    """One line of preferences.jsonl, columns in :data:`PREFERENCE_PAIR_COLUMNS` order; ``origin``
    is ``(pair_source, source, votes_chosen, votes_rejected)``.

    With screenshots (``prompt_image``, the JSON-encoded name of the starter's screenshot in
    images/), three columns follow: ``chosen_image``, ``rejected_image`` and ``images`` (the
    prompt's images, as TRL's vision trainers read them), as paths relative to the export folder;
    or, with ``file_names``, for images/metadata.jsonl, as ``*_file_name(s)`` relative to images/.
    """
    values = (
        prompt,
        chosen.completion,
        rejected.completion,
        _number(margin),
        chosen.score,
        rejected.score,
        challenge,
        chosen.model,
        rejected.model,
        chosen.sample,
        rejected.sample,
        chosen.graders,
        rejected.graders,
        chosen.scores,
        rejected.scores,
        chosen.hash,
        rejected.hash,
        dumps(origin[0]),
        dumps(origin[1]),
        str(origin[2]),
        str(origin[3]),
        version,
    )
    body = ", ".join(f'"{name}": {value}' for name, value in zip(PREFERENCE_PAIR_COLUMNS, values, strict=True))
    if prompt_image is not None and file_names:
        body += (
            f', "chosen_image_file_name": {chosen.image_name}, "rejected_image_file_name": {rejected.image_name}'
            f', "images_file_names": [{prompt_image}]'
        )
    elif prompt_image is not None:
        body += (
            f', "chosen_image": {chosen.image}, "rejected_image": {rejected.image}'
            f', "images": [{dumps(IMAGES_DIR + "/" + json.loads(prompt_image))}]'
        )
    return "{" + body + "}\n"


def openai_line(messages: str, chosen: EncodedOutput, rejected: EncodedOutput) -> str:
    """One line of the OpenAI preference format (OpenAI, Together and Fireworks DPO): the prompt's
    messages under ``input``, then one assistant message on each side; nothing else."""
    return (
        f'{{"input": {{"messages": {messages}}}, "preferred_output": {chosen.message}, '
        f'"non_preferred_output": {rejected.message}}}\n'
    )


def item_line(head: str, challenge: str, version: str, item: EncodedOutput, prompt_image: str | None) -> str:
    """One line of kto.jsonl or sft.jsonl: ``head`` (the text columns), then the item's metadata;
    with screenshots, ``completion_image`` and ``images`` (the prompt's: the starter's screenshot)."""
    body = (
        f'{head}, "score": {item.score}, "challenge": {challenge}, "model": {item.model}, '
        f'"sample": {item.sample}, "n_graders": {item.graders}, "scores": {item.scores}, '
        f'"artifact_hash": {item.hash}, "dataset_version": {version}'
    )
    if prompt_image is not None:
        body += f', "completion_image": {item.image}, "images": [{dumps(IMAGES_DIR + "/" + json.loads(prompt_image))}]'
    return "{" + body + "}\n"
