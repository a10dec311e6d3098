"""Batch exchange (批量交换, SQ-18 部门批量下载): an asynchronous export of a grant's pool.

Three calls, each through ``delivery.guard`` with the ``batch`` mode (so every refusal has
its precise code, and a suspension or revocation bites at the next step, NX-41):

1. ``request_export`` (POST by the client system): authorised, the job is queued and the
   request is audited (EXPORT) and receipted; the job runs on the job queue.
2. ``run_export`` (the huey task ``govshare.export``; inline when the queue is immediate):
   authorised again on behalf of the client system, the grant's pool is streamed through
   the driver's cursor (server-side on PostgreSQL) in chunks of ``CHUNK`` rows, each chunk
   masked a column at a time by the grant's ``MaskPlan`` (a CSV of a SQLite pool: by the
   plan's compiled row writer, ``_rows_text``) (SQ-26: only the granted items,
   each at its granted level; the same rules as every other path; on PostgreSQL the server
   masks the items whose rule SQL states exactly, ``masking.sql_masked``), into CSV, XLSX, JSON
   Lines or Parquet under ``<var>/exports``; memory stays constant whatever the pool's
   size. A CSV of a PostgreSQL pool whose every item the server can mask exactly is
   written by the server itself (``COPY (…) TO STDOUT (FORMAT csv)``, ``_copy_rows``: the
   masking and the quoting in C, the client only ending the lines as csv.writer does),
   the very bytes the chunk path writes. The copy is audited (COPY, SQ-25 复制) and
   receipted with its row count, and a manifest (row count, SHA-256 and size of the file,
   grant, resource version, items with their masking, format, time, the call and its
   audit entry) is signed with the platform key (``delivery.statements``, domain
   ``govshare-export-manifest:v1.``).
3. ``download`` (GET with the client token and the signed link): the link carries the job
   and its expiry, signed with the server secret; after ``GOVSHARE_EXPORT_LINK_TTL``
   seconds it is refused (``export_link_expired``) and the daily job destroys the file
   (``clean_expired``, audited DESTROY). The download is audited (TRANSMIT, SQ-25 传输) and
   receipted.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
import os
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from operator import itemgetter
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, Signer
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Dialect,
    Enum,
    Integer,
    Select,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.types import TypeDecorator

from govshare.aggregation.pools import DecimalText, Pool
from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog.model import DeliveryMode, ItemType
from govshare.config import Settings
from govshare.delivery import errors, statements
from govshare.delivery.export_formats import (
    MEDIA_TYPES,
    ChunkWriter,
    Columns,
    CsvEncoding,
    CsvWriter,
    ExportFormat,
    OutColumn,
    RowsText,
    crlf_csv,
    csv_rows,
    open_writer,
)
from govshare.delivery.file_tables import delivery_export_job as job_table
from govshare.delivery.guard import Authorised, CallRequest, guard_for
from govshare.delivery.masking import ColumnMasker, MaskPlan, sql_masked
from govshare.delivery.model import CallHeaders, GrantedItem, MaskLevel
from govshare.delivery.queries import grant_pool, pool_for_version
from govshare.delivery.receipts import SignedReceipt
from govshare.identity import queries as identity_queries
from govshare.kernel.actor import Actor
from govshare.kernel.clock import iso_utc, utcnow
from govshare.kernel.errors import Conflict, DomainError, NotFound, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.kernel.masking import SensitivityKind
from govshare.platform import Platform

CHUNK = 2000  # rows fetched, masked and written at a time (small enough to stay in cache)
STALE_RUN = timedelta(hours=6)  # a job running longer lost its worker (see recover_interrupted)
LINK_SALT = "govshare-export-link"
MANIFEST_VERSION = 1
JOB_ACTOR = Actor.system("jobs")

Enqueue = Callable[[str], object]  # queues run_export(job_id)
Reader = Callable[[Sequence[Any]], Sequence[Any]]  # a column of driver values, typed


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"  # the file was destroyed after the link's lifetime


@dataclass(frozen=True)
class ExportJob:
    id: str
    grant_id: str
    consumer_department_id: str
    client_id: str
    resource_id: str
    resource_code: str
    version_no: int
    items: tuple[str, ...]
    format: ExportFormat
    encoding: str
    state: JobState
    purpose: str
    end_user: str
    case_no: str
    call_id: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
    rows: int | None
    size: int | None
    sha256: str | None
    filename: str | None
    manifest: dict[str, Any] | None
    manifest_signature: str | None
    receipt: str | None
    error_code: str | None
    error: str | None

    @property
    def download_name(self) -> str:
        return f"{self.resource_code}-v{self.version_no}-{self.id}.{self.format.value}"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


def _job(row: Any) -> ExportJob:
    m = row._mapping
    return ExportJob(
        id=m["id"],
        grant_id=m["grant_id"],
        consumer_department_id=m["consumer_department_id"],
        client_id=m["client_id"],
        resource_id=m["resource_id"],
        resource_code=m["resource_code"],
        version_no=int(m["version_no"]),
        items=tuple(json.loads(m["items"])),
        format=ExportFormat(m["format"]),
        encoding=m["encoding"],
        state=JobState(m["state"]),
        purpose=m["purpose"],
        end_user=m["end_user"],
        case_no=m["case_no"],
        call_id=m["call_id"],
        requested_at=m["requested_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        expires_at=m["expires_at"],
        rows=m["rows"],
        size=m["size"],
        sha256=m["sha256"],
        filename=m["filename"],
        manifest=json.loads(m["manifest"]) if m["manifest"] else None,
        manifest_signature=m["manifest_signature"],
        receipt=m["receipt"],
        error_code=m["error_code"],
        error=m["error"],
    )


def get_job(conn: Connection, job_id: str) -> ExportJob | None:
    row = conn.execute(select(job_table).where(job_table.c.id == job_id)).first()
    return _job(row) if row is not None else None


def jobs_of(conn: Connection, consumer_department_id: str, limit: int = 50) -> list[ExportJob]:
    rows = conn.execute(
        select(job_table)
        .where(job_table.c.consumer_department_id == consumer_department_id)
        .order_by(job_table.c.requested_at.desc())
        .limit(limit)
    ).all()
    return [_job(r) for r in rows]


# Errors ---------------------------------------------------------------------------------
def not_found() -> DomainError:
    return NotFound("导出任务不存在", "no such export job", code="export_not_found")


def _format_of(fmt: str | None, encoding: str | None) -> tuple[ExportFormat, str]:
    try:
        f = ExportFormat((fmt or "csv").strip().lower())
    except ValueError:
        raise ValidationFailed(
            "导出格式只能是 csv、xlsx、jsonl 或 parquet",
            "the format must be csv, xlsx, jsonl or parquet",
            code="export_format_invalid",
            field="format",
        ) from None
    enc = (encoding or "utf-8").strip().lower()
    allowed = [e.value for e in CsvEncoding] if f is ExportFormat.CSV else ["utf-8"]
    if enc not in allowed:
        raise ValidationFailed(
            f"{f.value} 格式的编码只能是 {'、'.join(allowed)}",
            f"the encoding of a {f.value} export must be one of {', '.join(allowed)}",
            code="export_encoding_invalid",
            field="encoding",
        )
    return f, enc


# 1. Request -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportRequested:
    job: ExportJob
    receipt: SignedReceipt
    headers: dict[str, str]


def request_export(
    platform: Platform,
    grant_id: str,
    *,
    fmt: str | None,
    encoding: str | None,
    items: tuple[str, ...] | None,
    call: CallHeaders,
    actor: Actor,
    enqueue: Enqueue,
) -> ExportRequested:
    """Queue an export of the grant's pool (mode ``batch``); audited (EXPORT), receipted."""
    guard = guard_for(platform)
    with platform.db.read() as conn:
        auth = guard.authorise(conn, actor, CallRequest(grant_id, DeliveryMode.BATCH, call, items))
        try:
            f, enc = _format_of(fmt, encoding)
            if grant_pool(conn, auth.grant) is None:
                raise errors.no_pool()
        except DomainError as exc:
            guard.fail(auth, exc)
    job_id = new_id()
    _, receipt = guard.complete(
        auth,
        action=AuditAction.EXPORT,
        keys=[],
        rows=0,
        details={"job": job_id, "format": f.value, "encoding": enc, "stage": "requested"},
    )
    with platform.db.transaction() as tx:
        tx.conn.execute(
            insert(job_table).values(
                id=job_id,
                grant_id=auth.grant.id,
                consumer_department_id=auth.grant.consumer_department_id,
                client_id=auth.client.client_id,
                resource_id=auth.grant.resource_id,
                resource_code=auth.grant.resource_code,
                version_no=auth.grant.version_no,
                items=json.dumps([i.code for i in auth.items]),
                format=f.value,
                encoding=enc,
                state=JobState.QUEUED.value,
                purpose=auth.purpose,
                end_user=auth.end_user,
                case_no=auth.case_no,
                call_id=auth.call_id,
                requested_at=utcnow(),
            )
        )
    enqueue(job_id)
    with platform.db.read() as conn:
        job = get_job(conn, job_id)
    assert job is not None
    return ExportRequested(
        job=job,
        receipt=receipt,
        headers={**auth.response_headers(), "X-Call-Receipt": receipt.compact},
    )


