"""Accounts: creating users, strong passwords (zxcvbn) checked with argon2id, and API tokens."""

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from service.models import API_TOKEN_SCOPES, ROLES, ApiToken, Office, User, utcnow

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
MIN_PASSWORD = 12
#: zxcvbn's score (0–4): 3 means "safely unguessable: moderate protection from an offline attack".
MIN_PASSWORD_SCORE = 3
#: Longer input is refused before zxcvbn sees it (its matching grows with the length).
MAX_PASSWORD = 256
#: Verifying against this hash when the user does not exist keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class AccountError(ValueError):
    """The account cannot be created as asked."""


class PasswordTooWeak(AccountError):
    """The password is refused; `message` (translated when shown) says why and how to do better."""

    def __init__(self, message: LazyString) -> None:
        super().__init__(message)
        self.message = message


_ADVICE = _l(
    "Use four or more unrelated words, or a sentence only you would write: at least 12 characters; avoid "
    "names, dates, keyboard patterns and well-known passwords."
)


def _weakness(result: Mapping[str, Any]) -> LazyString:
    """Why zxcvbn finds a password guessable, in words this service translates."""
    if any(match.get("dictionary_name") == "user_inputs" for match in result.get("sequence", [])):
        return _l("it contains your username, your name or your office")
    warning = str(result.get("feedback", {}).get("warning") or "").lower()
    for needle, reason in (
        ("common", _l("it is one of the commonly used passwords")),
        ("repeat", _l("it repeats characters or words")),
        ("sequence", _l("it follows a sequence like abc or 6543")),
        ("keyboard", _l("it follows a keyboard pattern")),
        ("rows", _l("it follows a keyboard pattern")),
        ("date", _l("it contains a date or a year")),
        ("year", _l("it contains a date or a year")),
        ("name", _l("it is a name by itself")),
        ("word", _l("it is a single word")),
    ):
        if needle in warning:
            return reason
    return _l("it is too predictable")


def check_password_strength(password: str, user_inputs: tuple[str, ...] = ()) -> None:
    """Refuse a short password or one zxcvbn (strength estimate and common-password lists) scores
    below `MIN_PASSWORD_SCORE`; the error says how to do better."""
    if len(password) > MAX_PASSWORD:
        raise PasswordTooWeak(_l("The password is longer than %(max)s characters.", max=MAX_PASSWORD))
    if len(password) < MIN_PASSWORD:
        reason = _l("it has fewer than %(min)s characters", min=MIN_PASSWORD)
    else:
        inputs = [part for value in user_inputs for part in re.split(r"[\s._@-]+", value.lower()) if len(part) > 2]
        result = zxcvbn(password, user_inputs=[*inputs, *(v.lower() for v in user_inputs if v)])
        if result["score"] >= MIN_PASSWORD_SCORE:
            return
        reason = _weakness(result)
    raise PasswordTooWeak(
        _l("This password is too easy to guess: %(reason)s. %(advice)s", reason=reason, advice=_ADVICE)
    )


def set_password(user: User, password: str) -> None:
    """Give the user a new password, refused when it is weak (see `check_password_strength`)."""
    check_password_strength(password, (user.username, user.display_name, user.office.slug if user.office else ""))
    user.password_hash = hash_password(password)


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def create_user(
    session: Session, *, office: Office, username: str, display_name: str, password: str, role: str
) -> User:
    """Create an active user; refuses a taken or malformed username, a weak password or an unknown role."""
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise AccountError("username must be 3–64 of a–z 0–9 . _ -")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    check_password_strength(password, (username, display_name, office.slug))
    if not display_name.strip():
        raise AccountError("display name is required")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(f"username {username} is taken")
    user = User(
        office=office,
        username=username,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        role=role,
    )
    session.add(user)
    session.flush()
    return user


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches the hash; the same work is done when there is no hash."""
    try:
        return bool(_hasher.verify(password_hash or _DUMMY_HASH, password)) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def rehash_if_needed(user: User, password: str) -> None:
    """Upgrade a stored hash made with older argon2 parameters, after a successful check."""
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)


def get_or_create_office(session: Session, slug: str, name: str, name_en: str = "") -> Office:
    """The office with `slug`, created when absent."""
    office = session.scalar(select(Office).where(Office.slug == slug))
    if office is None:
        office = Office(slug=slug, name=name, name_en=name_en, strata_map={})
        session.add(office)
        session.flush()
    return office


#: A per-user API token: a prefix that says what it is, then 256 random bits.
API_TOKEN_PREFIX = "sdt_"  # noqa: S105  (a label, not a secret)


def api_token_hash(token: str) -> str:
    """SHA-256 (hex) of a token: tokens are random, so a fast hash is enough and allows lookup."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


#: How long a new API token lasts unless told otherwise (`SUNSHINE_API_TOKEN_DAYS`).
DEFAULT_TOKEN_DAYS = 90
TOKEN_NAME = re.compile(r"[\w .@:/+-]{1,64}")
#: `last_used_at` is written at most this often per token (reads should not all write).
LAST_USED_PRECISION = timedelta(minutes=1)


def issue_api_token(
    session: Session,
    user: User,
    *,
    name: str = "api",
    scope: str = "write",
    days: int = DEFAULT_TOKEN_DAYS,
    now: datetime | None = None,
) -> str:
    """Give the user a new named API token; returns it — it is shown only once."""
    name = name.strip()
    if not TOKEN_NAME.fullmatch(name):
        raise AccountError("token name must be 1–64 letters, digits, spaces or . @ : / + -")
    if scope not in API_TOKEN_SCOPES:
        raise AccountError(f"scope must be one of {', '.join(API_TOKEN_SCOPES)}")
    if not 1 <= days <= 366:
        raise AccountError("a token lasts 1 to 366 days")
    now = now or utcnow()
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            name=name,
            token_hash=api_token_hash(token),
            scope=scope,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    session.flush()
    return token


def revoke_api_token(session: Session, user: User, token_id: int | None = None, now: datetime | None = None) -> int:
    """Revoke one of the user's tokens (or all of them); returns how many were revoked."""
    query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    rows = list(session.scalars(query))
    for row in rows:
        row.revoked_at = now or utcnow()
    session.flush()
    return len(rows)


def api_tokens(session: Session, user: User | None = None) -> list[ApiToken]:
    """Tokens (of one user, or all), newest first."""
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query))


def token_state(token: ApiToken, now: datetime) -> str:
    """active, expired or revoked."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


def api_token_for(session: Session, token: str, now: datetime | None = None) -> tuple[ApiToken | None, str]:
    """The token row and its state ("active", "expired", "revoked", "invalid"); marks it used."""
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
        return None, "invalid"
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == api_token_hash(token)))
    if row is None or not row.user.active:
        return None, "invalid"
    now = now or utcnow()
    state = token_state(row, now)
    if state == "active" and (row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION):
        row.last_used_at = now
    return row, state


def user_for_api_token(session: Session, token: str) -> User | None:
    """The active user holding this live token, or None."""
    row, state = api_token_for(session, token)
    return row.user if row is not None and state == "active" else None
