"""The report stage: read every result, write ``results/report/`` (a static site that opens offline).

The folder is built beside the old one and swapped in whole, so it is never half written.
Same inputs, same bytes: everything is sorted, no time or absolute path is written, and
image files are named by their content.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vizhub_pipeline.core.atomic import clean_stale_temporaries, replace_dir_atomic, staging_dir
from vizhub_pipeline.core.errors import InputError
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.core.params import ReportParams
from vizhub_pipeline.report.boards import read_boards
from vizhub_pipeline.report.images import PictureStats, make_pictures
from vizhub_pipeline.report.outputs import collect_outputs
from vizhub_pipeline.report.pages import Site, write_site
from vizhub_pipeline.report.project import read_challenges, read_params_sections
from vizhub_pipeline.report.provenance import latest_notes, read_grades
from vizhub_pipeline.report.quality import grader_rows, read_quality
from vizhub_pipeline.report.tables import Unavailable, read_json_object, read_table

RERUN = "run `vizhub aggregate` first"


@dataclass
class ReportSummary:
    folder: str
    pages: list[str] = field(default_factory=list)
    pictures: PictureStats = field(default_factory=PictureStats)
    bytes: int = 0
    unavailable: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        pictures = self.pictures
        out = [
            f"report: wrote {self.folder}/ ({len(self.pages)} pages, {pictures.stored} screenshots, "
            f"{pictures.encoded} thumbnails made and {pictures.reused} reused; {self.bytes / 1e6:.1f} MB in files, "
            f"of which {pictures.linked} screenshots are hard links to results/renders/)",
            f"open {self.folder}/index.html in a browser",
        ]
        if pictures.problems:
            out.append(f"{pictures.problems} screenshot(s) could not be shown: see their outputs' pages")
        out.extend(f"not available: {reason}" for reason in self.unavailable)
        return out


def check_params(params: ReportParams, path: Path) -> None:
    """A grader URL the review links can use, naming the ``params.yaml`` key otherwise."""
    if not params.grader_url.startswith(("http://", "https://")):
        raise InputError(
            path, f"must start with http:// or https://, found {params.grader_url!r}", field="report.grader_url"
        )


def run_report(layout: Layout, params: ReportParams, *, echo: Callable[[str], None] | None = None) -> ReportSummary:
    """Read the results of every stage and write the report folder (``results/report/``)."""
    check_params(params, layout.params)
    consensus_dir = layout.consensus
    tables = {
        name: read_table(consensus_dir / f"{name}.csv", layout.root, missing=RERUN)
        for name in ("leaderboard", "consensus", "graders", "pairwise", "disagreements", "excluded")
    }
    reliability = read_json_object(consensus_dir / "reliability.json", layout.root, missing=RERUN)
    grades = read_grades(layout.grades, layout.root)
    outputs = collect_outputs(layout, tables["consensus"], latest_notes(grades.rows))
    challenges = read_challenges(layout, {output.challenge for output in outputs})
    outputs = [output for output in outputs if output.challenge in challenges]
    quality = read_quality(reliability)
    method = quality.methods.get("leaderboard_interval", "")
    site = Site(
        outputs=outputs,
        challenges=challenges,
        boards=read_boards(layout, tables["leaderboard"], tables["consensus"], outputs, method, quality.confidence),
        quality=quality,
        graders=grader_rows(tables["graders"]),
        pairwise=tables["pairwise"],
        disagreements=tables["disagreements"],
        excluded=tables["excluded"],
        grades=grades,
        params=read_params_sections(layout.params, layout.root),
        grader_url=params.grader_url,
        problems=[problem for output in outputs for problem in output.problems],
    )
    if echo:
        echo(f"report: {len(outputs)} output(s) of {len(challenges)} challenge(s); making images")

    final = layout.report
    clean_stale_temporaries(final.parent, name=final.name)  # of an interrupted run; nothing else of results/
    staging = staging_dir(final)
    try:
        shots = [shot for output in outputs for shot in output.shots]
        previous = final if final.is_dir() else None
        pictures, stats = make_pictures((shot.source for shot in shots), staging, previous, params.thumbnail_width)
        for shot in shots:
            shot.image = pictures.get(shot.source)
        pages = write_site(staging, site)
        size = sum(path.stat().st_size for path in staging.rglob("*") if path.is_file())
        replace_dir_atomic(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    unavailable = sorted({table.reason for table in tables.values() if isinstance(table, Unavailable)})
    if isinstance(reliability, Unavailable):
        unavailable.append(reliability.reason)
    return ReportSummary(_relative(layout, final), pages, stats, size, unavailable)


def _relative(layout: Layout, path: Path) -> str:
    try:
        return path.relative_to(layout.root).as_posix()
    except ValueError:
        return str(path)
