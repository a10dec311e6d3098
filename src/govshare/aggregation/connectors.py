"""Source connectors (前置机): scheduled, incremental pulls from a provider department's own
database into the resource's data pool.

A connector names a SQLAlchemy URL, a table OR a single SELECT query, an incremental column
(a timestamp or a growing number), an optional column → data item mapping (by default a
source column maps to the item whose code or name it carries; other columns are ignored),
and the last cursor value pulled.

Credentials. The URL carries them: it is stored encrypted (Fernet, key file
``<keys_dir>/connectors.fernet``, mode 0600, created on first use) and only ever shown masked
(``url_masked``: the password replaced by ***). It never appears in logs, audit entries,
run errors, pages or API responses; errors raised while talking to the source are reduced
to their first line with the URL and password removed.

Read-only. Only SELECT is sent. The query must be one SELECT (or WITH … SELECT) statement;
the source session is also made read-only where the backend allows it (SQLite opened with
``mode=ro``, PostgreSQL ``default_transaction_read_only``, MySQL ``READ ONLY`` sessions).
The platform's own database and files under its var directory are refused as sources, and
in production (``GOVSHARE_ENVIRONMENT=production``) SQLite files are refused altogether: a
server-local file is not a department's database, and reading one would expose the server.

The cursor — why it never passes rows that did not load. A run pulls
``WHERE incr > :cursor ORDER BY incr`` in batches of about ``batch_rows`` rows (a batch is
extended to the end of a run of equal incremental values, so ``>`` never skips a tie) and
streams each batch into ``ingest.ingest``. The new cursor (the last row's incremental value)
is written by ingest's ``before_commit`` hook, i.e. in the SAME transaction as the batch: the
batch and the cursor commit together or not at all. A source failing mid-stream, a crash or a
database error rolls both back, and the next run pulls the same rows again. The cursor write
is a compare-and-set on the value the batch started from, so two overlapping runs cannot both
load the same rows. Rows that fail validation are part of the committed batch (quarantined
with their reasons, SQ-16/HB-17): the cursor passes them, and a corrected row comes back when
the source changes it (its incremental column moves). Rows whose incremental column is NULL
are never pulled. Limitation: like any incremental-column pull, a source transaction that
commits late with an incremental value below the cursor is missed; use a column assigned at
commit (or a sequence) on the source.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, Engine, create_engine, insert, select, text, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, StatementError
from sqlalchemy.pool import NullPool

from govshare.aggregation import agreements
from govshare.aggregation.ingest import Source, ingest
from govshare.aggregation.model import Batch, BatchSource
from govshare.aggregation.sources_tables import connector_run, source_connector
from govshare.audit import services as audit
from govshare.audit.model import AuditAction
from govshare.catalog import queries as catalog_queries
from govshare.catalog.model import UPDATE_CYCLE_DAYS, DataItemInput, UpdateCycle
from govshare.catalog.standards import normalise
from govshare.identity import queries as identity_queries
from govshare.identity.policy import Permission, require
from govshare.kernel.actor import Actor, ActorKind
from govshare.kernel.clock import utcnow
from govshare.kernel.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.storage.engine import Database, Transaction

log = structlog.get_logger("govshare.connectors")

KEY_FILE = "connectors.fernet"
ALLOWED_BACKENDS = ("postgresql", "mysql", "mariadb", "oracle", "mssql", "sqlite")
CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_MS = 10 * 60 * 1000
FETCH_CHUNK = 1000
DEFAULT_BATCH_ROWS = 50_000
LEASE = timedelta(hours=2)  # a run older than this is taken as crashed
RETRY_AFTER_FAILURE = timedelta(hours=1)
NAME_RE = re.compile(r"^[\w$]+(\.[\w$]+)?$")
FORBIDDEN_SQL = re.compile(
    r"\b(insert|update|delete|merge|drop|alter|create|truncate|grant|revoke|copy|call|exec|"
    r"execute|into|attach|detach|pragma|vacuum|lock|set|do)\b",
    re.IGNORECASE,
)


# Credentials at rest -----------------------------------------------------------------
class SourceVault:
    """Encrypts connector URLs with a Fernet key kept in ``keys_dir`` (mode 0600)."""

    def __init__(
        self, keys_dir: Path, protected: tuple[Path, ...] = (), *, allow_sqlite: bool = True
    ) -> None:
        self.keys_dir = keys_dir
        self.protected = protected  # directories a SQLite source may not point into
        self.allow_sqlite = allow_sqlite  # a local file source: development and tests only
        self._fernet: Fernet | None = None

    @classmethod
    def for_settings(cls, settings: Any) -> SourceVault:
        return cls(
            settings.keys_dir,
            (Path(settings.var_dir),),
            allow_sqlite=settings.environment != "production",
        )

    def _key(self) -> Fernet:
        if self._fernet is None:
            path = self.keys_dir / KEY_FILE
            if not path.exists():
                self.keys_dir.mkdir(parents=True, exist_ok=True)
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    pass  # another process created it first
                else:
                    with os.fdopen(fd, "wb") as fh:
                        fh.write(Fernet.generate_key())
            self._fernet = Fernet(path.read_bytes().strip())
        return self._fernet

    def encrypt(self, url: str) -> str:
        return self._key().encrypt(url.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._key().decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise Conflict(
                "无法解密数据源连接串（密钥已更换？），请重新填写连接串",
                "the source URL cannot be decrypted (was the key replaced?); enter it again",
                code="connector_url_undecryptable",
            ) from exc


def default_vault() -> SourceVault:
    from govshare.config import get_settings

    return SourceVault.for_settings(get_settings())


# URLs ---------------------------------------------------------------------------------
SECRET_QUERY_KEYS = ("password", "passwd", "pwd", "secret", "token", "key")


def _bad_url() -> ValidationFailed:
    # never echo the URL back: it carries the password
    return ValidationFailed(
        "数据源连接串格式不正确（应为 SQLAlchemy URL，如 postgresql://用户:密码@主机/库名）",
        "the source URL is not a valid SQLAlchemy URL (e.g. postgresql://user:pw@host/db)",
        field="url",
    )


def parse_source_url(raw: str) -> URL:
    try:
        url = make_url((raw or "").strip())
    except (ArgumentError, ValueError) as exc:
        raise _bad_url() from exc
    if url.get_backend_name() not in ALLOWED_BACKENDS:
        raise ValidationFailed(
            "不支持的数据库类型", "this database type is not supported", field="url"
        )
    return url


def mask_url(url: URL | str) -> str:
    """The URL with its password (and any secret-looking query parameter) replaced."""
    parsed = url if isinstance(url, URL) else parse_source_url(url)
    query = {
        k: ("***" if any(s in k.lower() for s in SECRET_QUERY_KEYS) else v)
        for k, v in parsed.query.items()
    }
    rendered = parsed.set(query=query).render_as_string(hide_password=True)
    return rendered.replace("%2A%2A%2A", "***")


def _secrets(raw: str) -> list[str]:
    out = [raw]
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        return out
    if url.password:
        out.append(str(url.password))
    for k, v in url.query.items():
        if any(s in k.lower() for s in SECRET_QUERY_KEYS):
            out.extend([v] if isinstance(v, str) else list(v))
    return [s for s in out if s]


def sanitise(message: str, raw_url: str | None) -> str:
    """First line of an error message, with the URL and its secrets removed."""
    first = (message or "").strip().splitlines()[0] if (message or "").strip() else ""
    if raw_url:
        for secret in sorted(_secrets(raw_url), key=len, reverse=True):
            first = first.replace(secret, "***")
    return first[:400]


def _refuse_own_database(url: URL, db: Database, vault: SourceVault) -> None:
    own = make_url(db.url)
    refused = ValidationFailed(
        "不能以平台自身的数据库或文件作为数据源",
        "the platform's own database or files cannot be a source",
        field="url",
    )
    if url.get_backend_name() == "sqlite":
        if not vault.allow_sqlite:  # a server-local file is not a department's database
            raise ValidationFailed(
                "生产环境不接受 SQLite 文件作为数据源",
                "SQLite files are not accepted as sources in production",
                field="url",
            )
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            raise ValidationFailed(
                "SQLite 数据源须为数据库文件路径",
                "a SQLite source must be a file path",
                field="url",
            )
        path = Path(url.database).resolve()
        if (
            own.get_backend_name() == "sqlite"
            and own.database
            and path == Path(own.database).resolve()
        ):
            raise refused
        for d in vault.protected:
            if path.is_relative_to(Path(d).resolve()):
                raise refused
        return
    if (
        own.get_backend_name() == url.get_backend_name()
        and (own.host or "localhost") == (url.host or "localhost")
        and (own.port or 0) == (url.port or 0)
        and own.database == url.database
    ):
        raise refused


def source_engine(url: URL) -> Engine:
    """A throw-away engine on the source: no pool, short connect timeouts, read-only
    sessions where the backend allows it, parameters hidden from error messages."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        uri = Path(str(url.database)).resolve().as_uri() + "?mode=ro"

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(
                uri, uri=True, timeout=CONNECT_TIMEOUT_S, check_same_thread=False
            )

        return create_engine("sqlite://", creator=connect, poolclass=NullPool, hide_parameters=True)
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        connect_args = {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": (
                f"-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT_MS}"
            ),
        }
    elif backend in ("mysql", "mariadb"):
        connect_args = {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "init_command": "SET SESSION TRANSACTION READ ONLY",
        }
    return create_engine(url, poolclass=NullPool, connect_args=connect_args, hide_parameters=True)


