"""The pages of the report, rendered with Jinja2 (autoescaped: every text from a file is shown as text).

Pages: ``index.html`` (leaderboards and challenges), ``challenges/<id>.html`` (the gallery of
one challenge), ``models/<model>.html`` (one model across challenges), ``quality.html``
(grader agreement and the review queue) and ``data.html`` (how the data was made). Links
are relative, so the folder opens from disk or from any web server.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

from vizhub_pipeline.core.layout import item_dirname, model_to_dirname
from vizhub_pipeline.report.boards import Board, Interval
from vizhub_pipeline.report.charts import format_interval, format_value, interval_chart
from vizhub_pipeline.report.outputs import Output, best_first
from vizhub_pipeline.report.project import ChallengeInfo
from vizhub_pipeline.report.provenance import Grades, count_by, summarize_graders
from vizhub_pipeline.report.quality import ALPHA_TEXT, ICC_TEXT, Quality, number_rows
from vizhub_pipeline.report.tables import Table, Unavailable, to_float

ASSETS = ("report.css", "report.js")
PAIR_NUMBERS = ("common_items", "kappa_functionality", "kappa_aesthetics", "kappa_overall")
REVIEW_NUMBERS = ("n_graders", "overall_mean", "overall_std", "overall_range")
METHOD_LABELS = {
    "alpha": "Krippendorff's alpha",
    "icc": "Intraclass correlation",
    "item_interval": "Interval of one output's score",
    "leaderboard_interval": "Leaderboard intervals and ranks",
    "pairwise": "Pairs of graders",
    "graders": "Graders' leniency and agreement",
}
GOOD = {"ok", "rendered", "passed", "pass"}
BAD = {"error", "timeout", "failed", "fail", "blank", "unparseable"}


@dataclass
class Site:
    """Everything the pages show."""

    outputs: list[Output]
    challenges: dict[str, ChallengeInfo]
    boards: list[Board]
    quality: Quality
    graders: list[dict[str, Any]] | Unavailable
    pairwise: Table | Unavailable
    disagreements: Table | Unavailable
    excluded: Table | Unavailable
    grades: Grades
    params: list[tuple[str, str]] | Unavailable
    grader_url: str
    problems: list[str] = field(default_factory=list)


def model_page(model: str) -> str:
    return f"models/{model_to_dirname(model)}.html"


def challenge_page(challenge: str) -> str:
    return f"challenges/{challenge}.html"


def level(status: str | None) -> str:
    """The colour class of a status word."""
    if status in GOOD:
        return "good"
    if status in BAD:
        return "bad"
    return "none"


def _environment(site: Site):
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("vizhub_pipeline.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    base_url = site.grader_url.rstrip("/")
    env.filters.update(
        value=lambda v, digits=2: format_value(v, digits=digits),
        percent=lambda v: format_value(v, percent=True),
        interval=lambda v, percent=False: format_interval(v, percent=percent) if isinstance(v, Interval) else "n/a",
        money=lambda v: "n/a" if v is None else f"${v:.4f}",
        count=lambda v: "n/a" if v is None else f"{v:,}",
        level=level,
        sort_key=_sort_key,
        breakable=lambda text: Markup(escape(text).replace("/", Markup("/<wbr>"))),
        method_label=lambda name: METHOD_LABELS.get(name, name.replace("_", " ").capitalize()),
    )
    env.globals.update(
        model_page=model_page,
        challenge_page=challenge_page,
        review_url=lambda output: review_url(base_url, output.challenge, output.folder),
        chart=interval_chart,
        Interval=Interval,
        is_unavailable=lambda value: isinstance(value, Unavailable),
        alpha_text=ALPHA_TEXT,
        icc_text=ICC_TEXT,
        grader_url=base_url,
    )
    return env


def _sort_key(value: Any) -> str:
    """The ``data-sort`` value of a table cell: a plain number, or text; empty sorts last."""
    if isinstance(value, Interval):
        value = value.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return f"{value:.6f}"
    return str(value)


def write_site(folder: Path, site: Site) -> list[str]:
    """Write every page and asset into ``folder``; return the written pages (relative paths, sorted)."""
    env = _environment(site)
    by_challenge: dict[str, list[Output]] = {}
    by_model: dict[str, list[Output]] = {}
    for output in site.outputs:
        by_challenge.setdefault(output.challenge, []).append(output)
        by_model.setdefault(output.model, []).append(output)
    models = sorted(by_model)
    common = {"site": site, "models": models, "challenges": site.challenges}
    pages: dict[str, tuple[str, dict[str, Any]]] = {
        "index.html": ("index.html.j2", {"overview": _overview(site, by_challenge, models)}),
        "quality.html": (
            "quality.html.j2",
            {"review_rows": _review_rows(site), "pairs": number_rows(site.pairwise, PAIR_NUMBERS)},
        ),
        "data.html": ("data.html.j2", {"data": _provenance(site, by_model)}),
    }
    for challenge, info in site.challenges.items():
        outputs = best_first(by_challenge.get(challenge, []))
        pages[challenge_page(challenge)] = ("challenge.html.j2", {"info": info, "outputs": outputs})
    for model in models:
        outputs = sorted(by_model[model], key=lambda o: (o.challenge, o.sample))
        pages[model_page(model)] = ("model.html.j2", {"model": model, "outputs": outputs})
    for name, (template, context) in sorted(pages.items()):
        base = "../" * name.count("/")
        html = env.get_template(template).render(base=base, page=name, **common, **context)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    assets = folder / "assets"
    assets.mkdir(exist_ok=True)
    for asset in ASSETS:
        (assets / asset).write_bytes(resources.files("vizhub_pipeline.report").joinpath("static", asset).read_bytes())
    return sorted(pages)


def review_url(grader_url: str, challenge: str, folder: str) -> str:
    """The grader's review page of one output: ``<grader_url>/review/<challenge>/<output folder>``."""
    return f"{grader_url.rstrip('/')}/review/{quote(challenge, safe='')}/{quote(folder, safe='')}"