# 2. Run ---------------------------------------------------------------------------------
def _out_kind(pool: Pool, item: GrantedItem) -> str:
    """How an item's masked value is typed in a Parquet file."""
    col = pool.column(item.code)
    plain = item.level is MaskLevel.RAW or (
        item.level is MaskLevel.MASKED
        and item.sensitivity in (SensitivityKind.NONE.value, SensitivityKind.USCC.value)
    )
    if col is not None and plain:
        if col.type == ItemType.INTEGER.value:
            return "int64"
        if col.type == ItemType.BOOLEAN.value:
            return "bool"
    return "string"


def _fetched(cursor: Any, ahead: bool) -> Generator[list[Any], None, None]:
    """``cursor.fetchmany(CHUNK)`` until it is empty. With ``ahead``, the next chunk is
    fetched in a thread while the caller works on this one (the driver waits for the
    server without holding the GIL, so the server produces it meanwhile)."""
    if not ahead:
        while rows := cursor.fetchmany(CHUNK):
            yield rows
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="govshare-export") as fetcher:
        pending = fetcher.submit(cursor.fetchmany, CHUNK)
        try:
            while rows := pending.result():
                pending = fetcher.submit(cursor.fetchmany, CHUNK)
                yield rows
        finally:  # stopped early, or a fetch failed: the fetch in flight ends first
            with contextlib.suppress(Exception):
                pending.result()