# The connector ------------------------------------------------------------------------
@dataclass(frozen=True)
class ConnectorInput:
    name: str
    url: str | None  # None or "" on update: keep the stored URL
    incremental_column: str
    source_table: str | None = None
    source_query: str | None = None
    column_map: Mapping[str, str] = field(default_factory=dict)  # source column → item
    enabled: bool = True
    batch_rows: int = DEFAULT_BATCH_ROWS


@dataclass(frozen=True)
class Connector:
    id: str
    resource_id: str
    department_id: str
    name: str
    url_masked: str
    source_table: str | None
    source_query: str | None
    incremental_column: str
    column_map: dict[str, str]
    cursor: Any  # the last incremental value loaded (None: nothing yet)
    enabled: bool
    batch_rows: int
    running_since: datetime | None
    last_run_at: datetime | None
    last_status: str | None
    last_error: str | None
    last_rows: int | None
    created_at: datetime
    updated_at: datetime

    def public(self) -> dict[str, Any]:
        """What pages and the API show: the URL only masked."""
        return {
            "id": self.id,
            "resource_id": self.resource_id,
            "department_id": self.department_id,
            "name": self.name,
            "url": self.url_masked,
            "source_table": self.source_table,
            "source_query": self.source_query,
            "incremental_column": self.incremental_column,
            "column_map": self.column_map,
            "cursor": None if self.cursor is None else str(self.cursor),
            "enabled": self.enabled,
            "batch_rows": self.batch_rows,
            "running": self.running_since is not None,
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "last_rows": self.last_rows,
        }


