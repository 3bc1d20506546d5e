"""Private keys at rest: an Ed25519 seed sealed with AES-256-GCM under an Argon2id key.

PKCS#8 `BestAvailableEncryption` derives its key with only 2,048 PBKDF2 rounds; a passphrase
guessed offline at that cost is cheap. Argon2id with 256 MiB of memory makes each guess cost
real memory and time. The vkey is bound in as associated data, so a file whose public half was
swapped does not open.
"""

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from lottery.errors import SignatureError
from lottery.signing import Signer, parse_vkey

FORMAT = "sunshine-draw/1 private key"
#: OWASP's first Argon2id choice is 46 MiB / t=1; a key opened a few times a year can afford more.
DEFAULT_COST = {"memory_kib": 262_144, "iterations": 3, "lanes": 4}
MIN_PASSPHRASE = 12


def _derive(passphrase: str, salt: bytes, cost: dict[str, int]) -> bytes:
    kdf = Argon2id(
        salt=salt,
        length=32,
        iterations=cost["iterations"],
        lanes=cost["lanes"],
        memory_cost=cost["memory_kib"],
    )
    return kdf.derive(passphrase.encode("utf-8"))


def seal_private_key(signer: Signer, passphrase: str, cost: dict[str, int] | None = None) -> bytes:
    """Encrypt `signer` under `passphrase`; returns the JSON key file's bytes."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise SignatureError(f"passphrase must be at least {MIN_PASSPHRASE} characters")
    cost = dict(cost or DEFAULT_COST)
    salt, nonce = os.urandom(16), os.urandom(12)
    vkey = signer.verifier.vkey
    seed = signer.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    sealed = AESGCM(_derive(passphrase, salt, cost)).encrypt(nonce, seed, vkey.encode("utf-8"))
    document = {
        "format": FORMAT,
        "vkey": vkey,
        "kdf": {"name": "argon2id", "salt": _b64(salt), **cost},
        "cipher": {"name": "aes-256-gcm", "nonce": _b64(nonce), "ciphertext": _b64(sealed)},
    }
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def open_private_key(data: bytes, passphrase: str) -> Signer:
    """Decrypt a key file written by `seal_private_key`; refuse a wrong passphrase plainly."""
    try:
        document: Any = json.loads(data)
        if document["format"] != FORMAT or document["kdf"]["name"] != "argon2id":
            raise SignatureError("not a Sunshine Draw private key file")
        verifier = parse_vkey(document["vkey"])
        kdf = document["kdf"]
        cost = {name: int(kdf[name]) for name in DEFAULT_COST}
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(document["cipher"]["nonce"], validate=True)
        sealed = base64.b64decode(document["cipher"]["ciphertext"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise SignatureError("private key file is damaged or not a Sunshine Draw key") from None
    try:
        seed = AESGCM(_derive(passphrase, salt, cost)).decrypt(nonce, sealed, document["vkey"].encode("utf-8"))
        private_key = Ed25519PrivateKey.from_private_bytes(seed)
    except InvalidTag:
        raise SignatureError("wrong passphrase for the private key (or the file was altered)") from None
    except ValueError:
        # Argon2 cost, salt or nonce out of range: cryptography refuses them with ValueError.
        raise SignatureError("private key file is damaged or not a Sunshine Draw key") from None
    signer = Signer(verifier.name, private_key)
    if signer.verifier.key_id != verifier.key_id:
        raise SignatureError("private key does not match its verifier key")
    return signer


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
