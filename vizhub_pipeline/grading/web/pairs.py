"""Pairwise voting in the grader's web app: two outputs of one challenge side by side.

Routes (on the app's own origin, added to the grader app by :func:`add_pair_routes`):

- ``GET /pairs``: the next pair of this grader's queue, or the end of the session.
- ``GET /pair/<id>``: the voting page of one pair (an opaque id from the pair queue).
- ``POST /api/votes``: a vote (``a``, ``b``, ``tie`` or ``both_bad``, with a flag and a note),
  checked and committed through :func:`vizhub_pipeline.grading.submit.submit_judgements`.
- ``POST /api/pairs/skip``: go on without voting on a pair.
- ``GET /api/pairs/<id>/next``: where each vote on a pair (and a skip) would lead now, so the page
  can load those pairs ahead (static/pair.js); the reply of the vote or skip says where it did lead.

Blind sessions name no model, before or after a vote: not on the page, not in the banner
that follows a vote (it stays over the next pair, which may share an output with this one),
not in the API's replies; a pair may come back later as a repeat, to be judged blind again.
"""

from typing import Any

from vizhub_pipeline.core.judgements.votes import WINNERS
from vizhub_pipeline.grading.web import detail
from vizhub_pipeline.grading.web.app import GraderConfig, GraderRequestError, _relative, check_notes, sandbox_url
from vizhub_pipeline.grading.web.guard import TOKEN_HEADER
from vizhub_pipeline.grading.web.items import GradableOutput

PAIR_KEYS = (
    ("A", "the left output is better"),
    ("B", "the right output is better"),
    ("T", "a tie: both as good"),
    ("X", "both bad"),
    ("S", "skip this pair"),
    ("F", "flag this pair for review (sent with the vote; again: unflag)"),
    ("N", "write a note (Esc leaves the note field)"),
    ("?", "this help (Esc closes it)"),
)
VOTE_FIELDS = {"pair", "winner", "flagged", "notes", "artifact_hash_a", "artifact_hash_b"}


def pair_queue(config: GraderConfig):
    """This session's pair queue; a 404 when the session is not pairwise."""
    if config.pairs is None:
        raise GraderRequestError(404, "this grading session is not pairwise: start it with `vizhub grade --pairwise`")
    return config.pairs


def _pair_or_404(config: GraderConfig, pair_id: Any):
    queue = pair_queue(config)
    if not isinstance(pair_id, str) or not pair_id:
        raise GraderRequestError(422, "pair: required, the id of the pair voted on")
    queue.refresh()
    pair = queue.get(pair_id)
    if pair is None:
        raise GraderRequestError(404, f"unknown pair {pair_id!r}: it is not a pair of this grading session")
    return pair


def _progress(queue) -> dict[str, int]:
    """The queue's counts the page shows; not its repeats, which would tell a repeat from a new pair."""
    return {name: value for name, value in queue.progress().items() if name != "repeats"}


def _url(pair) -> str | None:
    return f"/pair/{pair.id}" if pair else None


def _next(queue) -> dict[str, Any]:
    """Where to go now: ``next_url``, and the artifact hashes of its two sides (left, right), by which
    a page loaded ahead of time is known to show these outputs as they are now."""
    following = queue.next()
    hashes = [following.left.artifact_hash, following.right.artifact_hash] if following else None
    return {"next_url": _url(following), "next_artifacts": hashes}


def _next_url(queue) -> str | None:
    return _url(queue.next())


def following_urls(config: GraderConfig, pair_id: str) -> dict[str, Any]:
    """``{"pair": id, "next": {winner or "skip": url or None}}``: where each action on the pair leads
    if nothing else happens first. Ids only: nothing here names a model."""
    pair = _pair_or_404(config, pair_id)
    ahead = config.pairs.following(pair)  # under the queue's lock, which takes back what it tried
    return {"pair": pair.id, "next": {action: _url(found) for action, found in ahead.items()}}


def _side(config: GraderConfig, item: GradableOutput, letter: str) -> dict[str, Any]:
    challenge = config.catalog.challenges[item.challenge]
    render = detail.render_view(config.layout.render_dir(item.challenge, item.model, item.sample), item, challenge)
    checks = render.render.checks if render.render else ()
    steps = []
    for step in challenge.interactions:
        after = [check for check in checks if check.step == step.name]
        steps.append(
            {
                "name": step.name,
                "action": step.action,
                "selector": step.selector,
                "passed": sum(1 for check in after if check.passed),
                "checks": len(after),
            }
        )
    return {
        "letter": letter,
        "item": item,
        "render": render,
        "steps": steps,
        "sandbox_url": sandbox_url(config, item, challenge),
    }


def pair_context(config: GraderConfig, pair) -> dict[str, Any]:
    """Everything the voting page shows of one pair."""
    queue = pair_queue(config)
    challenge = config.catalog.challenges[pair.challenge]
    progress = _progress(queue)
    return {
        "config": config,
        "pair": pair,
        "challenge": challenge,
        "sides": [_side(config, pair.left, "a"), _side(config, pair.right, "b")],
        "progress": progress,
        "keys": PAIR_KEYS,
        "notes": config.catalog.notes,
        "page_data": {
            "pair": pair.id,
            "challenge": pair.challenge,
            "artifactHashA": pair.left.artifact_hash,
            "artifactHashB": pair.right.artifact_hash,
            "token": config.token,
            "tokenHeader": TOKEN_HEADER,
            "blind": config.blind,
            "viewport": {"width": challenge.viewport.width, "height": challenge.viewport.height},
            "progress": progress,
        },
    }


