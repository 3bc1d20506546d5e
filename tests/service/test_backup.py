"""Backups that restore (issue 14, item 6): a backup made during a live draw restores into a fresh
database, the draw completes there, `flask audit verify` passes, and the log is consistent with
every checkpoint served before the backup. On SQLite (online backup API) and PostgreSQL
(pg_dump/pg_restore)."""

import base64
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from sqlalchemy import select, text

from lottery.checkpoint import open_checkpoint
from lottery.merkle import verify_consistency
from lottery.signing import parse_vkey
from service import create_app
from service.backup import MANIFEST, BackupError, restore_backup
from service.config import settings_of
from service.draw_lifecycle import announce, complete, enter_dice, record_beacon, reveal_secret
from service.extensions import db
from service.keystore import forget_unlocked_keys
from service.models import Draw, SigningKey, User
from service.sealing import new_data_key
from tests.builders import ANNOUNCED, BEACON, BEACON_AT, DICE, DICE_AT, SECRET_AT, prepare_draft


def _served_checkpoint(app: Flask) -> str:
    response = app.test_client().get("/log/checkpoint")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@contextmanager
def _fresh_database(app: Flask, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as `app`'s."""
    url = settings_of(app).database_url
    if url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = url.rsplit("/", 1)[1] + "_restore"
    admin = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_during_a_live_draw_restores_and_the_draw_completes_there(
    app: Flask, offices: dict[str, int], tmp_path: Path
) -> None:
    settings = settings_of(app)
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    served = [_served_checkpoint(app)]
    with app.app_context():
        operator = db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()
        announce(db.session, settings, pk, operator, now=ANNOUNCED)
        db.session.commit()
        served.append(_served_checkpoint(app))
        enter_dice(db.session, settings, pk, DICE, now=DICE_AT)
        db.session.commit()
        draw_id = db.session.get(Draw, pk).draw_id  # type: ignore[union-attr]
    served.append(_served_checkpoint(app))

    backup = tmp_path / "backup-1"
    created = app.test_cli_runner().invoke(args=["backup", "create", str(backup)])
    assert created.exit_code == 0, created.output
    assert "NOT in the backup" in created.output
    manifest = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["checkpoint"]["note"] == served[-1]
    assert {"draw_id": draw_id, "status": "announced"} in manifest["draws"]
    assert manifest["declarants"] == 244
    assert oct((backup / manifest["file"]).stat().st_mode & 0o777) == "0o600"
    assert oct(backup.stat().st_mode & 0o777) == "0o700"
    # nothing that opens it is inside: no key file, no key, no passphrase
    inside = b"".join(path.read_bytes() for path in backup.iterdir())
    assert settings.secret_key.encode() not in inside and settings.key_passphrase.encode() not in inside
    assert not [path for path in backup.iterdir() if path.suffix == ".key"]
    assert (settings.keys_dir / "dev-data.key").read_text().strip().encode() not in inside

    with app.app_context():  # the service carries on after the backup: nothing of this is restored
        db.session.execute(text("UPDATE office SET name = 'changed after the backup'"))
        db.session.commit()

    forget_unlocked_keys()  # the restored deployment unlocks the office key from keys/ again
    with _fresh_database(app, tmp_path) as fresh:
        restored = create_app(settings.with_overrides(database_url=fresh))
        try:
            result = restored.test_cli_runner().invoke(args=["backup", "restore", str(backup)])
            assert result.exit_code == 0, result.output
            assert "self-check passed" in result.output
            assert _served_checkpoint(restored) == served[-1]
            with restored.app_context():
                again = restored.test_cli_runner().invoke(args=["backup", "restore", str(backup)])
                assert again.exit_code != 0 and "not empty" in again.output
                assert db.session.get(Draw, pk).status == "announced"  # type: ignore[union-attr]
                reveal_secret(db.session, settings, pk, now=SECRET_AT)
                record_beacon(db.session, settings, pk, BEACON, now=BEACON_AT)
                db.session.commit()
                complete(db.session, settings, pk, now=BEACON_AT)
                db.session.commit()
                assert db.session.get(Draw, pk).status == "completed"  # type: ignore[union-attr]
                vkeys = [parse_vkey(key.vkey) for key in db.session.scalars(select(SigningKey))]
            audit = restored.test_cli_runner().invoke(args=["audit", "verify"])
            assert audit.exit_code == 0, audit.output
            latest_note = _served_checkpoint(restored)
            latest = open_checkpoint(latest_note, vkeys)
            client = restored.test_client()
            for note in served:
                earlier = open_checkpoint(note, vkeys)
                assert earlier.size < latest.size
                proof = client.get(f"/log/proof/consistency?first={earlier.size}&second={latest.size}").get_json()
                path = [base64.b64decode(node) for node in proof["path"]]
                verify_consistency(earlier.size, latest.size, path, earlier.root, latest.root)
        finally:
            with restored.app_context():
                db.session.remove()
                db.drop_all()
                db.engine.dispose()


def test_a_restore_refuses_a_damaged_backup_and_other_keys(app: Flask, offices: dict[str, int], tmp_path: Path) -> None:
    settings = settings_of(app)
    prepare_draft(app, offices["kinmen"], "kinmen-operator")
    backup = tmp_path / "backup"
    assert app.test_cli_runner().invoke(args=["backup", "create", str(backup)]).exit_code == 0
    refused = app.test_cli_runner().invoke(args=["backup", "create", str(backup)])
    assert refused.exit_code != 0 and "not an empty directory" in refused.output
    with _fresh_database(app, tmp_path) as fresh:
        other = settings.with_overrides(database_url=fresh, data_key=new_data_key())
        with pytest.raises(BackupError, match="data key"):
            restore_backup(other, backup)
        with pytest.raises(BackupError, match="SECRET_KEY"):
            restore_backup(settings.with_overrides(database_url=fresh, secret_key="another-" + "x" * 40), backup)
        manifest = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
        data = backup / manifest["file"]
        os.chmod(data, 0o600)
        damaged = bytearray(data.read_bytes())
        damaged[len(damaged) // 2] ^= 0xFF
        data.write_bytes(bytes(damaged))
        with pytest.raises(BackupError, match="damaged"):
            restore_backup(settings.with_overrides(database_url=fresh), backup)