@dataclass(frozen=True)
class ConnectorRun:
    id: str
    connector_id: str
    started_at: datetime
    finished_at: datetime
    status: str  # loaded | no_rows | failed
    batches: int
    rows: int
    last_batch_id: str | None
    cursor_from: str | None
    cursor_to: str | None
    error_code: str | None
    error: str | None
    actor_id: str


def encode_cursor(value: Any) -> str | None:
    if value is None:
        return None
    v: Any
    if isinstance(value, bool):
        kind, v = "int", int(value)
    elif isinstance(value, int):
        kind, v = "int", value
    elif isinstance(value, Decimal):
        kind, v = "decimal", str(value)
    elif isinstance(value, float):
        kind, v = "float", value
    elif isinstance(value, datetime):
        kind, v = "datetime", value.isoformat()
    elif isinstance(value, date):
        kind, v = "date", value.isoformat()
    else:
        kind, v = "str", str(value)
    return json.dumps({"type": kind, "value": v}, ensure_ascii=False)


def decode_cursor(raw: str | None) -> Any:
    if raw is None:
        return None
    obj = json.loads(raw)
    kind, v = obj["type"], obj["value"]
    if kind == "int":
        return int(v)
    if kind == "decimal":
        return Decimal(v)
    if kind == "float":
        return float(v)
    if kind == "datetime":
        return datetime.fromisoformat(v)
    if kind == "date":
        return date.fromisoformat(v)
    return str(v)


