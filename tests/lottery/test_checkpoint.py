"""C2SP tlog-checkpoints (protocol §10): the body, signing it as a note, and opening it again."""

import base64
import hashlib

import pytest

from lottery.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint_body, sign_checkpoint
from lottery.errors import ProofError, SignatureError
from lottery.signing import Signer, generate_signer, sign_note

ROOT = hashlib.sha256(b"root").digest()


def test_body_is_origin_size_and_base64_root(signer: Signer) -> None:
    checkpoint = Checkpoint(signer.name, 42, ROOT)
    assert checkpoint.body() == f"{signer.name}\n42\n{base64.b64encode(ROOT).decode()}\n"
    assert parse_checkpoint_body(checkpoint.body()) == checkpoint


def test_signed_checkpoint_opens(signer: Signer) -> None:
    checkpoint = Checkpoint(signer.name, 7, ROOT)
    note = sign_checkpoint(signer, checkpoint)
    assert note.startswith(checkpoint.body() + "\n— " + signer.name + " ")
    assert open_checkpoint(note, [signer.verifier]) == checkpoint


def test_extension_lines_are_allowed(signer: Signer) -> None:
    body = Checkpoint(signer.name, 7, ROOT).body() + "extension line\n"
    assert open_checkpoint(sign_note(signer, body), [signer.verifier]) == Checkpoint(signer.name, 7, ROOT)


def test_a_checkpoint_is_signed_by_the_key_named_after_its_origin(signer: Signer) -> None:
    with pytest.raises(ProofError, match=r"^a checkpoint is signed by the key named after its origin$"):
        sign_checkpoint(signer, Checkpoint("other.example/log", 1, ROOT))


def test_a_checkpoint_signed_by_another_log_is_refused(signer: Signer) -> None:
    other = generate_signer("other.example/log")
    note = sign_note(other, Checkpoint(signer.name, 1, ROOT).body())
    with pytest.raises(ProofError, match=r"^checkpoint is not signed by its origin's key$"):
        open_checkpoint(note, [signer.verifier, other.verifier])


def test_a_checkpoint_signed_by_an_unknown_key_is_refused(signer: Signer) -> None:
    note = sign_checkpoint(signer, Checkpoint(signer.name, 1, ROOT))
    with pytest.raises(SignatureError, match=r"^note carries no signature from a known key$"):
        open_checkpoint(note, [generate_signer("someone.else").verifier])


def test_an_altered_checkpoint_is_refused(signer: Signer) -> None:
    note = sign_checkpoint(signer, Checkpoint(signer.name, 5, ROOT))
    with pytest.raises(SignatureError, match=f"^note signature by {signer.name} does not verify$"):
        open_checkpoint(note.replace("\n5\n", "\n6\n", 1), [signer.verifier])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("origin\n5\n", "checkpoint must be origin, size and root hash on their own lines"),
        ("origin\n5\n" + base64.b64encode(ROOT).decode(), "checkpoint must be origin, size and root hash"),
        ("\n5\n" + base64.b64encode(ROOT).decode() + "\n", "checkpoint origin or size is malformed"),
        ("origin\n05\n" + base64.b64encode(ROOT).decode() + "\n", "checkpoint origin or size is malformed"),
        ("origin\n-5\n" + base64.b64encode(ROOT).decode() + "\n", "checkpoint origin or size is malformed"),
        ("origin\n" + "9" * 21 + "\n" + base64.b64encode(ROOT).decode() + "\n", "checkpoint origin or size"),
        ("origin\n5\nnot base64!\n", "checkpoint root is not base64"),
        ("origin\n5\nrööt\n", "checkpoint root is not base64"),
        ("origin\n5\n" + base64.b64encode(ROOT[:31]).decode() + "\n", "checkpoint root is not a SHA-256 hash"),
    ],
)
def test_malformed_bodies_are_refused(body: str, message: str) -> None:
    with pytest.raises(ProofError, match=f"^{message}"):
        parse_checkpoint_body(body)


def test_size_zero_is_the_empty_log() -> None:
    empty = hashlib.sha256(b"").digest()
    assert parse_checkpoint_body(f"o\n0\n{base64.b64encode(empty).decode()}\n").size == 0
