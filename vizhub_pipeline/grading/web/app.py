"""The grader's web app: the grading page and the JSON API it uses.

Routes (all on the app's own origin):

- ``GET /``: to where this grader left off (the first item without a current grade).
- ``GET /item/<id>``: the grading page of one item (``?challenge=X`` keeps a filter).
- ``GET /api/items``, ``GET /api/items/<id>``: the items, progress and one item's details.
- ``POST /api/grades``: submit a grade (token and Origin checked), committed to git.
- ``GET /shots/<id>/<file>``: a screenshot of the item's render.
- ``GET /alone/<id>``: the live output framed on a page of its own ("open alone").

The generated page itself is served by :mod:`vizhub_pipeline.grading.web.sandbox`, on another port.
"""

import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from vizhub_pipeline.core import rubric
from vizhub_pipeline.core.challenges import Challenge
from vizhub_pipeline.core.layout import Layout
from vizhub_pipeline.grading.web import detail
from vizhub_pipeline.grading.web.guard import TOKEN_HEADER, CrossSiteGuard, HostGuard, SecurityHeaders, safe_join
from vizhub_pipeline.grading.web.items import Catalog, GradableOutput

HERE = Path(__file__).resolve().parent
MAX_NOTES = 10_000

KEYS = (
    ("0 … 5", "functionality score"),
    ("Shift + 0 … 5", "aesthetics score"),
    ("N", "write notes (Esc leaves the notes)"),
    ("Enter", "submit and go to the next ungraded item (Shift+Enter: new line in the notes)"),
    ("← / →", "previous / next item"),
    ("U", "next ungraded item"),
    ("S", "skip: the next item, without grading this one"),
    ("F", "flag this item to come back to (again: unflag); flagged items are listed in the session summary"),
    ("P", "fold or pin the prompt (the browser remembers the choice)"),
    ("?", "this help (Esc closes it)"),
)


@dataclass
class GraderConfig:
    """One grading session: who grades what, and how grades are committed."""

    layout: Layout
    grader: str
    catalog: Catalog
    sandbox_origin: str
    allowed_hosts: set[str]
    allowed_origins: set[str]
    commit: bool = True
    branch: str | None = None
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    submit_lock: threading.Lock = field(default_factory=threading.Lock)
    uncommitted: list = field(default_factory=list)  # judgements saved but not committed (batch mode)
    pairs: Any = None  # the pair queue (grading.pairing.PairQueue) of a pairwise session, else None

    def finish(self):
        """Commit what a batch-mode session saved; returns the library's result, or ``None``."""
        from vizhub_pipeline.core.judgements.registry import find_kind_of_record
        from vizhub_pipeline.grading.names import get_judgement_day, grade_file_path
        from vizhub_pipeline.grading.submit import commit_judgement_files

        with self.submit_lock:
            if not self.uncommitted:
                return None
            records, self.uncommitted = self.uncommitted, []
            kind = find_kind_of_record(records[0])  # a session saves one kind: grades, or votes
            paths = sorted(
                {grade_file_path(self.layout, self.grader, get_judgement_day(kind, record), kind) for record in records}
            )
            return commit_judgement_files(self.layout, self.grader, paths, records)

    @property
    def blind(self) -> bool:
        return self.catalog.blind


class GraderRequestError(Exception):
    """A request the app refuses: status and a message for the grader."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def sandbox_url(config: GraderConfig, item: GradableOutput, challenge: Challenge) -> str:
    """Where the sandbox origin serves this output's entry file, live."""
    return f"{config.sandbox_origin}/v/{item.id}/{quote(challenge.entry)}"


def _challenge_filter(config: GraderConfig, challenge: str | None) -> str | None:
    if not challenge:
        return None
    if challenge not in config.catalog.challenges:
        known = ", ".join(sorted(config.catalog.challenges)) or "none"
        raise GraderRequestError(404, f"unknown challenge {challenge!r} (this session has: {known})")
    return challenge


def _item_or_404(config: GraderConfig, item_id: str) -> GradableOutput:
    config.catalog.refresh()
    item = config.catalog.get(item_id)
    if item is None:
        raise GraderRequestError(404, f"unknown item {item_id!r}: it is not an output of this grading session")
    return item


