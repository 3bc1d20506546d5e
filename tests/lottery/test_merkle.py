"""RFC 9162 Merkle trees (protocol §10): proofs verify for random trees and fail on any flipped bit."""

import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery.errors import ProofError
from lottery.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

PROPERTY = settings(max_examples=40, deadline=None, database=None)
entry_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=40)


def _reference_root(leaves: Sequence[bytes]) -> bytes:
    """MTH of RFC 9162 §2.1.1, written as the RFC states it (recursively)."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_reference_root(leaves[:k]), _reference_root(leaves[k:]))


def _leaves(entries: list[bytes]) -> list[bytes]:
    return [leaf_hash(entry) for entry in entries]


def _flips(value: bytes) -> list[bytes]:
    """Every copy of `value` with exactly one bit flipped."""
    return [value[:i] + bytes([value[i] ^ (1 << bit)]) + value[i + 1 :] for i in range(len(value)) for bit in range(8)]


def test_hashes_follow_rfc_9162() -> None:
    assert leaf_hash(b"entry") == hashlib.sha256(b"\x00entry").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    assert tree_hash([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    a, b, c = _leaves([b"a", b"b", b"c"])
    assert tree_hash([a, b, c]) == node_hash(node_hash(a, b), c)


@PROPERTY
@given(entries=st.lists(st.binary(max_size=4), min_size=1, max_size=70))
def test_tree_hash_matches_the_rfc_definition(entries: list[bytes]) -> None:
    leaves = _leaves(entries)
    assert tree_hash(leaves) == _reference_root(leaves)


@PROPERTY
@given(entries=entry_lists, data=st.data())
def test_inclusion_proofs_verify_and_fail_on_any_flipped_bit(entries: list[bytes], data: st.DataObject) -> None:
    leaves = _leaves(entries)
    size, root = len(leaves), tree_hash(leaves)
    index = data.draw(st.integers(0, size - 1), label="index")
    path = inclusion_proof(index, leaves)
    verify_inclusion(index, size, leaves[index], path, root)

    for position, node in enumerate(path):
        for flipped in _flips(node):
            with pytest.raises(ProofError):
                verify_inclusion(index, size, leaves[index], [*path[:position], flipped, *path[position + 1 :]], root)
    for flipped in _flips(leaves[index]):
        with pytest.raises(ProofError):
            verify_inclusion(index, size, flipped, path, root)
    for flipped in _flips(root):
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaves[index], path, flipped)


@PROPERTY
@given(entries=entry_lists, data=st.data())
def test_inclusion_proofs_do_not_prove_another_place(entries: list[bytes], data: st.DataObject) -> None:
    leaves = _leaves(entries)
    index = data.draw(st.integers(0, len(leaves) - 1), label="index")
    path = inclusion_proof(index, leaves)
    root = tree_hash(leaves)
    for other in range(len(leaves)):
        if other != index and leaves[other] != leaves[index]:
            with pytest.raises(ProofError):
                verify_inclusion(other, len(leaves), leaves[other], path, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, len(leaves), leaves[index], [*path, path[0] if path else root], root)
    if path:
        with pytest.raises(ProofError):
            verify_inclusion(index, len(leaves), leaves[index], path[:-1], root)


@PROPERTY
@given(entries=st.lists(st.binary(max_size=12), min_size=1, max_size=48), data=st.data())
def test_consistency_proofs_verify_and_fail_on_any_flipped_bit(entries: list[bytes], data: st.DataObject) -> None:
    leaves = _leaves(entries)
    second = len(leaves)
    first = data.draw(st.integers(1, second), label="first")
    first_root, second_root = tree_hash(leaves[:first]), tree_hash(leaves)
    path = consistency_proof(first, leaves)
    verify_consistency(first, second, path, first_root, second_root)

    for position, node in enumerate(path):
        for flipped in _flips(node):
            with pytest.raises(ProofError):
                verify_consistency(
                    first, second, [*path[:position], flipped, *path[position + 1 :]], first_root, second_root
                )
    for flipped in _flips(first_root):
        with pytest.raises(ProofError):
            verify_consistency(first, second, path, flipped, second_root)
    for flipped in _flips(second_root):
        with pytest.raises(ProofError):
            verify_consistency(first, second, path, first_root, flipped)


@PROPERTY
@given(entries=st.lists(st.binary(max_size=12), min_size=2, max_size=48), data=st.data())
def test_a_rewritten_history_is_not_consistent(entries: list[bytes], data: st.DataObject) -> None:
    leaves = _leaves(entries)
    first = data.draw(st.integers(1, len(leaves) - 1), label="first")
    changed = data.draw(st.integers(0, first - 1), label="changed")
    rewritten = [*leaves[:changed], leaf_hash(entries[changed] + b"!"), *leaves[changed + 1 :]]
    path = consistency_proof(first, rewritten)
    with pytest.raises(ProofError):
        verify_consistency(first, len(leaves), path, tree_hash(leaves[:first]), tree_hash(rewritten))


def test_the_proofs_of_rfc_9162_figure_examples() -> None:
    # RFC 9162 §2.1.5: the tree of seven leaves a..g (d0..d6).
    a, b, c, d, e, f, g = _leaves([bytes([i]) for i in range(7)])
    assert inclusion_proof(0, [a, b, c, d, e, f, g]) == [b, node_hash(c, d), node_hash(node_hash(e, f), g)]
    assert inclusion_proof(3, [a, b, c, d, e, f, g]) == [c, node_hash(a, b), node_hash(node_hash(e, f), g)]
    assert inclusion_proof(4, [a, b, c, d, e, f, g]) == [f, g, node_hash(node_hash(a, b), node_hash(c, d))]
    assert inclusion_proof(6, [a, b, c, d, e, f, g]) == [node_hash(e, f), node_hash(node_hash(a, b), node_hash(c, d))]
    k = node_hash(e, f)
    assert consistency_proof(3, [a, b, c, d, e, f, g]) == [c, d, node_hash(a, b), node_hash(k, g)]
    assert consistency_proof(4, [a, b, c, d, e, f, g]) == [node_hash(k, g)]
    assert consistency_proof(6, [a, b, c, d, e, f, g]) == [k, g, node_hash(node_hash(a, b), node_hash(c, d))]


def test_generation_refusals() -> None:
    leaves = _leaves([b"a", b"b"])
    with pytest.raises(ProofError, match=r"^leaf 2 is not in a tree of 2$"):
        inclusion_proof(2, leaves)
    with pytest.raises(ProofError, match=r"^leaf -1 is not in a tree of 2$"):
        inclusion_proof(-1, leaves)
    with pytest.raises(ProofError, match=r"^no consistency proof from size 0 to size 2$"):
        consistency_proof(0, leaves)
    with pytest.raises(ProofError, match=r"^no consistency proof from size 3 to size 2$"):
        consistency_proof(3, leaves)


def test_inclusion_verification_refusals() -> None:
    leaves = _leaves([b"a", b"b", b"c"])
    root, path = tree_hash(leaves), inclusion_proof(1, leaves)
    with pytest.raises(ProofError, match=r"^index 3 is not below tree size 3$"):
        root_from_inclusion(3, 3, leaves[0], path)
    with pytest.raises(ProofError, match=r"^proof hashes must be 32 bytes$"):
        root_from_inclusion(1, 3, leaves[1], [path[0][:31], path[1]])
    with pytest.raises(ProofError, match=r"^proof hashes must be 32 bytes$"):
        root_from_inclusion(1, 3, leaves[1][:16], path)
    with pytest.raises(ProofError, match=r"^inclusion proof is longer than the tree is deep$"):
        root_from_inclusion(1, 3, leaves[1], [*path, root])
    with pytest.raises(ProofError, match=r"^inclusion proof is shorter than the tree is deep$"):
        root_from_inclusion(1, 3, leaves[1], path[:1])
    with pytest.raises(ProofError, match=r"^inclusion proof does not lead to the root$"):
        verify_inclusion(1, 3, leaves[0], path, root)
    verify_inclusion(0, 1, leaves[0], [], leaves[0])


def test_consistency_verification_refusals() -> None:
    leaves = _leaves([bytes([i]) for i in range(7)])
    roots = {n: tree_hash(leaves[:n]) for n in range(1, 8)}
    path = consistency_proof(3, leaves)
    with pytest.raises(ProofError, match=r"^no consistency between sizes 0 and 7$"):
        verify_consistency(0, 7, path, EMPTY_ROOT, roots[7])
    with pytest.raises(ProofError, match=r"^no consistency between sizes 7 and 3$"):
        verify_consistency(7, 3, path, roots[7], roots[3])
    with pytest.raises(ProofError, match=r"^equal sizes need an empty consistency proof$"):
        verify_consistency(7, 7, path, roots[7], roots[7])
    with pytest.raises(ProofError, match=r"^roots differ for the same tree size$"):
        verify_consistency(7, 7, [], roots[7], roots[6])
    with pytest.raises(ProofError, match=r"^consistency proof is empty or malformed$"):
        verify_consistency(3, 7, [], roots[3], roots[7])
    with pytest.raises(ProofError, match=r"^consistency proof is empty or malformed$"):
        verify_consistency(3, 7, [path[0][:31], *path[1:]], roots[3], roots[7])
    with pytest.raises(ProofError, match=r"^consistency proof is longer than needed$"):
        verify_consistency(3, 7, [*path, path[0]], roots[3], roots[7])
    with pytest.raises(ProofError, match=r"^consistency proof is shorter than needed$"):
        verify_consistency(3, 7, path[:-1], roots[3], roots[7])
    with pytest.raises(ProofError, match=r"^consistency proof does not reproduce both roots$"):
        verify_consistency(3, 7, path, roots[3], roots[6])
    verify_consistency(7, 7, [], roots[7], roots[7])
