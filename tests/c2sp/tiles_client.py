"""An independent reader of a C2SP `tlog-tiles` log, written from c2sp.org/tlog-tiles,
c2sp.org/tlog-checkpoint and c2sp.org/signed-note only (it imports nothing of this project).

Given GET access to `<prefix>/checkpoint` and `<prefix>/tile/...` and the log's verifier key, it
verifies the checkpoint's Ed25519 signature, then fetches every tile and entry bundle of the
checkpoint's tree and checks that

- each entry bundle's entries hash (RFC 6962: `SHA-256(0x00 || entry)`) to the level-0 tile,
- each hash of a level-L tile (L >= 1) is the Merkle Tree Hash of the full tile below it,
- the root rebuilt from the highest tiles (RFC 6962 §2.1, reading each complete aligned subtree
  of 256**L leaves from its tile) equals the checkpoint's root, and so does the root rebuilt from
  the entries alone.

Use: `python tests/c2sp/tiles_client.py https://host/log "<vkey>"`.
"""

import base64
import gzip
import hashlib
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

WIDTH = 256
Fetch = Callable[[str], bytes]


class LogRefused(Exception):
    """The log does not check out; the message says where."""


# --- RFC 6962 §2.1 -----------------------------------------------------------------------------


def rfc6962_leaf(entry: bytes) -> bytes:
    """SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def rfc6962_node(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes, by the RFC's recursion (k: largest power of two below n)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return rfc6962_node(mth(leaves[:k]), mth(leaves[k:]))


# --- signed note and checkpoint ----------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A verified checkpoint."""

    origin: str
    size: int
    root: bytes


def verify_checkpoint(note: bytes, vkey: str) -> Checkpoint:
    """Verify a signed note against `<name>+<hex key id>+<base64(0x01 || key)>` and parse it."""
    name, key_id_hex, key_b64 = vkey.strip().split("+", 2)
    raw = base64.b64decode(key_b64)
    if raw[:1] != b"\x01" or len(raw) != 33:
        raise LogRefused("the verifier key is not an Ed25519 key")
    key_id = bytes.fromhex(key_id_hex)
    if hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4] != key_id:
        raise LogRefused("the verifier key's id does not match its name and key")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    text_part, separator, signatures = note.decode("utf-8").rpartition("\n\n")
    if not separator:
        raise LogRefused("the checkpoint is not a signed note")
    text = text_part + "\n"
    good = False
    for line in signatures.rstrip("\n").split("\n"):
        if not line.startswith("\u2014 "):
            raise LogRefused(f"not a signature line: {line!r}")
        signer, _, blob_b64 = line[2:].rpartition(" ")
        blob = base64.b64decode(blob_b64)
        if signer == name and blob[:4] == key_id:
            try:
                public_key.verify(blob[4:], text.encode("utf-8"))
            except InvalidSignature:
                raise LogRefused("the checkpoint's signature does not verify") from None
            good = True
    if not good:
        raise LogRefused(f"the checkpoint carries no signature by {name}")
    lines = text.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    if origin != name:
        raise LogRefused(f"the checkpoint's origin {origin!r} is not the key's name {name!r}")
    return Checkpoint(origin, size, root)


# --- tiles ---------------------------------------------------------------------------------------


def index_path(n: int) -> str:
    """1234067 → x001/x234/067."""
    text = f"{n:03d}"
    text = "0" * (-len(text) % 3) + text
    groups = [text[i : i + 3] for i in range(0, len(text), 3)]
    return "/".join(["x" + g for g in groups[:-1]] + groups[-1:])


def tile_path(level: str, n: int, width: int) -> str:
    """`tile/<L>/<N>[.p/<W>]`."""
    return f"tile/{level}/{index_path(n)}" + ("" if width == WIDTH else f".p/{width}")


def split_bundle(data: bytes) -> list[bytes]:
    """Entries of a bundle: each after a big-endian uint16 length."""
    entries, offset = [], 0
    while offset < len(data):
        length = int.from_bytes(data[offset : offset + 2], "big")
        entries.append(data[offset + 2 : offset + 2 + length])
        if offset + 2 + length > len(data):
            raise LogRefused("an entry bundle is truncated")
        offset += 2 + length
    return entries


