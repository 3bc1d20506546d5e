"""Private keys at rest: sealed with AES-256-GCM under an Argon2id key, refused plainly when wrong."""

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from lottery.errors import SignatureError
from lottery.keyfile import DEFAULT_COST, FORMAT, open_private_key, seal_private_key
from lottery.signing import Signer, generate_signer, sign_document, verify_document

CHEAP = {"memory_kib": 8192, "iterations": 1, "lanes": 1}
PASSPHRASE = "correct horse battery staple"
WRONG = "^wrong passphrase for the private key \\(or the file was altered\\)$"
DAMAGED = "^private key file is damaged or not a Sunshine Draw key$"


@pytest.fixture
def sealed(signer: Signer) -> bytes:
    """The signer's key file, sealed at a cost tests can afford."""
    return seal_private_key(signer, PASSPHRASE, CHEAP)


def test_round_trip(signer: Signer, sealed: bytes) -> None:
    opened = open_private_key(sealed, PASSPHRASE)
    assert opened.name == signer.name
    assert opened.verifier.vkey == signer.verifier.vkey
    verify_document(signer.verifier, b"data", sign_document(opened, b"data"))


def test_the_file_names_its_format_and_holds_no_plain_key(signer: Signer, sealed: bytes) -> None:
    document = json.loads(sealed)
    assert document["format"] == FORMAT
    assert document["vkey"] == signer.verifier.vkey
    assert document["kdf"] == {"name": "argon2id", "salt": document["kdf"]["salt"], **CHEAP}
    assert len(base64.b64decode(document["kdf"]["salt"])) == 16
    assert document["cipher"]["name"] == "aes-256-gcm"
    seed = signer.private_key.private_bytes_raw()
    assert seed not in sealed and base64.b64encode(seed) not in sealed
    assert len(base64.b64decode(document["cipher"]["ciphertext"])) == 32 + 16


def test_each_seal_uses_a_fresh_salt_and_nonce(signer: Signer) -> None:
    first = json.loads(seal_private_key(signer, PASSPHRASE, CHEAP))
    second = json.loads(seal_private_key(signer, PASSPHRASE, CHEAP))
    assert first["kdf"]["salt"] != second["kdf"]["salt"]
    assert first["cipher"]["nonce"] != second["cipher"]["nonce"]


def test_the_default_cost_is_recorded_in_the_file() -> None:
    assert DEFAULT_COST == {"memory_kib": 262_144, "iterations": 3, "lanes": 4}


def test_wrong_passphrase_is_refused(sealed: bytes) -> None:
    with pytest.raises(SignatureError, match=WRONG):
        open_private_key(sealed, PASSPHRASE + "!")


@pytest.mark.parametrize("passphrase", ["", "short", "x" * 11])
def test_short_passphrase_is_refused(signer: Signer, passphrase: str) -> None:
    with pytest.raises(SignatureError, match=r"^passphrase must be at least 12 characters$"):
        seal_private_key(signer, passphrase, CHEAP)


def _edit(change: Callable[[dict[str, Any]], object]) -> Callable[[bytes], bytes]:
    def apply(sealed: bytes) -> bytes:
        document = json.loads(sealed)
        change(document)
        return json.dumps(document).encode()

    return apply


def _flip_ciphertext(document: dict[str, Any]) -> None:
    raw = bytearray(base64.b64decode(document["cipher"]["ciphertext"]))
    raw[0] ^= 1
    document["cipher"]["ciphertext"] = base64.b64encode(raw).decode()


OTHER_VKEY = generate_signer("ethics.example.gov.tw/draws").verifier.vkey
DAMAGES: list[tuple[str, Callable[[bytes], bytes], str]] = [
    ("not-json", lambda sealed: sealed[:-10], DAMAGED),
    ("empty", lambda sealed: b"", DAMAGED),
    ("json-list", lambda sealed: b"[]", DAMAGED),
    ("other-format", _edit(lambda d: d.update(format="PKCS#8")), DAMAGED),
    ("other-kdf", _edit(lambda d: d["kdf"].update(name="pbkdf2")), DAMAGED),
    ("no-cipher", _edit(lambda d: d.pop("cipher")), DAMAGED),
    ("salt-not-base64", _edit(lambda d: d["kdf"].update(salt="!!!!")), DAMAGED),
    ("nonce-not-base64", _edit(lambda d: d["cipher"].update(nonce="é")), DAMAGED),
    ("cost-text", _edit(lambda d: d["kdf"].update(iterations="many")), DAMAGED),
    ("vkey-damaged", _edit(lambda d: d.update(vkey=d["vkey"][:-2])), DAMAGED),
    ("iterations-zero", _edit(lambda d: d["kdf"].update(iterations=0)), DAMAGED),
    ("lanes-zero", _edit(lambda d: d["kdf"].update(lanes=0)), DAMAGED),
    ("salt-short", _edit(lambda d: d["kdf"].update(salt="AAAA")), DAMAGED),
    ("nonce-short", _edit(lambda d: d["cipher"].update(nonce="AAAA")), DAMAGED),
    ("ciphertext-flipped", _edit(_flip_ciphertext), WRONG),
    ("ciphertext-short", _edit(lambda d: d["cipher"].update(ciphertext="AAAA")), WRONG),
    ("nonce-other", _edit(lambda d: d["cipher"].update(nonce="A" * 16)), WRONG),
    ("salt-other", _edit(lambda d: d["kdf"].update(salt="A" * 24)), WRONG),
    ("vkey-swapped", _edit(lambda d: d.update(vkey=OTHER_VKEY)), WRONG),
]


@pytest.mark.parametrize(("damage", "message"), [d[1:] for d in DAMAGES], ids=[d[0] for d in DAMAGES])
def test_a_damaged_file_is_refused_plainly(sealed: bytes, damage: Callable[[bytes], bytes], message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        open_private_key(damage(sealed), PASSPHRASE)
