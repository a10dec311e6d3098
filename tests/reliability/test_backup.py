"""Backup and restore (SQ-25): an online backup while another thread writes, a restore onto
the same platform and onto a new machine (keys restored from their own archive), the restored
chain verifies, and both steps are in the audit log."""

from __future__ import annotations

import json
import tarfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from govshare.audit import services as audit_services
from govshare.audit.tables import audit_archive, audit_entry
from govshare.cli.main import app
from govshare.config import Settings, get_settings
from govshare.identity import services as identity_services
from govshare.kernel.actor import Actor
from govshare.kernel.clock import set_clock
from govshare.ops.backup import Manifest
from govshare.platform import Platform
from govshare.storage.engine import Database
from tests.conftest import _pg_admin, make_settings

runner = CliRunner()
PASSPHRASE = "correct horse battery staple"


def _use(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """Point the CLI at ``settings``."""
    monkeypatch.setenv("GOVSHARE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GOVSHARE_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("GOVSHARE_BACKUP_PASSPHRASE", PASSPHRASE)
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()


def _entries(db: Database, action: str) -> list[dict[str, object]]:
    with db.read() as conn:
        rows = conn.execute(
            select(audit_entry).where(audit_entry.c.action == action).order_by(audit_entry.c.seq)
        ).all()
    return [dict(r._mapping) for r in rows]


def _head(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.max(audit_entry.c.seq))).scalar_one() or 0)


def _manifest(path: Path) -> Manifest:
    with tarfile.open(path) as tar:
        fh = tar.extractfile("manifest.json")
        assert fh is not None
        return Manifest.from_json(fh.read())