def _iso_dates(values: Sequence[Any], to_date: Callable[[Any], Any]) -> Sequence[Any]:
    """A SQLite date column as its stored ISO text when every value already is the text the
    date would give (``YYYY-MM-DD``, checked with the dialect's own ``to_date``, so that a
    value it refuses still fails the export), which is what every masker makes of a date;
    otherwise the dates, as the dialect reads them."""
    texts = values if None not in values else [v for v in values if v is not None]
    if set(map(type, texts)) <= _TEXT and set(map(len, texts)) <= _TEN:
        joined, dashes = "".join(texts), "-" * len(texts)
        # ten characters with dashes at 4 and 7 that ``date.fromisoformat`` reads are
        # YYYY-MM-DD in ASCII digits (the only other ten-character ISO date, 2026-W01-1,
        # has a digit at 7): exactly ``date.isoformat()``
        if joined[4::10] == dashes and joined[7::10] == dashes:
            for _ in map(to_date, texts):  # each must be a real date
                pass
            return values
    return list(map(to_date, values))


_TEXT = {str}
_TEN = {10}


def _reader(column: ColumnElement[Any], dialect: Dialect, dbapi_type: Any) -> Reader | None:
    """What turns a column of driver values into the values the result would give (the
    type's result processing), None when they are those values already."""
    impl = column.type.dialect_impl(dialect)
    process = impl.result_processor(dialect, dbapi_type)
    if process is None:
        return None
    if dialect.name == "sqlite" and isinstance(impl, Date) and not isinstance(impl, DateTime):
        return functools.partial(_iso_dates, to_date=process)
    return lambda values: list(map(process, values))


def _pg_iso_date(column: ColumnElement[Any], iso_style: bool = False) -> ColumnElement[Any]:
    """A PostgreSQL date as the text ``date.isoformat()`` gives (what every masker makes of
    a date), whatever the session's DateStyle (``iso_style``: the session's DateStyle is
    ISO, whose text of a date from year 1 to 9999 is that text, and costs the server less
    than ``to_char``). A date Python cannot hold fails the export, as reading it as a date
    does: its text is cast to an integer, which raises."""
    return case(
        (
            column.between(literal(date(1, 1, 1)), literal(date(9999, 12, 31))),
            cast(column, Text) if iso_style else func.to_char(column, "YYYY-MM-DD", type_=Text),
        ),
        (column.is_(None), null()),
        else_=cast(cast(cast(column, Text), Integer), Text),
    )


@contextlib.contextmanager
def _row_chunks(
    conn: Connection, query: Select[Any]
) -> Iterator[tuple[list[Reader | None], Iterator[list[Any]]]]:
    """The driver rows of ``query``, ``CHUNK`` at a time, with each column's reader (the
    type's result processing, ``_reader``). Read through the driver's own cursor inside the
    connection's transaction: on PostgreSQL a server-side (named) cursor, so that memory
    stays constant, with the next chunk fetched while this one is masked and written;
    SQLite steps through the statement with ``fetchmany``. The query's literals (the
    masking expressions' constants) are written into its text. The cursor is closed on
    leaving."""
    dialect = conn.dialect
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    driver = conn.connection.driver_connection  # sqlite3 or psycopg, in this transaction
    assert driver is not None
    server_side = dialect.name == "postgresql"
    name = f"govshare_export_{new_id().lower()}"
    cursor = driver.cursor(name=name) if server_side else driver.cursor()
    try:
        cursor.execute(sql)
        readers = [
            _reader(column, dialect, d[1])
            for column, d in zip(query.selected_columns, cursor.description, strict=True)
        ]
        chunks = _fetched(cursor, ahead=server_side)
        with contextlib.closing(chunks):  # a fetch in flight ends before the cursor closes
            yield readers, chunks
    finally:
        cursor.close()


