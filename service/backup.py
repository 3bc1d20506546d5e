"""Backups that restore: `flask backup create PATH` and `flask backup restore PATH`.

A backup is a directory (mode 0700) holding the database and `manifest.json`:

- SQLite: `database.sqlite3`, a consistent copy made with SQLite's online backup API
  (`sqlite3.Connection.backup`) while the service keeps running;
- PostgreSQL: `database.pgdump`, `pg_dump -Fc` of one snapshot, exported from the transaction
  the manifest is read in, so manifest and dump describe the same moment.

The manifest names what the copy holds (schema revision, log size and the latest signed
checkpoint, draws and their status, the office's public keys), the file's SHA-256, and the
*fingerprints* of the keys needed to open it. The keys themselves are never in a backup: the data
key (national IDs), SECRET_KEY (TOTP secrets, draw secrets, salts) and the office's private keys
under `keys/` with their passphrase are kept apart (docs/deployment.md), so a stolen backup
opens nothing.

Restoring refuses a damaged copy, a deployment whose keys are not the ones the backup was made
with, and a database that is not empty; afterwards it runs the self-check (`flask audit verify`)
and confirms the restored log still holds the checkpoint the manifest recorded.
"""

import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.engine import Connection

from service.config import Settings
from service.models import utcnow
from service.sealing import personal_data
from service.startup import _sqlite_path

FORMAT = "sunshine-draw backup v1"
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.pgdump"
#: What a backup never holds, and where the manifest says to find it.
KEPT_APART = {
    "data_key": "SUNSHINE_DATA_KEY / SUNSHINE_DATA_KEY_FILE: opens the national IDs",
    "secret_key": "SECRET_KEY: opens the TOTP secrets, the sealed draw secrets and the binding salts",
    "office_keys": "keys/office-<key id>.key and SUNSHINE_KEY_PASSPHRASE: sign new documents",
}


class BackupError(RuntimeError):
    """A backup cannot be made or restored as asked (the message says why)."""


def fingerprint_secret_key(secret_key: str) -> str:
    """Names SECRET_KEY without revealing it."""
    return hmac.digest(secret_key.encode("utf-8"), b"sunshine-draw secret key fingerprint", "sha256").hex()[:16]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _libpq(url: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection arguments for a SQLAlchemy URL; the password goes in the
    environment (PGPASSWORD), never on a command line others can read in `ps`."""
    parsed = make_url(url)
    env = dict(os.environ)
    args = ["--dbname", str(parsed.database or "")]
    if parsed.host:
        args += ["--host", parsed.host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (PostgreSQL client tools: apt install postgresql-client)")
    return found


def _contents(connection: Connection) -> dict[str, Any]:
    """What the manifest records of a database, read in one transaction."""

    def scalar(query: str) -> Any:
        return connection.execute(text(query)).scalar()

    latest = connection.execute(
        text("SELECT size, root, note FROM log_checkpoint ORDER BY size DESC LIMIT 1")
    ).one_or_none()
    draws = connection.execute(text("SELECT draw_id, status FROM draw ORDER BY id")).tuples().all()
    keys = connection.execute(text("SELECT key_id, vkey, status FROM signing_key ORDER BY id")).tuples().all()
    return {
        "schema_revision": scalar("SELECT version_num FROM alembic_version")
        if inspect(connection).has_table("alembic_version")
        else None,
        "log_size": int(scalar("SELECT count(*) FROM log_entry") or 0),
        "checkpoint": None
        if latest is None
        else {"size": int(latest.size), "root": bytes(latest.root).hex(), "note": latest.note},
        "draws": [{"draw_id": draw_id, "status": status} for draw_id, status in draws],
        "declarants": int(scalar("SELECT count(*) FROM declarant") or 0),
        "office_keys": [{"key_id": key_id, "vkey": vkey, "status": status} for key_id, vkey, status in keys],
    }


def create_backup(settings: Settings, target: Path) -> dict[str, Any]:
    """Write a backup of the configured database into the new directory `target`; returns the manifest."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not an empty directory: choose a new path")
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    database = _sqlite_path(settings.database_url)
    if database is not None:
        name = SQLITE_FILE
        contents = _backup_sqlite(database, target / name)
        backend = "sqlite"
    elif settings.database_url.startswith("postgresql"):
        name = POSTGRES_FILE
        contents = _backup_postgres(settings.database_url, target / name)
        backend = "postgresql"
    else:
        raise BackupError("only SQLite and PostgreSQL databases can be backed up")
    os.chmod(target / name, 0o600)
    manifest = {
        "format": FORMAT,
        "created_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "backend": backend,
        "file": name,
        "sha256": _sha256(target / name),
        "bytes": (target / name).stat().st_size,
        **contents,
        "keys_needed": {
            "data_key_fingerprint": personal_data(settings).fingerprint,
            "secret_key_fingerprint": fingerprint_secret_key(settings.secret_key),
            "office_key_files": [f"office-{key['key_id']}.key" for key in contents["office_keys"]],
        },
        "not_in_this_backup": KEPT_APART,
    }
    path = target / MANIFEST
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    return manifest


