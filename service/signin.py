"""Signing in safely: limits that hold across workers, TOTP two-factor with recovery codes,
server-side sessions with timeouts, and a record of every authentication event.

- Attempts per address, and failures in a row per account and per address, are counted in a
  store every worker shares (`service.throttle`: Redis, else the database). Failures bring a
  growing, bounded wait; an unknown username, a wrong password, a disabled account and an
  account that must wait all get the same answer after the same work (the password hash is
  always checked), so the answer tells nothing about which usernames exist.
- Every account passes a TOTP second factor (RFC 6238, pyotp); users enrol on their first
  sign-in by scanning a QR code, and get 10 single-use recovery codes (stored hashed) that stand
  in for the 6-digit code. A code is accepted once.
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
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import throttle
from service.accounts import rehash_if_needed, verify_password
from service.models import AuthEvent, RecoveryCode, User, UserSession, utcnow

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
#: Every role: reviewers record fines, witnesses sign public statements, admins and operators run
#: draws. Enrolling one's own phone also ties an account whose first password an admin set to its person.
TWO_FACTOR_ROLES = ("admin", "operator", "reviewer", "witness")
ISSUER = "Sunshine Draw"
RECOVERY_CODES = 10
#: A recovery code: 16 characters of base32 (80 random bits), shown in groups of four.
RECOVERY_LENGTH = 16
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#: One answer for an unknown username, a wrong password, a disabled account and a wait.
WRONG_PASSWORD = _l(
    "The username or password is wrong, or there were too many attempts: check them, wait a few minutes and try again."
)
WRONG_CODE = _l(
    "That code is not right, was already used, or there were too many attempts: wait a few minutes and enter "
    "the current 6-digit code or a recovery code."
)


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


def _epoch(now: datetime) -> int:
    return int(now.timestamp())


def _failed(
    session: Session, store: throttle.Store, name: str, user: User | None, client: Client, now: datetime, event: str
) -> None:
    record_event(session, event, name, user, client)
    if throttle.record_failure(store, name, client.ip, _epoch(now)):
        record_event(session, "backoff", name, user, client)


def check_password(
    session: Session, store: throttle.Store, username: str, password: str, client: Client, now: datetime
) -> User:
    """The user if the password is right, the account active and no wait pending; else
    `SignInRefused` with the one answer for every refusal. The caller commits even on refusal,
    so failures are counted and recorded.
    """
    name = username.strip().lower()[:64]
    user = session.scalar(select(User).where(User.username == name))
    right = verify_password(user.password_hash if user else None, password)  # always the same work
    if throttle.wait_seconds(store, name, client.ip, _epoch(now)) > 0:
        record_event(session, "refused_wait", name, user, client)
        raise SignInRefused(WRONG_PASSWORD)
    if not right or user is None or not user.active:
        _failed(session, store, name, user, client, now, "password_failed")
        raise SignInRefused(WRONG_PASSWORD)
    rehash_if_needed(user, password)
    return user


def needs_second_factor(user: User) -> bool:
    """Every role must; kept as a function so a future role without it is one line."""
    return user.role in TWO_FACTOR_ROLES or user.totp_enrolled_at is not None


def finish_sign_in(store: throttle.Store, user: User) -> None:
    """Password and second factor both passed: the account's run of failures ends."""
    throttle.clear_account(store, user.username)


def _totp_key(deployment_secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"sunshine-draw totp secret v1").derive(
        deployment_secret.encode("utf-8")
    )


def seal_totp_secret(secret: str, user_id: int, deployment_secret: str) -> bytes:
    """The TOTP secret sealed with AES-GCM under a key derived from SECRET_KEY (bound to the user)."""
    nonce = os.urandom(12)
    return nonce + AESGCM(_totp_key(deployment_secret)).encrypt(nonce, secret.encode("ascii"), str(user_id).encode())


def _seal(text: str, bound_to: str, deployment_secret: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_totp_key(deployment_secret)).encrypt(nonce, text.encode("ascii"), bound_to.encode())


