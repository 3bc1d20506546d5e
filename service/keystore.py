"""The office's signing key: generated, stored encrypted under `keys/`, unlocked, rotated.

The private key never enters the database: it is a file `keys/office-<key id>.key` sealed with
Argon2id and AES-GCM (`lottery.keyfile`), unlocked by a passphrase from the environment
(`SUNSHINE_KEY_PASSPHRASE`). The public vkey is in the database, in the log (`key.added`) and in
`keys/office.vkey`. See keys/README.md for the ceremony.
"""

import os
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from lottery.keyfile import DEFAULT_COST, open_private_key, seal_private_key
from lottery.signing import Signer, generate_signer
from service.config import Settings
from service.models import Draw, SigningKey, utcnow
from service.transparency import event_time, record

_unlocked: dict[str, Signer] = {}


class KeyUnavailable(RuntimeError):
    """No usable office key: none generated, the file is missing, or the passphrase is wrong."""


def active_key(session: Session) -> SigningKey | None:
    """The key that signs now."""
    return session.scalar(select(SigningKey).where(SigningKey.status == "active"))


def key_path(settings: Settings, key_id: str) -> Path:
    """Where the encrypted private key with this id lives."""
    return settings.keys_dir / f"office-{key_id}.key"


def passphrase(settings: Settings) -> str:
    """The key passphrase: from the environment, or in development a random one kept in `instance/`."""
    if settings.key_passphrase:
        return settings.key_passphrase
    if settings.environment == "production":
        raise KeyUnavailable("SUNSHINE_KEY_PASSPHRASE is not set: the office key cannot be unlocked")
    path = settings.instance_dir / "dev-key-passphrase"
    if not path.exists():
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(24))
    return path.read_text(encoding="ascii").strip()


def _write_key(settings: Settings, signer: Signer) -> None:
    cost = dict(DEFAULT_COST, memory_kib=settings.key_kdf_memory_kib)
    sealed = seal_private_key(signer, passphrase(settings), cost)
    settings.keys_dir.mkdir(parents=True, exist_ok=True)
    path = key_path(settings, signer.verifier.key_id.hex())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(sealed)
        handle.flush()
        os.fsync(handle.fileno())
    (settings.keys_dir / "office.vkey").write_text(signer.verifier.vkey + "\n", encoding="utf-8")
    _unlocked[signer.verifier.key_id.hex()] = signer


def signer_for(settings: Settings, key: SigningKey) -> Signer:
    """Unlock (once per process) the private half of `key`."""
    cached = _unlocked.get(key.key_id)
    if cached is not None:
        return cached
    path = key_path(settings, key.key_id)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyUnavailable(f"the private key file {path.name} is missing from {settings.keys_dir}") from None
    try:
        signer = open_private_key(data, passphrase(settings))
    except ValueError as exc:
        raise KeyUnavailable(str(exc)) from None
    if signer.verifier.vkey != key.vkey:
        raise KeyUnavailable(f"{path.name} does not hold the key the database names")
    _unlocked[key.key_id] = signer
    return signer


def current_signer(session: Session, settings: Settings) -> Signer:
    """The unlocked active key."""
    key = active_key(session)
    if key is None:
        raise KeyUnavailable("no office key yet: run `flask keys generate`")
    return signer_for(settings, key)


def generate_key(session: Session, settings: Settings) -> SigningKey:
    """Create the first office key and log `key.added`. Refuses when a key exists (rotate instead)."""
    if active_key(session) is not None:
        raise KeyUnavailable("an office key exists already; use `flask keys rotate`")
    signer = generate_signer(settings.log_origin)
    _write_key(settings, signer)
    key = SigningKey(key_id=signer.verifier.key_id.hex(), vkey=signer.verifier.vkey, status="active")
    session.add(key)
    session.flush()
    record(session, [signer], [{"type": "key.added", "time": event_time(), "vkey": key.vkey}])
    return key


def rotate_key(session: Session, settings: Settings) -> SigningKey:
    """Retire the active key and make a new one; the rotation checkpoint is signed by both.

    Refused while a draw is announced but not finished, so each draw's documents are signed by
    one key. Old documents keep verifying with the key that signed them (it stays published).
    """
    old = active_key(session)
    if old is None:
        raise KeyUnavailable("no office key yet: run `flask keys generate`")
    in_progress = session.scalar(select(Draw.draw_id).where(Draw.status == "announced").limit(1))
    if in_progress is not None:
        raise KeyUnavailable(f"draw {in_progress} is announced and not finished; rotate after it")
    old_signer = signer_for(settings, old)
    new_signer = generate_signer(settings.log_origin)
    _write_key(settings, new_signer)
    old.status = "retired"
    old.retired_at = utcnow()
    key = SigningKey(key_id=new_signer.verifier.key_id.hex(), vkey=new_signer.verifier.vkey, status="active")
    session.add(key)
    session.flush()
    now = event_time()
    record(
        session,
        [new_signer, old_signer],
        [{"type": "key.retired", "time": now, "vkey": old.vkey}, {"type": "key.added", "time": now, "vkey": key.vkey}],
    )
    return key


def forget_unlocked_keys() -> None:
    """Drop unlocked keys from memory (tests, and after a rotation elsewhere)."""
    _unlocked.clear()


def rotate_data_key(session: Session, settings: Settings, new_key: bytes) -> int:
    """Re-seal every national ID and every pending upload's bytes under `new_key`, in this
    transaction; returns how many values were re-sealed. The keyed hashes change with the key.

    The triggers that freeze an announced year's declarants are lifted for the rewrite and
    installed again before the commit (the rows' identities do not change: the self-check's
    bindings prove it). Stop the service first; start it again with the new key configured.
    """
    from sqlalchemy import text, update

    from service.models import Declarant, UploadedFile
    from service.sealing import PersonalData, personal_data
    from service.triggers import reinstall_statements

    old, new = personal_data(settings), PersonalData(new_key)
    if old.fingerprint == new.fingerprint:
        raise KeyUnavailable("the new data key is the current one")
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS declarant_frozen_update")
    else:
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS declarant_frozen ON declarant")
    count = 0
    rows = session.execute(
        select(Declarant.id, Declarant.office_id, Declarant.roc_year, Declarant.national_id_sealed)
    ).all()
    for pk, office_id, roc_year, sealed in rows:
        plain = old.open(sealed, office_id=office_id, roc_year=roc_year)
        session.execute(
            update(Declarant)
            .where(Declarant.id == pk)
            .values(
                national_id_sealed=new.seal(plain, office_id=office_id, roc_year=roc_year),
                national_id_hmac=new.lookup(plain),
            )
            .execution_options(synchronize_session=False)
        )
        count += 1
    for upload_id, original, checked in session.execute(
        select(UploadedFile.upload_id, UploadedFile.original, UploadedFile.checked)
    ).all():
        values = {}
        for column, sealed_blob in (("original", original), ("checked", checked)):
            if sealed_blob is not None:
                label = f"declaration_upload_file.{column}.{upload_id}"
                values[column] = new.seal_blob(old.open_blob(bytes(sealed_blob), label=label), label=label)
        if values:
            session.execute(update(UploadedFile).where(UploadedFile.upload_id == upload_id).values(**values))
            count += 1
    for statement in reinstall_statements(dialect):
        connection.execute(text(statement))  # as the migrations run them (a "%" is no placeholder)
    return count