def _connector(row: Any) -> Connector:
    m = row._mapping
    return Connector(
        id=m["id"],
        resource_id=m["resource_id"],
        department_id=m["department_id"],
        name=m["name"],
        url_masked=m["url_masked"],
        source_table=m["source_table"],
        source_query=m["source_query"],
        incremental_column=m["incremental_column"],
        column_map=json.loads(m["column_map"] or "{}"),
        cursor=decode_cursor(m["cursor_value"]),
        enabled=bool(m["enabled"]),
        batch_rows=m["batch_rows"],
        running_since=m["running_since"],
        last_run_at=m["last_run_at"],
        last_status=m["last_status"],
        last_error=m["last_error"],
        last_rows=m["last_rows"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def get_connector(conn: Connection, connector_id: str) -> Connector:
    row = conn.execute(
        select(source_connector).where(source_connector.c.id == connector_id)
    ).first()
    if row is None:
        raise NotFound("数据源连接不存在", "no such source connector")
    return _connector(row)


def list_connectors(conn: Connection, department_ids: set[str] | None = None) -> list[Connector]:
    q = select(source_connector).order_by(source_connector.c.created_at)
    if department_ids is not None:
        q = q.where(source_connector.c.department_id.in_(department_ids))
    return [_connector(r) for r in conn.execute(q).all()]


def list_runs(conn: Connection, connector_id: str, limit: int = 20) -> list[ConnectorRun]:
    rows = conn.execute(
        select(connector_run)
        .where(connector_run.c.connector_id == connector_id)
        .order_by(connector_run.c.started_at.desc())
        .limit(limit)
    ).all()
    return [ConnectorRun(**dict(r._mapping)) for r in rows]


# Schedules ------------------------------------------------------------------------------
def interval_for(cycle: UpdateCycle | None, agreed: timedelta | None = None) -> timedelta | None:
    """How often a connector runs: the agreed aggregation interval (NX-29) when one is
    recorded, else from the update cycle: realtime → hourly, daily → daily, weekly → weekly,
    monthly/quarterly/yearly → every 31/92/366 days; irregular (or none) → manual only."""
    if agreed is not None:
        return agreed
    if cycle is None or cycle is UpdateCycle.IRREGULAR:
        return None
    if cycle is UpdateCycle.REALTIME:
        return timedelta(hours=1)
    days = UPDATE_CYCLE_DAYS[cycle]
    return timedelta(days=days) if days else None


def schedule_of(conn: Connection, c: Connector) -> timedelta | None:
    version = catalog_queries.published_version(conn, c.resource_id)
    cycle = version.entry.update_cycle if version is not None else None
    return interval_for(cycle, agreements.agreed_interval(conn, c.resource_id))


def next_run_at(c: Connector, interval: timedelta | None, now: datetime) -> datetime | None:
    """When the connector is next due (None: manual only or disabled)."""
    if not c.enabled or interval is None:
        return None
    if c.last_run_at is None:
        return now
    wait = min(interval, RETRY_AFTER_FAILURE) if c.last_status == "failed" else interval
    return c.last_run_at + wait


def is_due(c: Connector, interval: timedelta | None, now: datetime) -> bool:
    if c.running_since is not None and now - c.running_since < LEASE:
        return False
    due = next_run_at(c, interval, now)
    return due is not None and due <= now


def due_connectors(conn: Connection, now: datetime) -> list[Connector]:
    return [c for c in list_connectors(conn) if is_due(c, schedule_of(conn, c), now)]


# Writing ----------------------------------------------------------------------------------
def _require_manager(conn: Connection, actor: Actor, department_id: str) -> None:
    dept = identity_queries.get_department(conn, department_id)
    if actor.kind is ActorKind.CLIENT_SYSTEM:
        raise Forbidden(
            "业务系统不能管理数据源连接", "client systems cannot manage source connectors"
        )
    require(
        actor, Permission.LOAD_DATA, department_id=dept.id, jurisdiction_id=dept.jurisdiction_id
    )


def _items(conn: Connection, resource_id: str) -> list[DataItemInput]:
    version = catalog_queries.published_version(conn, resource_id)
    if version is None:
        raise Conflict(
            "只能为已发布的资源配置数据源",
            "connectors can be set up only for a published resource",
            code="ingest_not_published",
        )
    return list(version.entry.data_items)


def _resolve_map(items: list[DataItemInput], raw: Mapping[str, str]) -> dict[str, str]:
    by_key = {}
    for i in items:
        by_key[normalise(i.name)] = i.code
        by_key[normalise(i.code)] = i.code
    out: dict[str, str] = {}
    for col, target in raw.items():
        col = str(col).strip()
        if not col:
            continue
        code = by_key.get(normalise(str(target)))
        if code is None:
            raise ValidationFailed(
                f"字段映射中的“{target}”不是该资源的信息项",
                f"'{target}' in the column mapping is not a data item of this resource",
                field="column_map",
            )
        out[col] = code
    return out


def _check_select(query: str) -> str:
    q = query.strip().rstrip(";").strip()
    if not re.match(r"^(select|with)\b", q, re.IGNORECASE) or ";" in q:
        raise ValidationFailed(
            "查询须为单条 SELECT 语句",
            "the query must be a single SELECT statement",
            field="source_query",
        )
    if FORBIDDEN_SQL.search(q):
        raise ValidationFailed(
            "查询只能读取数据（不得包含写入或改变结构的语句）",
            "the query may only read (no statements that write or change the schema)",
            field="source_query",
        )
    return q


def _clean(
    data: ConnectorInput, items: list[DataItemInput]
) -> tuple[str, str | None, str | None, str, dict[str, str], int]:
    name = (data.name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("请填写连接名称（100字以内）", "name the connector", field="name")
    table = (data.source_table or "").strip() or None
    query = (data.source_query or "").strip() or None
    if (table is None) == (query is None):
        raise ValidationFailed(
            "请填写表名或查询语句（二选一）",
            "give either a table name or a query",
            field="source_table",
        )
    if table is not None and not NAME_RE.match(table):
        raise ValidationFailed("表名不合法", "not a valid table name", field="source_table")
    if query is not None:
        query = _check_select(query)
    incr = (data.incremental_column or "").strip()
    if not NAME_RE.match(incr) or "." in incr:
        raise ValidationFailed(
            "请填写增量字段（列名）",
            "give the incremental column's name",
            field="incremental_column",
        )
    if not 100 <= int(data.batch_rows) <= 1_000_000:
        raise ValidationFailed(
            "每批行数应在100至1000000之间",
            "rows per batch must be 100 to 1,000,000",
            field="batch_rows",
        )
    return name, table, query, incr, _resolve_map(items, data.column_map), int(data.batch_rows)


def create_connector(
    db: Database,
    resource_id: str,
    data: ConnectorInput,
    *,
    actor: Actor,
    vault: SourceVault | None = None,
) -> Connector:
    vault = vault or default_vault()
    url = parse_source_url(data.url or "")
    _refuse_own_database(url, db, vault)
    with db.transaction() as tx:
        res = catalog_queries.get_resource(tx.conn, resource_id)
        _require_manager(tx.conn, actor, res.provider_department_id)
        name, table, query, incr, cmap, batch_rows = _clean(data, _items(tx.conn, resource_id))
        now = utcnow()
        connector_id = new_id()
        tx.conn.execute(
            insert(source_connector).values(
                id=connector_id,
                resource_id=resource_id,
                department_id=res.provider_department_id,
                name=name,
                url_encrypted=vault.encrypt(url.render_as_string(hide_password=False)),
                url_masked=mask_url(url),
                source_table=table,
                source_query=query,
                incremental_column=incr,
                column_map=json.dumps(cmap, ensure_ascii=False),
                cursor_value=None,
                enabled=bool(data.enabled),
                batch_rows=batch_rows,
                created_at=now,
                created_by=actor.id,
                updated_at=now,
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.CREATE,
            "source_connector",
            connector_id,
            details={"resource": res.code, "name": name, "url": mask_url(url), "table": table},
        )
        return get_connector(tx.conn, connector_id)


def update_connector(
    db: Database,
    connector_id: str,
    data: ConnectorInput,
    *,
    actor: Actor,
    vault: SourceVault | None = None,
) -> Connector:
    """Change a connector; an empty URL keeps the stored one. The cursor is kept."""
    vault = vault or default_vault()
    url = parse_source_url(data.url or "") if (data.url or "").strip() else None
    if url is not None:
        _refuse_own_database(url, db, vault)
    with db.transaction() as tx:
        c = get_connector(tx.conn, connector_id)
        _require_manager(tx.conn, actor, c.department_id)
        name, table, query, incr, cmap, batch_rows = _clean(data, _items(tx.conn, c.resource_id))
        values: dict[str, Any] = dict(
            name=name,
            source_table=table,
            source_query=query,
            incremental_column=incr,
            column_map=json.dumps(cmap, ensure_ascii=False),
            enabled=bool(data.enabled),
            batch_rows=batch_rows,
            updated_at=utcnow(),
        )
        if url is not None:
            values.update(
                url_encrypted=vault.encrypt(url.render_as_string(hide_password=False)),
                url_masked=mask_url(url),
            )
        tx.conn.execute(
            update(source_connector).where(source_connector.c.id == connector_id).values(**values)
        )
        audit.record(
            tx,
            actor,
            AuditAction.UPDATE,
            "source_connector",
            connector_id,
            details={
                "name": name,
                "url": mask_url(url) if url is not None else c.url_masked,
                "url_changed": url is not None,
                "enabled": bool(data.enabled),
            },
        )
        return get_connector(tx.conn, connector_id)


def reset_cursor(db: Database, connector_id: str, *, actor: Actor) -> Connector:
    """Forget the cursor: the next run pulls the whole source again (upserts by key)."""
    with db.transaction() as tx:
        c = get_connector(tx.conn, connector_id)
        _require_manager(tx.conn, actor, c.department_id)
        tx.conn.execute(
            update(source_connector)
            .where(source_connector.c.id == connector_id)
            .values(cursor_value=None, updated_at=utcnow())
        )
        audit.record(
            tx,
            actor,
            AuditAction.UPDATE,
            "source_connector",
            connector_id,
            details={
                "cursor_reset": True,
                "cursor_was": None if c.cursor is None else str(c.cursor),
            },
        )
        return get_connector(tx.conn, connector_id)


# Running ----------------------------------------------------------------------------------
@dataclass
class RunResult:
    connector_id: str
    status: str  # loaded | no_rows | failed
    batches: list[Batch] = field(default_factory=list)
    rows: int = 0
    cursor_from: Any = None
    cursor_to: Any = None
    error_code: str | None = None
    error: str | None = None  # sanitised


class _SourceError(DomainError):
    status = 502
    code = "connector_source_failed"


class _Stream:
    """One batch's rows from an open source result: maps columns to data items, stops after
    ``limit`` rows at a change of the incremental value, and remembers the last value."""

    def __init__(
        self,
        result: Any,
        first: Any,
        keys: list[str],
        incr_index: int,
        mapping: dict[int, str],
        limit: int,
    ) -> None:
        self.result, self.first = result, first
        self.keys, self.incr_index, self.mapping = keys, incr_index, mapping
        self.limit = limit
        self.last: Any = None
        self.count = 0
        self.more = False

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        row = self.first
        while row is not None:
            value = row[self.incr_index]
            if self.count >= self.limit and value != self.last:
                self.more = True
                return
            self.count += 1
            self.last = value
            yield self.count, {code: row[i] for i, code in self.mapping.items()}
            row = self.result.fetchone()


def _statement(engine: Engine, c: Connector, cursor: Any) -> tuple[str, dict[str, Any]]:
    prep = engine.dialect.identifier_preparer
    col = prep.quote(c.incremental_column)
    if c.source_table:
        source = ".".join(prep.quote(p) for p in c.source_table.split("."))
    else:
        source = f"({c.source_query}) gs_src"
    where = f"{col} > :cursor" if cursor is not None else f"{col} IS NOT NULL"
    params = {"cursor": cursor} if cursor is not None else {}
    return f"SELECT * FROM {source} WHERE {where} ORDER BY {col}", params  # noqa: S608 - quoted identifiers; the query is checked SELECT-only  # nosec B608


def _column_plan(
    keys: list[str], c: Connector, items: list[DataItemInput]
) -> tuple[int, dict[int, str]]:
    lowered = {k.lower(): i for i, k in enumerate(keys)}
    incr = keys.index(c.incremental_column) if c.incremental_column in keys else None
    if incr is None:
        incr = lowered.get(c.incremental_column.lower())
    if incr is None:
        raise _SourceError(
            "数据源结果中没有增量字段",
            "the source result has no incremental column",
            code="connector_no_incremental_column",
        )
    by_key = {}
    for item in items:
        by_key[normalise(item.name)] = item.code
        by_key[normalise(item.code)] = item.code
    explicit = {k.lower(): v for k, v in c.column_map.items()}
    mapping: dict[int, str] = {}
    for i, k in enumerate(keys):
        code = explicit.get(k.lower()) if explicit else None
        if code is None and k.lower() not in explicit:
            code = by_key.get(normalise(k))
        if code is not None and code not in mapping.values():
            mapping[i] = code
    missing = [
        i.name
        for i in items
        if (i.required or i.identifier.value != "none") and i.code not in mapping.values()
    ]
    if missing:
        raise _SourceError(
            f"数据源缺少必填信息项对应的列：{'、'.join(missing)}",
            f"the source has no column for required items: {', '.join(missing)}",
            code="connector_missing_columns",
        )
    return incr, mapping


def _claim(db: Database, connector_id: str, actor: Actor, now: datetime) -> Connector:
    with db.transaction() as tx:
        c = get_connector(tx.conn, connector_id)
        dept = identity_queries.get_department(tx.conn, c.department_id)
        require(
            actor,
            Permission.LOAD_DATA,
            department_id=dept.id,
            jurisdiction_id=dept.jurisdiction_id,
        )
        if c.running_since is not None and now - c.running_since < LEASE:
            raise Conflict(
                "该数据源连接正在运行", "the connector is already running", code="connector_running"
            )
        tx.conn.execute(
            update(source_connector)
            .where(source_connector.c.id == connector_id)
            .values(running_since=now)
        )
        return c


def _error_of(exc: BaseException, raw_url: str | None) -> tuple[str, str]:
    if isinstance(exc, DomainError):
        return exc.code, sanitise(f"{exc.message_zh} / {exc.message_en}", raw_url)
    if isinstance(exc, StatementError) and exc.orig is not None:
        # only the driver's first line: later lines may quote row values
        return "connector_source_failed", sanitise(
            f"{type(exc.orig).__name__}: {exc.orig}", raw_url
        )
    return "connector_failed", sanitise(f"{type(exc).__name__}: {exc}", raw_url)


def run_connector(
    db: Database,
    connector_id: str,
    actor: Actor,
    *,
    vault: SourceVault | None = None,
) -> RunResult:
    """Pull new rows (``incr > cursor``) into the resource's pool, batch by batch; each batch
    commits with its cursor. A failure is recorded on the connector (sanitised) and returned
    as a failed result; the cursor then stays at the last committed batch."""
    vault = vault or default_vault()
    started = utcnow()
    c = _claim(db, connector_id, actor, started)
    result = RunResult(connector_id, "no_rows", cursor_from=c.cursor, cursor_to=c.cursor)
    raw_url: str | None = None
    try:
        raw_url = vault.decrypt(_stored_url(db, connector_id))
        url = parse_source_url(raw_url)
        _refuse_own_database(url, db, vault)
        with db.read() as conn:
            items = _items(conn, c.resource_id)
        engine = source_engine(url)
        try:
            cursor = c.cursor
            while True:
                batch, cursor, more = _one_batch(db, engine, c, items, cursor, actor)
                if batch is None:
                    break
                result.batches.append(batch)
                result.rows += batch.rows_total
                result.cursor_to = cursor
                result.status = "loaded"
                if not more:
                    break
        finally:
            engine.dispose()
    except Exception as exc:  # recorded below; a run never leaks the URL
        result.status = "failed"
        result.error_code, result.error = _error_of(exc, raw_url)
    _finish(db, c, actor, started, result)
    log.info(
        "connector_run",
        connector=c.id,
        status=result.status,
        rows=result.rows,
        batches=len(result.batches),
        error_code=result.error_code,
    )
    return result


def _stored_url(db: Database, connector_id: str) -> str:
    with db.read() as conn:
        return str(
            conn.execute(
                select(source_connector.c.url_encrypted).where(
                    source_connector.c.id == connector_id
                )
            ).scalar_one()
        )


def _one_batch(
    db: Database,
    engine: Engine,
    c: Connector,
    items: list[DataItemInput],
    cursor: Any,
    actor: Actor,
) -> tuple[Batch | None, Any, bool]:
    sql, params = _statement(engine, c, cursor)
    with engine.connect() as sconn:
        res = sconn.execution_options(stream_results=True, yield_per=FETCH_CHUNK).execute(
            text(sql), params
        )
        first = res.fetchone()
        if first is None:
            return None, cursor, False
        keys = list(res.keys())
        incr_index, mapping = _column_plan(keys, c, items)
        stream = _Stream(res, first, keys, incr_index, mapping, c.batch_rows)
        before = encode_cursor(cursor)

        def advance(tx: Transaction, batch: Batch) -> None:
            # the compare-and-set that ties the cursor to this batch's transaction
            guard = (
                source_connector.c.cursor_value.is_(None)
                if before is None
                else source_connector.c.cursor_value == before
            )
            done = tx.conn.execute(
                update(source_connector)
                .where(source_connector.c.id == c.id, guard)
                .values(cursor_value=encode_cursor(stream.last))
            ).rowcount
            if done != 1:
                raise Conflict(
                    "游标已被另一次运行推进，本批次已回滚",
                    "another run moved the cursor; this batch was rolled back",
                    code="connector_cursor_moved",
                )

        outcome = ingest(
            db,
            c.resource_id,
            stream.rows(),
            actor=actor,
            source=Source(BatchSource.CONNECTOR, file_name=f"connector:{c.name}"[:300]),
            before_commit=advance,
        )
        return outcome.batch, stream.last, stream.more


def _finish(db: Database, c: Connector, actor: Actor, started: datetime, r: RunResult) -> None:
    finished = utcnow()
    last_batch = r.batches[-1].id if r.batches else None
    with db.transaction() as tx:
        run_id = new_id()
        tx.conn.execute(
            insert(connector_run).values(
                id=run_id,
                connector_id=c.id,
                started_at=started,
                finished_at=finished,
                status=r.status,
                batches=len(r.batches),
                rows=r.rows,
                last_batch_id=last_batch,
                cursor_from=None if r.cursor_from is None else str(r.cursor_from),
                cursor_to=None if r.cursor_to is None else str(r.cursor_to),
                error_code=r.error_code,
                error=r.error,
                actor_id=actor.id,
            )
        )
        tx.conn.execute(
            update(source_connector)
            .where(source_connector.c.id == c.id)
            .values(
                running_since=None,
                last_run_at=started,
                last_status=r.status,
                last_error=r.error,
                last_rows=r.rows,
            )
        )
        audit.record(
            tx,
            actor,
            AuditAction.COLLECT,
            "source_connector",
            c.id,
            details={
                "run": run_id,
                "status": r.status,
                "rows": r.rows,
                "batches": len(r.batches),
                "error_code": r.error_code,
            },
        )
