"""Personal data sealed at rest (issue 14, item 3): national IDs sealed under a data key kept
apart from the database, found by a keyed hash; files only the service can read; uploads that
are not imported purged; production refuses development keys. Tested as the insider would: SQL
on the database (and the bytes of the SQLite file), the clock moved, never slept."""

import os
import re
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import downgrade, stamp, upgrade
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from service import create_app
from service.clock import fix_clock
from service.config import ConfigError, load_settings, settings_of
from service.declarations import discard_upload, find_declarant, purge_stale_uploads, start_upload
from service.demo import demo_csv
from service.extensions import db
from service.integrity import self_check
from service.keystore import rotate_data_key
from service.models import Declarant, DeclarationUpload, Office, UploadedFile, User
from service.sealing import (
    PersonalData,
    PersonalDataLost,
    national_id_of,
    new_data_key,
    parse_data_key,
    personal_data,
)
from service.startup import refuse_unsafe_production
from tests.builders import ANNOUNCED, prepare_draft
from tests.service.test_migrations import _reset

_ID = re.compile(r"[A-Z][12]\d{8}")
#: Every national ID of the demo year, as the uploaded file has them.
DEMO_IDS = sorted(set(_ID.findall(demo_csv().decode("utf-8"))))


def _announced(app: Flask, offices: dict[str, int]) -> int:
    """The demo year imported and a draw of it announced (the year is frozen)."""
    from service.draw_lifecycle import announce

    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    with app.app_context():
        operator = db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()
        announce(db.session, settings_of(app), pk, operator, now=ANNOUNCED)
        db.session.commit()
    return pk


def _sqlite_file(app: Flask) -> Path | None:
    url = settings_of(app).database_url
    return Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None


def test_no_national_id_in_the_database_as_the_insider_reads_it(app: Flask, offices: dict[str, int]) -> None:
    assert len(DEMO_IDS) > 200
    _announced(app, offices)
    with app.app_context():
        db.session.remove()
        with db.engine.connect() as connection:
            with pytest.raises(Exception, match="national_id"):
                connection.execute(text("SELECT national_id FROM declarant")).all()
            connection.rollback()
            rows = connection.execute(text("SELECT * FROM declarant")).all()
            dumped = "\n".join("\t".join(str(value) for value in row) for row in rows)
            uploads = connection.execute(text("SELECT * FROM declaration_upload")).all()
            dumped += "\n".join(str(tuple(row)) for row in uploads)
            if connection.dialect.name == "sqlite":  # what is deleted is overwritten, not left in free pages
                assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        db.engine.dispose()
    assert len(rows) == len(DEMO_IDS)
    assert not [found for found in DEMO_IDS if found in dumped]
    assert not _ID.search(dumped)
    database = _sqlite_file(app)
    if database is not None:  # every byte of the file and its WAL, as a copy of the disk shows them
        raw = b"".join(
            Path(f"{database}{suffix}").read_bytes() for suffix in ("", "-wal") if Path(f"{database}{suffix}").exists()
        )
        assert not [found for found in DEMO_IDS if found.encode() in raw]
        insider = sqlite3.connect(database)
        try:
            with pytest.raises(sqlite3.OperationalError, match="no such column: national_id"):
                insider.execute("SELECT national_id FROM declarant")
            sealed = insider.execute("SELECT national_id_sealed, national_id_hmac FROM declarant").fetchall()
        finally:
            insider.close()
        assert all(not _ID.search(s) and re.fullmatch("[0-9a-f]{64}", h) for s, h in sealed)


def test_the_accessor_opens_what_the_import_sealed_and_only_with_its_key(app: Flask, offices: dict[str, int]) -> None:
    _announced(app, offices)
    with app.app_context():
        people = db.session.scalars(select(Declarant)).all()
        assert sorted(national_id_of(d) for d in people) == DEMO_IDS
        person = people[0]
        assert person.national_id == national_id_of(person)  # the model's property is the accessor
        sealed = person.national_id_sealed
        assert len({d.national_id_sealed for d in people}) == len(people)  # a fresh nonce each
        other = PersonalData(parse_data_key(new_data_key()))
        with pytest.raises(PersonalDataLost):
            other.open(sealed, office_id=person.office_id, roc_year=person.roc_year)
        with pytest.raises(PersonalDataLost):  # bound to its office and year: it cannot be moved
            personal_data().open(sealed, office_id=person.office_id, roc_year=person.roc_year - 1)


