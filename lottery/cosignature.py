"""C2SP `tlog-cosignature`: a witness's timestamped Ed25519 cosignature on a checkpoint.

A cosignature is one more signed-note signature line, by the witness's key:

    — <witness name> base64(key id || u64 timestamp || Ed25519 signature)

with `key id = sha256(name || "\\n" || 0x04 || public key)[:4]` and the signature made over

    cosignature/v1\\n
    time <timestamp>\\n
    <the whole checkpoint body, with its final newline>

Witness keys are vkeys with signature type 0x04 (`<name>+<key id>+<base64(0x04 || key)>`); their
private halves are `PRIVATE+KEY+<name>+<key id>+<base64(0x04 || seed)>` strings, as Go's tools
spell office keys (type 0x01).
"""

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from lottery.errors import SignatureError
from lottery.signing import MAX_NOTE_SIGNATURES, SIGNATURE_PREFIX, check_name, public_bytes

ALGORITHM_COSIGNATURE = b"\x04"
#: The largest timestamp a cosignature may carry (the spec's 2^63 - 1).
MAX_TIMESTAMP = 2**63 - 1


def cosigner_key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """`sha256(name || "\\n" || 0x04 || public key)[:4]`."""
    material = name.encode("utf-8") + b"\n" + ALGORITHM_COSIGNATURE + public_bytes(public_key)
    return hashlib.sha256(material).digest()[:4]


def cosigned_message(body: str, timestamp: int) -> bytes:
    """The bytes a witness signs: the `cosignature/v1` header, the time line and the body."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise SignatureError("cosignature timestamp is out of range")
    if not body.endswith("\n"):
        raise SignatureError("a checkpoint body ends with a newline")
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class WitnessVerifier:
    """A witness's public key and name (a vkey of type 0x04)."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @property
    def vkey(self) -> str:
        """`<name>+<key id>+<base64(0x04 || key)>`."""
        encoded = base64.b64encode(ALGORITHM_COSIGNATURE + public_bytes(self.public_key)).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def check(self, body: str, timestamp: int, signature: bytes) -> bool:
        """True when `signature` is this witness's cosignature of `body` at `timestamp`."""
        try:
            self.public_key.verify(signature, cosigned_message(body, timestamp))
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class WitnessSigner:
    """A witness's private key with the name it cosigns as."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def verifier(self) -> WitnessVerifier:
        """The matching public key."""
        public = self.private_key.public_key()
        return WitnessVerifier(self.name, cosigner_key_id(self.name, public), public)

    def private_key_string(self) -> str:
        """`PRIVATE+KEY+<name>+<key id>+<base64(0x04 || seed)>`."""
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        encoded = base64.b64encode(ALGORITHM_COSIGNATURE + seed).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{encoded}"


def generate_witness(name: str) -> WitnessSigner:
    """A new witness key (from the operating system's CSPRNG) that cosigns as `name`."""
    return WitnessSigner(check_name(name), Ed25519PrivateKey.generate())


def parse_witness_vkey(text: str) -> WitnessVerifier:
    """Parse a witness vkey; refuse another key type or a key id that does not match."""
    name, claimed_id, raw = _split_key(text.strip(), 3, "a witness key must be <name>+<key id>+<base64 key>")
    public = Ed25519PublicKey.from_public_bytes(raw)
    verifier = WitnessVerifier(name, cosigner_key_id(name, public), public)
    if verifier.key_id != claimed_id:
        raise SignatureError("witness key id does not match its name and key")
    return verifier


def parse_witness_private_key(text: str) -> WitnessSigner:
    """Parse a `PRIVATE+KEY+…` witness key string."""
    text = text.strip()
    if not text.startswith("PRIVATE+KEY+"):
        raise SignatureError("a witness private key must be PRIVATE+KEY+<name>+<key id>+<base64 key>")
    name, claimed_id, raw = _split_key(text[len("PRIVATE+KEY+") :], 3, "malformed witness private key")
    signer = WitnessSigner(name, Ed25519PrivateKey.from_private_bytes(raw))
    if signer.verifier.key_id != claimed_id:
        raise SignatureError("witness private key id does not match its name and key")
    return signer


def _split_key(text: str, parts: int, message: str) -> tuple[str, bytes, bytes]:
    fields = text.split("+", parts - 1)
    if len(fields) != parts:
        raise SignatureError(message)
    name, hex_id, encoded = fields
    check_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
        claimed_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raise SignatureError("witness key is not valid hex and base64") from None
    if len(raw) != 33 or raw[:1] != ALGORITHM_COSIGNATURE or len(claimed_id) != 4:
        raise SignatureError("not an Ed25519 cosignature key (type 0x04, 32 bytes)")
    return name, claimed_id, raw[1:]


def cosign(signer: WitnessSigner, body: str, timestamp: int) -> str:
    """The cosignature line (with its newline) of `signer` on checkpoint `body` at `timestamp`."""
    signature = signer.private_key.sign(cosigned_message(body, timestamp))
    blob = signer.verifier.key_id + struct.pack(">Q", timestamp) + signature
    return f"{SIGNATURE_PREFIX}{signer.name} {base64.b64encode(blob).decode('ascii')}\n"


def add_signature_lines(note: str, lines: list[str]) -> str:
    """`note` with these signature lines appended, skipping any it already carries."""
    present = set(note.split("\n"))
    extra = [line for line in lines if line.rstrip("\n") not in present]
    return note + "".join(line if line.endswith("\n") else line + "\n" for line in extra)


def note_parts(note: str) -> tuple[str, list[str]]:
    """A signed note's body (with its final newline) and its signature lines (without newlines)."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise SignatureError("note must be text, a blank line, and signature lines")
    lines = note[split + 2 :].split("\n")[:-1]
    if not lines or len(lines) > MAX_NOTE_SIGNATURES:
        raise SignatureError("note has no signature lines, or too many")
    return note[: split + 1], lines


def cosignatures(note: str, witnesses: list[WitnessVerifier]) -> dict[str, int]:
    """Every known witness's cosignature on `note`: witness name → timestamp.

    Lines by other keys (the office's own signature among them) are ignored; a known witness's
    line that does not verify is refused with `SignatureError`.
    """
    body, lines = note_parts(note)
    found: dict[str, int] = {}
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX) or line.count(" ") != 2:
            raise SignatureError("malformed note signature line")
        name, encoded = line[len(SIGNATURE_PREFIX) :].split(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise SignatureError("note signature is not valid base64") from None
        for witness in witnesses:
            if witness.name != name or blob[:4] != witness.key_id:
                continue
            if len(blob) != 4 + 8 + 64:
                raise SignatureError(f"cosignature by {name} is not 76 bytes")
            (timestamp,) = struct.unpack(">Q", blob[4:12])
            if timestamp > MAX_TIMESTAMP or not witness.check(body, timestamp, blob[12:]):
                raise SignatureError(f"cosignature by {name} does not verify")
            found[name] = timestamp
    return found
