"""The stage display's data: a small JSON document that follows the operator console.

The display polls `/draws/<id>/live.json` about twice a second; an unchanged state answers 304
from its ETag. Nothing secret is ever in it: the secret appears only once revealed.

Scenes, in order: waiting → population (frozen population and rule) → dice → secret (checked
against the commitment) → drand → seed → revealing (one selection at a time, in ticket order)
→ done (QR code to the verify page). The drand round and the seed arrive together (the console
computes the result as soon as the round is recorded), so the display shows the drand scene for
a few seconds before the seed; see static/stage.js.

Each worker answers `live.json` from memory for `LIVE_SECONDS` (`public_site.cache`), and the
published announcement and result are parsed once per process (`parsed_document`), so a
crowd of stage displays costs one small query per worker a few times a second.
"""

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, g, render_template, request, url_for
from flask_babel import gettext

from lottery.drand import round_time
from lottery.draw import commitment as commitment_of
from lottery.timestamps import format_timestamp
from public_site import public_blueprint as bp
from public_site.cache import LIVE_SECONDS, PAGE_SECONDS, keep_for
from public_site.documents import published_draw
from service import clock
from service.access import public
from service.config import settings_of
from service.extensions import session
from service.labels import rule_lines
from service.models import Draw
from service.qr import qr_svg
from service.witnesses import confirmations as witness_confirmations
from service.witnessing import draw_witnesses


def live_step(draw: Draw) -> str:
    """Where the live draw stands, as the stage display names its scenes."""
    if draw.status == "abandoned":
        return "abandoned"
    if draw.result_digest is not None:
        if draw.revealed_count >= _total(draw):
            return "done"
        return "revealing" if draw.revealed_count > 0 else "seed"
    if draw.drand_beacon is not None or (draw.drand_round is None and draw.revealed_secret):
        return "seed"
    if draw.revealed_secret:
        return "secret"
    if draw.dice:
        return "dice"
    if draw.live_started_at is not None:
        return "population"
    return "waiting"


#: Parsed published documents by digest (the same digest is the same document, in any app).
_PARSED: dict[str, Any] = {}
_PARSED_KEPT = 16
_parsed_lock = threading.Lock()


def parsed_document(digest: str | None, load: Callable[[], bytes | None]) -> Any:
    """The parsed JSON of a published document, parsed once per process; None without one.

    The object is shared by every request: read it, never change it.
    """
    if digest is None:
        return None
    document = _PARSED.get(digest)
    if document is None:
        data = load()
        if data is None:
            return None
        document = json.loads(data)
        with _parsed_lock:
            while len(_PARSED) >= _PARSED_KEPT:
                _PARSED.pop(next(iter(_PARSED)))
            _PARSED[digest] = document
    return document


def _result(draw: Draw) -> dict[str, Any] | None:
    result: dict[str, Any] | None = parsed_document(draw.result_digest, lambda: draw.result)
    return result


def _total(draw: Draw) -> int:
    result = _result(draw)
    return sum(len(stage["selected"]) for stage in result["stages"]) if result else 0


def live_state(draw: Draw) -> dict[str, Any]:
    """The public state of a draw for the stage display."""
    announcement = parsed_document(draw.announcement_digest, lambda: draw.announcement) or {}
    result = _result(draw)
    revealed: list[dict[str, Any]] = []
    if result:
        remaining = draw.revealed_count
        for stage in result["stages"]:
            for pick in stage["selected"]:
                if remaining <= 0:
                    break
                revealed.append({"stage": stage["name"], **pick})
                remaining -= 1
    return {
        "draw_id": draw.draw_id,
        "title": draw.title,
        "office": announcement.get("office", ""),
        "status": draw.status,
        "step": live_step(draw),
        "scheduled_at": announcement.get("scheduled_at"),
        "inputs_close_at": announcement.get("inputs_close_at"),
        "beacon_at": format_timestamp(datetime.fromtimestamp(round_time(draw.drand_round), UTC))
        if draw.drand_round
        else None,
        "population": announcement.get("population"),
        "stages": announcement.get("stages", []),
        # the rule in words, in the page's language (the signed `derivation` keeps its codes)
        "derivation": [str(line) for line in rule_lines(announcement)],
        "witnesses": announcement.get("witnesses", []),
        "commitment": draw.commitment,
        "dice": {"count": draw.dice_count, "value": draw.dice},
        "secret": draw.revealed_secret,
        "drand": {"round": draw.drand_round, **(draw.drand_beacon or {})} if draw.drand_round else None,
        "seed": result["seed"] if result else None,
        "groups": {stage["name"]: stage["groups"] for stage in result["stages"]} if result else {},
        "revealed": revealed,
        "total": _total(draw),
        "confirmations": [c.to_json() for c in witness_confirmations(session(), draw)],
        "verify_url": url_for("public.verify_page", draw_id=draw.draw_id, _external=True),
        "page_url": url_for("public.draw_page", draw_id=draw.draw_id, _external=True),
        "abandoned_reason": draw.abandoned_reason,
        "checks": _checks(draw),
        # The log's witnesses (service.witnessing) that cosigned a checkpoint holding the draw's
        # inputs so far; null when none is configured.
        "log_witnesses": draw_witnesses(session(), settings_of(current_app), draw),
    }


def _checks(draw: Draw) -> dict[str, bool | None]:
    """The server's own checks of the revealed inputs (the display recomputes them too, where it can)."""
    beacon = draw.drand_beacon
    randomness_ok = None
    if beacon:
        randomness_ok = hashlib.sha256(bytes.fromhex(beacon["signature"])).hexdigest() == beacon["randomness"]
    return {
        "commitment": commitment_of(draw.revealed_secret) == draw.commitment if draw.revealed_secret else None,
        "randomness": randomness_ok,
    }


@bp.route("/draws/<draw_id:draw_id>/live.json")
@public
def live_json(draw_id: str) -> Response:
    """The stage display's state (ETag; 304 while nothing changed)."""
    draw = published_draw(draw_id, result=False)
    body = json.dumps(live_state(draw), ensure_ascii=False, sort_keys=True).encode("utf-8")
    response = Response(body, mimetype="application/json")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.headers["Cache-Control"] = "no-cache"
    keep_for(LIVE_SECONDS)
    response.make_conditional(request)  # in place; it returns self typed as werkzeug's Response
    return response


@bp.route("/draws/<draw_id:draw_id>/live")
@public
def live(draw_id: str) -> str:
    """The full-screen stage display (an OBS browser source may frame it)."""
    g.allow_framing = True
    draw = published_draw(draw_id, result=False)
    state = live_state(draw)
    keep_for(PAGE_SECONDS)
    return render_template(
        "public/live.html",
        draw=draw,
        state=state,
        server_now=format_timestamp(clock.now()),
        verify_qr=qr_svg(state["verify_url"], gettext("QR code of the verify page: %(url)s", url=state["verify_url"])),
    )
