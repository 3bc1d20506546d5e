"""What runs at start-up: file modes and key checks before the app is built (`create_app`), and
the integrity self-check gunicorn runs once it is ready, before the workers serve anyone."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from service.config import Settings


def run_self_check(log: Any) -> list[str]:
    """Run the integrity self-check against the configured database and log the outcome."""
    from sqlalchemy.exc import SQLAlchemyError

    from service import create_app
    from service.extensions import db, session
    from service.integrity import self_check

    app = create_app()
    with app.app_context():
        try:
            problems = self_check(session())
        except SQLAlchemyError as exc:
            log.warning("self-check skipped: the database is not ready (%s)", type(exc).__name__)
            return []
        finally:
            db.session.remove()
            db.engine.dispose()
    for problem in problems:
        log.error("SELF-CHECK FAILED: %s", problem)
    if not problems:
        log.info("self-check: the log, checkpoints, published draws and review cases match what was signed")
    return problems


class UnsafeStartup(RuntimeError):
    """The deployment would run with a protection that does not hold."""


def check_shared_counting(settings: Any, workers: int) -> None:
    """Refuse production with sign-in limits counted per process while more than one worker serves:
    N workers would allow N times the attempts (`service.throttle`). (No route uses Flask-Limiter
    any more; one that does must keep its storage shared too — `RATELIMIT_STORAGE_URI` is Redis
    when `REDIS_URL` is set.)"""
    from service.throttle import counting_kind

    if settings.environment == "production" and workers > 1 and counting_kind(settings) == "memory":
        raise UnsafeStartup(
            f"SUNSHINE_LOGIN_COUNTING=memory counts sign-in attempts in each of the {workers} workers, "
            f"allowing {workers} times the limit: unset it (the database is shared) or set REDIS_URL"
        )


# ---------------------------------------------------------------------------------------------
# Before the app is built: files only the service can read, and no development key in production.


def protect_files(settings: "Settings") -> None:
    """The instance directory 0700 and a SQLite database (with its -wal, -shm and -journal) 0600.

    With SQLite the process umask becomes 0o077 first, so every file the service or SQLite creates
    later (the database, its -wal and -shm, sealed secrets, backups) is the service user's alone;
    the database file is created 0600 before SQLite opens it (SQLite gives -wal and -shm its mode).
    """
    import os
    from pathlib import Path

    database = _sqlite_path(settings.database_url)
    if database is not None:
        os.umask(0o077)
    settings.instance_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(settings.instance_dir, 0o700)
    if database is None:
        return
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not database.exists():
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
    for path in (database, *(Path(f"{database}{suffix}") for suffix in ("-wal", "-shm", "-journal"))):
        if path.exists():
            os.chmod(path, 0o600)


def _sqlite_path(url: str) -> "Path | None":
    """The file of a `sqlite:///…` URL (None for PostgreSQL and in-memory databases)."""
    from pathlib import Path

    if not url.startswith("sqlite:///"):
        return None
    name = url[len("sqlite:///") :].split("?", 1)[0]
    if not name or name == ":memory:":
        return None
    return Path(name)


def refuse_unsafe_production(settings: "Settings") -> None:
    """Refuse (`ConfigError`) a production whose secret key, data key or log origin is a development default.

    The development secret (`instance/dev-secret-key`) sits beside the database and the
    development data key (`keys/dev-data.key`) is made by the service itself: either one in
    production would let a copy of the server's disk open the TOTP secrets, the draw secrets or the
    national IDs. Production takes both from the environment (or, for the data key, a key file kept
    outside the database directory: keys/README.md).
    """
    from service.config import ConfigError
    from service.sealing import DataKeyError, data_key, data_key_source, parse_data_key

    if settings.environment != "production":
        return
    if _same_as_file(settings.secret_key, settings.instance_dir / "dev-secret-key"):
        raise ConfigError("SECRET_KEY is a development default: set a long random secret for production")
    if is_local_origin(settings.log_origin):
        raise ConfigError(
            f"SUNSHINE_LOG_ORIGIN is {settings.log_origin!r}, a development name: production needs the log's "
            "public address without https:// (e.g. ethics.example.gov.tw/log); it is in every checkpoint "
            "and cannot change later (docs/tiles.md)"
        )
    source, path = data_key_source(settings)
    if source == "development":
        raise ConfigError(
            "SUNSHINE_DATA_KEY or SUNSHINE_DATA_KEY_FILE is not set: production needs its own data key "
            "(flask keys new-data-key; see keys/README.md)"
        )
    try:
        key = data_key(settings)
    except DataKeyError as exc:
        raise ConfigError(str(exc)) from None
    dev_file = settings.keys_dir / "dev-data.key"
    try:
        dev_key = parse_data_key(dev_file.read_text(encoding="ascii")) if dev_file.exists() else None
    except (DataKeyError, OSError, UnicodeDecodeError):
        dev_key = None
    if key == dev_key or (path is not None and path.resolve() == dev_file.resolve()):
        raise ConfigError("the data key is the development key (keys/dev-data.key): make a new one for production")
    if len(set(key)) < 8:
        raise ConfigError("the data key is not random: make one with `flask keys new-data-key`")
    database = _sqlite_path(settings.database_url)
    if path is not None and database is not None and path.resolve().parent == database.resolve().parent:
        raise ConfigError("the data key file is in the database's directory: keep it apart (keys/README.md)")


def is_local_origin(origin: str) -> bool:
    """True when a log origin's host is `localhost` or under `.localhost` (the development default
    `sunshine-draw.localhost/log`): no one else can fetch the log's tiles there (C2SP tlog-tiles:
    the origin is the log's URL prefix without its scheme)."""
    host = origin.strip().split("/", 1)[0].rsplit(":", 1)[0].rstrip(".").lower()
    return host == "localhost" or host.endswith(".localhost")


def _same_as_file(value: str, path: "Path") -> bool:
    try:
        return path.read_text(encoding="ascii").strip() == value.strip()
    except (OSError, UnicodeDecodeError):
        return False
