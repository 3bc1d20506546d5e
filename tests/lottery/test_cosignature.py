"""C2SP tlog-cosignature: key ids, the signed message, and cosignatures added to a checkpoint."""

import base64
import hashlib
import struct

import pytest

from lottery.checkpoint import Checkpoint, sign_checkpoint
from lottery.cosignature import (
    add_signature_lines,
    cosign,
    cosignatures,
    cosigned_message,
    generate_witness,
    parse_witness_private_key,
    parse_witness_vkey,
)
from lottery.errors import SignatureError
from lottery.signing import generate_signer, open_note, public_bytes

BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_the_signed_message_is_the_spec_example() -> None:
    assert cosigned_message(BODY, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_key_id_and_vkey_follow_the_spec() -> None:
    witness = generate_witness("witness.example.com/w1")
    raw = public_bytes(witness.private_key.public_key())
    expected = hashlib.sha256(b"witness.example.com/w1\n\x04" + raw).digest()[:4]
    assert witness.verifier.key_id == expected
    assert parse_witness_vkey(witness.verifier.vkey) == witness.verifier
    assert parse_witness_private_key(witness.private_key_string()).verifier == witness.verifier


def test_a_cosignature_carries_its_time_and_verifies() -> None:
    office = generate_signer("example.com/log")
    note = sign_checkpoint(office, Checkpoint("example.com/log", 3, bytes(32)))
    witness = generate_witness("witness.example.com/w1")
    line = cosign(witness, note[: note.index("\n\n") + 1], 1_700_000_000)
    blob = base64.b64decode(line.split(" ")[2])
    assert blob[:4] == witness.verifier.key_id and struct.unpack(">Q", blob[4:12]) == (1_700_000_000,)
    cosigned = add_signature_lines(note, [line])
    assert add_signature_lines(cosigned, [line]) == cosigned
    assert cosignatures(cosigned, [witness.verifier]) == {"witness.example.com/w1": 1_700_000_000}
    # the office's signature still opens, the witness's line is ignored by it
    open_note(cosigned, [office.verifier])


def test_a_forged_cosignature_is_refused_and_a_stranger_ignored() -> None:
    office = generate_signer("example.com/log")
    note = sign_checkpoint(office, Checkpoint("example.com/log", 3, bytes(32)))
    body = note[: note.index("\n\n") + 1]
    witness, stranger = generate_witness("w.example/a"), generate_witness("w.example/b")
    line = cosign(witness, body, 100)
    name, encoded = line.strip().split(" ")[1:]
    blob = bytearray(base64.b64decode(encoded))
    blob[11] ^= 1  # claim another time
    forged = f"— {name} {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(SignatureError, match="does not verify"):
        cosignatures(add_signature_lines(note, [forged]), [witness.verifier])
    assert cosignatures(add_signature_lines(note, [cosign(stranger, body, 5)]), [witness.verifier]) == {}


def test_other_key_types_are_not_witness_keys() -> None:
    office = generate_signer("example.com/log")
    with pytest.raises(SignatureError, match="0x04"):
        parse_witness_vkey(office.verifier.vkey)
