"""The draw secret, sealed until the live reveal; and personal data, sealed at rest (below).

The 32-byte secret comes from the operating system's CSPRNG. It is stored only sealed with
AES-256-GCM under a key derived (HKDF-SHA256) from the deployment's SECRET_KEY, with the draw id
and commitment as associated data, so a sealed secret cannot be moved to another draw and a
database dump alone does not reveal it. It survives restarts because the key is derived anew.
"""

import base64
import hmac
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lottery.draw import commitment

if TYPE_CHECKING:
    from service.config import Settings
    from service.models import Declarant

_INFO = b"sunshine-draw sealed draw secret v1"


class SecretLost(RuntimeError):
    """The sealed secret cannot be opened (another deployment key, or a damaged row)."""


def _key(deployment_secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(deployment_secret.encode("utf-8"))


def new_secret() -> str:
    """64 lowercase hex characters from the CSPRNG."""
    return secrets.token_hex(32)


def seal_secret(secret_hex: str, *, draw_id: str, deployment_secret: str) -> tuple[bytes, str]:
    """Seal `secret_hex`; returns the sealed bytes (nonce || ciphertext) and the commitment."""
    committed = commitment(secret_hex)
    nonce = os.urandom(12)
    sealed = AESGCM(_key(deployment_secret)).encrypt(nonce, secret_hex.encode("ascii"), _aad(draw_id, committed))
    return nonce + sealed, committed


def unseal_secret(sealed: bytes, *, draw_id: str, committed: str, deployment_secret: str) -> str:
    """Open a sealed secret and check it against its commitment; raise `SecretLost` otherwise."""
    try:
        plain = AESGCM(_key(deployment_secret)).decrypt(sealed[:12], sealed[12:], _aad(draw_id, committed))
    except (InvalidTag, ValueError):
        raise SecretLost("the sealed secret cannot be opened with this deployment's key") from None
    secret_hex = plain.decode("ascii")
    if commitment(secret_hex) != committed:
        raise SecretLost("the unsealed secret does not match the published commitment")
    return secret_hex


def _aad(draw_id: str, committed: str) -> bytes:
    return f"{draw_id}\n{committed}".encode()


# ---------------------------------------------------------------------------------------------
# Personal data at rest: declarants' national IDs, and uploaded files until they are imported.
#
# Sealed with AES-256-GCM under the deployment's *data key* — 32 random bytes kept outside the
# database directory (the environment or a key file, see keys/README.md) — so a copy of the
# database, a backup or an insider's SELECT shows no national ID. Duplicates and look-ups use a
# keyed hash (HMAC-SHA256 under a second key derived from the same data key): equal IDs give
# equal hashes, but the hash cannot be reversed by trying the ~10^9 possible IDs without the key.
# Code reads a national ID only through `national_id_of` (or, for many rows, `PersonalData.open`).

_DATA_INFO = b"sunshine-draw personal data sealing v1"
_LOOKUP_INFO = b"sunshine-draw personal data lookup v1"
#: Where development and test keep their data key when none is configured (inside `keys/`).
DEV_DATA_KEY_FILE = "dev-data.key"


class DataKeyError(RuntimeError):
    """No usable data key: none configured in production, an unreadable file or a malformed key."""


class PersonalDataLost(RuntimeError):
    """A sealed value cannot be opened with this deployment's data key (another key, or a changed row)."""


def parse_data_key(text: str) -> bytes:
    """32 bytes from 64 hex characters or from base64; `DataKeyError` otherwise."""
    import binascii

    text = text.strip()
    try:
        key = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise DataKeyError("the data key is neither 64 hex characters nor base64") from None
    if len(key) != 32:
        raise DataKeyError(f"the data key must be 32 bytes, not {len(key)}")
    return key


def new_data_key() -> str:
    """A fresh data key as 64 hex characters (for `flask keys new-data-key`)."""
    return secrets.token_hex(32)


def data_key_source(settings: "Settings") -> tuple[str, Path | None]:
    """Where the data key comes from: ("environment", None), ("file", path) or ("development", path)."""
    if settings.data_key:
        return "environment", None
    if settings.data_key_file is not None:
        return "file", settings.data_key_file
    return "development", settings.keys_dir / DEV_DATA_KEY_FILE


def data_key(settings: "Settings") -> bytes:
    """The deployment's data key. Development and test make one in `keys/dev-data.key` (0600) on
    first use; production never does (see `service.startup.refuse_unsafe_production`)."""
    source, path = data_key_source(settings)
    if source == "environment":
        return parse_data_key(settings.data_key)
    if path is None:
        raise DataKeyError("no data key configured")
    if source == "development":
        if settings.environment == "production":
            raise DataKeyError("SUNSHINE_DATA_KEY or SUNSHINE_DATA_KEY_FILE is not set: production needs a data key")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first
            else:
                with os.fdopen(fd, "w", encoding="ascii") as handle:
                    handle.write(new_data_key() + "\n")
    try:
        return parse_data_key(path.read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataKeyError(f"the data key file {path} cannot be read ({type(exc).__name__})") from None


class PersonalData:
    """Seal, open and hash personal data under one data key (make one per key, not per value)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DATA_INFO).derive(key))
        self._lookup = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LOOKUP_INFO).derive(key)
        #: Names the key without revealing it (backup manifests, rotation): never a secret.
        self.fingerprint = hmac.digest(self._lookup, b"sunshine-draw data key fingerprint", "sha256").hex()[:16]

    def lookup(self, national_id: str) -> str:
        """The keyed hash (64 hex) that finds and de-duplicates a national ID."""
        return hmac.digest(self._lookup, national_id.encode("ascii"), "sha256").hex()

    def seal(self, national_id: str, *, office_id: int, roc_year: int) -> str:
        """base64(nonce || AES-GCM(national ID)), bound to its office and year."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, national_id.encode("ascii"), _declarant_aad(office_id, roc_year))
        return base64.b64encode(nonce + sealed).decode("ascii")

    def seal_many(self, national_ids: list[str], *, office_id: int, roc_year: int) -> list[str]:
        """`seal` for a batch (one CSPRNG call for all the nonces)."""
        aad, encrypt, encode = _declarant_aad(office_id, roc_year), self._aead.encrypt, base64.b64encode
        nonces = os.urandom(12 * len(national_ids))
        return [
            encode(
                nonces[12 * i : 12 * i + 12] + encrypt(nonces[12 * i : 12 * i + 12], ident.encode("ascii"), aad)
            ).decode("ascii")
            for i, ident in enumerate(national_ids)
        ]

    def open(self, sealed: str | bytes | None, *, office_id: int, roc_year: int) -> str:
        """The national ID in a sealed value; `PersonalDataLost` when it cannot be opened."""
        try:
            raw = base64.b64decode(sealed or b"", validate=True)
            return self._aead.decrypt(raw[:12], raw[12:], _declarant_aad(office_id, roc_year)).decode("ascii")
        except (InvalidTag, ValueError, TypeError):
            raise PersonalDataLost("a national ID cannot be opened with this deployment's data key") from None

    def seal_blob(self, data: bytes, *, label: str) -> bytes:
        """nonce || AES-GCM(data) for a stored file (an upload's bytes), bound to `label`."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data, b"blob\n" + label.encode("utf-8"))

    def open_blob(self, sealed: bytes, *, label: str) -> bytes:
        """The bytes `seal_blob` sealed; `PersonalDataLost` when they cannot be opened."""
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], b"blob\n" + label.encode("utf-8"))
        except (InvalidTag, ValueError):
            raise PersonalDataLost("a stored file cannot be opened with this deployment's data key") from None


def _declarant_aad(office_id: int, roc_year: int) -> bytes:
    return f"declarant.national_id\n{office_id}\n{roc_year}".encode("ascii")


_personal: dict[bytes, PersonalData] = {}


def personal_data(settings: "Settings | None" = None) -> PersonalData:
    """The sealer for this deployment's data key (`settings`: default the current app's)."""
    if settings is None:
        from flask import current_app

        settings = current_app.extensions["sunshine_settings"]
    key = data_key(settings)
    sealer = _personal.get(key)
    if sealer is None:
        sealer = _personal[key] = PersonalData(key)
    return sealer


def national_id_of(declarant: "Declarant", settings: "Settings | None" = None) -> str:
    """THE accessor: a declarant's national ID in plain text, opened from its sealed column.

    Everything that shows, binds or exports a national ID reads it here (or `Declarant.national_id`,
    which calls this). Raises `PersonalDataLost` when the data key is not the one that sealed it.
    """
    return personal_data(settings).open(
        declarant.national_id_sealed, office_id=declarant.office_id, roc_year=declarant.roc_year
    )
