"""RFC 9162 Merkle trees: tree hash, inclusion and consistency proofs, generated and verified.

Leaves are hashed `sha256(0x00 || entry)`, nodes `sha256(0x01 || left || right)`; the left
subtree holds the largest power of two smaller than the number of leaves (RFC 9162 §2.1.1).
Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step.
"""

import hashlib
from collections.abc import Sequence

from lottery.errors import ProofError

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """`sha256(0x00 || entry)`."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """`sha256(0x01 || left || right)`."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than `n` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def tree_hash(leaves: Sequence[bytes]) -> bytes:
    """The root of the tree over these leaf hashes (MTH of RFC 9162 §2.1.1)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    # Pairing from the left, level by level, and carrying an odd last node up unchanged builds
    # exactly the RFC's left-balanced tree, without recursion.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The audit path for leaf `index` in the tree over `leaves` (PATH of RFC 9162 §2.1.3.1)."""
    if not 0 <= index < len(leaves):
        raise ProofError(f"leaf {index} is not in a tree of {len(leaves)}")
    path: list[bytes] = []
    start, end = 0, len(leaves)
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(tree_hash(leaves[start + k : end]))
            end = start + k
        else:
            path.append(tree_hash(leaves[start : start + k]))
            start += k
    path.reverse()
    return path


def consistency_proof(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The proof that the tree of size `first` is a prefix of the tree over `leaves`.

    (PROOF and SUBPROOF of RFC 9162 §2.1.4.1.)
    """
    second = len(leaves)
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from size {first} to size {second}")
    return _subproof(first, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [tree_hash(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), tree_hash(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), tree_hash(leaves[:k])]


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """Recompute the root from an inclusion proof (RFC 9162 §2.1.3.2); refuse a malformed one."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not below tree size {size}")
    if len(leaf) != 32 or any(len(p) != 32 for p in path):
        raise ProofError("proof hashes must be 32 bytes")
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> None:
    """Refuse unless `leaf` is at `index` of the tree of `size` with `root`."""
    if root_from_inclusion(index, size, leaf, path) != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(first: int, second: int, path: Sequence[bytes], first_root: bytes, second_root: bytes) -> None:
    """Refuse unless the tree (`first`, `first_root`) is a prefix of (`second`, `second_root`).

    RFC 9162 §2.1.4.2. A proof from the empty tree says nothing and is refused.
    """
    if first < 1 or second < first:
        raise ProofError(f"no consistency between sizes {first} and {second}")
    if first == second:
        if path:
            raise ProofError("equal sizes need an empty consistency proof")
        if first_root != second_root:
            raise ProofError("roots differ for the same tree size")
        return
    if not path or any(len(p) != 32 for p in path):
        raise ProofError("consistency proof is empty or malformed")
    nodes = list(path)
    if first & (first - 1) == 0:  # first is a power of two: its root is the first node
        nodes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than needed")
    if fr != first_root or sr != second_root:
        raise ProofError("consistency proof does not reproduce both roots")
