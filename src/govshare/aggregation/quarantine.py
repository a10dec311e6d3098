"""Quarantined rows: download them, fix them, resubmit them.

The download is a CSV in UTF-8 with a BOM (so that Excel opens it as UTF-8). Its columns are
原行号 (the row's number in the original file), the data items by their Chinese names (so
that the file maps back to the resource on upload) and 错误原因 (every reason, in Chinese).
The two added columns are ignored when the file comes back (``readers.IGNORED_HEADERS``), so
the provider can fix the rows in place and resubmit the file as it is.

Export safety: a text cell that a spreadsheet would take for a formula (beginning with
``= + - @``, a tab or a carriage return) gets a leading apostrophe, against CSV formula
injection. Plain numbers (``-5``, ``+86``) are data, not formulas, and are left alone so that
a corrected file round-trips.

Only the provider (its staff with LOAD_DATA, or its own client systems) downloads the rows:
they hold raw values, identifiers included. The authority sees the reasons per row on the
batch page, not the values. Every download writes an EXPORT audit entry.

Resubmission (:func:`resubmit`) is a normal ingest of the corrected file (same validation,
same atomic batch, same idempotency by file hash). The original batch's open quarantined rows
are then closed: all of them when the resubmission loaded with no rejects; otherwise those
whose identifier the resubmission loaded (fixed), and those it quarantined again under the
same identifier text (carried: they stay open under the new batch, which the provider
downloads next, so that no bad row is counted twice). Rows the corrected file left out stay
open under the original batch and count against the resource's validity.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, select, update

from govshare.aggregation import cells
from govshare.aggregation import queries as agg_queries
from govshare.aggregation.ingest import Progress, ingest_file, require_provider
from govshare.aggregation.model import Batch, BatchStatus, IngestResult
from govshare.aggregation.pools import Pool, active_pool
from govshare.aggregation.tables import quarantine_row
from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import queries as catalog_queries
from govshare.catalog.model import DataItemInput, ResourceVersion
from govshare.kernel.actor import Actor
from govshare.kernel.errors import Conflict
from govshare.storage.engine import Database

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
ROW_NO_HEADER, ERRORS_HEADER = "原行号", "错误原因"  # both in readers.IGNORED_HEADERS
_CHUNK = 500


def neutralise(value: str) -> str:
    """A cell a spreadsheet would evaluate as a formula becomes inert text."""
    if value.startswith(FORMULA_PREFIXES) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _version_of(conn: Connection, batch: Batch) -> ResourceVersion:
    res = catalog_queries.get_resource(conn, batch.resource_id)
    vid = res.published_version_id
    if vid is None:  # retired since: the newest version it had
        history = catalog_queries.history(conn, batch.resource_id)
        return history[0]
    return catalog_queries.get_version(conn, vid)


def write_csv(conn: Connection, batch: Batch, items: list[DataItemInput], out: IO[bytes]) -> int:
    """Write the batch's unresolved quarantined rows to ``out``; returns the row count."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(text)
        codes = [i.code for i in items]
        writer.writerow([ROW_NO_HEADER, *[neutralise(i.name) for i in items], ERRORS_HEADER])
        n = 0
        for row in agg_queries.quarantine_rows(conn, batch.id, unresolved_only=True):
            # values of items dropped since are left out: the resubmission is checked
            # against the published version, which no longer has them
            cells_out = [neutralise(row.values.get(c) or "") for c in codes]
            reasons = "；".join(e.message_zh for e in row.errors)
            writer.writerow([row.row_no, *cells_out, neutralise(reasons)])
            n += 1
        text.flush()
    finally:
        text.detach()
    return n


def export_csv(db: Database, batch_id: str, out: IO[bytes], *, actor: Actor) -> int:
    """The audited download of a batch's quarantined rows (the provider only)."""
    with db.read() as conn:
        batch = agg_queries.get_batch(conn, batch_id)
        version = _version_of(conn, batch)
        require_provider(conn, actor, version)
        n = write_csv(conn, batch, list(version.entry.data_items), out)
    with db.transaction() as tx:
        audit.record(
            tx,
            actor,
            AuditAction.EXPORT,
            "ingest_batch",
            batch.id,
            details={"resource": version.code, "quarantined_rows": n, "format": "csv"},
        )
    return n


@dataclass(frozen=True)
class Resubmission:
    result: IngestResult  # the resubmitted file's batch (duplicate when sent before)
    resolved: int  # rows of the original batch the resubmission fixed
    carried: int  # rows still wrong in the resubmission: now tracked under its batch
    remaining: int  # rows of the original batch still open (left out of the file)


