"""Sign-in limits that hold across workers and hosts.

Every counter lives in a store all workers share: Redis when `REDIS_URL` is set, otherwise the
database (`login_counter`). A per-process store (`SUNSHINE_LOGIN_COUNTING=memory`) exists for a
single development process only; production refuses it with more than one worker
(`service.startup.check_shared_counting`).

Two kinds of counter, both read against the injected clock (`service.clock`), never by sleeping:
- attempts per address in a fixed window (`Policy.attempts_per_window` per `window_seconds`):
  beyond it the address gets HTTP 429 until the window ends;
- failures in a row per account (by username, known or not, so an unknown name behaves like a
  real one) and per address: after `free` failures each further attempt must wait
  `first_delay_seconds`, doubling with every failure, never more than `max_delay_seconds`.
  An attempt refused while waiting is not a failure (hammering does not extend the wait), so a
  stranger can only ever hold an account back for the bounded delay; a full sign-in clears the
  account's run, and a run is forgotten after `forget_after_seconds` without a failure.
"""

import threading
from dataclasses import dataclass
from typing import Any, Protocol, cast

from flask import Flask
from sqlalchemy import Table, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.models import LoginCounter


@dataclass(frozen=True)
class Policy:
    """The numbers of the sign-in limits."""

    attempts_per_window: int = 10
    window_seconds: int = 60
    account_free_failures: int = 5
    address_free_failures: int = 10
    first_delay_seconds: int = 30
    max_delay_seconds: int = 15 * 60
    forget_after_seconds: int = 60 * 60


POLICY = Policy()


class CountingUnavailable(RuntimeError):
    """The shared store cannot be reached: sign-in is refused rather than counted nowhere."""


class Store(Protocol):
    """A shared counter store. `now` is seconds since the epoch by the injected clock."""

    kind: str

    def add(self, key: str, now: int, ttl: int) -> int:
        """Count one more (a new run when the key has expired); returns the count."""

    def read(self, key: str, now: int) -> tuple[int, int]:
        """The count and the time of the last one, or (0, 0) when absent or expired."""

    def clear(self, key: str) -> None:
        """Forget the key."""


class DatabaseStore:
    """Counters in the `login_counter` table; an atomic upsert on SQLite and PostgreSQL. The
    caller commits (the sign-in views commit even when they refuse)."""

    kind = "database"

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, key: str, now: int, ttl: int) -> int:
        table = cast(Table, LoginCounter.__table__)  # typed FromClause; a declared model's is a Table
        insert = postgresql.insert if self.session.get_bind().dialect.name == "postgresql" else sqlite.insert
        self.session.execute(delete(LoginCounter).where(LoginCounter.expires_at <= now, LoginCounter.key != key))
        first_attempt = insert(table).values(key=key, count=1, last_at=now, expires_at=now + ttl)
        statement = first_attempt.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case((table.c.expires_at <= now, 1), else_=table.c.count + 1),
                "last_at": now,
                "expires_at": now + ttl,
            },
        ).returning(table.c.count)
        return int(self.session.execute(statement).scalar_one())

    def read(self, key: str, now: int) -> tuple[int, int]:
        row = self.session.execute(
            select(LoginCounter.count, LoginCounter.last_at).where(
                LoginCounter.key == key, LoginCounter.expires_at > now
            )
        ).first()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def clear(self, key: str) -> None:
        self.session.execute(delete(LoginCounter).where(LoginCounter.key == key))


_REDIS_ADD = """
local expires = redis.call('HGET', KEYS[1], 'expires_at')
if expires and tonumber(expires) <= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) end
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'last_at', ARGV[1], 'expires_at', tonumber(ARGV[1]) + tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]) + 60)
return count
"""