def _backup_sqlite(database: Path, copy: Path) -> dict[str, Any]:
    if not database.exists():
        raise BackupError(f"the database {database} does not exist")
    source = sqlite3.connect(database)
    destination = sqlite3.connect(copy)
    try:
        source.backup(destination)  # one step: a consistent snapshot, even while the service writes
        destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        source.close()
        destination.close()
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as connection:
            return _contents(connection)
    finally:
        engine.dispose()


def _backup_postgres(url: str, dump: Path) -> dict[str, Any]:
    pg_dump = _tool("pg_dump")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            contents = _contents(connection)
            args, env = _libpq(url)
            done = subprocess.run(
                [pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                 "--file", str(dump), *args],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            connection.rollback()
    finally:
        engine.dispose()
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()[:500]}")
    return contents


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest of a backup, checked against the file it names; `BackupError` otherwise."""
    try:
        manifest: dict[str, Any] = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} has no readable {MANIFEST} ({type(exc).__name__})") from None
    if manifest.get("format") != FORMAT or manifest.get("file") not in (SQLITE_FILE, POSTGRES_FILE):
        raise BackupError(f"{source} is not a Sunshine Draw backup of a known format")
    data = source / manifest["file"]
    if not data.is_file() or _sha256(data) != manifest.get("sha256"):
        raise BackupError(f"{data.name} is missing or damaged: its SHA-256 is not the manifest's")
    return manifest


def check_keys(settings: Settings, manifest: dict[str, Any]) -> list[str]:
    """Which of the keys the backup needs this deployment does not have (by fingerprint)."""
    needed = manifest.get("keys_needed", {})
    missing = []
    if needed.get("data_key_fingerprint") != personal_data(settings).fingerprint:
        missing.append("the data key is not the one the backup was made with (national IDs could not be opened)")
    if needed.get("secret_key_fingerprint") != fingerprint_secret_key(settings.secret_key):
        missing.append(
            "SECRET_KEY is not the one the backup was made with (draw secrets and salts could not be opened)"
        )
    for name in needed.get("office_key_files", []):
        if not (settings.keys_dir / name).is_file():
            missing.append(f"{settings.keys_dir / name} is missing (the office key cannot sign)")
    return missing


def restore_backup(settings: Settings, source: Path) -> dict[str, Any]:
    """Restore a backup into the configured database, which must be empty; returns the manifest.

    The caller runs the self-check afterwards (`flask backup restore` does, as `flask audit verify`).
    """
    manifest = read_manifest(source)
    missing = check_keys(settings, manifest)
    if missing:
        raise BackupError("this deployment cannot open the backup: " + "; ".join(missing))
    database = _sqlite_path(settings.database_url)
    backend = "sqlite" if database is not None else "postgresql"
    if backend != manifest["backend"]:
        raise BackupError(f"the backup is of a {manifest['backend']} database, this deployment uses {backend}")
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError(
            "the configured database is not empty: restore into a new database (or move the old file away)"
        )
    if database is not None:
        source_db = sqlite3.connect(f"file:{source / SQLITE_FILE}?mode=ro", uri=True)
        destination = sqlite3.connect(database)
        try:
            source_db.backup(destination)
            destination.execute("PRAGMA journal_mode=WAL")
        finally:
            source_db.close()
            destination.close()
        for suffix in ("", "-wal", "-shm"):
            path = Path(f"{database}{suffix}")
            if path.exists():
                os.chmod(path, 0o600)
    else:
        pg_restore = _tool("pg_restore")
        args, env = _libpq(settings.database_url)
        done = subprocess.run(
            [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
             *args, str(source / POSTGRES_FILE)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()[:500]}")
    return manifest


def restored_problems(session: Any, manifest: dict[str, Any]) -> list[str]:
    """After a restore: the self-check's problems, and whether the log still holds the manifest's checkpoint."""
    from service.integrity import self_check
    from service.transparency import checkpoint_at

    problems = list(self_check(session))
    recorded = manifest.get("checkpoint")
    if recorded is not None:
        stored = checkpoint_at(session, int(recorded["size"]))
        if stored is None or bytes(stored.root).hex() != recorded["root"] or stored.note != recorded["note"]:
            problems.append(
                f"the restored log does not hold the checkpoint of size {recorded['size']} the backup recorded"
            )
    return problems