def _next_open(items: list[GradableOutput], grades, after: int) -> GradableOutput | None:
    """The first item after position ``after`` (wrapping round, not the item itself) without a
    current grade; with ``after`` -1, the first of all."""
    count = len(items)
    order = range(count) if after < 0 else ((after + step) % count for step in range(1, count))
    for index in order:
        if grades.status(items[index]) != "graded":
            return items[index]
    return None


def resume_item(config: GraderConfig, challenge: str | None = None) -> GradableOutput | None:
    """Where this grader left off: the first item in their order without a current grade."""
    items = config.catalog.items(challenge)
    if not items:
        return None
    grades = config.catalog.grades()
    return next((item for item in items if grades.status(item) != "graded"), items[0])


def _progress_json(progress) -> dict[str, int]:
    return {"mine": progress.mine, "everyone": progress.everyone, "total": progress.total, "graders": progress.graders}


def _grade_json(grade) -> dict[str, Any] | None:
    if grade is None:
        return None
    return {
        "functionality": grade.functionality,
        "aesthetics": grade.aesthetics,
        "notes": grade.notes,
        "graded_at": grade.graded_at,
        "artifact_hash": grade.artifact_hash,
    }


def item_summary(config: GraderConfig, item: GradableOutput, grades, position: int) -> dict[str, Any]:
    status = grades.status(item)
    revealed = not config.blind or status != "ungraded"
    return {
        "id": item.id,
        "position": position + 1,
        "challenge": item.challenge,
        "model": item.model if revealed else None,
        "sample": item.sample if revealed else None,
        "status": status,
        "artifact_hash": item.artifact_hash,
    }


def page_context(config: GraderConfig, item: GradableOutput, challenge_filter: str | None) -> dict[str, Any]:
    """Everything the grading page shows of one item."""
    catalog = config.catalog
    items = catalog.items(challenge_filter)
    if item not in items:
        raise GraderRequestError(404, f"item {item.id!r} is not in challenge {challenge_filter!r}")
    grades = catalog.grades()
    position = items.index(item)
    status = grades.status(item)
    challenge = catalog.challenges[item.challenge]
    files = detail.read_item_files(item)
    starter = dict(challenge.files)
    query = f"?{urlencode({'challenge': challenge_filter})}" if challenge_filter else ""
    next_open = _next_open(items, grades, position)
    render = detail.render_view(config.layout.render_dir(item.challenge, item.model, item.sample), item, challenge)
    failed_checks = sum(1 for check in render.render.checks if not check.passed) if render.render else 0
    return {
        "config": config,
        "item": item,
        "position": position + 1,
        "count": len(items),
        "status": status,
        "revealed": not config.blind or status != "ungraded",
        "my_grade": grades.mine.get(item.key),
        "challenge": challenge,
        "prompt_text": detail.unwrap_prompt(challenge.prompt),
        "challenge_filter": challenge_filter,
        "challenge_ids": sorted(catalog.challenges),
        "query": query,
        "prev_url": f"/item/{items[position - 1].id}{query}" if position > 0 else None,
        "next_url": f"/item/{items[position + 1].id}{query}" if position + 1 < len(items) else None,
        "next_open_url": f"/item/{next_open.id}{query}" if next_open else None,
        "progress": grades.progress(items),
        "progress_all": grades.progress(catalog.items()) if challenge_filter else None,
        "files": detail.file_views(files, starter, challenge.entry),
        "diff": detail.diff_view(files, starter),
        "render": render,
        "failed_checks": failed_checks,
        "sandbox_url": sandbox_url(config, item, challenge),
        "functionality_rubric": rubric.FUNCTIONALITY,
        "aesthetics_rubric": rubric.AESTHETICS,
        "keys": KEYS,
        "notes": catalog.notes,
        "page_data": {
            "item": item.id,
            "artifactHash": item.artifact_hash,
            "challenge": challenge_filter,
            "token": config.token,
            "tokenHeader": TOKEN_HEADER,
            "prevUrl": f"/item/{items[position - 1].id}{query}" if position > 0 else None,
            "nextUrl": f"/item/{items[position + 1].id}{query}" if position + 1 < len(items) else None,
            "nextOpenUrl": f"/item/{next_open.id}{query}" if next_open else None,
            "blind": config.blind,
            "progress": _progress_json(grades.progress(items)),
            "url": f"/item/{item.id}{query}",
            "label": f"{item.challenge}, item {position + 1} of {len(items)}",
        },
    }