def done_context(config: GraderConfig) -> dict[str, Any]:
    """The page after the last pair: the session summary."""
    queue = pair_queue(config)
    progress = _progress(queue)
    return {
        "config": config,
        "progress": progress,
        "keys": PAIR_KEYS,
        "notes": config.catalog.notes,
        "page_data": {"pair": None, "blind": config.blind, "progress": progress},
    }


def _side_json(item: GradableOutput) -> dict[str, Any]:
    return {"model": item.model, "sample": item.sample, "artifact_hash": item.artifact_hash}


def submit_vote(config: GraderConfig, body: Any) -> dict[str, Any]:
    """Check a vote, record it in the queue, write it through the grading library and commit it."""
    from vizhub_pipeline.grading.errors import GradeCommitError, GradeError
    from vizhub_pipeline.grading.submit import submit_judgements

    if not isinstance(body, dict):
        raise GraderRequestError(400, "expected a JSON object with pair, winner, flagged and notes")
    unknown = sorted(set(body) - VOTE_FIELDS)
    if unknown:
        raise GraderRequestError(422, f"unknown field(s): {', '.join(unknown)}")
    pair = _pair_or_404(config, body.get("pair"))
    winner = body.get("winner")
    if winner not in WINNERS:
        raise GraderRequestError(422, f"winner: one of {', '.join(WINNERS)}, got {winner!r}")
    flagged = body.get("flagged", False)
    if not isinstance(flagged, bool):
        raise GraderRequestError(422, f"flagged: true or false, got {flagged!r}")
    notes = check_notes(body.get("notes", ""))
    for field, item in (("artifact_hash_a", pair.left), ("artifact_hash_b", pair.right)):
        seen = body.get(field)
        if seen is not None and seen != item.artifact_hash:
            raise GraderRequestError(409, "an output of this pair changed since the page was loaded: reload it")
    queue = config.pairs
    warning = saved_path = None
    with config.submit_lock:
        vote = queue.record_vote(pair, winner, flagged=flagged, notes=notes.strip(), source="app", blind=config.blind)
        try:
            result = submit_judgements(config.layout, [vote], commit=config.commit, branch=config.branch)
        except GradeCommitError as exc:  # saved on disk, not committed: say so, and go on
            result, warning, saved_path = None, str(exc), exc.path
        except GradeError as exc:
            queue.refresh()  # forget the vote recorded above: nothing was written
            raise GraderRequestError(422, str(exc)) from None
        if not config.commit and warning is None:
            config.uncommitted.append(vote)
    return {
        "saved": True,
        "pair": pair.id,
        "challenge": pair.challenge,
        "winner": winner,
        "flagged": flagged,
        # blind: never named, not even after the vote (a later repeat of this pair must stay blind)
        "left": None if config.blind else _side_json(pair.left),
        "right": None if config.blind else _side_json(pair.right),
        "path": _relative(config.layout, result.path if result else saved_path),
        "commit": getattr(result, "commit_id", None),
        "branch": getattr(result, "branch", None),
        "push_command": getattr(result, "push_command", None),
        "warning": warning,
        **_next(queue),
        "progress": _progress(queue),
    }


def skip_pair(config: GraderConfig, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or set(body) - {"pair"}:
        raise GraderRequestError(422, "expected a JSON object with the pair to skip, and nothing else")
    pair = _pair_or_404(config, body.get("pair"))
    queue = config.pairs
    with config.submit_lock:
        queue.skip(pair)
    return {"skipped": pair.id, **_next(queue), "progress": _progress(queue)}


def add_pair_routes(app, config: GraderConfig, html) -> None:
    """Add the pairwise pages and API to the grader ``app`` (``html(template, **context)`` renders)."""
    from fastapi import Request
    from fastapi.responses import RedirectResponse
    from starlette.concurrency import run_in_threadpool

    @app.get("/pairs", include_in_schema=False)
    def next_pair():
        queue = pair_queue(config)
        queue.refresh()
        url = _next_url(queue)
        if url is None:
            return html("pair_done.html", **done_context(config))
        return RedirectResponse(url, status_code=303)

    @app.get("/pair/{pair_id}", include_in_schema=False)
    def pair_page(pair_id: str):
        return html("pair.html", **pair_context(config, _pair_or_404(config, pair_id)))

    @app.get("/api/pairs/{pair_id}/next")
    def pair_following(pair_id: str):
        return following_urls(config, pair_id)

    async def json_body(request: Request, what: str) -> Any:
        if "application/json" not in request.headers.get("content-type", ""):
            raise GraderRequestError(415, f"send the {what} as JSON (Content-Type: application/json)")
        try:
            return await request.json()
        except ValueError:
            raise GraderRequestError(400, "the body is not valid JSON") from None

    @app.post("/api/votes")
    async def post_vote(request: Request):
        return await run_in_threadpool(submit_vote, config, await json_body(request, "vote"))

    @app.post("/api/pairs/skip")
    async def post_skip(request: Request):
        return await run_in_threadpool(skip_pair, config, await json_body(request, "pair to skip"))
