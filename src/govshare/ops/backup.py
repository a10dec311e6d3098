"""Backup and restore (SQ-25: 备份、恢复 are audited like every other step of the data's life).

A backup file is a tar holding ``manifest.json``, the database and the audit archives:

- SQLite: SQLite's online backup API copies the live database in one step while the
  platform keeps serving (WAL: writers are not blocked; the copy is one consistent snapshot).
- PostgreSQL: ``pg_dump --format=custom`` of a snapshot exported by a REPEATABLE READ
  transaction, in which the manifest's audit head is read too, so that the two agree.
- ``audit-archive/*.jsonl``: the files that ``govshare audit purge`` wrote; without them a
  purged chain does not verify.

Audit: a ``backup`` entry is written to the live database *before* the copy, so that the
copy holds the record of its own making (and a restored chain ends in it); a second one,
after the copy, gives the file's SHA-256 and the copied head in the live log. ``restore``
writes its ``restore`` entry into the restored database (the one that goes on), naming the
backup and the head of the chain it replaced.

Keys are not in the backup (see ``ops.keyring`` and docs/security.md). A restore refuses a
backup whose audit checkpoints were signed by a key other than the platform's, unless the
matching key archive is restored with it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess  # pg_dump, pg_restore, psql with fixed argument lists  # nosec B404
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.engine import make_url

from govshare.audit import services as audit
from govshare.audit.keys import PRIVATE_FILE, PlatformKeys, load_or_create_keys
from govshare.audit.model import AuditAction
from govshare.audit.tables import audit_archive, audit_checkpoint, audit_entry
from govshare.audit.verify import VerifyReport, verify_chain
from govshare.config import Settings
from govshare.kernel.actor import Actor
from govshare.kernel.clock import iso_utc, utcnow
from govshare.kernel.errors import Conflict, ValidationFailed
from govshare.kernel.ids import new_id
from govshare.ops.keyring import KeyArchive, install_keys
from govshare.storage.engine import Database, null_pool_engine

FORMAT = "govshare-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
ARCHIVE_PREFIX = "audit-archive/"
CHUNK = 1 << 20


class BackupInvalid(ValidationFailed):
    code = "backup_invalid"


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str


@dataclass
class Manifest:
    format: str
    backup_id: str
    created_at: str
    dialect: str
    database: str
    database_sha256: str
    revision: str | None
    audit_head: Head | None
    checkpoint_key_ids: list[str]
    platform_key_id: str
    archives: dict[str, str] = field(default_factory=dict)  # file name -> sha256

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise ValueError(raw.get("format"))
            head = raw.pop("audit_head")
            return cls(**raw, audit_head=Head(**head) if head else None)
        except (ValueError, TypeError, AttributeError) as exc:
            raise _invalid("the manifest is unreadable or of an unknown format") from exc


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: Manifest
    sha256: str
    size: int


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    replaced_head: Head | None
    restore_seq: int
    keys_installed: bool
    keys_set_aside: Path | None
    report: VerifyReport


def _invalid(en: str, zh: str = "备份文件无效") -> BackupInvalid:
    return BackupInvalid(f"{zh}：{en}", f"invalid backup file: {en}", field="file")


# Backup --------------------------------------------------------------------------------------
def create_backup(
    db: Database, keys: PlatformKeys, settings: Settings, dest: Path, *, actor: Actor
) -> BackupResult:
    """Write a backup of the running platform to ``dest`` (mode 0600; replaced atomically)."""
    backup_id = new_id()
    dest = dest.resolve()
    if dest.is_dir():
        raise ValidationFailed(
            "备份目标是一个目录", "the backup target is a directory", field="file"
        )
    with db.transaction() as tx:
        audit.record(
            tx,
            actor,
            AuditAction.BACKUP,
            "platform_backup",
            backup_id,
            details={"stage": "started", "file": dest.name, "dialect": db.dialect},
        )
    with tempfile.TemporaryDirectory(prefix="govshare-backup-", dir=dest.parent) as work:
        if db.dialect == "sqlite":
            member = SQLITE_MEMBER
            head, revision, key_ids = _copy_sqlite(db, Path(work) / member)
        else:
            member = PG_MEMBER
            head, revision, key_ids = _dump_postgresql(db, Path(work) / member)
        manifest = Manifest(
            format=FORMAT,
            backup_id=backup_id,
            created_at=iso_utc(utcnow()),
            dialect=db.dialect,
            database=member,
            database_sha256=_sha256_file(Path(work) / member),
            revision=revision,
            audit_head=head,
            checkpoint_key_ids=key_ids,
            platform_key_id=keys.key_id,
            archives=_archives_of(db, settings.archive_dir),
        )
        partial = Path(work) / "backup.tar"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            _add_bytes(tar, MANIFEST, manifest.to_json())
            tar.add(Path(work) / member, arcname=member)
            for name in manifest.archives:
                tar.add(settings.archive_dir / name, arcname=ARCHIVE_PREFIX + name)
        with partial.open("rb+") as fh:
            os.fsync(fh.fileno())
        digest, size = _sha256_file(partial), partial.stat().st_size
        os.replace(partial, dest)
    with db.transaction() as tx:
        audit.record(
            tx,
            actor,
            AuditAction.BACKUP,
            "platform_backup",
            backup_id,
            details={
                "stage": "completed",
                "file": dest.name,
                "sha256": digest,
                "bytes": size,
                "audit_head_seq": head.seq if head else 0,
            },
        )
    return BackupResult(dest, manifest, digest, size)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValidationFailed(
            "内存数据库无法备份", "an in-memory database cannot be backed up", field="database"
        )
    return Path(database)


def _state_of(conn: Connection) -> tuple[Head | None, str | None, list[str]]:
    """(audit head, migration revision, key ids of the checkpoints) as this connection sees
    the database."""
    row = conn.execute(
        select(audit_entry.c.seq, audit_entry.c.hash).order_by(audit_entry.c.seq.desc()).limit(1)
    ).first()
    head = Head(int(row.seq), str(row.hash)) if row else None
    revision = None
    if inspect(conn).has_table("alembic_version"):
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    key_ids = sorted(
        {str(k) for k in conn.execute(select(audit_checkpoint.c.key_id).distinct()).scalars()}
    )
    return head, revision, key_ids


def _copy_sqlite(db: Database, target: Path) -> tuple[Head | None, str | None, list[str]]:
    source = sqlite3.connect(_sqlite_path(db.url), timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # pages=-1: one step, so one consistent snapshot
    finally:
        copy.close()
        source.close()
    engine = null_pool_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            return _state_of(conn)
    finally:
        engine.dispose()


def libpq_env(url: str) -> dict[str, str]:
    """The libpq environment for ``url``: the password never goes on a command line."""
    u = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    pairs = {
        "PGHOST": u.host,
        "PGPORT": str(u.port) if u.port else None,
        "PGUSER": u.username,
        "PGPASSWORD": u.password,
        "PGDATABASE": u.database,
        "PGSSLMODE": u.query.get("sslmode") if isinstance(u.query.get("sslmode"), str) else None,
    }
    env.update({k: str(v) for k, v in pairs.items() if v})
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise Conflict(
            f"找不到 {name}（请安装 PostgreSQL 客户端）",
            f"{name} was not found (install the PostgreSQL client tools)",
            code="backup_tool_missing",
        )
    return found


def _run(args: list[str], env: dict[str, str], stdout: IO[bytes] | None = None) -> None:
    done = subprocess.run(  # noqa: S603 - a fixed tool, no shell  # nosec B603
        args, env=env, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE, check=False
    )
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise Conflict(
            f"{Path(args[0]).name} 执行失败：{' / '.join(message)}",
            f"{Path(args[0]).name} failed: {' / '.join(message)}",
            code="backup_tool_failed",
        )


def _dump_postgresql(db: Database, target: Path) -> tuple[Head | None, str | None, list[str]]:
    """pg_dump of a snapshot exported by a REPEATABLE READ transaction that also reads the
    audit head: the manifest describes exactly the dumped state."""
    pg_dump = _tool("pg_dump")
    engine = null_pool_engine(db.url)
    try:
        repeatable = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with repeatable as conn, conn.begin():
            snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
            state = _state_of(conn)
            _run(
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--file", str(target)],
                libpq_env(db.url),
            )
        return state
    finally:
        engine.dispose()


def _archives_of(db: Database, archive_dir: Path) -> dict[str, str]:
    with db.read() as conn:
        rows = conn.execute(select(audit_archive.c.file_name, audit_archive.c.file_sha256)).all()
    out: dict[str, str] = {}
    for name, digest in rows:
        path = archive_dir / str(name)
        if not path.is_file():
            raise Conflict(
                f"审计归档文件 {name} 缺失，无法备份",
                f"the audit archive file {name} is missing; nothing was backed up",
                code="backup_archive_missing",
            )
        out[str(name)] = str(digest)
    return out


# Restore --------------------------------------------------------------------------------------
@contextmanager
def opened_backup(path: Path) -> Iterator[tuple[Manifest, tarfile.TarFile]]:
    """The manifest and the tar of a backup file, checked for the members it names."""
    try:
        tar = tarfile.open(path, mode="r:")  # noqa: SIM115 - closed by the with below
    except (OSError, tarfile.TarError) as exc:
        raise _invalid("not a govshare backup (tar) file") from exc
    with tar:
        manifest = Manifest.from_json(_member(tar, MANIFEST).read())
        if manifest.database not in (SQLITE_MEMBER, PG_MEMBER):
            raise _invalid("the manifest names an unknown database member")
        yield manifest, tar


def _member(tar: tarfile.TarFile, name: str) -> IO[bytes]:
    try:
        member = tar.getmember(name)
        fh = tar.extractfile(member) if member.isfile() else None
    except KeyError:
        fh = None
    if fh is None:
        raise _invalid(f"{name} is missing")
    return fh


def _extract_checked(tar: tarfile.TarFile, name: str, digest: str, target: Path) -> None:
    """Copy one member out (never ``extractall``: no path from the archive is trusted) and
    check its SHA-256."""
    h = hashlib.sha256()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with _member(tar, name) as src, os.fdopen(fd, "wb") as out:
        for chunk in iter(lambda: src.read(CHUNK), b""):
            h.update(chunk)
            out.write(chunk)
    if h.hexdigest() != digest:
        raise _invalid(f"{name} does not match its SHA-256 (the file is damaged)")


def _current_head(url: str) -> Head | None:
    """The head of the chain about to be replaced (None if there is none or it is
    unreadable)."""
    if make_url(url).get_backend_name() == "sqlite" and not _sqlite_path(url).exists():
        return None
    engine = null_pool_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("audit_entry"):
                return None
            return _state_of(conn)[0]
    except Exception:  # a damaged database: there is nothing to link to
        return None
    finally:
        engine.dispose()


def check_keys(manifest: Manifest, key_id: str | None) -> None:
    """Refuse a restore whose checkpoints the platform's key (``key_id``; None: there is
    none yet) could not verify. Without checkpoints any key will do (new keys are made)."""
    if key_id is None and manifest.checkpoint_key_ids:
        raise Conflict(
            "本机没有平台密钥：请用 --with-keys 同时恢复密钥备份",
            "this platform has no keys: restore the key archive too (--with-keys)",
            code="restore_keys_missing",
        )
    foreign = ", ".join(k for k in manifest.checkpoint_key_ids if k != key_id)
    if foreign:
        raise Conflict(
            f"备份中的审计检查点由其他密钥（{foreign}）签名：请用 --with-keys 恢复对应密钥",
            f"the backup's audit checkpoints were signed by another key ({foreign}); "
            "restore the matching key archive (--with-keys)",
            code="restore_keys_mismatch",
        )


def restore_database(settings: Settings, manifest: Manifest, tar: tarfile.TarFile) -> None:
    """Replace the configured database with the backup's (the platform stopped)."""
    url = settings.effective_database_url
    dialect = make_url(url).get_backend_name()
    if dialect != manifest.dialect:
        raise Conflict(
            f"备份来自 {manifest.dialect}，当前配置的数据库是 {dialect}",
            f"the backup is of {manifest.dialect}; the configured database is {dialect}",
            code="restore_dialect",
        )
    with tempfile.TemporaryDirectory(prefix="govshare-restore-") as work:
        copy = Path(work) / manifest.database
        _extract_checked(tar, manifest.database, manifest.database_sha256, copy)
        if dialect == "sqlite":
            _restore_sqlite(copy, _sqlite_path(url))
        else:
            _restore_postgresql(copy, url)


