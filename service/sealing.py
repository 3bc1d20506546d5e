"""The draw secret, sealed until the live reveal.

The 32-byte secret comes from the operating system's CSPRNG. It is stored only sealed with
AES-256-GCM under a key derived (HKDF-SHA256) from the deployment's SECRET_KEY, with the draw id
and commitment as associated data, so a sealed secret cannot be moved to another draw and a
database dump alone does not reveal it. It survives restarts because the key is derived anew.
"""

import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lottery.draw import commitment

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