def test_duplicates_are_refused_and_found_by_the_keyed_hash(app: Flask, offices: dict[str, int]) -> None:
    _announced(app, offices)
    with app.app_context():
        person = db.session.scalars(select(Declarant).order_by(Declarant.case_number)).first()
        assert person is not None
        national_id, sealer = national_id_of(person), personal_data()
        assert find_declarant(db.session, person.office_id, 114, national_id) is person
        assert find_declarant(db.session, person.office_id, 113, national_id) is None
        assert person.national_id_hmac == sealer.lookup(national_id) != sealer.lookup("A123456789")
        twin = Declarant(
            office_id=person.office_id, roc_year=115, case_number="115-0001", name="雙胞胎",
            national_id_sealed=sealer.seal(national_id, office_id=person.office_id, roc_year=115),
            national_id_hmac=sealer.lookup(national_id), agency="a", title="t", declaration_type="regular",
            type_label="定期申報", stratum="regular", declared_on=person.declared_on, filings=[],
            upload_id=person.upload_id,
        )  # fmt: skip
        db.session.add(twin)
        db.session.flush()  # another year: allowed
        again = Declarant(
            office_id=person.office_id, roc_year=115, case_number="115-0002", name="雙胞胎",
            national_id_sealed=sealer.seal(national_id, office_id=person.office_id, roc_year=115),
            national_id_hmac=sealer.lookup(national_id), agency="a", title="t", declaration_type="regular",
            type_label="定期申報", stratum="regular", declared_on=person.declared_on, filings=[],
            upload_id=person.upload_id,
        )  # fmt: skip
        db.session.add(again)
        with pytest.raises(IntegrityError):  # the same ID twice in one office's year, differently sealed
            db.session.flush()
        db.session.rollback()


def test_migration_seals_on_upgrade_and_unseals_on_downgrade(app: Flask, offices: dict[str, int]) -> None:
    """a6b7c8d9e0f1 on a frozen year (an announced draw): down gives back the plain IDs, up seals
    them again, and the bindings committed at the announcement still verify."""
    _announced(app, offices)
    with app.app_context():
        before = {d.case_number: national_id_of(d) for d in db.session.scalars(select(Declarant))}
        db.session.remove()
        stamp(revision="head")  # the tests build the schema with create_all, as the migrations do
        downgrade(revision="a6b7c8d9e0f1-1")  # to just before the sealing revision
        with db.engine.connect() as connection:
            plain = dict(connection.execute(text("SELECT case_number, national_id FROM declarant")).tuples().all())
            columns = connection.execute(text("SELECT * FROM declarant")).keys()
        assert plain == before and "national_id_sealed" not in columns
        upgrade()
        with db.engine.connect() as connection:
            with pytest.raises(Exception, match="national_id"):
                connection.execute(text("SELECT national_id FROM declarant")).all()
            connection.rollback()
            stored = connection.execute(text("SELECT national_id_sealed, national_id_hmac FROM declarant")).all()
        assert stored and all(not _ID.search(s) and len(h) == 64 for s, h in stored)
        after = {d.case_number: national_id_of(d) for d in db.session.scalars(select(Declarant))}
        assert after == before
        assert self_check(db.session) == []
        db.session.remove()
        _reset(app)


def test_rotating_the_data_key_reseals_everything_and_bindings_still_hold(app: Flask, offices: dict[str, int]) -> None:
    _announced(app, offices)
    new_key = new_data_key()
    with app.app_context():
        before = {d.case_number: national_id_of(d) for d in db.session.scalars(select(Declarant))}
        old_sealed = set(db.session.scalars(select(Declarant.national_id_sealed)))
        count = rotate_data_key(db.session, settings_of(app), parse_data_key(new_key))
        db.session.commit()
        assert count == len(before)
    app.extensions["sunshine_settings"] = settings_of(app).with_overrides(data_key=new_key)
    with app.app_context():
        assert {d.case_number: national_id_of(d) for d in db.session.scalars(select(Declarant))} == before
        assert not old_sealed & set(db.session.scalars(select(Declarant.national_id_sealed)))
        assert self_check(db.session) == []
        # the year is still frozen: the triggers lifted for the rotation are back
        with pytest.raises(Exception, match="frozen"):
            db.session.execute(text("UPDATE declarant SET name = 'x'"))
            db.session.flush()
        db.session.rollback()