def review_context(config: GraderConfig, challenge_id: str, folder: str) -> dict[str, Any]:
    """What the review page shows of the output in ``visualizations/<challenge_id>/<folder>``."""
    from vizhub_pipeline.core.judgements.scores import latest_grades
    from vizhub_pipeline.core.layout import parse_item_dirname
    from vizhub_pipeline.grading.loading import keep_human_grades, load_grades

    config.catalog.refresh()
    try:
        model, sample = parse_item_dirname(folder)
        item = config.catalog.get(config.catalog.item_id(challenge_id, model, sample))
    except (ValueError, KeyError):
        item = None
    if item is None:
        raise GraderRequestError(404, f"no output {challenge_id}/{folder} in this grading session")
    challenge = config.catalog.challenges[item.challenge]
    grades = [
        grade
        for (_, key), grade in latest_grades(
            keep_human_grades(load_grades(config.layout, branch=config.branch))
        ).items()
        if key == item.key
    ]
    return {
        "config": config,
        "item": item,
        "challenge": challenge,
        "grades": sorted(grades, key=lambda grade: (grade.grader, grade.graded_at)),
        "render": detail.render_view(
            config.layout.render_dir(item.challenge, item.model, item.sample), item, challenge
        ),
        "sandbox_url": sandbox_url(config, item, challenge),
    }


def check_notes(notes: Any) -> str:
    """The notes of a submission, or a 422 naming the field: text, not too long, no NUL, no lone surrogate."""
    if notes is None:
        return ""
    if not isinstance(notes, str):
        raise GraderRequestError(422, "notes: must be text")
    if len(notes) > MAX_NOTES:
        raise GraderRequestError(422, f"notes: at most {MAX_NOTES} characters, got {len(notes)}")
    if "\0" in notes:
        raise GraderRequestError(422, "notes: must not contain NUL characters")
    try:
        notes.encode("utf-8")
    except UnicodeEncodeError as exc:  # JSON can carry a lone surrogate ("\ud800"); no file can hold one
        raise GraderRequestError(
            422, f"notes: character {exc.start + 1} is a lone surrogate (U+{ord(notes[exc.start]):04X}), not text"
        ) from None
    return notes


