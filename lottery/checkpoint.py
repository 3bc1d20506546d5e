"""C2SP `tlog-checkpoint` bodies: `<origin>\\n<size>\\n<base64 root>\\n`, signed as a note."""

import base64
import re
from dataclasses import dataclass

from lottery.errors import ProofError
from lottery.signing import Signer, Verifier, open_note, sign_note

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True)
class Checkpoint:
    """A log's origin, size and root hash."""

    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        """The checkpoint text that gets signed."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode('ascii')}\n"


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse checkpoint text (extension lines after the root are allowed and ignored)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise ProofError("checkpoint must be origin, size and root hash on their own lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if not origin or not _SIZE.fullmatch(size):
        raise ProofError("checkpoint origin or size is malformed")
    try:
        root_bytes = base64.b64decode(root, validate=True)
    except ValueError:  # binascii.Error, or a character outside ASCII
        raise ProofError("checkpoint root is not base64") from None
    if len(root_bytes) != 32:
        raise ProofError("checkpoint root is not a SHA-256 hash")
    return Checkpoint(origin, int(size), root_bytes)


def sign_checkpoint(signer: Signer, checkpoint: Checkpoint) -> str:
    """The signed note for `checkpoint` (its origin must be the signer's name)."""
    if checkpoint.origin != signer.name:
        raise ProofError("a checkpoint is signed by the key named after its origin")
    return sign_note(signer, checkpoint.body())


def open_checkpoint(note: str, verifiers: list[Verifier]) -> Checkpoint:
    """Verify a signed checkpoint note against `verifiers` and parse it."""
    text, signed_by = open_note(note, verifiers)
    checkpoint = parse_checkpoint_body(text)
    if all(verifier.name != checkpoint.origin for verifier in signed_by):
        raise ProofError("checkpoint is not signed by its origin's key")
    return checkpoint
