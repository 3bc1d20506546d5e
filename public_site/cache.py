"""Published draw responses kept in each worker's memory and answered before Flask.

A QR code on a livestream sends a crowd to the same few addresses at once: the draw page, its
documents and the stage display's `live.json`. What they get is the same for every anonymous
visitor, so each worker keeps the last answer (status, headers, body) and serves it again
without running the application: no session, no database, no template.

- Only `GET` and `HEAD` under `/draws/` from a visitor without a session cookie are answered
  from memory; a signed-in operator always reaches the application (and gets `no-store`).
- The application decides what may be kept, by setting `request.environ[CACHE_FOR]` in the
  view: `IMMUTABLE` for a published document (protocol §11: population, announcement, result and
  their signatures never change once published, and the database refuses to change them), or
  a number of seconds for what changes (the stage display's state, the pages). Only a `200`
  without `Set-Cookie` is kept.
- A kept answer is keyed by everything it depends on: scheme, host, path, query, the language
  cookie, and whether the client accepts gzip.
- Freshness across processes: a changing answer lives for its few seconds only (the stage
  display's state for `LIVE_SECONDS`, so that it follows the console within a second). In the
  process that makes a change, every changing answer is dropped as soon as the change commits
  (see `forget_on_commit`), so the console's own worker never shows an older state.
- Conditional requests are answered here from the kept ETag (`304 Not Modified`); on a miss the
  application is asked for the full answer, so there is always one to keep.
"""

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context, request
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from werkzeug.http import parse_cookie, parse_etags, unquote_etag

#: The environ key through which a view says how long its answer may be kept.
CACHE_FOR = "sunshine.cache_for"
#: Kept until the process ends: a published document.
IMMUTABLE = float("inf")
#: How long the stage display's state is kept: it polls twice a second, so a change made in
#: another process shows within this plus one poll.
LIVE_SECONDS = 0.25
#: How long a public page of a draw is kept.
PAGE_SECONDS = 2.0
#: Memory one worker may spend on kept answers (a million-entry population.tsv is ~20 MB).
MAX_BYTES = 96 * 1024 * 1024
PREFIX = "/draws/"
_CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_RANGE")
_EXTENSION = "public_response_cache"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class KeptResponse:
    """One answer as the application gave it."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str | None
    #: `time.monotonic()` after which it is asked again; infinity for a published document.
    expires: float


def accepts_gzip(header: str | None) -> bool:
    """True when an `Accept-Encoding` header accepts gzip: named (or `*`) with a quality above 0.

    An explicit `gzip;q=0` refuses it whatever `*` says (RFC 9110 §12.5.3).
    """
    named: float | None = None
    wildcard: float | None = None
    for part in (header or "").split(","):
        coding, _, parameters = part.partition(";")
        coding = coding.strip().lower()
        if coding not in ("gzip", "x-gzip", "*"):
            continue
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding == "*":
            wildcard = quality
        else:
            named = quality
    chosen = named if named is not None else wildcard
    return chosen is not None and chosen > 0


def keep_for(seconds: float) -> None:
    """Let this request's answer be kept for `seconds` (`IMMUTABLE`: as long as the process lives)."""
    request.environ[CACHE_FOR] = seconds


