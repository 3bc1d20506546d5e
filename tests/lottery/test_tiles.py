"""C2SP tlog-tiles: paths, which tiles a tree has, tile hashes and entry bundles."""

import pytest

from lottery.merkle import leaf_hash, tree_hash
from lottery.tiles import (
    ENTRIES,
    Tile,
    TileError,
    decode_bundle,
    encode_bundle,
    format_index,
    hash_tile,
    in_tree,
    parse_index,
    parse_tile_path,
    split_tile,
    tiles_for_size,
)


def test_index_paths_follow_the_spec_example() -> None:
    assert format_index(1234067) == "x001/x234/067"
    assert format_index(0) == "000"
    assert format_index(1000) == "x001/000"
    for index in (0, 7, 999, 1000, 1234067, 2**40):
        assert parse_index(format_index(index)) == index


@pytest.mark.parametrize(
    "text", ["", "1", "01", "0001", "x001", "001/067", "x000/067", "x01/067", "067/", "x001/x234/067/", "x1a3/000"]
)
def test_index_paths_are_spelled_one_way(text: str) -> None:
    with pytest.raises(TileError):
        parse_index(text)


def test_tile_paths_round_trip() -> None:
    for tile in (Tile(0, 0), Tile(1, 4, 17), Tile(ENTRIES, 1234067, 255), Tile(63, 0, 1)):
        assert parse_tile_path(tile.path()) == tile
    assert Tile(0, 1234067).path() == "tile/0/x001/x234/067"
    assert Tile(ENTRIES, 2, 5).path() == "tile/entries/002.p/5"
    assert parse_tile_path("2/000.p/1") == Tile(2, 0, 1)


@pytest.mark.parametrize(
    "path",
    ["tile/64/000", "tile/01/000", "tile/-1/000", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/07",
     "tile/0/000.p/", "tile/data/000", "tile/0/", "tile/0/000.p/1/2", "tile/１/000", "tile/0/" + "x999/" * 20 + "000"],
)  # fmt: skip
def test_malformed_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(TileError):
        parse_tile_path(path)


def test_the_tiles_of_the_spec_examples() -> None:
    tiles = tiles_for_size(70_000)
    hashes = [t for t in tiles if t.level != ENTRIES]
    assert sum(1 for t in hashes if t.level == 0 and t.full) == 273
    assert [t for t in hashes if not t.full] == [Tile(0, 273, 112), Tile(1, 1, 17), Tile(2, 0, 1)]
    assert [t for t in hashes if t.level == 1 and t.full] == [Tile(1, 0)]
    assert [t for t in tiles if t.level == ENTRIES][-1] == Tile(ENTRIES, 273, 112)
    assert tiles_for_size(256) == [Tile(0, 0), Tile(ENTRIES, 0), Tile(1, 0, 1)]
    assert tiles_for_size(0) == []
    assert all(in_tree(t, 70_000) for t in tiles)
    assert not in_tree(Tile(0, 273), 70_000) and in_tree(Tile(0, 273, 100), 70_000)
    assert not in_tree(Tile(2, 0, 2), 70_000) and not in_tree(Tile(3, 0, 1), 70_000)


def test_hash_tiles_hold_subtree_roots() -> None:
    leaves = [leaf_hash(str(i).encode()) for i in range(300)]
    assert hash_tile(Tile(0, 1, 44), leaves[256:300]) == b"".join(leaves[256:300])
    assert hash_tile(Tile(1, 0, 1), leaves[:256]) == tree_hash(leaves[:256])
    level0 = split_tile(hash_tile(Tile(0, 0), leaves[:256]))
    assert tree_hash(level0) == tree_hash(leaves[:256])
    with pytest.raises(TileError):
        hash_tile(Tile(1, 0, 1), leaves[:255])
    with pytest.raises(TileError):
        split_tile(b"\x00" * 33)


def test_entry_bundles() -> None:
    entries = [b"", b"a", b"x" * 65_535]
    data = encode_bundle(entries)
    assert data[:5] == b"\x00\x00\x00\x01a"
    assert decode_bundle(data) == entries
    with pytest.raises(TileError, match="65,535"):
        encode_bundle([b"x" * 65_536])
    for broken in (b"\x00", b"\x00\x02a", data[:-1]):
        with pytest.raises(TileError):
            decode_bundle(broken)
    with pytest.raises(TileError):
        decode_bundle(b"\x00\x00" * 257)