def _columns(rows: list[Any], readers: list[Reader | None]) -> Columns:
    """A chunk of driver rows as columns of the values the result would give."""
    return [
        list(map(take, rows)) if read is None else read(list(map(take, rows)))
        for take, read in zip(map(itemgetter, range(len(readers))), readers, strict=True)
    ]


def _column_chunks(
    conn: Connection, query: Select[Any]
) -> Generator[tuple[int, Columns], None, None]:
    """The rows of ``query``, ``CHUNK`` at a time, as columns of the values the result would
    give (each column's type processing applied)."""
    with _row_chunks(conn, query) as (readers, chunks):
        for rows in chunks:
            yield len(rows), _columns(rows, readers)


def _is_iso_dates(values: list[Any]) -> bool:
    """Whether a SQLite date column is taken as its stored text (``_iso_dates``); checked
    with ``date.fromisoformat``, stricter than the dialect's parser (a value it refuses
    sends the chunk to the column path, which reads it as the dialect does)."""
    return _iso_dates(values, date.fromisoformat) is values


def _rows_text(conn: Connection, plan: MaskPlan, readers: list[Reader | None]) -> RowsText | None:
    """The compiled CSV writer of a SQLite pool's rows (``export_formats.csv_rows``: each
    value masked inline, a row written in one expression), when every column is read as
    the driver gives it or is a date taken as its ISO text; None otherwise (every chunk
    then goes a column at a time)."""
    if conn.dialect.name != "sqlite":
        return None
    checks: dict[int, Callable[[list[Any]], bool]] = {}
    for i, read in enumerate(readers):
        if isinstance(read, functools.partial) and read.func is _iso_dates:
            checks[i] = _is_iso_dates
        elif read is not None:
            return None
    return csv_rows(plan.text_sources(), checks)


def _as_is(values: Sequence[Any]) -> Sequence[Any]:
    return values


def _server_parameter(conn: Connection, name: str) -> str | None:
    info = getattr(conn.connection.driver_connection, "info", None)  # psycopg's, no query
    return None if info is None else info.parameter_status(name)


def _server_encoding(conn: Connection) -> str | None:
    return _server_parameter(conn, "server_encoding")


def _iso_date_style(conn: Connection) -> bool:
    """Whether the session writes dates as ISO text (DateStyle ``ISO, …``; reported by the
    server whenever it changes)."""
    style = _server_parameter(conn, "DateStyle") or ""
    return style.split(",")[0].strip().upper() == "ISO"


def _selected(
    conn: Connection, table: Table, plan: MaskPlan
) -> tuple[list[ColumnElement[Any]], list[ColumnMasker]]:
    """The columns to read for the plan's items, in its order, and the masker of each read
    value. An item the pool lacks is read as null. On PostgreSQL (a UTF-8 database), the
    items whose masking SQL states exactly are masked by the server (``sql_masked``;
    read as they leave) and dates are read as their ISO text."""
    maskers = plan.column_maskers()
    in_sql = conn.dialect.name == "postgresql" and _server_encoding(conn) == "UTF8"
    iso_style = in_sql and _iso_date_style(conn)
    wanted: list[ColumnElement[Any]] = []
    for i, code in enumerate(plan.codes):
        if code not in table.c:
            wanted.append(null().label(code))
            continue
        column: ColumnElement[Any] = table.c[code]
        if in_sql:
            masked = sql_masked(plan.kinds[code], plan.levels[code], column)
            if masked is not None:
                column, maskers[i] = masked, _as_is
            elif isinstance(column.type, Date) and not isinstance(column.type, DateTime):
                column = _pg_iso_date(column, iso_style)
        wanted.append(column.label(code))
    return wanted, maskers


def _copy_text(column: ColumnElement[Any], iso_style: bool) -> ColumnElement[Any] | None:
    """A PostgreSQL column as the text the CSV writer writes of its plain value (``plain``,
    then ``_text``), for ``COPY … TO``; None for a type whose text the server writes
    otherwise (timestamps: ISO ``T``; floats: their shortest form differs from ``repr``)."""
    t = column.type
    if isinstance(t, DecimalText):  # NUMERIC: PostgreSQL's text is format(value, "f")
        return cast(column, Text)
    if isinstance(t, TypeDecorator | Enum):
        return None
    if isinstance(t, String):
        return column
    if isinstance(t, Integer):  # (BigInteger is one)
        return column
    if isinstance(t, Boolean):
        return case((column.is_(True), literal("true", Text)), (column.is_(False), "false"))
    if isinstance(t, Date) and not isinstance(t, DateTime):
        return _pg_iso_date(column, iso_style)
    return None


