"""Merkle tree hashes and inclusion proofs as RFC 9162 (Certificate Transparency 2.0,
section 2.1) defines them: one signature over a tree's root stands for every leaf in it,
and each leaf's audit path proves that it is one of them.

- ``leaf_hash(data)`` = SHA-256(0x00 || data); an inner node = SHA-256(0x01 || left || right);
- the tree of n > 1 leaves splits at k, the largest power of two below n: its root is
  the node of the roots of the first k leaves and of the rest;
- ``tree(leaves)`` returns the root and every leaf's audit path (sibling hashes, leaf
  upwards); ``root_from_path(index, size, leaf, path)`` recomputes the root from one leaf
  and its path (RFC 9162 2.1.3.2), or returns None when the path cannot belong to a tree of
  that size.

``tests/unit/test_merkle.py`` holds the module to RFC 6962's published roots and proofs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree(leaves: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root of ``leaves`` (leaf hashes, at least one) and each leaf's audit path."""
    n = len(leaves)
    if n == 0:
        raise ValueError("a tree needs at least one leaf")
    if n == 1:
        return leaves[0], [[]]
    k = 1 << ((n - 1).bit_length() - 1)
    left, left_paths = tree(leaves[:k])
    right, right_paths = tree(leaves[k:])
    for path in left_paths:
        path.append(right)
    for path in right_paths:
        path.append(left)
    return node_hash(left, right), left_paths + right_paths


def root_from_path(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root that ``leaf`` at ``index`` of a tree of ``size`` leaves leads to along
    ``path``; None when no tree of that size has such a path."""
    if not 0 <= index < size:
        return None
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0 or len(p) != HASH_SIZE:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None
