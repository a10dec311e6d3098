"""Benchmark 5: catalog search over the generated entries, in process, on SQLite and on
PostgreSQL, with the speed-up over a ``LIKE '%…%'`` scan.

The entries go in directly, in large transactions, through the catalog's own tables
(``resource``, ``catalog_entry``, ``catalog_entry_mode``) and its own search indexer
(``catalog.search.index_entries``, the bulk form of the ``index_entry`` that publication
calls, with the same text parts): 100,000 trips through the review workflow would measure
the workflow, not the search. The search measured is the real one,
``catalog.queries.search_catalog`` (full-text match, exact names first, count, page and
every facet). The LIKE baseline is the same function with the match
(``catalog.search.match_sql``) swapped for ``name LIKE '%q%' OR summary LIKE '%q%'``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Connection, insert, text

from bench import data
from bench.config import SEED, Config
from bench.platform_setup import BenchPlatform
from bench.results import Report, Row
from govshare.catalog import queries as catalog_queries
from govshare.catalog import search
from govshare.catalog.tables import catalog_entry, catalog_entry_mode, resource
from govshare.identity import queries as identity_queries
from govshare.kernel.clock import utcnow
from govshare.kernel.ids import new_id

TARGET_MS = 30.0
LIKE_QUERIES = 50
CHUNK = 2000
FORMAT_TYPES = {
    "database": "关系型数据库表",
    "spreadsheet": "XLSX 电子表格",
    "interface": "RESTful 接口（JSON）",
    "document": "OFD 版式文件",
}


def load_entries(bp: BenchPlatform, count: int) -> float:
    """Insert ``count`` generated entries; returns the seconds it took."""
    started = time.perf_counter()
    with bp.platform.db.read() as conn:
        depts = sorted(identity_queries.list_departments(conn), key=lambda d: d.uscc)
    providers = [d.name for d in depts]
    now = utcnow()
    batch: list[tuple[int, str, data.CatalogEntry]] = []

    def flush() -> None:
        with bp.platform.db.transaction() as tx:
            res_rows, entry_rows, mode_rows = [], [], []
            for i, rid, e in batch:
                dept = depts[e.provider_index]
                published = now - timedelta(minutes=i)
                res_rows.append(
                    {
                        "id": rid,
                        "code": f"BENCH-{i:07d}",
                        "provider_department_id": dept.id,
                        "status": "published",
                        "published_version_id": new_id(),
                        "retired_reason": "",
                        "created_at": published,
                        "updated_at": published,
                    }
                )
                entry_rows.append(
                    {
                        "resource_id": rid,
                        "version_id": res_rows[-1]["published_version_id"],
                        "code": res_rows[-1]["code"],
                        "name": e.name,
                        "provider_department_id": dept.id,
                        "classification": e.classification,
                        "base_kind": None,
                        "theme": e.theme,
                        "share_category": e.share_category,
                        "open_category": e.open_category,
                        "format_category": e.format_category,
                        "update_cycle": e.update_cycle,
                        "status": "published",
                        "summary": e.summary,
                        "published_at": published,
                    }
                )
                mode_rows += [{"resource_id": rid, "mode": m} for m in e.modes]
            tx.conn.execute(insert(resource), res_rows)
            tx.conn.execute(insert(catalog_entry), entry_rows)
            tx.conn.execute(insert(catalog_entry_mode), mode_rows)
            search.index_entries(
                tx.conn,
                [
                    search.IndexText(
                        rid,
                        e.name,
                        [  # the same parts as catalog.services._project
                            e.summary,
                            depts[e.provider_index].name,
                            depts[e.provider_index].short_name,
                            e.theme,
                            "",
                            " ".join(e.tags),
                            " ".join(e.items),
                            FORMAT_TYPES[e.format_category],
                        ],
                    )
                    for _i, rid, e in batch
                ],
            )
        batch.clear()

    for i, e in enumerate(data.catalog_entries(count, SEED, providers)):
        batch.append((i, new_id(), e))
        if len(batch) >= CHUNK:
            flush()
    if batch:
        flush()
    with bp.platform.db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return time.perf_counter() - started


@contextmanager
def like_matching() -> Iterator[None]:
    """Swap the full-text match for a LIKE scan (the baseline), for this block only."""
    original = search.match_sql

    def like_sql(conn: Connection, query: str) -> search.Match | None:
        q = query.strip()
        if not q:
            return None
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        if conn.dialect.name == "postgresql":  # a condition on the search document s
            return search.Match(
                "s.resource_id IN (SELECT e.resource_id FROM catalog_entry e "
                "WHERE e.name LIKE :p ESCAPE '\\' OR e.summary LIKE :p ESCAPE '\\')",
                {"p": pattern},
            )
        return search.Match(  # the matching documents' keys, all with the same score
            "(SELECT d.id AS k, 0 AS score FROM catalog_entry e JOIN catalog_search d "
            "ON d.resource_id = e.resource_id "
            "WHERE e.name LIKE :p ESCAPE '\\' OR e.summary LIKE :p ESCAPE '\\') f",
            {"p": pattern},
        )

    search.match_sql = like_sql
    try:
        yield
    finally:
        search.match_sql = original


def timings(
    bp: BenchPlatform, queries: list[str], passes: int, warmup: int
) -> tuple[list[float], int]:
    """Milliseconds per query over ``passes`` measured passes (after ``warmup`` queries
    that are not measured), and the total hits of the last pass."""
    out: list[float] = []
    hits = 0
    with bp.platform.db.read() as conn:
        for q in queries[:warmup]:
            catalog_queries.search_catalog(conn, catalog_queries.SearchQuery(q=q))
        for _ in range(passes):
            hits = 0
            for q in queries:
                t = time.perf_counter()
                result = catalog_queries.search_catalog(conn, catalog_queries.SearchQuery(q=q))
                out.append((time.perf_counter() - t) * 1000)
                hits += result.total
    return out, hits


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def run(cfg: Config, bp: BenchPlatform, report: Report) -> None:
    label = "SQLite" if bp.backend == "sqlite" else "PostgreSQL"
    n = cfg.sizes.entries
    load_seconds = load_entries(bp, n)
    queries = data.search_queries(cfg.sizes.queries, SEED)
    # A short warm-up (the first query also loads jieba's dictionary), then every query
    # timed ``search_passes`` times; the same for the LIKE baseline.
    # The LIKE scan costs seconds per query at 100,000 entries: its p95 is taken over the
    # first LIKE_QUERIES queries (the order is random), enough for the reported speed-up.
    warm = min(10, len(queries))
    fts, fts_hits = timings(bp, queries, cfg.sizes.search_passes, warm)
    like_queries = queries[:LIKE_QUERIES]
    with like_matching():
        like, like_hits = timings(bp, like_queries, 1, min(3, len(like_queries)))
    fts_p95, like_p95 = p95(fts), p95(like)

    def slowest(ms: list[float], qs: list[str]) -> list[tuple[str, float]]:
        named = zip(qs * (len(ms) // len(qs)), ms, strict=True)
        return sorted(named, key=lambda x: -x[1])[:10]

    report.details[f"search_{bp.backend}"] = {
        "entries": n,
        "load_seconds": load_seconds,
        "queries": len(queries),
        "passes": cfg.sizes.search_passes,
        "fts_ms": {"p50": statistics.median(fts), "p95": fts_p95, "max": max(fts)},
        "like_ms": {"p50": statistics.median(like), "p95": like_p95, "max": max(like)},
        "like_queries": len(like_queries),
        "fts_hits": fts_hits,
        "like_hits": like_hits,
        "slowest_fts": slowest(fts, queries),
        "slowest_like": slowest(like, like_queries),
    }
    name = f"catalog search p95, {n:,} entries, {len(queries)} queries ({label})"
    report.add(Row(name, "ms", fts_p95, "target 30 ms", TARGET_MS, 1.0, higher_is_better=False))
    report.add(
        Row(
            f"catalog search speed-up over LIKE '%…%' ({label})",
            "ms",
            fts_p95,
            f"LIKE '%…%' scan, p95 of {len(like_queries)} of the queries",
            like_p95,
            0.0,
            higher_is_better=False,
        )
    )