def _copy_selected(
    conn: Connection, table: Table, plan: MaskPlan
) -> list[ColumnElement[Any]] | None:
    """The plan's items, in its order, each as the very text the CSV writer writes of its
    masked value, by the server (``sql_masked`` with every rule), so that PostgreSQL can
    write the whole CSV (``_copy_rows``); None when an item's masking or type has no exact
    SQL form (a pseudonym, a text rule over a number, a timestamp; the address and email
    rules before PostgreSQL 15), the database is not UTF-8 (the rules count characters)
    or the plan has one item (csv.writer quotes an empty value alone on its row). A NULL
    and an empty text both leave as nothing (as ``_text`` writes them; PostgreSQL would
    quote the empty text)."""
    if conn.dialect.name != "postgresql" or _server_encoding(conn) != "UTF8" or len(plan.codes) < 2:
        return None
    info = getattr(conn.connection.driver_connection, "info", None)
    every_rule = info is not None and info.server_version >= 150000  # (regexp_instr)
    iso_style = _iso_date_style(conn)
    wanted: list[ColumnElement[Any]] = []
    for code in plan.codes:
        if code not in table.c:
            wanted.append(null().label(code))
            continue
        column: ColumnElement[Any] = table.c[code]
        kind, level = plan.kinds[code], plan.levels[code]
        text = sql_masked(kind, level, column, every_rule=every_rule)
        if text is None:
            plain = level is MaskLevel.RAW or (
                level is MaskLevel.MASKED and kind in (SensitivityKind.NONE, SensitivityKind.USCC)
            )
            text = _copy_text(column, iso_style) if plain else None
        if text is None:
            return None
        if isinstance(text.type, String):
            text = func.nullif(text, "", type_=Text)
        wanted.append(text.label(code))
    return wanted


_COPY_FLUSH = 1 << 20  # bytes of rows the server wrote, fixed up and written at a time


class _NotEncodable(Exception):
    """The export's encoding cannot represent a value: the chunk path names it."""


def _copy_rows(conn: Connection, query: Select[Any], writer: CsvWriter) -> int:
    """``query``'s rows written by PostgreSQL as CSV (``COPY (…) TO STDOUT (FORMAT csv)``,
    masking and quoting in the server, in C) and appended to ``writer``'s file with the
    lines ended as csv.writer ends them (``export_formats.crlf_csv``); returns the row
    count. PostgreSQL quotes exactly what csv.writer quotes (a comma, a double quote, a
    CR or LF; quotes doubled) once ``_copy_selected`` has made empty texts NULL. The rows
    arrive one message each and are handled about a megabyte at a time, so that memory
    stays flat. Raises ``_NotEncodable`` (having read the copy to its end, so that the
    transaction stays usable) when the writer's encoding cannot represent a value."""
    dialect = conn.dialect
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    driver = conn.connection.driver_connection  # psycopg, in this transaction
    assert driver is not None
    copied = f"COPY ({sql}) TO STDOUT (FORMAT csv, ENCODING 'UTF8')"
    rows = 0
    quoted = False  # the data so far ends inside a quoted value
    refused = False
    pending = bytearray()
    with (
        _no_cycle_collection(),
        driver.cursor() as cursor,
        cursor.copy(copied) as copy,
    ):
        for block in copy:
            if refused:
                continue
            pending += block
            if len(pending) < _COPY_FLUSH:
                continue
            data, count, quoted = crlf_csv(pending, quoted)
            pending.clear()
            refused = not writer.write_utf8(data, count)
            rows += count
        if pending and not refused:
            data, count, quoted = crlf_csv(pending, quoted)
            refused = not writer.write_utf8(data, count)
            rows += count
        total = cursor.rowcount
    if refused:
        raise _NotEncodable
    if quoted or (total >= 0 and total != rows):  # (never: PostgreSQL ends every row)
        raise RuntimeError(f"COPY wrote {total} rows, {rows} were read")
    return rows


def _stream_to_file(platform: Platform, auth: Authorised, job: ExportJob, path: Path) -> int:
    """Write the grant's live pool rows, masked, to ``path``; returns the row count. A CSV
    of a PostgreSQL pool whose every item the server masks exactly is written by the
    server (``_copy_rows``); the rest, a chunk at a time (``_write_rows``)."""
    with platform.db.read() as conn:
        pool = pool_for_version(conn, auth.grant.resource_id, auth.grant.version_no)
        if pool is None:
            raise errors.no_pool()
        table = pool.table()
        columns = [OutColumn(i.code, _out_kind(pool, i)) for i in auth.items]
        live = table.c._deleted.is_(False)
        copied = _copy_selected(conn, table, auth.plan) if job.format is ExportFormat.CSV else None
        if copied is not None:
            server_csv = CsvWriter(path, columns, CsvEncoding(job.encoding))
            query = select(*copied).where(live).order_by(table.c._row_id)
            try:
                return _copy_rows(conn, query, server_csv)
            except _NotEncodable:
                pass  # written again below, a chunk at a time, which names the row and item
            finally:
                server_csv.close()
        # the plan's maskers over columns, in its order; an item the pool lacks leaves as null
        wanted, maskers = _selected(conn, table, auth.plan)
        query = select(*wanted).where(live).order_by(table.c._row_id)
        writer = open_writer(job.format, path, columns, CsvEncoding(job.encoding))
        try:
            return _write_rows(conn, query, auth.plan, maskers, writer)
        finally:
            writer.close()


