"""The search index follows the published catalog (re-publication, retirement), and search
pages follow one order whichever way the page is found."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from govshare.catalog import search, search_results, services
from govshare.catalog.model import DeliveryMode, FormatCategory, ReviewDecision, ShareCategory
from govshare.catalog.queries import SearchQuery, search_catalog
from tests.integration.catalog.conftest import City
from tests.integration.catalog.test_rules import SYSTEM, Region, add_region, full_entry, publish


def find(city: City, **kw: Any) -> search_results.SearchResult:
    with city.db.read() as conn:
        return search_catalog(conn, SearchQuery(**kw))


def index_rows(city: City, resource_id: str) -> tuple[int, int]:
    """(search documents, full-text rows) of one resource."""
    with city.db.read() as conn:
        docs = conn.execute(
            text("SELECT count(*) FROM catalog_search WHERE resource_id = :r"), {"r": resource_id}
        ).scalar_one()
        if conn.dialect.name == "postgresql":  # the tsvector is in catalog_search_doc
            tsv = conn.execute(
                text("SELECT count(*) FROM catalog_search_doc WHERE resource_id = :r"),
                {"r": resource_id},
            ).scalar_one()
            return int(docs), int(tsv)
        fts = conn.execute(
            text(
                "SELECT count(*) FROM catalog_fts WHERE rowid IN "
                "(SELECT id FROM catalog_search WHERE resource_id = :r)"
            ),
            {"r": resource_id},
        ).scalar_one()
        orphans = conn.execute(
            text(
                "SELECT count(*) FROM catalog_fts "
                "WHERE rowid NOT IN (SELECT id FROM catalog_search)"
            )
        ).scalar_one()
    assert orphans == 0
    return int(docs), int(fts)


@pytest.mark.req("SQ-14")
def test_republication_replaces_what_the_index_held(city: City) -> None:
    r = add_region(city, "suqian", "321399")
    v1 = publish(
        city,
        r.cat,
        r.admin,
        full_entry(
            city,
            r.dept_id,
            name="不动产登记信息",
            summary="土地和房屋的登记簿",
            format_category=FormatCategory.DATABASE,
            delivery_modes=(DeliveryMode.QUERY, DeliveryMode.VERIFY),
        ),
    )
    assert [h.resource_id for h in find(city, q="登记").hits] == [v1.resource_id]
    draft = services.start_revision(city.db, v1.resource_id, actor=r.cat)
    revised = full_entry(
        city,
        r.dept_id,
        name="不动产权属信息",
        summary="房屋权属证明",
        format_category=FormatCategory.SPREADSHEET,
        delivery_modes=(DeliveryMode.BATCH,),
    )
    services.update_draft(city.db, city.profiles, draft.id, revised, actor=r.cat)
    services.submit(city.db, city.profiles, draft.id, actor=r.cat)
    services.review(city.db, draft.id, ReviewDecision.APPROVE, actor=r.admin)

    assert find(city, q="登记").total == 0  # the old words are gone
    found = find(city, q="权属")
    assert [h.resource_id for h in found.hits] == [v1.resource_id]
    assert found.facets["format_category"] == {"spreadsheet": 1}
    assert found.facets["delivery_mode"] == {"batch": 1}
    assert find(city, q="权属", format_category="database").total == 0
    assert find(city, q="权属", delivery_mode="query").total == 0
    assert index_rows(city, v1.resource_id) == (1, 1)


@pytest.mark.req("SZ-19")
def test_an_entry_taken_offline_leaves_the_index(city: City) -> None:
    r = add_region(city, "suqian", "321399")
    gone = publish(city, r.cat, r.admin, full_entry(city, r.dept_id, name="殡葬服务档案"))
    kept = publish(city, r.cat2, r.admin, full_entry(city, r.dept2_id, name="婚姻登记档案"))
    services.retire(city.db, city.profiles, gone.resource_id, actor=r.cat, reason="职能调整")
    services.complete_retirements(city.db, actor=SYSTEM, today=date(2099, 1, 1))
    assert [h.resource_id for h in find(city, q="档案").hits] == [kept.resource_id]
    assert index_rows(city, gone.resource_id) == (0, 0)
    assert index_rows(city, kept.resource_id) == (1, 1)


def _published(city: City, r: Region) -> dict[str, str]:
    """Nine entries that share their words, so that relevance ties; one is named 统计台账."""
    names = ["统计台账", *(f"统计台账（{n}）" for n in "甲乙丙丁戊己庚辛")]
    out = {}
    for i, name in enumerate(names):
        entry = full_entry(
            city,
            r.dept_id if i % 2 else r.dept2_id,
            name=name,
            summary="统计台账：按月汇总的统计数据" if i % 3 else "月度统计台账",
            share_category=ShareCategory.CONDITIONAL if i % 2 else ShareCategory.UNCONDITIONAL,
        )
        author = r.cat if i % 2 else r.cat2
        out[publish(city, author, r.admin, entry).resource_id] = name
    return out


def expected_order(
    hits: list[search_results.SearchHit], score: dict[str, float], q: str, postgresql: bool
) -> list[str]:
    """The documented order: exact names, then relevance, then newest, then code; on
    PostgreSQL relevance orders only the ``RESCORE_WINDOW`` newest other matches, the rest
    stay newest first."""

    def by_rank(rows: list[search_results.SearchHit]) -> list[search_results.SearchHit]:
        rows = sorted(rows, key=lambda h: h.code)
        rows.sort(key=lambda h: h.published_at, reverse=True)
        rows.sort(key=lambda h: score[h.resource_id], reverse=True)
        return rows

    exact = [h for h in hits if h.name == q]
    others = [h for h in hits if h.name != q]
    if postgresql:
        newest = sorted(others, key=lambda h: h.code)
        newest.sort(key=lambda h: h.published_at, reverse=True)
        window = search_results.RESCORE_WINDOW
        ordered = by_rank(exact) + by_rank(newest[:window]) + newest[window:]
    else:
        ordered = by_rank(exact) + by_rank(others)
    return [h.resource_id for h in ordered]


@pytest.mark.req("SQ-14")
@pytest.mark.parametrize("narrow", [False, True])
def test_pages_follow_one_order(city: City, monkeypatch: pytest.MonkeyPatch, narrow: bool) -> None:
    """Page by page the same, documented order, whichever way a page is found: narrow
    leaves SQLite no spare candidates (so that it orders every match), and gives
    PostgreSQL a relevance window of three, found by walking the publication-time index
    (wide: by sorting the matches)."""
    r = add_region(city, "suqian", "321399")
    names = _published(city, r)
    if narrow:
        monkeypatch.setattr(search_results, "CANDIDATES", 0)
        monkeypatch.setattr(search_results, "RESCORE_WINDOW", 3)
        monkeypatch.setattr(search_results, "WALK_ABOVE", 0)
    for filters in ({}, {"share_category": "conditional"}):
        with city.db.read() as conn:
            postgresql = conn.dialect.name == "postgresql"
            match = search.match_sql(conn, "统计台账")
            assert match is not None
            score = search.relevance(conn, match)
        everything = find(city, q="统计台账", page_size=100, **filters).hits
        assert {h.resource_id for h in everything} <= set(names)
        expected = expected_order(everything, score, "统计台账", postgresql)
        assert [h.resource_id for h in everything] == expected
        paged = [find(city, q="统计台账", page=p, page_size=2, **filters) for p in range(1, 7)]
        assert [h.resource_id for p in paged for h in p.hits] == expected
        assert {p.total for p in paged} == {len(expected)}
        if not filters:
            assert len(expected) == 9 and names[expected[0]] == "统计台账"
        else:
            assert len(expected) == 4
            assert paged[0].facets["share_category"] == {"conditional": 4}


@pytest.mark.req("SQ-14")
def test_filters_on_values_nobody_has_find_nothing(city: City) -> None:
    r = add_region(city, "suqian", "321399")
    publish(
        city,
        r.cat,
        r.admin,
        replace(
            full_entry(city, r.dept_id, name="公积金缴存信息"), delivery_modes=(DeliveryMode.QUERY,)
        ),
    )
    assert find(city, q="公积金").total == 1
    for filters in (
        {"provider_department_id": r.dept2_id},
        {"delivery_mode": "feed"},
        {"update_cycle": "no-such-cycle"},
    ):
        nothing = find(city, q="公积金", **filters)
        assert (nothing.total, nothing.hits) == (0, [])
        assert all(counts == {} for counts in nothing.facets.values())
    listed = find(city, provider_department_id=r.dept_id)
    assert listed.total == 1 and listed.facets["delivery_mode"] == {"query": 1}


@pytest.mark.req("SQ-14")
def test_postgresql_token_match_is_the_tsquery_match(city: City) -> None:
    """PostgreSQL matches the lexeme ids of the narrow search rows (``tokens @>``): the
    same documents as ``doc @@ plainto_tsquery(w1) && ...`` over their tsvectors, also
    for words no document holds and for words without a lexeme; the search leaves the
    planner settings it changes as they were."""
    if city.db.dialect != "postgresql":
        pytest.skip("the token match is PostgreSQL's")
    r = add_region(city, "suqian", "321399")
    for author, dept, name, summary in (
        (r.cat, r.dept_id, "不动产登记信息", "土地和房屋的登记簿"),
        (r.cat2, r.dept2_id, "婚姻登记档案", "结婚和离婚登记的档案"),
        (r.cat, r.dept_id, "GIS_Layer 地图服务 v2", "Web 地图接口（WMTS v2）"),
    ):
        publish(city, author, r.admin, full_entry(city, dept, name=name, summary=summary))
    queries = ["登记", "不动产登记", "登记 档案", "gis", "GIS_Layer", "layer v2", "wmts 登记"]
    queries += ["地图服务", "没有这个词", "登记 没有这个词", "_", "__ 登记"]
    found = set()
    with city.db.read() as conn:
        for q in queries:
            match = search.match_sql(conn, q)
            assert match is not None, q
            got = set(search.relevance(conn, match))
            words = search.query_tokens(q)
            tsq = " && ".join(f"plainto_tsquery('simple', :w{i})" for i in range(len(words)))
            want = conn.execute(
                text(f"SELECT resource_id FROM catalog_search_doc WHERE doc @@ ({tsq})"),
                {f"w{i}": w for i, w in enumerate(words)},
            ).scalars()
            assert got == set(want), q
            assert search_catalog(conn, SearchQuery(q=q)).total == len(got), q
            found |= got
        settings = "SELECT current_setting('enable_seqscan'), current_setting('jit')"
        assert tuple(conn.execute(text(settings)).one()) == ("on", "on")
    assert len(found) == 3


@pytest.mark.req("SQ-14")
def test_the_search_migration_keeps_what_is_found(city: City) -> None:
    """Down through the search revision 0013 and up again, with entries published: the
    documents are carried over both ways, and every search finds what it found before."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from govshare.storage.migrate import alembic_config, upgrade

    r = add_region(city, "suqian", "321399")
    names = _published(city, r)
    queries = [SearchQuery(q="统计台账", page_size=100), SearchQuery(q="月度", page_size=3)]
    queries += [SearchQuery(q="统计", share_category="conditional"), SearchQuery()]
    before = [find(city, **vars(q)) for q in queries]
    assert before[0].total == len(names)
    url = city.db.url
    cfg = alembic_config(url)
    command.downgrade(cfg, str(ScriptDirectory.from_config(cfg).get_revision("0013").down_revision))
    with city.db.read() as conn:
        if conn.dialect.name == "postgresql":  # 0011's one wide row per document
            wide = (
                "SELECT count(*) FROM catalog_search WHERE doc @@ plainto_tsquery('simple', '统计')"
            )
            assert conn.execute(text(wide)).scalar_one() == len(names)
    upgrade(url)
    assert [find(city, **vars(q)) for q in queries] == before
