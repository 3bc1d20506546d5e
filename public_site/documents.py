"""The published files and the log (protocol §11): stable paths, right types, ETags and caching.

Immutable documents (population, announcement, result, their signatures, the bundle) are
served with a strong ETag and a year of caching, and each worker keeps them in memory once
asked (`public_site.cache`). Text documents travel gzip-compressed to a client that accepts it
(a million-entry `population.tsv` is ~20 MB, ~4 MB compressed): that answer is a different
representation, so it has its own ETag (the digest with `-gzip`), and both say
`Vary: Accept-Encoding`. The checkpoint changes, so it is cached for a few seconds only.
Every path is public and read-only.
"""

import base64
import gzip
import hashlib
import json
from typing import Any

from flask import Response, abort, current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import defer

from public_site import public_blueprint as bp
from public_site.cache import IMMUTABLE, accepts_gzip, keep_for
from service.access import public
from service.bundles import BundleUnavailable, bundle_zip, draw_events, events_json, events_size
from service.config import settings_of
from service.extensions import db, session
from service.inputs import MAX_ID, ascii_int
from service.keystore import active_key
from service.models import Draw, LogEntry
from service.transparency import consistency, inclusion, latest_checkpoint, log_size
from service.witnessing import fully_witnessed, witnessed_note

CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
#: How long a bundle still waiting for witness cosignatures may be cached.
SETTLING_SECONDS = 60
MAX_ENTRIES_PER_PAGE = 1000
#: Smaller documents are sent as they are: compressing them saves less than it costs.
GZIP_FROM_BYTES = 1024
_TEXT_TYPES = ("text/", "application/json")


def published_draw(draw_id: str, *, population: bool = False, result: bool = True) -> Draw:
    """An announced, completed or abandoned draw (drafts are not public), or 404.

    The frozen population (~20 MB for a million entries) is loaded only with `population`, the
    result (~15 MB) unless `result` is False; a column left out is read from the database only
    if something asks for it.
    """
    query = select(Draw).where(Draw.draw_id == draw_id, Draw.status != "draft")
    if not population:
        query = query.options(defer(Draw.population_tsv))
    if not result:
        query = query.options(defer(Draw.result))
    draw = db.session.scalar(query)
    if draw is None:
        abort(404)
    return draw


def immutable(data: bytes, mimetype: str, filename: str | None = None, final: bool = True) -> Response:
    """A cacheable response with a strong ETag (304 when the client has it), gzip when accepted.

    `final=False`: the same, but cached for `SETTLING_SECONDS` only (a bundle still waiting for
    witness cosignatures)."""
    etag = hashlib.sha256(data).hexdigest()
    compress = len(data) >= GZIP_FROM_BYTES and mimetype.startswith(_TEXT_TYPES)
    if compress and accepts_gzip(request.headers.get("Accept-Encoding")):
        response = Response(gzip.compress(data, compresslevel=6, mtime=0), mimetype=mimetype)
        response.headers["Content-Encoding"] = "gzip"
        response.set_etag(etag + "-gzip")
    else:
        response = Response(data, mimetype=mimetype)
        response.set_etag(etag)
    if compress:
        response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = CACHE_IMMUTABLE if final else f"public, max-age={SETTLING_SECONDS}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    keep_for(IMMUTABLE if final else SETTLING_SECONDS)
    response.make_conditional(request)  # in place; it returns self typed as werkzeug's Response
    return response


@bp.route("/draws/<draw_id:draw_id>/population.tsv")
@public
def population_tsv(draw_id: str) -> Response:
    """The frozen population file."""
    return immutable(published_draw(draw_id, population=True).population_tsv or b"", "text/tab-separated-values")


@bp.route("/draws/<draw_id:draw_id>/announcement.json")
@public
def announcement_json(draw_id: str) -> Response:
    """The announcement, in its canonical bytes."""
    return immutable(published_draw(draw_id).announcement or b"", "application/json")


@bp.route("/draws/<draw_id:draw_id>/announcement.json.sig")
@public
def announcement_sig(draw_id: str) -> Response:
    """The office's signature over the announcement."""
    return immutable((published_draw(draw_id).announcement_sig or "").encode("ascii"), "text/plain")


def _completed(draw_id: str) -> Draw:
    draw = published_draw(draw_id)
    if draw.result is None:
        abort(404, description="This draw has no result yet.")
    return draw


@bp.route("/draws/<draw_id:draw_id>/result.json")
@public
def result_json(draw_id: str) -> Response:
    """The result (404 until drawn)."""
    return immutable(_completed(draw_id).result or b"", "application/json")


@bp.route("/draws/<draw_id:draw_id>/result.json.sig")
@public
def result_sig(draw_id: str) -> Response:
    """The office's signature over the result."""
    return immutable((_completed(draw_id).result_sig or "").encode("ascii"), "text/plain")