_MISSES = 3  # chunks in a row the compiled row writer did not take: the pool is not for it


def _write_rows(
    conn: Connection,
    query: Select[Any],
    plan: MaskPlan,
    maskers: Sequence[ColumnMasker],
    writer: ChunkWriter,
) -> int:
    """Every chunk of ``query``'s rows masked and written; returns the row count. A CSV of
    a SQLite pool is written by the plan's compiled row writer (``_rows_text``) wherever it
    takes the chunk, a column at a time otherwise (the same bytes either way); after
    ``_MISSES`` chunks in a row it did not take, every chunk goes a column at a time."""
    rows = 0
    with _no_cycle_collection(), _row_chunks(conn, query) as (readers, chunks):
        as_csv = writer if isinstance(writer, CsvWriter) else None
        as_text = None if as_csv is None else _rows_text(conn, plan, readers)
        misses = 0
        for chunk in chunks:
            count = len(chunk)
            if as_text is not None and as_csv is not None:
                try:
                    text = as_text(chunk)
                except Exception:  # a value a rule does not take: the column path says
                    text = None
                if text is not None and as_csv.write_text(text, count):
                    rows += count
                    misses = 0
                    continue
                misses += 1
                if misses == _MISSES:  # (a column of integers to mask, say): stop trying
                    as_text = None
            values = _columns(chunk, readers)
            writer.write([fn(c) for fn, c in zip(maskers, values, strict=True)], count)
            rows += count
    return rows


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector: a chunk allocates thousands of short-lived rows
    and lists and makes no reference cycle, so the collector's passes (over the whole heap
    of a process with SQLAlchemy loaded) only cost time; reference counting frees every
    chunk. Resumed afterwards if it was running."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


def _digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def _mark_failed(platform: Platform, job_id: str, exc: DomainError) -> None:
    with platform.db.transaction() as tx:
        tx.conn.execute(
            update(job_table)
            .where(job_table.c.id == job_id)
            .values(
                state=JobState.FAILED.value,
                finished_at=utcnow(),
                error_code=exc.code,
                error=json.dumps({"zh": exc.message_zh, "en": exc.message_en}, ensure_ascii=False),
            )
        )


def export_failed() -> DomainError:
    return Conflict(
        "导出失败，请重新发起", "the export failed; request it again", code="export_failed"
    )


def export_interrupted() -> DomainError:
    return Conflict(
        "导出因任务进程中断而未完成，请重新发起",
        "the export was interrupted (its job worker stopped); request it again",
        code="export_interrupted",
    )


def run_export(platform: Platform, job_id: str) -> ExportJob:
    """Produce a queued job's file and signed manifest (idempotent: a job that is no longer
    queued is returned as it is)."""
    with platform.db.transaction() as tx:
        claimed = tx.conn.execute(
            update(job_table)
            .where(and_(job_table.c.id == job_id, job_table.c.state == JobState.QUEUED.value))
            .values(state=JobState.RUNNING.value, started_at=utcnow())
        ).rowcount
    with platform.db.read() as conn:
        job = get_job(conn, job_id)
        if job is None:
            raise not_found()
        if claimed != 1:
            return job
        actor = identity_queries.client_actor(conn, job.client_id)
    guard = guard_for(platform)
    call = CallHeaders(job.purpose, job.end_user, job.case_no)
    try:
        if actor is None:
            raise errors.grant_wrong_client()
        with platform.db.read() as conn:
            auth = guard.authorise(
                conn, actor, CallRequest(job.grant_id, DeliveryMode.BATCH, call, job.items)
            )
    except DomainError as exc:  # the guard recorded the refusal
        _mark_failed(platform, job.id, exc)
        return _reload(platform, job.id)
    out_dir = platform.settings.exports_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    part = out_dir / f".{job.id}.part"
    final = out_dir / f"{job.id}.{job.format.value}"
    try:
        rows = _stream_to_file(platform, auth, job, part)
        os.replace(part, final)
    except Exception as exc:
        part.unlink(missing_ok=True)
        refusal = exc if isinstance(exc, DomainError) else export_failed()
        _mark_failed(platform, job.id, refusal)
        with contextlib.suppress(DomainError):
            guard.fail(auth, refusal)
        if not isinstance(exc, DomainError):
            raise
        return _reload(platform, job.id)
    sha256, size = _digest(final)
    entry, receipt = guard.complete(
        auth,
        action=AuditAction.COPY,
        keys=[],
        rows=rows,
        details={"job": job.id, "format": job.format.value, "sha256": sha256, "stage": "produced"},
    )
    finished = utcnow()
    expires = finished + timedelta(seconds=platform.settings.export_link_ttl)
    manifest = {
        "v": MANIFEST_VERSION,
        "job_id": job.id,
        "grant_id": auth.grant.id,
        "client_id": auth.client.client_id,
        "client_system": auth.client.name,
        "resource": auth.grant.resource_code,
        "version_no": auth.grant.version_no,
        "items": [{"code": i.code, "name": i.name, "masking": i.level.value} for i in auth.items],
        "format": job.format.value,
        "encoding": job.encoding,
        "filename": job.download_name,
        "rows": rows,
        "size": size,
        "sha256": sha256,
        "created_at": iso_utc(entry.occurred_at),
        "expires_at": iso_utc(expires),
        "call_id": auth.call_id,
        "audit_seq": entry.seq,
        "key_id": platform.keys.key_id,
    }
    signature = statements.signature_of(platform.keys, statements.MANIFEST_DOMAIN, manifest)
    with platform.db.transaction() as tx:
        finished_here = tx.conn.execute(
            update(job_table)
            .where(job_table.c.id == job.id, job_table.c.state == JobState.RUNNING.value)
            .values(
                state=JobState.DONE.value,
                finished_at=finished,
                expires_at=expires,
                rows=rows,
                size=size,
                sha256=sha256,
                filename=final.name,
                manifest=statements.canonical(manifest).decode("utf-8"),
                manifest_signature=signature,
                receipt=receipt.compact,
            )
        ).rowcount
    if finished_here != 1:  # failed meanwhile as interrupted: its file is not kept
        final.unlink(missing_ok=True)
    return _reload(platform, job.id)