class ResponseCache:
    """WSGI middleware: answers kept responses from memory, keeps what the application allows."""

    def __init__(self, app: WSGIApp, session_cookie: str, max_bytes: int = MAX_BYTES) -> None:
        self.app = app
        self.session_cookie = session_cookie
        self.max_bytes = max_bytes
        self.kept: dict[tuple[str, ...], KeptResponse] = {}
        self.size = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        if method not in ("GET", "HEAD") or not path.startswith(PREFIX) or "HTTP_RANGE" in environ:
            return self.app(environ, start_response)
        cookies = parse_cookie(environ["HTTP_COOKIE"]) if "HTTP_COOKIE" in environ else {}
        if self.session_cookie in cookies:
            return self.app(environ, start_response)
        key = (
            environ.get("wsgi.url_scheme", ""),
            environ.get("HTTP_HOST", ""),
            path,
            environ.get("QUERY_STRING", ""),
            cookies.get("lang", ""),
            "gzip" if accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING")) else "",
        )
        kept = self.kept.get(key)
        if kept is not None and kept.expires > time.monotonic():
            return self._answer(kept, environ, start_response)
        if method == "HEAD":
            return self.app(environ, start_response)
        # Ask for the full answer (a conditional request would get an empty 304 to keep).
        asked = {name: value for name, value in environ.items() if name not in _CONDITIONAL}
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            captured[:] = [status, headers]
            return lambda data: None  # a body written this way is not used by Flask

        chunks = self.app(asked, capture)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status, headers = captured
        answer = KeptResponse(status, list(headers), body, _header(headers, "etag"), time.monotonic())
        seconds = asked.get(CACHE_FOR)
        if (
            isinstance(seconds, float | int)
            and status.startswith("200")
            and _header(headers, "set-cookie") is None
            and len(body) <= self.max_bytes // 4
        ):
            answer = KeptResponse(status, answer.headers, body, answer.etag, answer.expires + seconds)
            self._keep(key, answer)
        return self._answer(answer, environ, start_response)

    def _answer(self, kept: KeptResponse, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (
            kept.etag is not None
            and "HTTP_IF_NONE_MATCH" in environ
            and kept.status.startswith("200")
            and parse_etags(environ["HTTP_IF_NONE_MATCH"]).contains_weak(unquote_etag(kept.etag)[0] or "")
        ):
            headers = [(name, value) for name, value in kept.headers if name.lower() != "content-length"]
            start_response("304 NOT MODIFIED", headers)
            return []
        start_response(kept.status, list(kept.headers))
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [kept.body]

    def _keep(self, key: tuple[str, ...], answer: KeptResponse) -> None:
        with self.lock:
            old = self.kept.pop(key, None)
            if old is not None:
                self.size -= len(old.body)
            while self.kept and self.size + len(answer.body) > self.max_bytes:
                oldest = next(iter(self.kept))
                self.size -= len(self.kept.pop(oldest).body)
            self.kept[key] = answer
            self.size += len(answer.body)

    def forget_changing(self) -> None:
        """Drop every kept answer that may change (published documents stay)."""
        with self.lock:
            for key in [key for key, kept in self.kept.items() if kept.expires != IMMUTABLE]:
                self.size -= len(self.kept.pop(key).body)


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for header, value in headers:
        if header.lower() == name:
            return value
    return None


def install(app: Flask) -> None:
    """Put the cache in front of `app` and drop changing answers whenever a change commits."""
    cache = ResponseCache(app.wsgi_app, app.config.get("SESSION_COOKIE_NAME") or "session")
    app.wsgi_app = cache  # type: ignore[method-assign]  # Flask's documented way to wrap the app in WSGI middleware
    app.extensions[_EXTENSION] = cache
    forget_on_commit()


def response_cache(app: Flask) -> ResponseCache | None:
    """The cache in front of `app`, if it has one."""
    cache = app.extensions.get(_EXTENSION)
    return cache if isinstance(cache, ResponseCache) else None


_listening = False
_CHANGED = "public_site.changed"


def forget_on_commit() -> None:
    """Once per process: a commit that wrote anything drops the app's changing answers."""
    global _listening
    if _listening:
        return
    event.listen(Session, "after_flush", _flushed)
    event.listen(Session, "do_orm_execute", _executed)
    event.listen(Session, "after_commit", _committed)
    event.listen(Session, "after_rollback", _rolled_back)
    _listening = True


def _flushed(session: Session, _context: UOWTransaction) -> None:
    if session.new or session.dirty or session.deleted:
        session.info[_CHANGED] = True


def _executed(state: ORMExecuteState) -> None:
    if not state.is_select:
        state.session.info[_CHANGED] = True


def _committed(session: Session) -> None:
    if session.info.pop(_CHANGED, False) and has_app_context():
        cache = response_cache(current_app)
        if cache is not None:
            cache.forget_changing()


def _rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)
