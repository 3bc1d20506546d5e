"""Office keys, detached signatures and C2SP signed notes (protocol §9–§10).

A verifier key ("vkey") is `<name>+<key id>+<base64(0x01 || public key)>` with
`key id = sha256(name || "\\n" || 0x01 || public key)[0:4]`, as in Go's `golang.org/x/mod/sumdb/note`.
"""

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from lottery.errors import SignatureError

ALGORITHM_ED25519 = b"\x01"
#: A signed note's signature lines start with an em dash and a space.
SIGNATURE_PREFIX = "\u2014 "
MAX_NOTE_SIGNATURES = 100
_NAME = re.compile(r"[^\s+]+")


@dataclass(frozen=True)
class Verifier:
    """A parsed vkey: who signs, the 4-byte key id and the Ed25519 public key."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @property
    def vkey(self) -> str:
        """The vkey string of this verifier."""
        return make_vkey(self.name, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when `signature` is this key's Ed25519 signature over `message`."""
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A private key with the name (log origin) it signs as."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        """The matching public verifier."""
        public = self.private_key.public_key()
        return Verifier(self.name, key_id(self.name, public), public)


def check_name(name: str) -> str:
    """Return `name` if it can name a key (non-empty, no spaces, no `+`), else refuse."""
    if not _NAME.fullmatch(name):
        raise SignatureError(f"key name {name!r} must be non-empty with no spaces and no '+'")
    return name


def public_bytes(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte key id of protocol §9."""
    material = name.encode("utf-8") + b"\n" + ALGORITHM_ED25519 + public_bytes(public_key)
    return hashlib.sha256(material).digest()[:4]


def make_vkey(name: str, public_key: Ed25519PublicKey) -> str:
    """Format the vkey string for `name` and `public_key`."""
    check_name(name)
    encoded = base64.b64encode(ALGORITHM_ED25519 + public_bytes(public_key)).decode("ascii")
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def parse_vkey(text: str) -> Verifier:
    """Parse and check a vkey string; refuse a malformed one or a key id that does not match."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise SignatureError("a verifier key must be <name>+<key id>+<base64 key>")
    name, hex_id, encoded = parts
    check_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
        claimed_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raise SignatureError("verifier key is not valid hex and base64") from None
    if len(raw) != 33 or raw[:1] != ALGORITHM_ED25519 or len(claimed_id) != 4:
        raise SignatureError("verifier key is not an Ed25519 key (algorithm 0x01, 32 bytes)")
    public = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, public) != claimed_id:
        raise SignatureError("verifier key id does not match its name and key")
    return Verifier(name, claimed_id, public)


def parse_private_key_string(text: str) -> Signer:
    """Parse a Go-style `PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>` string (tests, imports)."""
    parts = text.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise SignatureError("a private key string must be PRIVATE+KEY+<name>+<id>+<base64 key>")
    name = check_name(parts[2])
    try:
        raw = base64.b64decode(parts[4], validate=True)
    except ValueError:  # binascii.Error, or a character outside ASCII
        raise SignatureError("private key is not valid base64") from None
    if len(raw) != 33 or raw[:1] != ALGORITHM_ED25519:
        raise SignatureError("private key is not an Ed25519 key")
    signer = Signer(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if signer.verifier.key_id.hex() != parts[3]:
        raise SignatureError("private key id does not match its name and key")
    return signer


def generate_signer(name: str) -> Signer:
    """A new Ed25519 key (from the operating system's CSPRNG) that signs as `name`."""
    return Signer(check_name(name), Ed25519PrivateKey.generate())


def sign_document(signer: Signer, data: bytes) -> bytes:
    """The `.sig` file for `data`: base64 of the 64-byte Ed25519 signature, then a newline."""
    return base64.b64encode(signer.private_key.sign(data)) + b"\n"


def verify_document(verifier: Verifier, data: bytes, signature_file: bytes) -> None:
    """Refuse unless `signature_file` holds `verifier`'s signature over exactly `data`."""
    text = signature_file.decode("ascii", "replace")
    if not text.endswith("\n") or text.count("\n") != 1:
        raise SignatureError("signature file must be one base64 line ending with a newline")
    signature = _decode_base64(text.strip(), "signature file")
    if len(signature) != 64:
        raise SignatureError("signature is not 64 bytes")
    if not verifier.verify(data, signature):
        raise SignatureError(f"signature does not verify with key {verifier.name}+{verifier.key_id.hex()}")


def sign_note(signer: Signer, text: str) -> str:
    """Sign `text` (which must end with a newline) as a C2SP signed note."""
    if not text.endswith("\n") or "\n\n" in text:
        raise SignatureError("note text must end with a newline and contain no blank line")
    signature = signer.private_key.sign(text.encode("utf-8"))
    encoded = base64.b64encode(signer.verifier.key_id + signature).decode("ascii")
    return f"{text}\n{SIGNATURE_PREFIX}{signer.name} {encoded}\n"


def open_note(note: str, verifiers: list[Verifier]) -> tuple[str, list[Verifier]]:
    """Check a signed note; return its text and the known verifiers whose signatures hold.

    Signatures by unknown keys are ignored; a known key's bad signature, a malformed note or no
    verified signature at all is refused with `SignatureError`.
    """
    if len(note) > 1_000_000:
        raise SignatureError("note is too large")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise SignatureError("note must be text, a blank line, and signature lines")
    text, signature_block = note[: split + 1], note[split + 2 :]
    lines = signature_block.split("\n")[:-1]
    if not lines or len(lines) > MAX_NOTE_SIGNATURES:
        raise SignatureError("note has no signature lines, or too many")
    verified: list[Verifier] = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX) or line.count(" ") != 2:
            raise SignatureError("malformed note signature line")
        name, encoded = line[len(SIGNATURE_PREFIX) :].split(" ")
        blob = _decode_base64(encoded, "note signature")
        if len(blob) < 5:
            raise SignatureError("note signature is too short")
        for verifier in verifiers:
            if verifier.name == name and verifier.key_id == blob[:4]:
                if not verifier.verify(text.encode("utf-8"), blob[4:]):
                    raise SignatureError(f"note signature by {name} does not verify")
                verified.append(verifier)
    if not verified:
        raise SignatureError("note carries no signature from a known key")
    return text, verified


def _decode_base64(text: str, what: str) -> bytes:
    """Decode standard base64, refusing any other spelling of the same bytes.

    `b64decode` ignores the unused low bits of the last character, so without the re-encoding
    check several different signature files (or signed notes) would verify as the same one.
    """
    try:
        data = base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or a character outside ASCII
        raise SignatureError(f"{what} is not valid base64") from None
    if base64.b64encode(data).decode("ascii") != text:
        raise SignatureError(f"{what} is not canonical base64")
    return data


def load_vkey(value: str) -> Verifier:
    """Read a vkey given either as the string itself or as a path to a file holding it."""
    path = Path(value)
    if "+" not in value or path.is_file():
        try:
            value = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SignatureError(f"cannot read key file {value}: {exc.strerror}") from None
    return parse_vkey(value)
