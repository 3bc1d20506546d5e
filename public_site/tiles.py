"""The log as C2SP `tlog-tiles` (docs/tiles.md): `/log/tile/<L>/<N>[.p/<W>]` and
`/log/tile/entries/<N>[.p/<W>]`, beside `/log/checkpoint`, so Go's `sumdb/tlog` and any other
tlog-tiles client can read and check it.

Only tiles of the latest signed checkpoint's tree exist (a partial tile narrower than the current
one is the same tile of an earlier checkpoint, so it is served too); anything else is a 404 that
says why. A full tile never changes and is cached for a year; a partial one for a minute. Each
answer reads only the entries it covers: a level-1 tile 65,536 leaf hashes, at most.
"""

import gzip
import hashlib

from flask import Response, abort, request

from lottery.tiles import ENTRIES, TileError, in_tree, parse_tile_path
from public_site import public_blueprint as bp
from public_site.cache import accepts_gzip
from public_site.documents import CACHE_IMMUTABLE
from service.access import public
from service.extensions import session
from service.transparency import LogIntegrityError, latest_checkpoint, tile_bytes

CACHE_PARTIAL = "public, max-age=60"


@bp.route("/log/tile/<path:tile_path>")
@public
def tile(tile_path: str) -> Response:
    """One hash tile or entry bundle of the current tree, `application/octet-stream`."""
    try:
        wanted = parse_tile_path(tile_path)
    except TileError as exc:
        abort(404, description=f"Not a tlog-tiles path: {exc}")
    latest = latest_checkpoint(session())
    size = latest.size if latest is not None else 0
    if not in_tree(wanted, size):
        abort(404, description=f"The log's tree of {size} entries has no tile/{tile_path}.")
    try:
        data = tile_bytes(session(), wanted)
    except (LogIntegrityError, TileError) as exc:
        abort(503, description=f"This tile cannot be served: {exc}")
    return _octets(data, full=wanted.full, compress=wanted.level == ENTRIES)


def _octets(data: bytes, *, full: bool, compress: bool) -> Response:
    """The tile with its caching headers; an entry bundle gzip-compressed for a client that asks."""
    etag = hashlib.sha256(data).hexdigest()
    if compress and accepts_gzip(request.headers.get("Accept-Encoding")):
        response = Response(gzip.compress(data, compresslevel=6, mtime=0), mimetype="application/octet-stream")
        response.headers["Content-Encoding"] = "gzip"
        response.set_etag(etag + "-gzip")
    else:
        response = Response(data, mimetype="application/octet-stream")
        response.set_etag(etag)
    if compress:
        response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = CACHE_IMMUTABLE if full else CACHE_PARTIAL
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.make_conditional(request)  # in place; it returns self typed as werkzeug's Response
    return response