def resubmit(
    db: Database,
    batch_id: str,
    path: Path,
    *,
    actor: Actor,
    fmt: str | None = None,
    file_name: str | None = None,
    progress: Progress | None = None,
) -> Resubmission:
    """Ingest the corrected file for ``batch_id``'s resource and close what it fixed."""
    with db.read() as conn:
        original = agg_queries.get_batch(conn, batch_id)
        require_provider(conn, actor, _version_of(conn, original))
    result = ingest_file(
        db,
        original.resource_id,
        path,
        actor=actor,
        fmt=fmt,
        file_name=file_name,
        progress=progress,
    )
    if result.batch.id == original.id:
        raise Conflict(
            "这是原批次的同一文件，请先修正被拒绝的行再重新提交",
            "this is the original batch's file: fix the rejected rows before resubmitting",
            code="resubmit_same_file",
        )
    fixed, carried, remaining = resolve(db, original, result.batch, actor=actor)
    return Resubmission(result, fixed, carried, remaining)


def resolve(db: Database, original: Batch, later: Batch, *, actor: Actor) -> tuple[int, int, int]:
    """Close ``original``'s open quarantined rows that the resubmission ``later`` dealt with:
    (fixed, carried, remaining).

    - fixed: every open row when ``later`` loaded with no rejects; otherwise the rows whose
      identifier ``later`` loaded;
    - carried: rows that ``later`` quarantined again (same identifier text): they stay open
      under ``later``, so that nothing is counted twice;
    - remaining: rows ``later`` did not contain; they stay open under ``original``.
    """
    with db.transaction() as tx:
        conn = tx.conn
        version = _version_of(conn, original)
        items = list(version.entry.data_items)
        open_rows = [
            r.row_no for r in agg_queries.quarantine_rows(conn, original.id, unresolved_only=True)
        ]
        fixed: list[int] = []
        carried: list[int] = []
        if later.status is BatchStatus.LOADED and later.rows_rejected == 0:
            fixed = open_rows
        else:
            fixed = _fixed_by_key(conn, original, later, items)
            carried = sorted(set(_carried(conn, original, later)) - set(fixed))
        closed = sorted(set(fixed) | set(carried))
        for i in range(0, len(closed), _CHUNK):
            conn.execute(
                update(quarantine_row)
                .where(
                    quarantine_row.c.batch_id == original.id,
                    quarantine_row.c.row_no.in_(closed[i : i + _CHUNK]),
                )
                .values(resolved=True)
            )
        remaining = agg_queries.unresolved_count(conn, original.id)
        if closed:
            audit.record(
                tx,
                actor,
                AuditAction.RESOLVE,
                "ingest_batch",
                original.id,
                details={
                    "resource": version.code,
                    "by_batch": later.id,
                    "fixed": len(fixed),
                    "carried": len(carried),
                    "remaining": remaining,
                },
            )
    return len(fixed), len(carried), remaining


def _key_column(conn: Connection, resource_id: str) -> tuple[Pool, str] | None:
    pool = active_pool(conn, resource_id)
    if pool is None or len(pool.key_columns) != 1:
        return None
    return pool, pool.key_columns[0]


def _fixed_by_key(
    conn: Connection, original: Batch, later: Batch, items: list[DataItemInput]
) -> list[int]:
    """Row numbers of ``original``'s open rows whose identifier ``later`` loaded."""
    found_key = _key_column(conn, original.resource_id)
    if found_key is None:
        return []
    pool, key = found_key
    item = next((i for i in items if i.code == key), None)
    if item is None:
        return []
    by_key: dict[str, list[int]] = {}
    for row in agg_queries.quarantine_rows(conn, original.id, unresolved_only=True):
        value, err = cells.convert(item, row.values.get(key))
        if err is None and value is not None:
            by_key.setdefault(str(value), []).append(row.row_no)
    table = pool.table()
    fixed: list[int] = []
    keys = sorted(by_key)
    for i in range(0, len(keys), _CHUNK):
        found = conn.execute(
            select(table.c[key]).where(
                table.c[key].in_(keys[i : i + _CHUNK]),
                table.c._updated_batch_id == later.id,
                table.c._deleted.is_(False),
            )
        ).scalars()
        for k in found:
            fixed.extend(by_key[str(k)])
    return sorted(fixed)


def _carried(conn: Connection, original: Batch, later: Batch) -> list[int]:
    """Row numbers of ``original``'s open rows that ``later`` quarantined again."""
    found_key = _key_column(conn, original.resource_id)
    if found_key is None:
        return []
    key = found_key[1]
    again = {
        (r.values.get(key) or "").strip()
        for r in agg_queries.quarantine_rows(conn, later.id, unresolved_only=True)
    }
    again.discard("")
    return [
        r.row_no
        for r in agg_queries.quarantine_rows(conn, original.id, unresolved_only=True)
        if (r.values.get(key) or "").strip() in again
    ]