@bp.route("/draws/<draw_id:draw_id>/bundle.zip")
@public
def bundle(draw_id: str) -> Response:
    """Everything needed to verify the draw offline.

    The bundle carries the witnesses' cosignatures of its checkpoint, and those arrive after the
    draw completed (seconds later, or much later when a witness was down). So the bundle is
    cached as immutable only once every configured witness has cosigned its checkpoint (with no
    witness configured it is final at once, as before witnessing); until then it is cached for
    `SETTLING_SECONDS`, so a cosignature that arrives later is never hidden by a cache. Its
    signed documents never change either way: only `checkpoint` gains lines and
    `witnessed.json` appears or grows.
    """
    draw = _completed(draw_id)
    try:
        data = bundle_zip(session(), draw)  # reads the population when it is first asked
    except BundleUnavailable:
        abort(404)
    size = (draw.completed_log_index or 0) + 1
    final = fully_witnessed(session(), settings_of(current_app), size)
    return immutable(data, "application/zip", filename=f"{draw.draw_id}-bundle.zip", final=final)


@bp.route("/draws/<draw_id:draw_id>/bindings.tsv")
@public
def bindings_tsv(draw_id: str) -> Response:
    """Which case number is whose, committed but not disclosed (protocol §2a); 404 for draws
    announced before bindings."""
    data = published_draw(draw_id).bindings_tsv
    if data is None:
        abort(404, description="This draw was announced without bindings.")
    return immutable(bytes(data), "text/tab-separated-values")


@bp.route("/draws/<draw_id:draw_id>/events.json")
@public
def events(draw_id: str) -> Response:
    """The draw's log events with their inclusion proofs (protocol §11). A completed draw's are
    proved against the checkpoint of its bundle and never change; others grow as the draw runs."""
    draw = published_draw(draw_id, result=False)
    size = events_size(session(), draw)
    if size is None:
        abort(404, description="The log is empty.")
    data = events_json(draw_events(session(), draw.draw_id, size))
    if draw.status == "completed":
        return immutable(data, "application/json")
    response = Response(data, mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=5"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/keys/office.vkey")
@public
def office_vkey() -> Response:
    """The office's current verifier key."""
    key = active_key(session())
    if key is None:
        abort(404, description="No office key has been generated yet.")
    response = Response(key.vkey + "\n", mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=60"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/log/checkpoint")
@public
def checkpoint() -> Response:
    """The latest signed checkpoint, with every witness cosignature collected for it."""
    latest = latest_checkpoint(session())
    if latest is None:
        abort(404, description="The log is empty.")
    response = Response(witnessed_note(session(), latest), mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=5"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _int_arg(name: str, default: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        if default is None:
            abort(400, description=f"The parameter {name} is required.")
        return default
    value = ascii_int(raw, 0, MAX_ID)  # ASCII digits only: `start=１` is not a number here
    if value is None:
        abort(400, description=f"The parameter {name} must be a whole number from 0 to {MAX_ID}.")
    return value


def _json(payload: Any) -> Response:
    response = jsonify(payload)
    response.headers["Cache-Control"] = "public, max-age=5"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/log/entries")
@public
def entries() -> Response:
    """Entries `start` (inclusive) to `end` (exclusive), at most 1000 at a time."""
    size = log_size(session())
    start = _int_arg("start", 0)
    end = min(_int_arg("end", size), size, start + MAX_ENTRIES_PER_PAGE)
    if start > end:
        abort(400, description="start must not be after end.")
    rows = db.session.scalars(
        select(LogEntry).where(LogEntry.index >= start, LogEntry.index < end).order_by(LogEntry.index)
    )
    return _json([{"index": row.index, "entry": row.entry} for row in rows])


@bp.route("/log/proof/inclusion")
@public
def inclusion_proof() -> Response:
    """The audit path of one entry in the tree of a given size."""
    index, size = _int_arg("index"), _int_arg("size")
    try:
        path = inclusion(session(), index, size)
    except ValueError as exc:
        abort(400, description=str(exc))
    return _json({"index": index, "size": size, "path": [base64.b64encode(p).decode() for p in path]})


@bp.route("/log/proof/consistency")
@public
def consistency_proof() -> Response:
    """The proof that one tree size is a prefix of a larger one."""
    first, second = _int_arg("first"), _int_arg("second")
    try:
        path = consistency(session(), first, second)
    except ValueError as exc:
        abort(400, description=str(exc))
    return _json({"first": first, "second": second, "path": [base64.b64encode(p).decode() for p in path]})


def entry_json(text: str) -> Any:
    """A stored entry as an object (for pages)."""
    return json.loads(text)