def submit_grade(config: GraderConfig, body: Any) -> dict[str, Any]:
    """Validate a submission, write it through the grading library and commit it."""
    from vizhub_pipeline.core.records import Grade, utc_now_iso
    from vizhub_pipeline.grading.errors import GradeCommitError, GradeError
    from vizhub_pipeline.grading.submit import submit_judgements

    if not isinstance(body, dict):
        raise GraderRequestError(400, "expected a JSON object with item, functionality, aesthetics and notes")
    unknown = sorted(set(body) - {"item", "functionality", "aesthetics", "notes", "artifact_hash", "challenge"})
    if unknown:
        raise GraderRequestError(422, f"unknown field(s): {', '.join(unknown)}")
    item_id = body.get("item")
    if not isinstance(item_id, str) or not item_id:
        raise GraderRequestError(422, "item: required, the id of the item being graded")
    item = _item_or_404(config, item_id)
    scores = {}
    for name in ("functionality", "aesthetics"):
        value = body.get(name)
        if value is None:
            raise GraderRequestError(422, f"{name}: required, a whole number from 0 to 5")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
            raise GraderRequestError(422, f"{name}: must be a whole number from 0 to 5, got {value!r}")
        scores[name] = value
    notes = check_notes(body.get("notes", ""))
    seen_hash = body.get("artifact_hash")
    if seen_hash is not None and seen_hash != item.artifact_hash:
        raise GraderRequestError(409, "this output changed since the page was loaded: reload the page and look again")
    challenge_filter = _challenge_filter(config, body.get("challenge") or None)
    grade = Grade(
        challenge=item.challenge,
        model=item.model,
        sample=item.sample,
        artifact_hash=item.artifact_hash,
        functionality=scores["functionality"],
        aesthetics=scores["aesthetics"],
        notes=notes.strip(),
        grader=config.grader,
        graded_at=utc_now_iso(),
        source="app",
        blind=config.blind,
    )
    warning = saved_path = None
    with config.submit_lock:
        try:
            result = submit_judgements(config.layout, [grade], commit=config.commit, branch=config.branch)
        except GradeCommitError as exc:  # saved on disk, not committed: say so, and go on
            result, warning, saved_path = None, str(exc), exc.path
        except GradeError as exc:
            raise GraderRequestError(422, str(exc)) from None
        finally:
            config.catalog.forget_grades()
        if not config.commit and warning is None:
            config.uncommitted.append(grade)
    items = config.catalog.items(challenge_filter)
    grades = config.catalog.grades()
    position = items.index(item) if item in items else -1
    following = _next_open(items, grades, position) if items else None
    # where U leads from the following item: its page may have been fetched before this grade
    after = _next_open(items, grades, items.index(following)) if following else None
    query = f"?{urlencode({'challenge': challenge_filter})}" if challenge_filter else ""
    return {
        "saved": True,
        "item": item.id,
        "challenge": item.challenge,
        "model": item.model,
        "sample": item.sample,
        "path": _relative(config.layout, result.path if result else saved_path),
        "commit": getattr(result, "commit_id", None),
        "branch": getattr(result, "branch", None),
        "message": getattr(result, "message", None),
        "push_command": getattr(result, "push_command", None),
        "warning": warning,
        "next_url": f"/item/{following.id}{query}" if following else None,
        "next_open_after": f"/item/{after.id}{query}" if after else None,
        "progress": _progress_json(grades.progress(items)),
        "progress_all": _progress_json(grades.progress(config.catalog.items())) if challenge_filter else None,
    }


def _relative(layout: Layout, path) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).resolve().relative_to(layout.root).as_posix()
    except ValueError:
        return str(path)


