"""Accounts: creating users and checking passwords (argon2id, via argon2-cffi)."""

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import ROLES, Office, User, utcnow

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
MIN_PASSWORD = 12
#: Verifying against this hash when the user does not exist keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class AccountError(ValueError):
    """The account cannot be created as asked."""


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
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password must be at least {MIN_PASSWORD} characters")
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


def issue_api_token(session: Session, user: User) -> str:
    """Give the user a new API token (replacing any earlier one); returns it — it is shown only once."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    user.api_token_hash = api_token_hash(token)
    user.api_token_created_at = utcnow()
    session.flush()
    return token


def revoke_api_token(session: Session, user: User) -> None:
    """Remove the user's API token."""
    user.api_token_hash = None
    user.api_token_created_at = None
    session.flush()


def user_for_api_token(session: Session, token: str) -> User | None:
    """The active user holding this token, or None."""
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
        return None
    user = session.scalar(select(User).where(User.api_token_hash == api_token_hash(token)))
    if user is None or not user.active:
        return None
    return user