def _review_rows(site: Site) -> list[dict[str, Any]]:
    """The disagreement queue with each row's output folder and review link."""
    if not isinstance(site.disagreements, Table):
        return []
    rows = []
    for row in site.disagreements.rows:
        try:
            folder = item_dirname(row.get("model", ""), int(row.get("sample") or 0))
        except ValueError:
            continue
        numbers = {name: to_float(row.get(name)) for name in REVIEW_NUMBERS}
        review = review_url(site.grader_url, row.get("challenge", ""), folder)
        rows.append({**row, **numbers, "folder": folder, "review": review})
    return rows


def _overview(site: Site, by_challenge: dict[str, list[Output]], models: list[str]) -> dict[str, Any]:
    graded = [output for output in site.outputs if output.n_graders]
    human = [row for row in site.grades.rows if row.human]
    challenges = []
    for challenge, info in site.challenges.items():
        outputs = by_challenge.get(challenge, [])
        rendered = [o for o in outputs if o.render_status]
        ranked = best_first(outputs)
        best = ranked[0] if ranked and ranked[0].overall is not None else None
        challenges.append(
            {
                "info": info,
                "outputs": len(outputs),
                "graded": sum(1 for o in outputs if o.n_graders),
                "rendered": sum(1 for o in rendered if o.render_status == "rendered"),
                "render_total": len(rendered),
                "best": best,
            }
        )
    return {
        "counts": [
            ("challenges", len(site.challenges)),
            ("models", len(models)),
            ("outputs", len(site.outputs)),
            ("graded outputs", len(graded)),
            ("graders", len({row.grader for row in human})),
            ("human grades", len(human)),
        ],
        "challenges": challenges,
    }


def _provenance(site: Site, by_model: dict[str, list[Output]]) -> dict[str, Any]:
    generations = []
    code = {challenge for challenge, info in site.challenges.items() if info.type == "code"}
    for model, outputs in sorted(by_model.items()):
        statuses = Counter(o.generation_status or "no meta.json" for o in outputs)
        renders = Counter(
            o.render_status or ("code, not rendered" if o.challenge in code else "not rendered") for o in outputs
        )
        generations.append(
            {
                "model": model,
                "outputs": len(outputs),
                "statuses": sorted(statuses.items()),
                "renders": sorted(renders.items()),
                "imported": sorted(Counter(o.imported_from for o in outputs if o.imported_from).items()),
            }
        )
    excluded = []
    if isinstance(site.excluded, Table):
        excluded = sorted(Counter(row.get("reason", "") for row in site.excluded.rows).items())
    rows = site.grades.rows
    return {
        "graders": summarize_graders(rows),
        "sources": count_by(rows, "source"),
        "blind": count_by(rows, "blind"),
        "generations": generations,
        "excluded": excluded,
        "dates": (min(r.graded_at for r in rows), max(r.graded_at for r in rows)) if rows else None,
    }