def create_app(config: GraderConfig):
    """The grader's ASGI app, wrapped in its Host and cross-site guards."""
    import jinja2
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
    from starlette.staticfiles import StaticFiles

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app = FastAPI(title="vizhub grader", docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    page_policy = "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"frame-src {config.sandbox_origin}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )

    def html(template: str, http_status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(env.get_template(template).render(**context), status_code=http_status)

    @app.exception_handler(GraderRequestError)
    async def refused(request: Request, exc: GraderRequestError):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        return html("error.html", http_status=exc.status, message=exc.message, config=config)

    @app.get("/", include_in_schema=False)
    def start(challenge: str | None = None):
        if config.pairs is not None:  # a pairwise session starts on its next pair
            return RedirectResponse("/pairs", status_code=303)
        challenge = _challenge_filter(config, challenge)
        config.catalog.refresh()
        item = resume_item(config, challenge)
        if item is None:
            return html(
                "empty.html",
                config=config,
                challenge_filter=challenge,
                notes=config.catalog.notes,
                challenge_ids=sorted(config.catalog.challenges),
            )
        query = f"?{urlencode({'challenge': challenge})}" if challenge else ""
        return RedirectResponse(f"/item/{item.id}{query}", status_code=303)

    @app.get("/item/{item_id}", include_in_schema=False)
    def item_page(item_id: str, challenge: str | None = None):
        challenge = _challenge_filter(config, challenge)
        item = _item_or_404(config, item_id)
        return html("item.html", **page_context(config, item, challenge))

    @app.get("/alone/{item_id}", include_in_schema=False)
    def alone_page(item_id: str):
        """The output on a page of its own, still framed: a frame cannot navigate the window, and
        this page's ``frame-src`` keeps the frame's own navigations on the sandbox origin."""
        item = _item_or_404(config, item_id)
        items = config.catalog.items()
        challenge = config.catalog.challenges[item.challenge]
        return html(
            "alone.html",
            position=items.index(item) + 1,
            count=len(items),
            sandbox_url=sandbox_url(config, item, challenge),
        )

    @app.get("/review/{challenge}/{folder}", include_in_schema=False)
    def review_page(challenge: str, folder: str):
        """One output named, with every grader's latest grade: what the HTML report's Review links
        open. Read-only, so looking here never counts as a blind grade."""
        return html("review.html", **review_context(config, challenge, folder))

    @app.get("/pygments.css", include_in_schema=False)
    def pygments_css():
        return Response(detail.pygments_css(), media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/items")
    def list_items(challenge: str | None = None):
        challenge = _challenge_filter(config, challenge)
        config.catalog.refresh()
        items = config.catalog.items(challenge)
        grades = config.catalog.grades()
        resume = resume_item(config, challenge)
        return {
            "grader": config.grader,
            "blind": config.blind,
            "challenge": challenge,
            "challenges": sorted(config.catalog.challenges),
            "progress": _progress_json(grades.progress(items)),
            "resume": resume.id if resume else None,
            "items": [item_summary(config, item, grades, index) for index, item in enumerate(items)],
            "notes": config.catalog.notes,
        }

    @app.get("/api/items/{item_id}")
    def get_item(item_id: str):
        item = _item_or_404(config, item_id)
        grades = config.catalog.grades()
        items = config.catalog.items()
        summary = item_summary(config, item, grades, items.index(item))
        challenge = config.catalog.challenges[item.challenge]
        render = detail.render_view(config.layout.render_dir(item.challenge, item.model, item.sample), item, challenge)
        files = detail.read_item_files(item)
        summary.update(
            {
                "title": challenge.title,
                "prompt": challenge.prompt,
                "files": sorted(files),
                "changed_files": list(detail.diff_view(files, dict(challenge.files)).changed_files),
                "sandbox_url": sandbox_url(config, item, challenge),
                "my_grade": _grade_json(grades.mine.get(item.key)),
                "render": _render_json(render, item),
            }
        )
        return summary

    @app.post("/api/grades")
    async def post_grade(request: Request):
        if "application/json" not in request.headers.get("content-type", ""):
            raise GraderRequestError(415, "send the grade as JSON (Content-Type: application/json)")
        try:
            body = await request.json()
        except ValueError:
            raise GraderRequestError(400, "the body is not valid JSON") from None
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(submit_grade, config, body)

    @app.get("/shots/{item_id}/{name:path}", include_in_schema=False)
    def shot(item_id: str, name: str):
        item = _item_or_404(config, item_id)
        folder = config.layout.render_dir(item.challenge, item.model, item.sample)
        path = safe_join(folder, name)
        suffix = Path(name).suffix.lower()
        if path is None or suffix not in detail.IMAGE_SUFFIXES:
            raise GraderRequestError(404, f"not a screenshot of this item: {name!r}")
        if not path.is_file():
            raise GraderRequestError(404, f"no such screenshot: {name!r}")
        return Response(
            path.read_bytes(), media_type=detail.IMAGE_SUFFIXES[suffix], headers={"Cache-Control": "no-cache"}
        )

    from vizhub_pipeline.grading.web.pairs import add_pair_routes

    add_pair_routes(app, config, html)

    @app.get("/healthz", include_in_schema=False)
    def healthz():
        return PlainTextResponse("ok")

    headers = {
        "Content-Security-Policy": page_policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    guarded = CrossSiteGuard(SecurityHeaders(app, headers), config.token, config.allowed_origins)
    return HostGuard(guarded, config.allowed_hosts)


def _render_json(view: detail.RenderView, item: GradableOutput) -> dict[str, Any]:
    if view.render is None:
        return {"status": None, "problem": view.problem}
    render = view.render
    return {
        "status": render.status,
        "error": render.error,
        "outdated": view.outdated,
        "screenshots": [f"/shots/{item.id}/{quote(shot.name)}" for shot in view.shots],
        "checks": [
            {
                "name": check.name,
                "type": check.type,
                "passed": check.passed,
                "message": check.message,
                "step": check.step,
                "page_world": check.page_world,
            }
            for check in render.checks
        ],
        "console_errors": list(render.console_errors),
        "page_errors": list(render.page_errors),
    }
