"""A pool's SQLAlchemy table is built once per pool schema, so that statements on it hit
SQLAlchemy's compiled-statement cache; a schema change gives a new table."""

from __future__ import annotations

from dataclasses import replace

from govshare.aggregation.pools import Pool, PoolColumn

NAME = PoolColumn("name", "string", 50, "none")
ID_CARD = PoolColumn("id_card", "string", 18, "id_card")
PHONE = PoolColumn("phone", "string", 20, "none")
POOL = Pool(
    id="01POOL",
    resource_id="01RES",
    generation=1,
    table_name="pool_300000001_g1",
    version_no=1,
    columns=(NAME, ID_CARD),
    key_columns=("id_card",),
    active=True,
)


def test_the_same_pool_schema_gives_the_same_table() -> None:
    again = replace(POOL)  # another Pool object read from the same data_pool row
    assert POOL.table() is POOL.table() is again.table()
    assert [c.name for c in POOL.table().columns][-2:] == ["name", "id_card"]


def test_a_schema_change_gives_a_new_table() -> None:
    migrated = replace(POOL, version_no=2, columns=(NAME, ID_CARD, PHONE))
    generation = replace(POOL, id="01POOL2", generation=2, table_name="pool_300000001_g2")
    tables = {id(p.table()) for p in (POOL, migrated, generation)}
    assert len(tables) == 3
    assert "phone" in migrated.table().c and "phone" not in POOL.table().c
    assert generation.table().name == "pool_300000001_g2"
