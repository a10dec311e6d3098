"""Chinese full-text search over the published catalog.

Text is segmented with jieba (``cut_for_search``, so that a long word also yields its
two-character parts: 人口基础信息库 → 人口 / 基础 / 信息 / 信息库 ...) when indexing and when
querying. SQLite keeps the tokens in an FTS5 table ranked with bm25; PostgreSQL keeps a
``tsvector`` (configuration ``simple``, the tokens are already words) with a GIN index,
ranked with ts_rank. Exact-name hits rank first on both.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

import jieba
from sqlalchemy import Connection, text

_lock = threading.Lock()
_ready = False
_TOKEN = re.compile(r"[\w\u3400-\u9fff]+", re.UNICODE)

SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS catalog_fts USING fts5("
    "resource_id UNINDEXED, name, body, tokenize = 'unicode61 remove_diacritics 0')",
]
POSTGRES_DDL = [
    "CREATE TABLE IF NOT EXISTS catalog_search ("
    "resource_id VARCHAR(26) PRIMARY KEY REFERENCES resource(id), name_tokens TEXT NOT NULL, "
    "doc TSVECTOR NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_catalog_search_doc ON catalog_search USING GIN (doc)",
]
DROP_DDL = {
    "sqlite": ["DROP TABLE IF EXISTS catalog_fts"],
    "postgresql": ["DROP TABLE IF EXISTS catalog_search"],
}


def search_ddl(dialect: str) -> list[str]:
    return POSTGRES_DDL if dialect == "postgresql" else SQLITE_DDL


def _init() -> None:
    global _ready
    with _lock:
        if not _ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _ready = True


def tokens(value: str) -> list[str]:
    """Search tokens of ``value``: jieba words and their sub-words, lower-cased."""
    _init()
    out: list[str] = []
    for word in jieba.cut_for_search(value or ""):
        w = word.strip().lower()
        if w and _TOKEN.fullmatch(w):
            out.append(w)
    return out


def segment(values: Iterable[str]) -> str:
    return " ".join(t for v in values for t in tokens(v))


def index_entry(conn: Connection, resource_id: str, name: str, body_parts: Iterable[str]) -> None:
    """(Re)index one published resource."""
    name_tokens = segment([name])
    body = segment(body_parts)
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "INSERT INTO catalog_search (resource_id, name_tokens, doc) VALUES (:id, :n, "
                "setweight(to_tsvector('simple', :n), 'A') || to_tsvector('simple', :b)) "
                "ON CONFLICT (resource_id) DO UPDATE SET name_tokens = EXCLUDED.name_tokens, "
                "doc = EXCLUDED.doc"
            ),
            {"id": resource_id, "n": name_tokens, "b": body},
        )
        return
    conn.execute(text("DELETE FROM catalog_fts WHERE resource_id = :id"), {"id": resource_id})
    conn.execute(
        text("INSERT INTO catalog_fts (resource_id, name, body) VALUES (:id, :n, :b)"),
        {"id": resource_id, "n": name_tokens, "b": body},
    )


def remove_entry(conn: Connection, resource_id: str) -> None:
    table = "catalog_search" if conn.dialect.name == "postgresql" else "catalog_fts"
    conn.execute(text(f"DELETE FROM {table} WHERE resource_id = :id"), {"id": resource_id})  # noqa: S608 - one of two constant tables  # nosec B608


def query_tokens(query: str) -> list[str]:
    """The distinct tokens of a user query (jieba's precise mode, so that a query word is
    not widened into sub-words the user did not type)."""
    _init()
    seen: dict[str, None] = {}
    for word in jieba.cut(query or ""):
        w = word.strip().lower()
        if w and _TOKEN.fullmatch(w):
            seen[w] = None
    return list(seen)


def match_sql(conn: Connection, query: str) -> tuple[str, dict[str, object]] | None:
    """A SELECT of (resource_id, score) for ``query``; lower score ranks first.
    None when the query has no searchable token."""
    words = query_tokens(query)
    if not words:
        return None
    if conn.dialect.name == "postgresql":
        params: dict[str, object] = {f"w{i}": w for i, w in enumerate(words)}
        tsq = " && ".join(f"plainto_tsquery('simple', :w{i})" for i in range(len(words)))
        return (
            f"SELECT resource_id, -ts_rank(doc, {tsq}) AS score FROM catalog_search "  # noqa: S608 - tsq holds bound parameters only  # nosec B608
            f"WHERE doc @@ ({tsq})",
            params,
        )
    match = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
    return (
        "SELECT resource_id, bm25(catalog_fts, 0.0, 10.0, 1.0) AS score FROM catalog_fts "
        "WHERE catalog_fts MATCH :match",
        {"match": match},
    )