def recover_interrupted(
    platform: Platform, *, enqueue: Enqueue | None = None, started_before: datetime | None = None
) -> list[str]:
    """Fail the exports a dead worker left ``running`` (SIGKILL, power cut: huey took the
    task off the queue when it started, so nothing would ever finish them), destroying their
    partial or unrecorded file (audited DESTROY); the client requests them again. Returns
    their ids. ``started_before``: only jobs started before then (None: every running job,
    for a worker starting on the embedded queue, whose running jobs can only be its dead
    predecessor's). ``enqueue``: queue again every job still ``queued`` (a crash between
    the job's insert and its enqueue; a second run of a job is a no-op)."""
    query = select(job_table).where(job_table.c.state == JobState.RUNNING.value)
    if started_before is not None:
        query = query.where(job_table.c.started_at < started_before)
    with platform.db.read() as conn:
        stuck = [_job(r) for r in conn.execute(query).all()]
    refusal = export_interrupted()
    recovered = []
    for job in stuck:
        with platform.db.transaction() as tx:
            failed = tx.conn.execute(
                update(job_table)
                .where(job_table.c.id == job.id, job_table.c.state == JobState.RUNNING.value)
                .values(
                    state=JobState.FAILED.value,
                    finished_at=utcnow(),
                    error_code=refusal.code,
                    error=json.dumps(
                        {"zh": refusal.message_zh, "en": refusal.message_en}, ensure_ascii=False
                    ),
                )
            ).rowcount
            if failed != 1:
                continue
            audit.record(
                tx,
                JOB_ACTOR,
                AuditAction.DESTROY,
                "delivery_export",
                job.id,
                details={
                    "grant": job.grant_id,
                    "resource": job.resource_code,
                    "reason": "export interrupted: its partial file is destroyed",
                },
            )
            out_dir = platform.settings.exports_dir
            tx.after_commit(_remover(out_dir / f".{job.id}.part"))
            tx.after_commit(_remover(out_dir / f"{job.id}.{job.format.value}"))
        recovered.append(job.id)
    if enqueue is not None:
        with platform.db.read() as conn:
            queued = conn.execute(
                select(job_table.c.id).where(job_table.c.state == JobState.QUEUED.value)
            ).all()
        for row in queued:
            enqueue(row.id)
    return recovered


def _reload(platform: Platform, job_id: str) -> ExportJob:
    with platform.db.read() as conn:
        job = get_job(conn, job_id)
    assert job is not None
    return job


# Status and download --------------------------------------------------------------------
def job_for(platform: Platform, job_id: str, *, actor: Actor) -> ExportJob:
    """A job of the actor's department (another department's job is not found)."""
    with platform.db.read() as conn:
        job = get_job(conn, job_id)
    if job is None or job.consumer_department_id != actor.department_id:
        raise not_found()
    return job


def _signer(settings: Settings) -> Signer:
    return Signer(settings.secret_key, salt=LINK_SALT, digest_method=hashlib.sha256)


def link_token(settings: Settings, job: ExportJob) -> str | None:
    """The signed download token of a finished job: its id and expiry (epoch seconds)."""
    if job.state is not JobState.DONE or job.expires_at is None:
        return None
    return _signer(settings).sign(f"{job.id}.{int(job.expires_at.timestamp())}").decode()