def test_database_files_and_the_instance_directory_are_the_service_users_alone(tmp_path: Path) -> None:
    database = tmp_path / "data" / "sunshine.db"
    database.parent.mkdir()
    database.touch(mode=0o644)
    os.chmod(database, 0o644)  # made by an older version, readable by all
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    settings = load_settings({"SUNSHINE_ENV": "test", "SECRET_KEY": "s" * 40}).with_overrides(
        database_url=f"sqlite:///{database}", instance_dir=instance, keys_dir=tmp_path / "keys"
    )
    application = create_app(settings)
    with application.app_context():
        db.create_all()
        with db.engine.begin() as connection:  # a write: SQLite makes -wal and -shm now
            connection.execute(text("INSERT INTO office (slug, name, name_en, strata_map, name_disclosure, created_at) "
                                    "VALUES ('x', 'x', 'x', '{}', 'none', '2026-12-01 00:00:00')"))  # fmt: skip
            modes = {
                path.name: stat.S_IMODE(path.stat().st_mode)
                for path in database.parent.iterdir()
                if path.name.startswith("sunshine.db")
            }
        db.engine.dispose()
    assert {"sunshine.db", "sunshine.db-wal", "sunshine.db-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    personal_data(settings)  # the development data key is made on first use, in keys/, 0600
    assert stat.S_IMODE((tmp_path / "keys" / "dev-data.key").stat().st_mode) == 0o600
    fresh = tmp_path / "fresh.db"
    create_app(settings.with_overrides(database_url=f"sqlite:///{fresh}"))
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def _upload(app: Flask, office_id: int, data: bytes) -> int:
    with app.app_context():
        app.config["SUNSHINE_INLINE_JOBS"] = True
        office = db.session.get(Office, office_id)
        operator = db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()
        assert office is not None
        upload = start_upload(db.session, office=office, user=operator, roc_year=114, filename="y.csv", data=data)
        db.session.commit()
        return int(upload.id)


def test_checked_uploads_not_imported_are_purged_after_the_retention_time(app: Flask, offices: dict[str, int]) -> None:
    first = _upload(app, offices["kinmen"], demo_csv())
    with app.app_context():
        upload = db.session.get(DeclarationUpload, first)
        assert upload is not None and upload.status == "ready"
        stored = db.session.get(UploadedFile, first)
        assert stored is not None and stored.checked is not None
        assert not [found for found in DEMO_IDS[:20] if found.encode() in bytes(stored.checked)]  # sealed
        uploaded = upload.uploaded_at
    fix_clock(app, uploaded + timedelta(days=6, hours=23))
    with app.app_context():
        assert purge_stale_uploads(db.session) == 0
        db.session.commit()
        assert db.session.get(UploadedFile, first) is not None
    fix_clock(app, uploaded + timedelta(days=7, minutes=1))
    result = app.test_cli_runner().invoke(args=["uploads", "purge"])
    assert result.exit_code == 0 and "purged 1 upload" in result.output
    with app.app_context():
        assert db.session.get(UploadedFile, first) is None
        assert db.session.get(DeclarationUpload, first).status == "discarded"  # type: ignore[union-attr]
    # a new upload purges the stale ones too (here: one checked "now", then the clock moves on)
    fix_clock(app, None)
    second = _upload(app, offices["kinmen"], demo_csv())
    with app.app_context():
        moved = (db.session.get(DeclarationUpload, second).uploaded_at) + timedelta(days=8)  # type: ignore[union-attr]
    fix_clock(app, moved)
    third = _upload(app, offices["kinmen"], demo_csv())
    with app.app_context():
        assert db.session.get(UploadedFile, second) is None
        assert db.session.get(UploadedFile, third) is not None
        # and discarding deletes the bytes at once
        upload = db.session.get(DeclarationUpload, third)
        assert upload is not None
        discard_upload(upload)
        db.session.commit()
        assert db.session.get(UploadedFile, third) is None
    fix_clock(app, None)


def test_the_retention_time_is_configurable() -> None:
    base = {"SUNSHINE_ENV": "test", "SECRET_KEY": "s" * 40}
    assert load_settings(base).upload_retention_days == 7
    assert load_settings({**base, "SUNSHINE_UPLOAD_RETENTION_DAYS": "2"}).upload_retention_days == 2
    with pytest.raises(ConfigError, match="RETENTION"):
        load_settings({**base, "SUNSHINE_UPLOAD_RETENTION_DAYS": "0"})


def test_production_refuses_development_keys(tmp_path: Path) -> None:
    keys, instance = tmp_path / "keys", tmp_path / "instance"
    instance.mkdir()
    (instance / "dev-secret-key").write_text("d" * 64, encoding="ascii")
    good_key = new_data_key()
    env = {
        "SUNSHINE_ENV": "production",
        "SECRET_KEY": "p" * 48,
        "SUNSHINE_INSTANCE_DIR": str(instance),
        "SUNSHINE_KEYS_DIR": str(keys),
        "DATABASE_URL": f"sqlite:///{instance / 'sunshine.db'}",
        "SUNSHINE_LOG_ORIGIN": "ethics.example.gov.tw/log",
    }
    with pytest.raises(ConfigError, match="SUNSHINE_DATA_KEY"):
        create_app(load_settings(env))  # no data key: the development one would be made
    assert not (keys / "dev-data.key").exists()
    refuse_unsafe_production(load_settings({**env, "SUNSHINE_DATA_KEY": good_key}))
    with pytest.raises(ConfigError, match="development default"):
        refuse_unsafe_production(load_settings({**env, "SUNSHINE_DATA_KEY": good_key, "SECRET_KEY": "d" * 64}))
    # the development data key, by file or by value
    development = load_settings({"SUNSHINE_ENV": "test", "SECRET_KEY": "s" * 40}).with_overrides(keys_dir=keys)
    dev_key = personal_data(development)
    dev_file = keys / "dev-data.key"
    assert dev_file.exists() and dev_key.fingerprint
    with pytest.raises(ConfigError, match="development key"):
        refuse_unsafe_production(load_settings({**env, "SUNSHINE_DATA_KEY_FILE": str(dev_file)}))
    with pytest.raises(ConfigError, match="development key"):
        refuse_unsafe_production(load_settings({**env, "SUNSHINE_DATA_KEY": dev_file.read_text().strip()}))
    with pytest.raises(ConfigError, match="not random"):
        refuse_unsafe_production(load_settings({**env, "SUNSHINE_DATA_KEY": "00" * 32}))
    beside = instance / "data.key"
    beside.write_text(new_data_key(), encoding="ascii")
    with pytest.raises(ConfigError, match="database's directory"):
        refuse_unsafe_production(load_settings({**env, "SUNSHINE_DATA_KEY_FILE": str(beside)}))
    apart = tmp_path / "secrets" / "data.key"
    apart.parent.mkdir()
    apart.write_text(new_data_key(), encoding="ascii")
    refuse_unsafe_production(load_settings({**env, "SUNSHINE_DATA_KEY_FILE": str(apart)}))


def test_production_refuses_a_localhost_log_origin(tmp_path: Path) -> None:
    env = {
        "SUNSHINE_ENV": "production",
        "SECRET_KEY": "p" * 48,
        "SUNSHINE_INSTANCE_DIR": str(tmp_path / "instance"),
        "SUNSHINE_KEYS_DIR": str(tmp_path / "keys"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'sunshine.db'}",
        "SUNSHINE_DATA_KEY": new_data_key(),
    }
    for origin in (None, "sunshine-draw.localhost/log", "LOCALHOST:8000/log", "a.b.localhost./log", "localhost"):
        chosen = env if origin is None else {**env, "SUNSHINE_LOG_ORIGIN": origin}
        with pytest.raises(ConfigError, match="SUNSHINE_LOG_ORIGIN"):
            create_app(load_settings(chosen))
    for origin in ("ethics.example.gov.tw/log", "localhost.example.gov.tw/log", "ethics.gov.tw/localhost"):
        refuse_unsafe_production(load_settings({**env, "SUNSHINE_LOG_ORIGIN": origin}))
    # development and tests keep the default
    refuse_unsafe_production(load_settings({**env, "SUNSHINE_ENV": "development"}))