def _verify(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> str:
    _use(monkeypatch, settings)
    r = runner.invoke(app, ["audit", "verify"])
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.fixture
def spare_settings(tmp_path: Path, settings: Settings) -> Iterator[Settings]:
    """An empty database of the same kind on "another machine" (own var dir, no keys)."""
    url = settings.effective_database_url
    if make_url(url).get_backend_name() == "sqlite":
        yield make_settings(tmp_path / "other", f"sqlite:///{tmp_path / 'other' / 'restored.db'}")
        return
    name = f"gs_restore_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield make_settings(
        tmp_path / "other", make_url(url).set(database=name).render_as_string(False)
    )
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.req("SQ-25")
def test_online_backup_while_writing_then_restore(
    demo_platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = demo_platform
    audit_services.create_checkpoint(p.db, p.keys, actor=Actor.system("test"))
    stop, written, failures = threading.Event(), [0], []

    def writer() -> None:
        while not stop.is_set() or written[0] < 20:
            try:
                identity_services.record_logout(p.db, actor=Actor.system("writer"))
                written[0] += 1
            except Exception as exc:  # the test fails on any
                failures.append(exc)
                return

    thread = threading.Thread(target=writer)
    thread.start()
    file = tmp_path / "backups" / "govshare.backup"
    file.parent.mkdir()
    _use(monkeypatch, p.settings)
    try:
        r = runner.invoke(app, ["backup", str(file)])
    finally:
        stop.set()
        thread.join(timeout=60)
    assert r.exit_code == 0, r.output
    assert not failures and written[0] >= 20  # the platform kept writing
    assert file.stat().st_mode & 0o777 == 0o600
    manifest = _manifest(file)
    assert manifest.dialect == p.db.dialect and manifest.audit_head is not None
    assert manifest.platform_key_id == p.keys.key_id

    # the live log: started (inside the copy) and completed (with the file's digest)
    started, completed = _entries(p.db, "backup")
    assert started["object_id"] == completed["object_id"] == manifest.backup_id
    assert json.loads(str(started["details"]))["stage"] == "started"
    done = json.loads(str(completed["details"]))
    assert done["stage"] == "completed" and done["audit_head_seq"] == manifest.audit_head.seq
    assert int(str(started["seq"])) <= manifest.audit_head.seq < int(str(completed["seq"]))

    # more work after the backup, then the platform stops and the backup is restored
    identity_services.record_logout(p.db, actor=Actor.system("after-backup"))
    live_head = _head(p.db)
    p.db.dispose()
    r = runner.invoke(app, ["restore", str(file), "--yes"])
    assert r.exit_code == 0, r.output
    assert "audit chain OK" in r.stdout

    db = Database(p.settings.effective_database_url)
    try:
        (restore,) = _entries(db, "restore")
        assert restore["object_id"] == manifest.backup_id
        assert int(str(restore["seq"])) == manifest.audit_head.seq + 1 == _head(db)
        details = json.loads(str(restore["details"]))
        assert details["replaced_head_seq"] == live_head
        assert details["restored_head_seq"] == manifest.audit_head.seq
        # the copy holds its own "started" entry, not the completion nor the later work
        assert [json.loads(str(e["details"]))["stage"] for e in _entries(db, "backup")] == [
            "started"
        ]
        assert not [e for e in _entries(db, "logout") if e["actor_id"] == "after-backup"]
    finally:
        db.dispose()
    assert "audit chain OK" in _verify(monkeypatch, p.settings)


@pytest.mark.req("SQ-25", "NX-33")
def test_restore_on_a_new_machine_needs_the_keys(
    platform: Platform,
    spare_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = platform
    # a purged stretch of the chain: the backup must carry its archive file
    old = datetime.now(UTC) - timedelta(days=400)
    set_clock(lambda: old)
    try:
        identity_services.record_logout(p.db, actor=Actor.system("old"))
    finally:
        set_clock(None)
    identity_services.record_logout(p.db, actor=Actor.system("recent"))
    audit_services.purge(
        p.db,
        before=datetime.now(UTC) - timedelta(days=300),
        min_retention_days=p.min_audit_retention_days,
        archive_dir=p.settings.archive_dir,
        actor=Actor.system("test"),
    )
    audit_services.create_checkpoint(p.db, p.keys, actor=Actor.system("test"))
    file, keys = tmp_path / "b.tar", tmp_path / "keys.gskeys"
    _use(monkeypatch, p.settings)
    r = runner.invoke(app, ["backup", str(file), "--with-keys", str(keys)])
    assert r.exit_code == 0, r.output
    assert keys.stat().st_mode & 0o777 == 0o600
    assert b"PRIVATE KEY" not in keys.read_bytes()  # encrypted
    manifest = _manifest(file)
    assert len(manifest.archives) == 1
    with tarfile.open(file) as tar:
        names = tar.getnames()
    assert not [n for n in names if "key" in n or n.endswith(".pem")]  # no keys inside

    # another machine: its own (new) keys cannot verify the backup's checkpoints
    Platform.open(spare_settings).close()  # creates that machine's keys
    _use(monkeypatch, spare_settings)
    r = runner.invoke(app, ["restore", str(file), "--yes"])
    assert r.exit_code != 0 and "restore_keys_mismatch" in r.output
    r = runner.invoke(
        app,
        ["restore", str(file), "--yes", "--with-keys", str(keys)],
        env={"GOVSHARE_BACKUP_PASSPHRASE": "not the passphrase"},
    )
    assert r.exit_code != 0 and "backup_keys_invalid" in r.output
    r = runner.invoke(app, ["restore", str(file), "--yes", "--with-keys", str(keys)])
    assert r.exit_code == 0, r.output
    assert "previous keys moved to" in r.stdout and "1 archives" in r.stdout
    restored = Platform.open(spare_settings)
    try:
        assert restored.keys.key_id == p.keys.key_id
        with restored.db.read() as conn:
            assert conn.execute(select(func.count()).select_from(audit_archive)).scalar() == 1
        assert len(_entries(restored.db, "restore")) == 1
    finally:
        restored.close()
    assert "1 archives" in _verify(monkeypatch, spare_settings)


def test_a_damaged_backup_is_refused_and_changes_nothing(
    sqlite_demo_platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = sqlite_demo_platform
    file = tmp_path / "b.tar"
    _use(monkeypatch, p.settings)
    assert runner.invoke(app, ["backup", str(file)]).exit_code == 0
    head = _head(p.db)
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the database member
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(data))
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    p.db.dispose()
    for f in (bad, junk):
        r = runner.invoke(app, ["restore", str(f), "--yes"])
        assert r.exit_code != 0 and "backup_invalid" in r.output, r.output
    assert _head(p.db) == head
    assert "audit chain OK" in _verify(monkeypatch, p.settings)
