"""Published answers kept in memory (public_site/cache.py), and documents sent gzip-compressed.

The cache is correct first: a kept document is the document; a change committed in this process
shows at once; a change made by another process shows once the kept answer expires; a signed-in
visitor is never answered from memory. (No timings are asserted.)
"""

import gzip
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text

from public_site import cache
from public_site.cache import accepts_gzip, response_cache
from service.extensions import db
from service.models import Draw

BASE = "/draws/kinmen-114-annual"


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _draw_row(app: Flask) -> Draw:
    with app.app_context():
        draw = db.session.query(Draw).filter_by(draw_id="kinmen-114-annual").one()
        db.session.expunge(draw)
        return draw


def test_a_published_document_is_answered_from_memory_the_second_time(
    app: Flask, client: FlaskClient, completed: dict[str, Any]
) -> None:
    first = client.get(f"{BASE}/result.json")
    with statements(app) as seen:
        again = client.get(f"{BASE}/result.json")
    assert again.status_code == 200 and again.data == first.data
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    assert seen == []  # neither the application nor the database was asked


def test_a_kept_etag_answers_304(client: FlaskClient, completed: dict[str, Any]) -> None:
    first = client.get(f"{BASE}/result.json")
    again = client.get(f"{BASE}/result.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    other = client.get(f"{BASE}/result.json", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data


def test_a_conditional_first_request_still_fills_the_cache(
    app: Flask, client: FlaskClient, completed: dict[str, Any]
) -> None:
    etag = client.get(f"{BASE}/live.json").headers["ETag"]
    cached = response_cache(app)
    assert cached is not None
    cached.forget_changing()
    answer = client.get(f"{BASE}/live.json", headers={"If-None-Match": etag})
    assert answer.status_code == 304
    with statements(app) as seen:
        assert client.get(f"{BASE}/live.json", headers={"If-None-Match": etag}).status_code == 304
    assert seen == []


def test_a_signed_in_visitor_always_reaches_the_application(
    app: Flask, client: FlaskClient, completed: dict[str, Any]
) -> None:
    client.get(f"{BASE}/live.json")
    client.set_cookie("session", "anything")
    with statements(app) as seen:
        answer = client.get(f"{BASE}/live.json")
    assert answer.status_code == 200
    assert seen  # the draw was read from the database


def test_a_change_committed_here_shows_at_once(app: Flask, client: FlaskClient, completed: dict[str, Any]) -> None:
    before = json.loads(client.get(f"{BASE}/live.json").data)
    with app.app_context():  # a second witness confirms, from their own account
        from service.config import settings_of
        from service.models import User
        from service.witnesses import confirm

        witness = db.session.query(User).filter_by(username="kinmen-witness2").one()
        confirm(
            db.session, settings_of(app), completed["draw_pk"], witness, now=datetime(2026, 1, 15, 2, 10, tzinfo=UTC)
        )
        db.session.commit()
    after = json.loads(client.get(f"{BASE}/live.json").data)
    assert after["confirmations"][:-1] == before["confirmations"]
    assert {k: after["confirmations"][-1][k] for k in ("name", "at")} == {
        "name": "主計室 王小華",
        "at": "2026-01-15T02:10:00Z",
    }


def test_a_change_made_by_another_process_shows_once_the_kept_answer_expires(
    app: Flask, client: FlaskClient, completed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client.get(f"{BASE}/live.json")
    # Another worker (here: another engine, which this process's cache cannot hear) confirms a witness.
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with other.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO draw_witness_confirmation (draw_pk, user_id, witness, log_index, confirmed_at) "
                "SELECT draw_pk, user_id, name, 999, :at FROM draw_witness WHERE name = '主計室 王小華'"
            ),
            {"at": datetime(2026, 1, 15, 2, 11, tzinfo=UTC)},
        )
    other.dispose()
    later = cache.time.monotonic() + cache.LIVE_SECONDS + 0.01
    monkeypatch.setattr(cache.time, "monotonic", lambda: later)
    state = json.loads(client.get(f"{BASE}/live.json").data)
    assert state["confirmations"][-1] == {"name": "主計室 王小華", "at": "2026-01-15T02:11:00Z", "log_index": 999}


def test_a_published_document_is_kept_and_a_changing_one_is_not_after_a_commit(
    app: Flask, client: FlaskClient, completed: dict[str, Any]
) -> None:
    client.get(f"{BASE}/result.json")
    client.get(f"{BASE}/live.json")
    client.get(BASE)
    cached = response_cache(app)
    assert cached is not None
    paths = {key[2] for key in cached.kept}
    assert {f"{BASE}/result.json", f"{BASE}/live.json", BASE} <= paths
    cached.forget_changing()
    assert {key[2] for key in cached.kept} == {f"{BASE}/result.json"}


def test_population_tsv_travels_gzip_compressed_when_the_client_accepts_it(
    client: FlaskClient, completed: dict[str, Any]
) -> None:
    plain = client.get(f"{BASE}/population.tsv")
    packed = client.get(f"{BASE}/population.tsv", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    # Two representations, two ETags; both say the answer depends on Accept-Encoding.
    digest = hashlib.sha256(plain.data).hexdigest()
    assert plain.headers["ETag"] == f'"{digest}"'
    assert packed.headers["ETag"] == f'"{digest}-gzip"'
    assert "Accept-Encoding" in plain.headers["Vary"] and "Accept-Encoding" in packed.headers["Vary"]
    again = client.get(
        f"{BASE}/population.tsv", headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
    )
    assert again.status_code == 304
    plain_again = client.get(f"{BASE}/population.tsv", headers={"If-None-Match": packed.headers["ETag"]})
    assert plain_again.status_code == 200 and plain_again.data == plain.data


def test_a_small_document_is_sent_as_it_is(client: FlaskClient, completed: dict[str, Any]) -> None:
    answer = client.get(f"{BASE}/result.json.sig", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in answer.headers


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (None, False),
        ("", False),
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1, gzip;q=0", False),
        ("*", True),
        ("*;q=0", False),
        ("gzip;q=0, *", False),
        ("identity", False),
        ("GZIP;q=0.5", True),
    ],
)
def test_accept_encoding(header: str | None, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted
