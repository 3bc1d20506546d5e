"""The log served as C2SP tlog-tiles, read back by the independent reader (tests/c2sp/tiles_client.py)
at several tree sizes, with partial tiles and level-1 tiles; refusals and caching of the routes."""

import gzip
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from lottery.merkle import leaf_hash, tree_hash
from lottery.tiles import Tile, hash_tile, tiles_for_size
from public_site.export import export_site
from service.config import settings_of
from service.extensions import db
from service.keystore import active_key, current_signer
from service.transparency import MAX_ENTRY_BYTES, append, event_time, leaf_hashes, log_size, record
from tests.c2sp import tiles_client


def grow_log(app: Flask, to_size: int) -> None:
    """Append small events until the log has `to_size` entries, and sign one checkpoint."""
    with app.app_context():
        missing = to_size - log_size(db.session)
        signer = current_signer(db.session, settings_of(app))
        record(db.session, [signer], [{"type": "test.filler", "time": event_time(), "n": i} for i in range(missing)])
        db.session.commit()


def vkey(app: Flask) -> str:
    """The office's verifier key."""
    with app.app_context():
        key = active_key(db.session)
        assert key is not None
        return str(key.vkey)


def fetcher(client: FlaskClient, seen: list[str] | None = None) -> tiles_client.Fetch:
    """The reader's GET, through the test client (any answer but 200 is a refusal)."""

    def fetch(path: str) -> bytes:
        response = client.get(f"/log/{path}")
        if seen is not None:
            seen.append(path)
        if response.status_code != 200:
            raise tiles_client.LogRefused(f"/log/{path} answered {response.status_code}")
        return response.get_data()

    return fetch


def test_the_independent_reader_rebuilds_the_root_at_every_size(
    app: Flask, client: FlaskClient, completed: dict[str, Any]
) -> None:
    key = vkey(app)
    with app.app_context():
        first = log_size(db.session)
    assert 0 < first < 256
    for size in (first, 256, 257, 300, 512, 700):
        if size > first:
            grow_log(app, size)
        seen: list[str] = []
        report = tiles_client.check_log(fetcher(client, seen), key)
        assert report.checkpoint.size == size
        with app.app_context():
            assert report.checkpoint.root == tree_hash(leaf_hashes(db.session))
        assert report.bundles == (size + 255) // 256
        if size == 300:  # one full and one partial level-0 tile, a partial level-1 tile
            assert {"tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1", "tile/entries/001.p/44"} <= set(seen)
        if size == 700:
            assert {"tile/0/001", "tile/0/002.p/188", "tile/1/000.p/2"} <= set(seen)


def test_the_reader_refuses_a_changed_tile_or_a_foreign_key(
    app: Flask, client: FlaskClient, completed: dict[str, Any]
) -> None:
    grow_log(app, 300)
    key = vkey(app)
    honest = fetcher(client)

    def tampered(path: str) -> bytes:
        data = honest(path)
        return data[:-1] + bytes([data[-1] ^ 1]) if path == "tile/1/000.p/1" else data

    with pytest.raises(tiles_client.LogRefused, match="root rebuilt from the tiles"):
        tiles_client.check_log(tampered, key)
    name, _, public = key.split("+", 2)
    with pytest.raises(tiles_client.LogRefused, match="key's id"):
        tiles_client.check_log(honest, f"{name}+00000000+{public}")


