"""How far the graders agree, read from the aggregate stage's files and put in plain words.

Bands: Krippendorff's alpha after Krippendorff (2004, Content Analysis, 2nd ed.): at
least 0.800 reliable, 0.667 to 0.800 for tentative conclusions only, below
0.667 unreliable. ICC after Koo & Li (2016, Journal of Chiropractic Medicine 15(2)): below
0.50 poor, 0.50 to 0.75 moderate, 0.75 to 0.90 good, above 0.90 excellent; the original
project aimed at an ICC of at least 0.70.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vizhub_pipeline.core.records import DIMENSIONS
from vizhub_pipeline.report.tables import Table, Unavailable, get_path, to_float, to_int

ALPHA_RELIABLE, ALPHA_TENTATIVE = 0.800, 0.667
ICC_TARGET = 0.70
ALPHA_TEXT = (
    "Krippendorff's alpha measures agreement beyond chance (1 is perfect, 0 is no better than chance): "
    "at least 0.800 reliable; 0.667 to 0.800 good enough for tentative conclusions only; below 0.667 "
    "unreliable (Krippendorff 2004)."
)
ICC_TEXT = (
    "The intraclass correlation compares the spread between outputs with the spread between graders of "
    "the same output: below 0.50 poor, 0.50 to 0.75 moderate, 0.75 to 0.90 good, above 0.90 excellent "
    f"(Koo & Li 2016). The original project's target was an ICC of at least {ICC_TARGET:.2f}."
)


@dataclass(frozen=True)
class Band:
    """A value's reading in words; ``level`` (good, fair, bad, none) picks its colour."""

    word: str
    level: str


def alpha_band(value: float | None) -> Band:
    if value is None:
        return Band("not computed", "none")
    if value >= ALPHA_RELIABLE:
        return Band("reliable", "good")
    if value >= ALPHA_TENTATIVE:
        return Band("tentative", "fair")
    return Band("unreliable", "bad")


def icc_band(value: float | None) -> Band:
    if value is None:
        return Band("not computed", "none")
    if value > 0.90:
        return Band("excellent", "good")
    if value >= 0.75:
        return Band("good", "good")
    if value >= 0.50:
        return Band("moderate", "fair")
    return Band("poor", "bad")


@dataclass(frozen=True)
class AlphaRow:
    dimension: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    units: int | None
    band: Band


@dataclass
class Quality:
    alpha: list[AlphaRow] | Unavailable
    alpha_by_challenge: dict[str, dict[str, AlphaRow]] = field(default_factory=dict)  # challenge -> dimension -> row
    icc: list[dict[str, Any]] | Unavailable = field(default_factory=list)
    icc_design: str = ""
    methods: dict[str, str] = field(default_factory=dict)
    confidence: float = 0.95


def _alpha_rows(data: Any) -> list[AlphaRow]:
    rows = []
    for dim in DIMENSIONS:
        entry = data.get(dim) if isinstance(data, dict) else None
        value = to_float(get_path(entry, "value"))
        rows.append(
            AlphaRow(
                dim,
                value,
                to_float(get_path(entry, "ci_low")),
                to_float(get_path(entry, "ci_high")),
                to_int(get_path(entry, "units")),
                alpha_band(value),
            )
        )
    return rows


def read_quality(reliability: dict[str, Any] | Unavailable) -> Quality:
    """Alpha (overall and per challenge), ICC and the method texts of ``reliability.json``."""
    if isinstance(reliability, Unavailable):
        return Quality(alpha=reliability, icc=reliability)
    quality = Quality(alpha=_alpha_rows(reliability.get("alpha")))
    if isinstance(quality.alpha, list) and all(row.value is None for row in quality.alpha):
        quality.alpha = Unavailable(
            "no output has grades from two graders yet, so agreement cannot be measured "
            "(each output needs at least two)"
        )
    by_challenge = reliability.get("alpha_by_challenge")
    if isinstance(by_challenge, dict):
        for challenge in sorted(by_challenge):
            rows = _alpha_rows(by_challenge[challenge])
            if any(row.value is not None for row in rows):
                quality.alpha_by_challenge[str(challenge)] = {row.dimension: row for row in rows}
    icc = reliability.get("icc")
    if not isinstance(icc, dict):
        quality.icc = Unavailable(
            "no group of outputs was graded by the same two or more graders (the ICC needs such a fully crossed block)"
        )
    else:
        listed = icc.get("graders")
        graders: list[Any] = listed if isinstance(listed, list) else []
        names = ", ".join(map(str, graders))
        quality.icc_design = (
            f"{to_int(icc.get('items')) or 0} output(s) graded by all of {len(graders)} grader(s): {names}"
        )
        icc_rows: list[dict[str, Any]] = []
        for dim in DIMENSIONS:
            single, average = to_float(get_path(icc, dim, "icc2_1")), to_float(get_path(icc, dim, "icc2_k"))
            icc_rows.append(
                {
                    "dimension": dim,
                    "single": single,
                    "average": average,
                    "band": icc_band(single),
                    "target": None if single is None else single >= ICC_TARGET,
                }
            )
        quality.icc = icc_rows
    methods = reliability.get("methods")
    if isinstance(methods, dict):
        quality.methods = {str(key): str(value) for key, value in sorted(methods.items()) if isinstance(value, str)}
    quality.confidence = to_float(reliability.get("confidence")) or 0.95
    return quality


def number_rows(table: Table | Unavailable, numbers: tuple[str, ...]) -> list[dict[str, Any]] | Unavailable:
    """The rows of ``table`` with the ``numbers`` columns parsed (``None`` where empty or absent)."""
    if isinstance(table, Unavailable):
        return table
    return [{**row, **{name: to_float(row.get(name)) for name in numbers}} for row in table.rows]


def grader_rows(table: Table | Unavailable) -> list[dict[str, Any]] | Unavailable:
    """``graders.csv`` with numbers parsed and leniency put in words."""
    if isinstance(table, Unavailable):
        return table
    rows = []
    for row in table.rows:
        leniency = to_float(row.get("leniency"))
        if leniency is None:
            reading = "no other grader graded the same outputs"
        elif abs(leniency) < 0.25:
            reading = "in line with the others"
        else:
            reading = f"{'more generous' if leniency > 0 else 'stricter'} than the others by {abs(leniency):.2f} points"
        rows.append(
            {
                "grader": row.get("grader", ""),
                "grades": to_int(row.get("grades")),
                "stale": to_int(row.get("stale")),
                "compared": to_int(row.get("compared")),
                "leniency": leniency,
                "reading": reading,
                "mean_abs_diff": to_float(row.get("mean_abs_diff")),
                "spearman": to_float(row.get("spearman")),
                "kappa": to_float(row.get("mean_kappa_overall")),
            }
        )
    return rows