class RedisStore:
    """Counters in Redis hashes, updated by one Lua script (atomic across every client)."""

    kind = "redis"
    prefix = "sunshine:login:"

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._add = self.client.register_script(_REDIS_ADD)

    def _call(self, action: Any) -> Any:
        import redis

        try:
            return action()
        except redis.RedisError as exc:
            raise CountingUnavailable(type(exc).__name__) from None

    def add(self, key: str, now: int, ttl: int) -> int:
        return int(self._call(lambda: self._add(keys=[self.prefix + key], args=[now, ttl])))

    def read(self, key: str, now: int) -> tuple[int, int]:
        values = self._call(lambda: self.client.hmget(self.prefix + key, "count", "last_at", "expires_at"))
        if values[0] is None or values[2] is None or int(values[2]) <= now:
            return 0, 0
        return int(values[0]), int(values[1] or 0)

    def clear(self, key: str) -> None:
        self._call(lambda: self.client.delete(self.prefix + key))


class MemoryStore:
    """Counters in this process only: development with one process. Never with several workers."""

    kind = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[int, int, int]] = {}

    def add(self, key: str, now: int, ttl: int) -> int:
        with self._lock:
            count, _last, expires = self._rows.get(key, (0, 0, 0))
            count = 1 if expires <= now else count + 1
            self._rows[key] = (count, now, now + ttl)
            return count

    def read(self, key: str, now: int) -> tuple[int, int]:
        with self._lock:
            count, last, expires = self._rows.get(key, (0, 0, 0))
            return (count, last) if expires > now else (0, 0)

    def clear(self, key: str) -> None:
        with self._lock:
            self._rows.pop(key, None)


def store_for(app: Flask, session: Session) -> Store:
    """The app's store: Redis when configured, memory when asked for, else the database."""
    settings = app.extensions["sunshine_settings"]
    kind = counting_kind(settings)
    if kind == "database":
        return DatabaseStore(session)
    cached = app.extensions.get("sunshine_login_store")
    if cached is None:
        cached = RedisStore(settings.redis_url) if kind == "redis" else MemoryStore()
        app.extensions["sunshine_login_store"] = cached
    return cached


def counting_kind(settings: Any) -> str:
    """Where the sign-in counters of these settings live: redis, database or memory."""
    chosen = getattr(settings, "login_counting", "") or ""
    if chosen:
        return str(chosen)
    return "redis" if settings.redis_url else "database"


def _account(username: str) -> str:
    return "fail:account:" + username[:64]


def _address(ip: str) -> str:
    return "fail:address:" + ip[:64]


def attempt_allowed(store: Store, ip: str, now: int, policy: Policy = POLICY) -> bool:
    """Count one attempt from `ip` in the current window; False once the window's limit is passed."""
    window = now // policy.window_seconds
    count = store.add(f"attempt:{ip[:64]}:{window}", now, policy.window_seconds)
    return count <= policy.attempts_per_window


def delay_after(failures: int, free: int, policy: Policy = POLICY) -> int:
    """Seconds to wait after `failures` in a row: none before `free`, then doubling, bounded."""
    if failures < free:
        return 0
    doubling: int = 2 ** min(failures - free, 30)  # typeshed types int ** int as Any (a negative power is a float)
    return min(policy.first_delay_seconds * doubling, policy.max_delay_seconds)


def wait_seconds(store: Store, username: str, ip: str, now: int, policy: Policy = POLICY) -> int:
    """How long the account and the address must still wait before an attempt is looked at."""
    waits = [0]
    for key, free in ((_account(username), policy.account_free_failures), (_address(ip), policy.address_free_failures)):
        count, last = store.read(key, now)
        waits.append(last + delay_after(count, free, policy) - now if count else 0)
    return max(waits)


def record_failure(store: Store, username: str, ip: str, now: int, policy: Policy = POLICY) -> bool:
    """Count a failure for the account and the address; True when a wait begins with it."""
    account = store.add(_account(username), now, policy.forget_after_seconds)
    address = store.add(_address(ip), now, policy.forget_after_seconds)
    return account >= policy.account_free_failures or address >= policy.address_free_failures


def clear_account(store: Store, username: str) -> None:
    """A full sign-in (or an admin) ends the account's run of failures."""
    store.clear(_account(username))


def account_failures(store: Store, username: str, now: int) -> int:
    """The account's current run of failures (for `flask users unlock` and tests)."""
    return store.read(_account(username), now)[0]
