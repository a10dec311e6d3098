"""Chinese full-text search over the published catalog: the index and the match (the
search itself, facets, ranking and pages: ``catalog/search_results.py``).

Text is segmented with jieba (``cut_for_search``, so that a long word also yields its
two-character parts: 人口基础信息库 → 人口 / 基础 / 信息 / 信息库 ...) when indexing and when
querying; every query word must match.

Every published entry has one search document in ``catalog_search``:

- SQLite: ``(id INTEGER PRIMARY KEY, resource_id, facet_key)``. ``id`` is also the rowid of
  the entry's row in the FTS5 table ``catalog_fts(name, body)`` (ranked with bm25), so
  that re-indexing an entry deletes by rowid; the table is narrow, so that joining
  thousands of matches to it stays cheap.
- PostgreSQL: a narrow row, ``(published_at, resource_id, code, facet_key, tokens)``, that
  a search reads for every match, and the document beside it in ``catalog_search_doc
  (resource_id, name, doc)``, read only for the few rows ranked. ``doc`` is the
  ``tsvector`` of name (weight A) and body (configuration ``simple``: the tokens are
  already words; ranked with ts_rank); ``tokens`` is the sorted ``INTEGER[]`` of the ids
  (in ``catalog_search_token``) of the document's lexemes, with a GIN index: a query
  matches when the document holds every lexeme of every query word, as ``doc @@
  plainto_tsquery(w1) && ...`` would (no weights nor phrases are asked for). B-tree
  indexes on publication time and on the name.

Every distinct (facet, value) gets a small integer code in ``catalog_search_code``, and
every document a ``facet_key``: one character per counted facet, ``chr(CODE_BASE +
code)``, in ``COUNTED`` order, so that a search can count every facet of its matches from
one aggregate.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select, text

from govshare.catalog.tables import catalog_entry, catalog_entry_mode

_lock = threading.Lock()
_ready = False
_TOKEN = re.compile(r"[\w\u3400-\u9fff]+", re.UNICODE)

FACETS = (
    "provider_department_id",
    "classification",
    "share_category",
    "open_category",
    "format_category",
    "update_cycle",
)
# The facet key's characters: the facets, then the entry's delivery modes (space-separated,
# sorted) as one value.
COUNTED = (*FACETS, "modes")
CODE_BASE = 0x100
MAX_CODE = 0xD7FF - CODE_BASE  # below the UTF-16 surrogates


def _jieba() -> Any:
    """jieba, imported and initialised at the first segmentation: importing it (and the
    pkg_resources it pulls in) took ~0.15 s of every process's start, exports and ingests
    included, which never segment."""
    global _ready
    import jieba

    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _ready = True
    return jieba


def tokens(value: str) -> list[str]:
    """Search tokens of ``value``: jieba words and their sub-words, lower-cased."""
    out: list[str] = []
    for word in _jieba().cut_for_search(value or ""):
        w = word.strip().lower()
        if w and _TOKEN.fullmatch(w):
            out.append(w)
    return out


def segment(values: Iterable[str]) -> str:
    return " ".join(t for v in values for t in tokens(v))


def query_tokens(query: str) -> list[str]:
    """The distinct tokens of a user query (jieba's precise mode, so that a query word is
    not widened into sub-words the user did not type)."""
    seen: dict[str, None] = {}
    for word in _jieba().cut(query or ""):
        w = word.strip().lower()
        if w and _TOKEN.fullmatch(w):
            seen[w] = None
    return list(seen)


# Indexing ---------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexText:
    """What one published entry contributes to the index: its name and the other text
    parts publication puts in the body (summary, provider, theme, tags, items, format)."""

    resource_id: str
    name: str
    body_parts: Sequence[str]


def index_entry(conn: Connection, resource_id: str, name: str, body_parts: Iterable[str]) -> None:
    """(Re)index one published resource, after its ``catalog_entry`` row is written."""
    index_entries(conn, [IndexText(resource_id, name, list(body_parts))])


def index_entries(conn: Connection, entries: Iterable[IndexText]) -> None:
    """(Re)index published resources, after their ``catalog_entry`` (and
    ``catalog_entry_mode``) rows are written. Re-indexing replaces what an entry had."""
    texts = list(entries)
    if not texts:
        return
    values = _entry_values(conn, [t.resource_id for t in texts])
    codes = _codes(conn, {(f, v[f]) for v in values.values() for f in COUNTED})
    rows = [
        {
            "id": t.resource_id,
            "n": segment([t.name]),
            "b": segment(t.body_parts),
            "fk": _facet_key(values[t.resource_id], codes),
        }
        for t in texts
    ]
    if conn.dialect.name == "postgresql":
        _pg_index(conn, rows)
        return
    # SQLite: upsert the document (an entry already indexed keeps its key), then replace
    # its FTS5 row by rowid.
    conn.execute(
        text(
            "INSERT INTO catalog_search (resource_id, facet_key) VALUES (:id, :fk) "
            "ON CONFLICT (resource_id) DO UPDATE SET facet_key = excluded.facet_key"
        ),
        rows,
    )
    keys = _sqlite_keys(conn, [str(r["id"]) for r in rows])
    fts = [{"k": keys[str(r["id"])], "n": r["n"], "b": r["b"]} for r in rows]
    conn.execute(text("DELETE FROM catalog_fts WHERE rowid = :k"), fts)
    conn.execute(text("INSERT INTO catalog_fts (rowid, name, body) VALUES (:k, :n, :b)"), fts)


def remove_entry(conn: Connection, resource_id: str) -> None:
    """Take a resource out of the search (when it is taken offline)."""
    if conn.dialect.name != "postgresql":
        conn.execute(
            text(
                "DELETE FROM catalog_fts WHERE rowid = "
                "(SELECT id FROM catalog_search WHERE resource_id = :id)"
            ),
            {"id": resource_id},
        )
    else:
        conn.execute(
            text("DELETE FROM catalog_search_doc WHERE resource_id = :id"), {"id": resource_id}
        )
    conn.execute(text("DELETE FROM catalog_search WHERE resource_id = :id"), {"id": resource_id})


def _pg_index(conn: Connection, rows: list[dict[str, str]]) -> None:
    """PostgreSQL: the documents, then their new lexemes, then the narrow rows. The
    lexemes are numbered in a statement of their own, so that the next one (a new
    snapshot under READ COMMITTED) sees every lexeme, also one that a concurrent
    transaction numbered first; under a stricter isolation such a conflict is an error."""
    conn.execute(
        text(
            "INSERT INTO catalog_search_doc (resource_id, name, doc) SELECT e.resource_id, "
            "e.name, setweight(to_tsvector('simple', :n), 'A') || to_tsvector('simple', :b) "
            "FROM catalog_entry e WHERE e.resource_id = :id "
            "ON CONFLICT (resource_id) DO UPDATE SET name = excluded.name, doc = excluded.doc"
        ),
        rows,
    )
    ids = [str(r["id"]) for r in rows]
    for chunk in _chunks(ids):
        conn.execute(
            text(
                "INSERT INTO catalog_search_token (lexeme) SELECT l FROM (SELECT DISTINCT "
                "unnest(tsvector_to_array(d.doc)) AS l FROM catalog_search_doc d "
                "WHERE d.resource_id = ANY(:ids)) n WHERE NOT EXISTS (SELECT 1 FROM "
                "catalog_search_token t WHERE t.lexeme = n.l) ORDER BY l "
                "ON CONFLICT (lexeme) DO NOTHING"
            ),
            {"ids": chunk},
        )
    conn.execute(
        text(
            "INSERT INTO catalog_search (published_at, resource_id, code, facet_key, tokens) "
            "SELECT e.published_at, e.resource_id, e.code, :fk, ARRAY(SELECT t.id "
            "FROM unnest(tsvector_to_array(d.doc)) l JOIN catalog_search_token t "
            "ON t.lexeme = l ORDER BY t.id) FROM catalog_entry e "
            "JOIN catalog_search_doc d ON d.resource_id = e.resource_id WHERE e.resource_id = :id "
            "ON CONFLICT (resource_id) DO UPDATE SET published_at = excluded.published_at, "
            "code = excluded.code, facet_key = excluded.facet_key, tokens = excluded.tokens"
        ),
        rows,
    )


def _entry_values(conn: Connection, resource_ids: list[str]) -> dict[str, dict[str, str]]:
    """The counted facet values of the given published entries."""
    out: dict[str, dict[str, str]] = {}
    modes: dict[str, list[str]] = {}
    cols = [catalog_entry.c.resource_id, *(catalog_entry.c[f] for f in FACETS)]
    for chunk in _chunks(resource_ids):
        for row in conn.execute(select(*cols).where(catalog_entry.c.resource_id.in_(chunk))):
            out[row[0]] = dict(zip(FACETS, row[1:], strict=True))
        for rid, mode in conn.execute(
            select(catalog_entry_mode.c.resource_id, catalog_entry_mode.c.mode).where(
                catalog_entry_mode.c.resource_id.in_(chunk)
            )
        ):
            modes.setdefault(rid, []).append(mode)
    missing = [r for r in resource_ids if r not in out]
    if missing:
        raise LookupError(f"not published in catalog_entry, cannot be indexed: {missing[:5]}")
    for rid, v in out.items():
        v["modes"] = " ".join(sorted(modes.get(rid, [])))
    return out


def _chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def code_table(conn: Connection) -> dict[int, tuple[str, str]]:
    """Every facet code: a handful per facet, read whole."""
    rows = conn.execute(text("SELECT code, facet, value FROM catalog_search_code"))
    return {int(c): (str(f), str(v)) for c, f, v in rows}


def _codes(conn: Connection, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The codes of (facet, value) pairs, adding the new ones."""
    known = {p: c for c, p in code_table(conn).items()}
    new = sorted(p for p in pairs if p not in known)
    if new:
        conn.execute(
            text(
                "INSERT INTO catalog_search_code (facet, value) VALUES (:f, :v) "
                "ON CONFLICT (facet, value) DO NOTHING"
            ),
            [{"f": f, "v": v} for f, v in new],
        )
        known = {p: c for c, p in code_table(conn).items()}
    return {p: known[p] for p in pairs}