@dataclass
class TileReader:
    """Fetches the tiles of one tree size, keeps them, and answers hashes at any level."""

    fetch: Fetch
    size: int
    tiles: dict[tuple[str, int], list[bytes]] = field(default_factory=dict)

    def width(self, level: int, n: int) -> int:
        """The width of tile `n` at `level` in this tree (0: no such tile)."""
        count = self.size // WIDTH**level
        if (n + 1) * WIDTH <= count:
            return WIDTH
        return count % WIDTH if n == count // WIDTH else 0

    def tile(self, level: int, n: int) -> list[bytes]:
        """The hashes of a tile (fetched once)."""
        if (str(level), n) not in self.tiles:
            width = self.width(level, n)
            data = self.fetch(tile_path(str(level), n, width))
            if len(data) != 32 * width:
                raise LogRefused(f"{tile_path(str(level), n, width)} is {len(data)} bytes, not {32 * width}")
            self.tiles[(str(level), n)] = [data[i : i + 32] for i in range(0, len(data), 32)]
        return self.tiles[(str(level), n)]

    def entries(self, n: int) -> list[bytes]:
        """The entries of bundle `n`."""
        width = self.width(0, n)
        entries = split_bundle(self.fetch(tile_path("entries", n, width)))
        if len(entries) != width:
            raise LogRefused(f"entry bundle {n} holds {len(entries)} entries, not {width}")
        return entries

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) by RFC 6962's recursion, reading an aligned complete subtree of
        256**L leaves (L as high as it fits) from its tile instead of recursing into it."""
        n = end - start
        level = 0
        while WIDTH ** (level + 1) <= n and start % WIDTH ** (level + 1) == 0:
            level += 1
        if n == WIDTH**level:
            i = start // WIDTH**level
            return self.tile(level, i // WIDTH)[i % WIDTH]
        k = 1
        while k * 2 < n:
            k *= 2
        return rfc6962_node(self.subtree(start, start + k), self.subtree(start + k, end))


@dataclass(frozen=True)
class Report:
    """What was checked."""

    checkpoint: Checkpoint
    tiles: int
    bundles: int


def check_log(fetch: Fetch, vkey: str) -> Report:
    """Verify the checkpoint and every tile and bundle of its tree; refuse with the reason."""
    checkpoint = verify_checkpoint(fetch("checkpoint"), vkey)
    reader = TileReader(fetch, checkpoint.size)
    if checkpoint.size and reader.subtree(0, checkpoint.size) != checkpoint.root:
        raise LogRefused("the root rebuilt from the tiles is not the checkpoint's root")
    leaves: list[bytes] = []
    bundles = 0
    for n in range((checkpoint.size + WIDTH - 1) // WIDTH):
        hashes = [rfc6962_leaf(entry) for entry in reader.entries(n)]
        bundles += 1
        if hashes != reader.tile(0, n):
            raise LogRefused(f"entry bundle {n} does not hash to level-0 tile {n}")
        leaves += hashes
    if mth(leaves) != checkpoint.root:
        raise LogRefused("the root rebuilt from the entries is not the checkpoint's root")
    level = 1
    while WIDTH**level <= checkpoint.size:
        for n in range((checkpoint.size // WIDTH**level + WIDTH - 1) // WIDTH):
            for i, stored in enumerate(reader.tile(level, n)):
                if stored != mth(reader.tile(level - 1, n * WIDTH + i)):
                    raise LogRefused(f"hash {i} of level-{level} tile {n} is not its tile below")
        level += 1
    return Report(checkpoint, len(reader.tiles), bundles)


def http_fetch(prefix: str) -> Fetch:
    """GET `<prefix>/<path>` (gzip accepted), refusing anything but 200."""

    def fetch(path: str) -> bytes:
        request = urllib.request.Request(f"{prefix.rstrip('/')}/{path}", headers={"Accept-Encoding": "gzip, identity"})
        with urllib.request.urlopen(request, timeout=30) as response:
            data: bytes = response.read()
            return gzip.decompress(data) if response.headers.get("Content-Encoding") == "gzip" else data

    return fetch


def main(argv: list[str]) -> int:
    """`tiles_client.py PREFIX VKEY`: print what was checked, or why the log is refused."""
    if len(argv) != 3:
        print(__doc__)
        return 2
    try:
        report = check_log(http_fetch(argv[1]), argv[2])
    except LogRefused as exc:
        print(f"REFUSED: {exc}")
        return 1
    root = base64.b64encode(report.checkpoint.root).decode()
    print(f"OK {report.checkpoint.origin} size {report.checkpoint.size} root {root}")
    print(f"checked {report.tiles} hash tiles and {report.bundles} entry bundles")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
