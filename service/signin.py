"""Signing in safely: lockout, TOTP two-factor, server-side sessions with timeouts, and a record
of every authentication event.

- Five wrong passwords (or codes) in a row lock the account for 15 minutes; the login form is
  also rate-limited per address (Flask-Limiter, in Redis when `REDIS_URL` is set).
- Admins, operators and witnesses must pass a TOTP second factor (RFC 6238, pyotp); they enrol on their
  first sign-in by scanning a QR code. A code is accepted once.
- A session is a row on the server holding the hash of a random token kept in the signed
  session cookie. Signing out revokes the row, so a copied cookie stops working; a session ends
  after 12 hours whatever happens, and after 30 minutes without a request.
"""

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts import rehash_if_needed, verify_password
from service.models import AuthEvent, User, UserSession, utcnow

LOCKOUT_AFTER = 5
LOCKOUT_FOR = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
#: Witnesses too: a confirmation is a public, permanent statement in their name, and the account's
#: password is often first set by the admin who created it; enrolling their own phone ties it to them.
TWO_FACTOR_ROLES = ("admin", "operator", "witness")
ISSUER = "Sunshine Draw"


class SignInRefused(ValueError):
    """The sign-in cannot go on; the message says why (never which part was wrong)."""


@dataclass(frozen=True)
class Client:
    """Where a request comes from, for the event record."""

    ip: str = ""
    user_agent: str = ""


def record_event(session: Session, event: str, username: str, user: User | None, client: Client) -> None:
    """Write one authentication event."""
    session.add(AuthEvent(user_id=user.id if user else None, username=username[:64], event=event, ip=client.ip[:64]))


def _locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def _count_failure(session: Session, user: User, client: Client, now: datetime, event: str) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    record_event(session, event, user.username, user, client)
    if user.failed_logins >= LOCKOUT_AFTER:
        user.failed_logins = 0
        user.locked_until = now + LOCKOUT_FOR
        record_event(session, "locked", user.username, user, client)


def check_password(session: Session, username: str, password: str, client: Client, now: datetime | None = None) -> User:
    """The user if the password is right and the account is usable; else `SignInRefused`.

    The caller commits even on refusal, so failures are counted and recorded.
    """
    now = now or utcnow()
    name = username.strip().lower()
    user = session.scalar(select(User).where(User.username == name))
    if user is not None and _locked(user, now):
        record_event(session, "refused_locked", name, user, client)
        raise SignInRefused(_l("Too many failed attempts: this account is locked for 15 minutes."))
    if not verify_password(user.password_hash if user else None, password) or user is None or not user.active:
        if user is not None:
            _count_failure(session, user, client, now, "password_failed")
        else:
            record_event(session, "password_failed", name, None, client)
        raise SignInRefused(_l("The username or password is wrong."))
    user.failed_logins = 0
    rehash_if_needed(user, password)
    return user


def needs_second_factor(user: User) -> bool:
    """Admins, operators and witnesses always; others once they enrolled."""
    return user.role in TWO_FACTOR_ROLES or user.totp_enrolled_at is not None


def _totp_key(deployment_secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"sunshine-draw totp secret v1").derive(
        deployment_secret.encode("utf-8")
    )


def seal_totp_secret(secret: str, user_id: int, deployment_secret: str) -> bytes:
    """The TOTP secret sealed with AES-GCM under a key derived from SECRET_KEY (bound to the user)."""
    nonce = os.urandom(12)
    return nonce + AESGCM(_totp_key(deployment_secret)).encrypt(nonce, secret.encode("ascii"), str(user_id).encode())


def totp_secret(user: User, deployment_secret: str) -> str | None:
    """The user's TOTP secret, or None when none is set or it cannot be opened."""
    sealed = user.totp_secret_sealed
    if not sealed:
        return None
    try:
        return AESGCM(_totp_key(deployment_secret)).decrypt(sealed[:12], sealed[12:], str(user.id).encode()).decode()
    except (InvalidTag, ValueError):
        return None


def start_enrolment(user: User, deployment_secret: str, secret: str | None = None) -> str:
    """A new TOTP secret for a user not yet enrolled; returns its provisioning URI (for the QR code)."""
    if user.totp_enrolled_at is not None:
        raise SignInRefused(_l("Two-factor sign-in is already set up for this account."))
    secret = secret or pyotp.random_base32()
    user.totp_secret_sealed = seal_totp_secret(secret, user.id, deployment_secret)
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def check_code(session: Session, user: User, code: str, deployment_secret: str, client: Client) -> None:
    """Accept a current TOTP code once (one step of clock drift either way); else `SignInRefused`."""
    now = utcnow()
    if _locked(user, now):
        raise SignInRefused(_l("Too many failed attempts: this account is locked for 15 minutes."))
    secret = totp_secret(user, deployment_secret)
    code = "".join(code.split())
    if secret is None:
        raise SignInRefused(_l("Two-factor sign-in is not set up; sign in again."))
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // totp.interval
    for candidate in (step - 1, step, step + 1):
        if candidate > (user.totp_last_step or 0) and secrets.compare_digest(totp.generate_otp(candidate), code):
            user.totp_last_step = candidate
            if user.totp_enrolled_at is None:
                user.totp_enrolled_at = now
                record_event(session, "totp_enrolled", user.username, user, client)
            user.failed_logins = 0
            return
    _count_failure(session, user, client, now, "totp_failed")
    raise SignInRefused(_l("That code is not right (or was already used). Enter the current 6-digit code."))


def open_session(session: Session, user: User, client: Client) -> str:
    """Start a server-side session; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            ip=client.ip[:64],
            user_agent=client.user_agent[:200],
        )
    )
    user.last_login_at = utcnow()
    record_event(session, "signed_in", user.username, user, client)
    return token


def session_user(session: Session, token: str, user_id: int, now: datetime | None = None) -> User | None:
    """The user of a live session (not revoked, within the absolute timeout), else None."""
    now = now or utcnow()
    row = session.scalar(
        select(UserSession).where(UserSession.token_hash == hashlib.sha256(token.encode()).hexdigest())
    )
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        return None
    if now - row.created_at > ABSOLUTE_TIMEOUT:
        return None
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def close_session(session: Session, token: str, client: Client, event: str = "signed_out") -> None:
    """Revoke a session on the server and record why."""
    row = session.scalar(
        select(UserSession).where(UserSession.token_hash == hashlib.sha256(token.encode()).hexdigest())
    )
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        user = session.get(User, row.user_id)
        record_event(session, event, user.username if user else "", user, client)