def _char(code: int) -> str:
    if not 0 < code <= MAX_CODE:
        raise ValueError(f"facet code out of range for the search index: {code}")
    return chr(CODE_BASE + code)


def _facet_key(values: dict[str, str], codes: dict[tuple[str, str], int]) -> str:
    return "".join(_char(codes[(facet, values[facet])]) for facet in COUNTED)


def _sqlite_keys(conn: Connection, resource_ids: list[str]) -> dict[str, int]:
    keys: dict[str, int] = {}
    stmt = text("SELECT resource_id, id FROM catalog_search WHERE resource_id IN :ids")
    for chunk in _chunks(resource_ids):
        found = conn.execute(stmt.bindparams(bindparam("ids", expanding=True)), {"ids": chunk})
        keys.update({str(r): int(k) for r, k in found})
    return keys


# Matching ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    """How a query selects search documents.

    SQLite: ``source`` is a FROM item ``f(k, score)``: the ``catalog_search.id`` of every
    matching document and its score (lower ranks first); ``rank`` is unused.
    PostgreSQL: ``source`` is a condition on ``s`` (``catalog_search``) and ``rank`` the
    relevance of the document ``d`` (``catalog_search_doc``; higher ranks first).
    ``indexed``: the condition is the GIN index's own (it answers it exactly, without
    reading a document), so that the matches are best read through the index whatever
    their number."""

    source: str
    params: dict[str, object]
    rank: str = "CAST(0 AS REAL)"
    indexed: bool = False


def match_sql(conn: Connection, query: str) -> Match | None:
    """The full-text match of ``query`` (every token must occur); None when the query
    has no searchable token."""
    words = query_tokens(query)
    if not words:
        return None
    if conn.dialect.name == "postgresql":
        return _pg_match(conn, words)
    match = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
    return Match(  # bm25 weights of the columns (name, body): the name counts ten times
        "(SELECT rowid AS k, bm25(catalog_fts, 10.0, 1.0) AS score FROM catalog_fts "
        "WHERE catalog_fts MATCH :match) f",
        {"match": match},
    )


def _pg_match(conn: Connection, words: list[str]) -> Match:
    """The lexemes of the query words (as ``plainto_tsquery`` makes them), their ids,
    and the documents that hold them all; the rank is ``ts_rank`` of the same tsquery."""
    params: dict[str, object] = {f"w{i}": w for i, w in enumerate(words)}
    tsq = "(" + " && ".join(f"plainto_tsquery('simple', :w{i})" for i in range(len(words)))
    tsq += ")"
    rank = f"ts_rank(d.doc, {tsq})"
    lexemes = conn.execute(
        text(
            "SELECT l.lexeme, t.id FROM unnest(CAST(:words AS TEXT[])) AS w(word) "
            "CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector('simple', w.word))) "
            "AS l(lexeme) LEFT JOIN catalog_search_token t ON t.lexeme = l.lexeme"
        ),
        {"words": words},
    ).all()
    if not lexemes or any(i is None for _, i in lexemes):
        # no lexeme at all (an empty tsquery matches nothing), or one no document holds
        return Match("false", params, rank)
    tokens = sorted({int(i) for _, i in lexemes})
    return Match("s.tokens @> CAST(:tokens AS INTEGER[])", params | {"tokens": tokens}, rank, True)


def relevance(conn: Connection, match: Match) -> dict[str, float]:
    """The relevance of every matching resource (higher is more relevant: -bm25 on SQLite,
    ts_rank on PostgreSQL), for inspection and tests."""
    if conn.dialect.name == "postgresql":
        sql = f"SELECT s.resource_id, {match.rank} FROM catalog_search s "  # noqa: S608 - the match holds bound parameters only  # nosec B608
        sql += f"JOIN catalog_search_doc d ON d.resource_id = s.resource_id WHERE {match.source}"
    else:
        sql = f"SELECT s.resource_id, -f.score FROM {match.source} "  # noqa: S608 - the match holds bound parameters only  # nosec B608
        sql += "JOIN catalog_search s ON s.id = f.k"
    return {str(r): float(v) for r, v in conn.execute(text(sql), match.params)}
