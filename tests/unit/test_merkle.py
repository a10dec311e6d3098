"""The Merkle tree behind batch-signed call receipts is RFC 9162's: the published RFC 6962
test vectors (the roots of the first 1..8 reference leaves, and two audit paths) must come
out, and every leaf of trees of every shape must prove its inclusion, and only its own."""

from __future__ import annotations

import pytest

from govshare.kernel.merkle import leaf_hash, node_hash, root_from_path, tree

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
PATHS = {  # (index, size) -> audit path, from the same vectors
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


def test_roots_are_the_published_ones() -> None:
    hashes = [leaf_hash(d) for d in LEAVES]
    for n in range(1, 9):
        root, _ = tree(hashes[:n])
        assert root.hex() == ROOTS[n - 1], n


def test_audit_paths_are_the_published_ones() -> None:
    hashes = [leaf_hash(d) for d in LEAVES]
    root, paths = tree(hashes)
    for (index, size), want in PATHS.items():
        assert [p.hex() for p in paths[index]] == want
        assert root_from_path(index, size, hashes[index], [bytes.fromhex(h) for h in want]) == root


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 16, 17, 33])
def test_every_leaf_proves_its_own_inclusion_and_nothing_else(size: int) -> None:
    hashes = [leaf_hash(bytes([i, i * 7 % 256])) for i in range(size)]
    root, paths = tree(hashes)
    for i, path in enumerate(paths):
        assert root_from_path(i, size, hashes[i], path) == root
        other = hashes[(i + 1) % size]
        if size > 1:
            assert root_from_path(i, size, other, path) != root  # another leaf
            assert root_from_path((i + 1) % size, size, hashes[i], path) != root  # moved
        if path:
            bent = [*path[:-1], node_hash(path[-1], path[-1])]
            assert root_from_path(i, size, hashes[i], bent) != root  # a changed sibling
            assert root_from_path(i, size, hashes[i], path[:-1]) != root  # a path cut short


def test_impossible_paths_give_no_root() -> None:
    h = leaf_hash(b"x")
    assert root_from_path(0, 0, h, []) is None
    assert root_from_path(3, 3, h, [h, h]) is None  # index past the tree
    assert root_from_path(0, 1, h, [h]) is None  # a path longer than the tree is tall
    assert root_from_path(0, 4, h, [h]) is None  # shorter
    assert root_from_path(0, 2, h, [b"short"]) is None
    with pytest.raises(ValueError):
        tree([])