def _restore_sqlite(copy: Path, target: Path) -> None:
    """The backup API again, the other way: the copy's pages replace the target's under
    the target's own locks (its WAL and shared memory stay consistent)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(copy)
    dest = sqlite3.connect(target, timeout=30)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()


def _restore_postgresql(copy: Path, url: str) -> None:
    """One psql transaction: drop every table of the schema (run-time pool tables made after
    the backup included), then the dump's own script (pg_restore --clean --if-exists). A
    failure leaves the database as it was."""
    pg_restore, psql = _tool("pg_restore"), _tool("psql")
    env = libpq_env(url)
    engine = null_pool_engine(url)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
    finally:
        engine.dispose()
    script = "".join(f'DROP TABLE IF EXISTS "{t}" CASCADE;\n' for t in tables)
    with tempfile.NamedTemporaryFile("w+b", suffix=".sql") as sql:
        sql.write(script.encode("utf-8"))
        sql.flush()
        _run(
            [
                pg_restore,
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--file=-",
                str(copy),
            ],
            env,
            stdout=sql,
        )
        sql.flush()
        _run(
            [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", sql.name],
            env,
        )


def _restore_archives(manifest: Manifest, tar: tarfile.TarFile, archive_dir: Path) -> None:
    archive_dir.mkdir(parents=True, exist_ok=True)
    for name, digest in manifest.archives.items():
        if Path(name).name != name:
            raise _invalid(f"unsafe archive name {name!r}")
        target = archive_dir / name
        if target.exists() and _sha256_file(target) == digest:
            continue
        partial = archive_dir / f".{name}.restoring"
        partial.unlink(missing_ok=True)
        _extract_checked(tar, ARCHIVE_PREFIX + name, digest, partial)
        os.replace(partial, target)


def record_restore(
    db: Database, manifest: Manifest, *, sha256: str, replaced: Head | None, actor: Actor
) -> int:
    with db.transaction() as tx:
        entry = audit.record(
            tx,
            actor,
            AuditAction.RESTORE,
            "platform_backup",
            manifest.backup_id,
            details={
                "backup_created_at": manifest.created_at,
                "sha256": sha256,
                "restored_head_seq": manifest.audit_head.seq if manifest.audit_head else 0,
                "replaced_head_seq": replaced.seq if replaced else None,
                "replaced_head_hash": replaced.hash if replaced else None,
            },
        )
    return entry.seq


def _key_id_of(pem: bytes | None) -> str | None:
    if pem is None:
        return None
    loaded = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValidationFailed(
            "密钥备份中的平台私钥不是 Ed25519 密钥",
            "the key archive's platform key is not an Ed25519 key",
            code="backup_keys_invalid",
            field="keys",
        )
    return PlatformKeys(loaded).key_id


def restore_backup(
    settings: Settings, path: Path, *, actor: Actor, keys: KeyArchive | None = None
) -> RestoreResult:
    """Restore ``path`` into the configured database (SQLite: the platform stopped;
    PostgreSQL: one transaction), the audit archives into ``archive_dir`` and, when given,
    the keys into ``keys_dir``; record the restore in the restored chain and verify it."""
    path = path.resolve()
    sha256 = _sha256_file(path)
    url = settings.effective_database_url
    with opened_backup(path) as (manifest, tar):
        archive_key = _key_id_of(keys.files.get(PRIVATE_FILE)) if keys else None
        if keys is not None and archive_key is None:
            raise ValidationFailed(
                "密钥备份中没有平台私钥",
                "the key archive holds no platform key",
                code="backup_keys_invalid",
                field="keys",
            )
        private = settings.keys_dir / PRIVATE_FILE
        local_key = _key_id_of(private.read_bytes()) if private.exists() else None
        check_keys(manifest, archive_key or local_key)
        replaced = _current_head(url)
        restore_database(settings, manifest, tar)
        _restore_archives(manifest, tar, settings.archive_dir)
    aside = install_keys(keys, settings.keys_dir) if keys is not None else None
    platform_keys = load_or_create_keys(settings.keys_dir)
    db = Database(url)
    try:
        seq = record_restore(db, manifest, sha256=sha256, replaced=replaced, actor=actor)
        report = verify_chain(db, platform_keys, archive_dir=settings.archive_dir)
    finally:
        db.dispose()
    return RestoreResult(manifest, replaced, seq, keys is not None, aside, report)
