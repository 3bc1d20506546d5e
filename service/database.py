"""Database set-up for SQLite: pragmas on every connection, and explicit BEGIN modes.

SQLite: WAL, `synchronous=FULL` (a commit is on disk before it returns), foreign keys on.
Python's sqlite3 opens transactions lazily and as DEFERRED, so two workers that read and then
write can fail with "database is locked". We take over BEGIN: requests that change data (and
background jobs and commands) begin IMMEDIATE and queue for the write lock; page views begin
DEFERRED and read a snapshot in parallel.
"""

import sqlite3
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_configured = False
#: "IMMEDIATE" or "DEFERRED" for the next SQLite transaction in this context.
begin_mode: ContextVar[str] = ContextVar("sqlite_begin_mode", default="IMMEDIATE")


def configure_sqlite() -> None:
    """Install the connection and transaction hooks once per process."""
    global _configured
    if _configured:
        return
    event.listen(Engine, "connect", _sqlite_connect)
    event.listen(Engine, "begin", _sqlite_begin)
    _configured = True


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see module docstring)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A writer waits up to 30 s for the lock: during a live draw twenty clicks on one button queue
    # behind the one that completes it (sealing, signing, 25 cases and their log entries) and then
    # get their "already done", rather than a "database is locked" error on a loaded server.
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted content (a purged upload, a national ID rewritten sealed) is overwritten, not left
    # readable in the file's free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"BEGIN {begin_mode.get()}")