def _open(sealed: bytes, bound_to: str, deployment_secret: str) -> str | None:
    try:
        return AESGCM(_totp_key(deployment_secret)).decrypt(sealed[:12], sealed[12:], bound_to.encode()).decode()
    except (InvalidTag, ValueError):
        return None


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


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isascii() and ch.isalnum())


def check_code(
    session: Session,
    store: throttle.Store,
    user: User,
    code: str,
    deployment_secret: str,
    client: Client,
    now: datetime,
) -> str:
    """Accept a current TOTP code once (one step of clock drift either way), or one unused
    recovery code once enrolled; returns "totp" or "recovery", else `SignInRefused`.

    TOTP steps follow the real time (the phone's clock); the wait follows the injected clock.
    """
    secret = totp_secret(user, deployment_secret)
    if secret is None:
        raise SignInRefused(_l("Two-factor sign-in is not set up; sign in again."))
    typed = _normalise(code)
    waiting = throttle.wait_seconds(store, user.username, client.ip, _epoch(now)) > 0
    if len(typed) == RECOVERY_LENGTH and user.totp_enrolled_at is not None:
        if waiting:
            record_event(session, "refused_wait", user.username, user, client)
            raise SignInRefused(WRONG_CODE)
        if use_recovery_code(session, user, typed, now):
            record_event(session, "recovery_code_used", user.username, user, client)
            return "recovery"
        _failed(session, store, user.username, user, client, now, "recovery_code_failed")
        raise SignInRefused(WRONG_CODE)
    totp = pyotp.TOTP(secret)
    step = int(utcnow().timestamp()) // totp.interval
    matched = None
    for candidate in (step - 1, step, step + 1):
        if candidate > (user.totp_last_step or 0) and secrets.compare_digest(totp.generate_otp(candidate), typed):
            matched = candidate
    if waiting:
        record_event(session, "refused_wait", user.username, user, client)
        raise SignInRefused(WRONG_CODE)
    if matched is None:
        _failed(session, store, user.username, user, client, now, "totp_failed")
        raise SignInRefused(WRONG_CODE)
    user.totp_last_step = matched
    if user.totp_enrolled_at is None:
        user.totp_enrolled_at = utcnow()
        record_event(session, "totp_enrolled", user.username, user, client)
    return "totp"


def recovery_code_hash(code: str) -> str:
    """SHA-256 (hex) of a normalised recovery code."""
    return hashlib.sha256(_normalise(code).encode("ascii")).hexdigest()


def new_recovery_codes(session: Session, user: User, deployment_secret: str) -> None:
    """Replace the user's recovery codes with 10 new ones, kept sealed until shown once
    (`codes_to_show`); only their hashes stay."""
    for row in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(row)
    session.flush()
    for _ in range(RECOVERY_CODES):
        code = "".join(secrets.choice(_BASE32) for _ in range(RECOVERY_LENGTH))
        session.add(
            RecoveryCode(
                user_id=user.id,
                code_hash=recovery_code_hash(code),
                sealed_for_display=_seal(code, f"recovery {user.id}", deployment_secret),
            )
        )
    session.flush()


def codes_to_show(session: Session, user: User, deployment_secret: str) -> list[str]:
    """The user's new recovery codes, grouped by four, once: they are forgotten as they are read."""
    shown = []
    for row in session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.sealed_for_display.is_not(None))
    ):
        code = _open(row.sealed_for_display or b"", f"recovery {user.id}", deployment_secret)
        row.sealed_for_display = None
        if code:
            shown.append("-".join(code[i : i + 4] for i in range(0, len(code), 4)))
    return sorted(shown)


def unused_recovery_codes(session: Session, user: User) -> int:
    """How many of the user's recovery codes are left."""
    rows = session.scalars(
        select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    return len(list(rows))


def use_recovery_code(session: Session, user: User, code: str, now: datetime) -> bool:
    """Spend one unused recovery code of this user (atomically: two requests cannot both use it)."""
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == recovery_code_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now, sealed_for_display=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # execute() is typed Result, not CursorResult


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
