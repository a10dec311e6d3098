"""The catalog search: facets, ranking and pages over the index of
``catalog/search.py``.

**Facets.** A search concatenates the facet keys of all its matching documents in one
aggregate and counts the characters in Python, instead of grouping the matches once per
facet; a facet filter compares one character of the key with the code of the value.

**Ranking.** Exact-name hits first, then relevance, then the newest publication, then the
code. SQLite ranks every match with bm25 (the name weighted 10): the page's candidates
come from the FTS5 index alone (the best by bm25, and the exact-name hits) and only they
are joined to their entries; when equal scores straddle the end of the candidates, every
match is ordered instead. PostgreSQL's ts_rank reads the whole document, too dear for
every match of a common word, so it ranks a window: the exact-name hits and the
``RESCORE_WINDOW`` newest other matches (found by walking the publication-time index when
the matches are many, by sorting them when few) are ordered by ts_rank, the matches after
the window stay newest first.

The match (``search.match_sql``) is evaluated once for the facets and once for the page;
not once per facet.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, text

from govshare.catalog import search
from govshare.catalog.search import CODE_BASE, COUNTED, FACETS, Match
from govshare.catalog.tables import catalog_entry
from govshare.storage.types import UTCDateTime

# SQLite: how many more candidates than the page needs are read from the FTS5 index, so
# that ties on the bm25 score at the end of the page can be settled by date and code.
CANDIDATES = 40
# PostgreSQL: how many of the newest matches (after the exact-name hits) are ordered by
# ts_rank; the matches after them stay newest first.
RESCORE_WINDOW = 100
# PostgreSQL: above this many matches, the newest are found by walking the
# publication-time index; below it, by sorting the matches.
WALK_ABOVE = 2000


@dataclass
class SearchQuery:
    q: str = ""
    provider_department_id: str | None = None
    classification: str | None = None
    share_category: str | None = None
    open_category: str | None = None
    format_category: str | None = None
    update_cycle: str | None = None
    delivery_mode: str | None = None
    page: int = 1
    page_size: int = 20


@dataclass
class SearchHit:
    resource_id: str
    code: str
    name: str
    provider_department_id: str
    classification: str
    share_category: str
    open_category: str
    format_category: str
    update_cycle: str
    status: str
    summary: str
    published_at: datetime


@dataclass
class SearchResult:
    hits: list[SearchHit]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    page: int = 1
    page_size: int = 20

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass
class _Plan:
    """One search as SQL pieces: the facet filters as conditions on the facet key of ``s``
    (for matches) and on the entry ``e`` (for listings, which its indexes serve), their
    parameters, and the page window."""

    filters: list[str]
    entry_filters: list[str]
    params: dict[str, object]
    q: str
    offset: int
    limit: int

    @property
    def where(self) -> str:
        return " AND ".join(self.filters) if self.filters else "true"


def search_catalog(conn: Connection, query: SearchQuery) -> SearchResult:
    """Full-text + facet search over the published catalog. Exact-name hits first, then by
    relevance (bm25 / ts_rank), then by newest publication; every facet counted over the
    matching entries with the filters applied."""
    page = max(1, query.page)
    q = query.q.strip()
    match = None
    if q:
        match = search.match_sql(conn, query.q)
        if match is None:
            return SearchResult([], 0, _count({}, "")[0], page, query.page_size)
    plan = _plan(conn, query, q, page)
    table = None
    if match is None:
        keys, hits = _listing(conn, plan)
    elif conn.dialect.name == "postgresql":
        keys, table, hits = _postgresql(conn, match, plan)
    else:
        keys, hits = _sqlite(conn, match, plan)
    if table is None:
        table = search.code_table(conn) if keys else {}
    facets, total = _count(table, keys)
    return SearchResult(hits, total, facets, page, query.page_size)


def _plan(conn: Connection, query: SearchQuery, q: str, page: int) -> _Plan:
    """The filters compare one character of the facet key with the code of the wanted
    value (of every modes value that holds the wanted mode): a value nobody has matches
    nothing."""
    char = "chr" if conn.dialect.name == "postgresql" else "char"
    filters: list[str] = []
    entry_filters: list[str] = []
    params: dict[str, object] = {}
    for i, facet in enumerate(COUNTED):
        wanted = query.delivery_mode if facet == "modes" else getattr(query, facet)
        if not wanted:
            continue
        if facet == "modes":
            value = f"' ' || c.value || ' ' LIKE :m{i}"
            entry_filters.append(
                "EXISTS (SELECT 1 FROM catalog_entry_mode em "  # noqa: S608 - constant SQL, bound parameters  # nosec B608
                f"WHERE em.resource_id = e.resource_id AND em.mode = :v{i})"
            )
            params[f"m{i}"] = f"% {wanted} %"
        else:
            value = f"c.value = :v{i}"
            entry_filters.append(f"e.{facet} = :v{i}")
        filters.append(
            f"substr(s.facet_key, {i + 1}, 1) IN (SELECT {char}({CODE_BASE} + c.code) "  # noqa: S608 - constant SQL, bound parameters  # nosec B608
            f"FROM catalog_search_code c WHERE c.facet = :f{i} AND {value})"
        )
        params |= {f"f{i}": facet, f"v{i}": wanted}
    offset = (page - 1) * query.page_size
    return _Plan(filters, entry_filters, params, q, offset, query.page_size)


def _listing(conn: Connection, plan: _Plan) -> tuple[str, list[SearchHit]]:
    """(the facet keys, the page) of the whole published catalog, newest first: no words,
    so the filters on the entries (and their indexes) choose the documents."""
    agg = "string_agg" if conn.dialect.name == "postgresql" else "group_concat"
    listed = (
        "catalog_entry e JOIN catalog_search s ON s.resource_id = e.resource_id "
        f"WHERE {' AND '.join(plan.entry_filters) or 'true'}"
    )
    keys = conn.execute(
        text(f"SELECT {agg}(s.facet_key, '') FROM {listed}"),  # noqa: S608 - constant SQL, bound parameters  # nosec B608
        plan.params,
    ).scalar()
    ids = conn.execute(
        text(
            f"SELECT e.resource_id FROM {listed} "  # noqa: S608 - constant SQL, bound parameters  # nosec B608
            "ORDER BY e.published_at DESC, e.code LIMIT :lim OFFSET :off"
        ),
        plan.params | {"lim": plan.limit, "off": plan.offset},
    ).scalars()
    return str(keys or ""), _hits(conn, [str(i) for i in ids])


def _sqlite(conn: Connection, match: Match, plan: _Plan) -> tuple[str, list[SearchHit]]:
    """(the facet keys of every match, the page) on SQLite."""
    params = plan.params | match.params
    docs = f"{match.source} JOIN catalog_search s ON s.id = f.k"
    entries = f"{docs} JOIN catalog_entry e ON e.resource_id = s.resource_id"
    keys = str(
        conn.execute(
            text(f"SELECT group_concat(s.facet_key, '') FROM {docs} WHERE {plan.where}"),  # noqa: S608 - constant SQL; the match holds bound parameters only  # nosec B608
            params,
        ).scalar()
        or ""
    )
    total = len(keys) // len(COUNTED)
    need = plan.offset + plan.limit
    if plan.offset >= total:
        return keys, []
    # The exact-name hits (few), and the best ``need + CANDIDATES`` by bm25 from the FTS5
    # index alone. Every match scoring better than the last of those is among them; when
    # these cover the page, ordering them gives the page exactly. Otherwise (a run of
    # equal scores at the end), every match is ordered.
    ordering = "s.resource_id, e.published_at, e.code, f.score"
    exact = conn.execute(
        text(f"SELECT s.id, {ordering} FROM {entries} WHERE e.name = :q AND {plan.where}"),  # noqa: S608 - constant SQL; the match holds bound parameters only  # nosec B608
        params | {"q": plan.q},
    ).all()
    best = conn.execute(
        text(
            f"SELECT f.k, f.score FROM {docs if plan.filters else match.source} "  # noqa: S608 - constant SQL; the match holds bound parameters only  # nosec B608
            f"WHERE {plan.where} ORDER BY f.score LIMIT :n"
        ),
        params | {"n": need + CANDIDATES},
    ).all()
    exact_keys = {int(r[0]) for r in exact}
    last = best[-1][1] if len(best) == need + CANDIDATES else None
    sure = {
        int(k): float(score)
        for k, score in best
        if int(k) not in exact_keys and (last is None or score < last)
    }
    if len(exact) + len(sure) < min(need, total):
        ids = conn.execute(
            text(
                f"SELECT s.resource_id FROM {entries} WHERE {plan.where} "  # noqa: S608 - constant SQL; the match holds bound parameters only  # nosec B608
                "ORDER BY e.name = :q DESC, f.score, e.published_at DESC, e.code "
                "LIMIT :lim OFFSET :off"
            ),
            params | {"q": plan.q, "lim": plan.limit, "off": plan.offset},
        ).scalars()
        return keys, _hits(conn, [str(i) for i in ids])
    others = (
        conn.execute(
            text(
                "SELECT s.id, s.resource_id, e.published_at, e.code FROM catalog_search s "
                "JOIN catalog_entry e ON e.resource_id = s.resource_id WHERE s.id IN :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"ids": list(sure)},
        ).all()
        if sure
        else []
    )
    ordered = _by_rank([_Ranked(str(r[1]), -float(r[4]), r[2], str(r[3])) for r in exact])
    ordered += _by_rank([_Ranked(str(r[1]), -sure[int(r[0])], r[2], str(r[3])) for r in others])
    return keys, _hits(conn, [r.resource_id for r in ordered[plan.offset : need]])


@dataclass(frozen=True)
class _Ranked:
    resource_id: str
    rank: float  # higher is more relevant
    published_at: Any  # a datetime, or SQLite's ISO text (which sorts the same)
    code: str


def _by_rank(rows: list[_Ranked]) -> list[_Ranked]:
    """Most relevant first, then newest, then by code."""
    rows = sorted(rows, key=lambda r: r.code)
    rows.sort(key=lambda r: r.published_at, reverse=True)
    rows.sort(key=lambda r: r.rank, reverse=True)
    return rows


def _postgresql(
    conn: Connection, match: Match, plan: _Plan
) -> tuple[str, dict[int, tuple[str, str]], list[SearchHit]]:
    """(the facet keys of every match, the facet codes, the page) on PostgreSQL, in one
    statement (one round trip): the keys of every match (read once, into a one-row CTE
    that also counts them), the facet codes, the exact-name hits, and the newest other
    matches (as many as the page needs, at least ``RESCORE_WINDOW``), these two with their
    ts_rank and their entries. The window is then ordered by rank.

    The matches are read from the narrow rows (``catalog_search``); only the exact-name
    hits and the window read their documents (``catalog_search_doc``). The newest matches
    are found by walking the publication-time index when the matches are many, by sorting
    them when few (the OFFSET 0 fence keeps the planner from walking the index for words
    it expects to be common together but that are not); only the branch that the count
    selects runs. A match the GIN index answers is read through it (no sequential scan),
    however common its words: the index reads no document and the narrow rows are few
    pages."""
    where = " AND ".join([match.source, *plan.filters])
    names = [f.name for f in fields(SearchHit)]
    hits = ", ".join(f"e.{n}" for n in names)
    none = ", ".join(f"NULL AS {n}" for n in names[1:])
    newest = (
        "SELECT s.resource_id, s.published_at, s.code FROM catalog_search s "  # noqa: S608 - constant SQL; the match holds bound parameters only  # nosec B608
        f"WHERE {where} AND s.resource_id NOT IN (SELECT x.resource_id FROM x)"
    )
    window = " ORDER BY s.published_at DESC, s.code LIMIT :n) s "
    window += "JOIN catalog_search_doc d ON d.resource_id = s.resource_id "
    window += "JOIN catalog_entry e ON e.resource_id = s.resource_id "
    sql = (
        # x: the exact-name hits; 1: them ranked; 2: the newest other matches (one of two ways)
        "WITH f AS MATERIALIZED (SELECT string_agg(s.facet_key, '') AS keys, count(*) AS n "  # noqa: S608 - constant SQL; the match holds bound parameters only  # nosec B608
        f"FROM catalog_search s WHERE {where}), "
        "c AS MATERIALIZED (SELECT n FROM f), "  # the count alone: the keys are long
        "x AS MATERIALIZED (SELECT s.resource_id FROM catalog_search_doc d "
        f"JOIN catalog_search s ON s.resource_id = d.resource_id WHERE d.name = :q AND {where}) "
        f"SELECT 1 AS part, {match.rank} AS rank, {hits} FROM x "
        "JOIN catalog_search_doc d ON d.resource_id = x.resource_id "
        "JOIN catalog_entry e ON e.resource_id = x.resource_id "
        f"UNION ALL SELECT 2, {match.rank}, {hits} FROM ({newest}{window}"
        "WHERE (SELECT n FROM c) > :walk "
        f"UNION ALL SELECT 2, {match.rank}, {hits} FROM (SELECT * FROM ({newest} OFFSET 0) s"
        f"{window}WHERE (SELECT n FROM c) BETWEEN 1 AND :walk "
        # 0: the keys (in the resource_id column); 3: the codes (code, value, facet)
        f"UNION ALL SELECT 0, NULL, f.keys, {none} FROM f "
        f"UNION ALL SELECT 3, k.code, k.value, k.facet, {none.split(', ', 1)[1]} "
        "FROM catalog_search_code k"
    )
    n = max(RESCORE_WINDOW, plan.offset + plan.limit)
    stmt = text(sql).columns(published_at=UTCDateTime())
    params = plan.params | match.params | {"q": plan.q, "n": n, "walk": WALK_ABOVE}
    if match.indexed:
        with _no_seqscan(conn):
            rows = conn.execute(stmt, params).all()
    else:
        rows = conn.execute(stmt, params).all()
    keys = "".join(str(r[2]) for r in rows if r[0] == 0 and r[2] is not None)
    table = {int(r[1]): (str(r[3]), str(r[2])) for r in rows if r[0] == 3}
    found = {
        str(r[2]): SearchHit(**dict(zip(names, r[2:], strict=True))) for r in rows if r[0] in (1, 2)
    }

    def ranked(part: int) -> list[_Ranked]:
        return [
            _Ranked(str(r[2]), float(r[1]), found[str(r[2])].published_at, found[str(r[2])].code)
            for r in rows
            if r[0] == part
        ]

    exact = _by_rank(ranked(1))
    others = sorted(ranked(2), key=lambda r: r.code)
    others.sort(key=lambda r: r.published_at, reverse=True)  # the window's own order
    ordered = exact + _by_rank(others[:RESCORE_WINDOW]) + others[RESCORE_WINDOW:]
    page = ordered[plan.offset : plan.offset + plan.limit]
    return keys, table, [found[r.resource_id] for r in page]


@contextmanager
def _no_seqscan(conn: Connection) -> Iterator[None]:
    """Plan the statements of the block without sequential scans where another way
    exists, and without JIT compilation (the statement is too short for it to pay; the
    code table, read whole, keeps its sequential scan at the "disabled" price, which
    would trigger it). The settings are local to the transaction, and put back after
    the block.

    Why: the planner prices a common word's matches read through the GIN index (most
    of the narrow rows' pages, in order) above a sequential scan, which tests the
    tokens of every row and costs about four times as much."""
    prior = conn.execute(
        text(
            "SELECT current_setting('enable_seqscan'), current_setting('jit'), "
            "set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)"
        )
    ).one()
    yield
    conn.execute(
        text("SELECT set_config('enable_seqscan', :s, true), set_config('jit', :j, true)"),
        {"s": prior[0], "j": prior[1]},
    )


def _count(table: dict[int, tuple[str, str]], keys: str) -> tuple[dict[str, dict[str, int]], int]:
    """Facet counts from the concatenated facet keys of the matching documents."""
    width = len(COUNTED)
    facets: dict[str, dict[str, int]] = {f: {} for f in (*FACETS, "delivery_mode")}
    if not keys:
        return facets, 0
    columns = {facet: keys[i::width] for i, facet in enumerate(COUNTED)}
    for code, (facet, value) in table.items():
        n = columns[facet].count(chr(CODE_BASE + code)) if facet in columns else 0
        if not n:
            continue
        if facet == "modes":
            modes = facets["delivery_mode"]
            for mode in value.split():
                modes[mode] = modes.get(mode, 0) + n
        else:
            facets[facet][value] = n
    return facets, len(keys) // width


def _hits(conn: Connection, ids: Sequence[str]) -> list[SearchHit]:
    if not ids:
        return []
    names = [f.name for f in fields(SearchHit)]
    rows = conn.execute(
        select(*(catalog_entry.c[n] for n in names)).where(catalog_entry.c.resource_id.in_(ids))
    ).all()
    position = {rid: i for i, rid in enumerate(ids)}
    hits = [SearchHit(**dict(zip(names, r, strict=True))) for r in rows]
    return sorted(hits, key=lambda h: position[h.resource_id])