def check_link(settings: Settings, job: ExportJob, token: str | None, now: datetime) -> None:
    try:
        value = _signer(settings).unsign((token or "").encode()).decode()
    except (BadSignature, UnicodeDecodeError):
        raise errors.Gone(
            "下载链接无效", "the download link is invalid", code="export_link_invalid"
        ) from None
    job_id, _, expires = value.rpartition(".")
    if job_id != job.id or not expires.isdigit():
        raise errors.Gone(
            "下载链接无效", "the download link is invalid", code="export_link_invalid"
        )
    if now.timestamp() >= int(expires):
        raise errors.Gone(
            "下载链接已过期，请重新发起导出",
            "the download link has expired; request a new export",
            code="export_link_expired",
        )


@dataclass(frozen=True)
class Download:
    path: Path
    filename: str
    media_type: str
    size: int
    headers: dict[str, str]


def download(
    platform: Platform, job_id: str, *, token: str | None, call: CallHeaders, actor: Actor
) -> Download:
    """The export file, through the guard (TRANSMIT, receipted) and the expiring link."""
    job = job_for(platform, job_id, actor=actor)
    guard = guard_for(platform)
    with platform.db.read() as conn:
        auth = guard.authorise(
            conn, actor, CallRequest(job.grant_id, DeliveryMode.BATCH, call, job.items)
        )
        try:
            check_link(platform.settings, job, token, utcnow())
            if job.state is not JobState.DONE or not job.filename:
                raise Conflict(
                    "导出任务尚未完成", "the export is not finished", code="export_not_ready"
                )
            path = platform.settings.exports_dir / job.filename
            if not path.is_file():
                raise errors.Gone(
                    "导出文件已销毁", "the export file was destroyed", code="export_expired"
                )
        except DomainError as exc:
            guard.fail(auth, exc)
    _, receipt = guard.complete(
        auth,
        action=AuditAction.TRANSMIT,
        keys=[],
        rows=job.rows or 0,
        details={"job": job.id, "format": job.format.value, "sha256": job.sha256},
    )
    return Download(
        path=path,
        filename=job.download_name,
        media_type=job.media_type,
        size=job.size or 0,
        headers={
            **auth.response_headers(),
            "X-Call-Receipt": receipt.compact,
            "X-Export-SHA256": job.sha256 or "",
            "Cache-Control": "no-store",
        },
    )


def check_manifest(
    platform: Platform, manifest: dict[str, Any], signature: str, sha256: str | None = None
) -> statements.Checked:
    """Verify a manifest's signature, and optionally that a file's SHA-256 is the one it
    names."""
    checked = statements.check_detached(
        platform.keys, statements.MANIFEST_DOMAIN, manifest, signature
    )
    if checked.valid and sha256 is not None and sha256.lower() != manifest.get("sha256"):
        return statements.Checked(False, checked.data, "the file's SHA-256 differs")
    return checked


# Clean-up (daily job) -------------------------------------------------------------------
def _remover(path: Path) -> Callable[[], None]:
    def remove() -> None:
        path.unlink(missing_ok=True)

    return remove


def clean_expired(platform: Platform, now: datetime | None = None) -> list[str]:
    """Destroy the files of exports past their expiry (audited DESTROY, SQ-25 销毁) and
    stray partial files, and fails the jobs left running by a dead worker long ago
    (``recover_interrupted``); returns the job ids cleaned."""
    now = now or utcnow()
    recover_interrupted(platform, started_before=now - STALE_RUN)
    with platform.db.read() as conn:
        due = [
            _job(r)
            for r in conn.execute(
                select(job_table).where(
                    job_table.c.state == JobState.DONE.value, job_table.c.expires_at <= now
                )
            ).all()
        ]
    cleaned = []
    for job in due:
        with platform.db.transaction() as tx:
            done = tx.conn.execute(
                update(job_table)
                .where(job_table.c.id == job.id, job_table.c.state == JobState.DONE.value)
                .values(state=JobState.EXPIRED.value, cleaned_at=now)
            ).rowcount
            if done != 1:
                continue
            audit.record(
                tx,
                JOB_ACTOR,
                AuditAction.DESTROY,
                "delivery_export",
                job.id,
                details={
                    "grant": job.grant_id,
                    "resource": job.resource_code,
                    "rows": job.rows,
                    "sha256": job.sha256,
                    "reason": "export link expired",
                },
            )
            if job.filename:
                tx.after_commit(_remover(platform.settings.exports_dir / job.filename))
        cleaned.append(job.id)
    out_dir = platform.settings.exports_dir
    if out_dir.is_dir():
        with platform.db.read() as conn:
            running = {
                r.id
                for r in conn.execute(
                    select(job_table.c.id).where(
                        job_table.c.state.in_([JobState.QUEUED.value, JobState.RUNNING.value])
                    )
                ).all()
            }
        for stray in out_dir.glob(".*.part"):
            if stray.name[1:].split(".", 1)[0] not in running:
                stray.unlink(missing_ok=True)
    return cleaned