def test_tiles_are_octets_with_their_caching(app: Flask, client: FlaskClient, completed: dict[str, Any]) -> None:
    grow_log(app, 300)
    with app.app_context():
        leaves = leaf_hashes(db.session)
    full = client.get("/log/tile/0/000")
    assert full.status_code == 200 and full.mimetype == "application/octet-stream"
    assert full.get_data() == b"".join(leaves[:256])
    assert full.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert full.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/log/tile/0/000", headers={"If-None-Match": full.headers["ETag"]}).status_code == 304
    partial = client.get("/log/tile/1/000.p/1")
    assert partial.get_data() == hash_tile(Tile(1, 0, 1), leaves[:256]) == tree_hash(leaves[:256])
    assert partial.headers["Cache-Control"] == "public, max-age=60"
    # a narrower partial tile is the same tile of an earlier tree
    assert client.get("/log/tile/0/001.p/10").get_data() == b"".join(leaves[256:266])
    bundle = client.get("/log/tile/entries/001.p/44", headers={"Accept-Encoding": "gzip"})
    assert bundle.headers["Content-Encoding"] == "gzip"
    entries = tiles_client.split_bundle(gzip.decompress(bundle.get_data()))
    assert [leaf_hash(e) for e in entries] == leaves[256:300]


OUTSIDE_OR_MALFORMED = [
    ("tile/0/001", "has no tile"),  # only 44 wide so far
    ("tile/0/001.p/45", "has no tile"),
    ("tile/1/000", "has no tile"),
    ("tile/2/000.p/1", "has no tile"),
    ("tile/0/002.p/1", "has no tile"),
    ("tile/entries/x001/000", "has no tile"),
    ("tile/0/1", "Not a tlog-tiles path"),
    ("tile/0/000.p/0", "Not a tlog-tiles path"),
    ("tile/0/000.p/256", "Not a tlog-tiles path"),
    ("tile/64/000", "Not a tlog-tiles path"),
    ("tile/0/x000/001", "Not a tlog-tiles path"),
    ("tile/0/000.p/99999999999999999999", "Not a tlog-tiles path"),
    ("tile/entries/" + "x999/" * 40 + "999", "Not a tlog-tiles path"),
    ("tile/%EF%BC%91/000", "Not a tlog-tiles path"),
]


def test_tiles_outside_the_tree_or_malformed_are_404s_that_say_why(
    app: Flask, client: FlaskClient, completed: dict[str, Any]
) -> None:
    grow_log(app, 300)
    for path, reason in OUTSIDE_OR_MALFORMED:
        response = client.get(f"/log/{path}")
        assert response.status_code == 404, path
        assert reason in response.get_data(as_text=True), path


def test_an_empty_log_has_no_tiles(client: FlaskClient) -> None:
    response = client.get("/log/tile/0/000.p/1")
    assert response.status_code == 404
    assert "0 entries" in response.get_data(as_text=True)


def test_an_entry_over_65535_bytes_is_refused_and_nothing_is_written(app: Flask, completed: dict[str, Any]) -> None:
    assert MAX_ENTRY_BYTES == 65_535
    with app.app_context():
        before = log_size(db.session)
        overhead = len(b'{"pad":"","type":"test.big"}')
        append(db.session, {"type": "test.big", "pad": "x" * (65_535 - overhead)})  # exactly 65,535 fits
        db.session.rollback()
        with pytest.raises(ValueError, match="65,535 bytes, not 65,536"):
            append(db.session, {"type": "test.big", "pad": "x" * (65_536 - overhead)})
        db.session.rollback()
        assert log_size(db.session) == before


def test_the_static_export_holds_every_tile_and_reads_back(
    app: Flask, client: FlaskClient, completed: dict[str, Any], tmp_path: Path
) -> None:
    grow_log(app, 300)
    written = export_site(app, tmp_path, "https://ethics.example.gov.tw/draws-site")
    tiles = [f"log/{tile.path()}" for tile in tiles_for_size(300)]
    assert {"log/tile/0/000", "log/tile/0/001.p/44", "log/tile/1/000.p/1", "log/tile/entries/001.p/44"} <= set(tiles)
    assert set(tiles) <= set(written)
    for name in tiles:
        assert (tmp_path / name).read_bytes() == client.get(f"/{name}").get_data()

    def from_files(path: str) -> bytes:
        return (tmp_path / "log" / path).read_bytes()

    report = tiles_client.check_log(from_files, vkey(app))
    assert report.checkpoint.size == 300 and report.bundles == 2
