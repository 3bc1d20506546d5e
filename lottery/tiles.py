"""C2SP `tlog-tiles`: the log's Merkle tree as 256-wide hash tiles and its entries as bundles.

A tile at level `L` with index `N` holds, for `i` from 0 to `W - 1` (W = 256 when full),
`MTH(D[(N * 256 + i) * 256**L : (N * 256 + i + 1) * 256**L])`: at level 0 the leaf hashes, at
level 1 and above the roots of the complete subtrees of `256**L` leaves. A tile is at
`tile/<L>/<N>[.p/<W>]` and the entries it covers at `tile/entries/<N>[.p/<W>]`, with `N` in
zero-padded 3-digit path elements, all but the last starting with `x` (1234067 is
`x001/x234/067`). An entry bundle is the entries, each after its length as a big-endian uint16.
Only partial tiles carry `.p/<W>`; an empty tile does not exist.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lottery.errors import ProofError
from lottery.merkle import tree_hash

#: Tile height: 8 levels of the tree, 256 hashes in a full tile.
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
HASH_SIZE = 32
#: The highest level a tile path may name.
MAX_LEVEL = 63
#: The largest entry an entry bundle can hold (its length is a uint16).
MAX_BUNDLE_ENTRY = 0xFFFF
#: `<L>` of an entry bundle's tile (Go's `golang.org/x/mod/sumdb/tlog` says -1 for data tiles).
ENTRIES = -1
#: No tile path is longer than this (an index below 2**64 needs 7 elements).
MAX_PATH_LENGTH = 64

_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_ELEMENT = re.compile(r"[0-9]{3}")


class TileError(ProofError):
    """A tile path, tile or entry bundle is malformed."""


@dataclass(frozen=True)
class Tile:
    """One tile: its level (`ENTRIES` for an entry bundle), index and width (256 when full)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    @property
    def full(self) -> bool:
        """True for a full (256-wide) tile."""
        return self.width == TILE_WIDTH

    @property
    def span(self) -> int:
        """How many leaves one hash of this tile covers (`256**L`; 1 for entries)."""
        return 1 if self.level == ENTRIES else TILE_WIDTH**self.level

    @property
    def start(self) -> int:
        """The first leaf this tile covers (its start index)."""
        return self.index * TILE_WIDTH * self.span

    @property
    def end(self) -> int:
        """One past the last leaf this tile covers, as wide as it is."""
        return self.start + self.width * self.span

    def path(self) -> str:
        """`tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, relative to the log's prefix."""
        level = "entries" if self.level == ENTRIES else str(self.level)
        suffix = "" if self.full else f".p/{self.width}"
        return f"tile/{level}/{format_index(self.index)}{suffix}"


def format_index(index: int) -> str:
    """`1234067` → `x001/x234/067`."""
    if index < 0:
        raise TileError("a tile index is never negative")
    groups: list[str] = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def parse_index(text: str) -> int:
    """`x001/x234/067` → `1234067`; refuse any other spelling (so each tile has one path)."""
    elements = text.split("/")
    index = 0
    for position, element in enumerate(elements):
        last = position == len(elements) - 1
        digits = element if last else element.removeprefix("x")
        if (not last and not element.startswith("x")) or not _ELEMENT.fullmatch(digits):
            raise TileError(f"{text!r} is not a tile index (3-digit elements, all but the last after an x)")
        if position == 0 and not last and digits == "000":
            raise TileError(f"{text!r} has a leading x000 element")
        index = index * 1000 + int(digits)
    return index


def parse_tile_path(path: str) -> Tile:
    """Parse `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]` (a leading `tile/` is optional)."""
    if len(path) > MAX_PATH_LENGTH or not path.isascii():
        raise TileError("not a tile path")
    rest = path.removeprefix("tile/")
    level_text, _, rest = rest.partition("/")
    if level_text == "entries":
        level = ENTRIES
    elif _LEVEL.fullmatch(level_text) and int(level_text) <= MAX_LEVEL:
        level = int(level_text)
    else:
        raise TileError(f"{level_text!r} is not a tile level (0 to {MAX_LEVEL}, or entries)")
    width = TILE_WIDTH
    if ".p/" in rest:
        rest, _, width_text = rest.partition(".p/")
        if not _WIDTH.fullmatch(width_text) or int(width_text) >= TILE_WIDTH:
            raise TileError(f"{width_text!r} is not a partial tile width (1 to {TILE_WIDTH - 1})")
        width = int(width_text)
    return Tile(level, parse_index(rest), width)


def in_tree(tile: Tile, size: int) -> bool:
    """True when the tree of `size` leaves has this tile (full, or partial of exactly this width
    or narrower: a narrower partial tile is the same tile of an earlier, smaller tree)."""
    return 1 <= tile.width <= TILE_WIDTH and tile.end <= size


def tiles_for_size(size: int) -> list[Tile]:
    """Every tile and entry bundle of the tree of `size` leaves: the full ones and the partial one
    at each level that has one (the set a static copy of the log needs)."""
    tiles: list[Tile] = []
    level = 0
    while TILE_WIDTH**level <= size:
        span = TILE_WIDTH**level
        count = size // span  # hashes at this level
        for index in range(count // TILE_WIDTH):
            tiles.append(Tile(level, index))
            if level == 0:
                tiles.append(Tile(ENTRIES, index))
        if count % TILE_WIDTH:
            tiles.append(Tile(level, count // TILE_WIDTH, count % TILE_WIDTH))
            if level == 0:
                tiles.append(Tile(ENTRIES, count // TILE_WIDTH, count % TILE_WIDTH))
        level += 1
    return tiles


def hash_tile(tile: Tile, leaves: Sequence[bytes]) -> bytes:
    """The tile's bytes from the leaf hashes it covers (`leaves[0]` is leaf `tile.start`)."""
    if tile.level == ENTRIES:
        raise TileError("an entry bundle is made of entries, not hashes")
    if len(leaves) != tile.end - tile.start:
        raise TileError(f"tile {tile.path()} covers {tile.end - tile.start} leaves, not {len(leaves)}")
    span = tile.span
    return b"".join(tree_hash(leaves[i : i + span]) for i in range(0, len(leaves), span))


def split_tile(data: bytes) -> list[bytes]:
    """The hashes of a tile's bytes (1 to 256 of 32 bytes each)."""
    if not data or len(data) % HASH_SIZE or len(data) > TILE_WIDTH * HASH_SIZE:
        raise TileError("a tile is 1 to 256 hashes of 32 bytes")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """Each entry after its length as a big-endian uint16; refuse entries over 65,535 bytes."""
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise TileError("an entry bundle holds 1 to 256 entries")
    parts: list[bytes] = []
    for entry in entries:
        if len(entry) > MAX_BUNDLE_ENTRY:
            raise TileError(f"an entry of {len(entry)} bytes does not fit an entry bundle (at most 65,535)")
        parts += [len(entry).to_bytes(2, "big"), entry]
    return b"".join(parts)


def decode_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle; refuse a truncated one or one of more than 256 entries."""
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise TileError("entry bundle ends inside a length prefix")
        length = int.from_bytes(data[offset : offset + 2], "big")
        offset += 2
        if offset + length > len(data):
            raise TileError("entry bundle ends inside an entry")
        entries.append(data[offset : offset + length])
        offset += length
        if len(entries) > TILE_WIDTH:
            raise TileError("an entry bundle holds at most 256 entries")
    return entries
