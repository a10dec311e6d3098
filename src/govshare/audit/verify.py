"""Verification of the whole chain, every checkpoint and (optionally) the archives."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, select

from govshare.audit.keys import PlatformKeys
from govshare.audit.model import GENESIS_HASH, AuditEntry
from govshare.audit.services import checkpoint_message
from govshare.audit.tables import audit_archive, audit_checkpoint, audit_entry
from govshare.storage.engine import Database


@dataclass
class VerifyReport:
    ok: bool = True
    entries: int = 0
    checkpoints: int = 0
    archives: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head_hash: str | None = None
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, seq: int | None, problem: str) -> None:
        if seq is not None and (self.first_bad_seq is None or seq < self.first_bad_seq):
            self.first_bad_seq = seq
        self.ok = False
        self.problems.append(problem)

    def summary(self) -> str:
        if self.ok:
            return (
                f"audit chain OK: {self.entries} entries (seq {self.first_seq or 0}..."
                f"{self.last_seq or 0}), {self.checkpoints} signed checkpoints, "
                f"{self.archives} archives, head {(self.head_hash or '')[:16]}"
            )
        return f"audit chain BROKEN at seq {self.first_bad_seq}: {self.problems[0]}"


def verify_chain(
    db: Database,
    keys: PlatformKeys,
    *,
    archive_dir: Path | None = None,
    batch: int = 5000,
) -> VerifyReport:
    report = VerifyReport()
    with db.read() as conn:
        anchors = conn.execute(select(audit_archive).order_by(audit_archive.c.upto_seq)).all()
        expected_seq, expected_prev = 1, GENESIS_HASH
        for a in anchors:
            if int(a.first_seq) != expected_seq:
                report.fail(
                    int(a.first_seq),
                    f"archive {a.file_name} does not follow seq {expected_seq - 1}",
                )
            if archive_dir is not None:
                _verify_archive(archive_dir / str(a.file_name), a, expected_prev, report)
            expected_seq, expected_prev = int(a.upto_seq) + 1, str(a.last_hash)
            report.archives += 1

        hashes: dict[int, str] = {}
        checkpoints = conn.execute(select(audit_checkpoint).order_by(audit_checkpoint.c.seq)).all()
        wanted = {int(c.seq) for c in checkpoints}
        last = expected_seq - 1
        after = last
        while True:
            rows = conn.execute(
                select(audit_entry)
                .where(audit_entry.c.seq > after)
                .order_by(audit_entry.c.seq)
                .limit(batch)
            ).all()
            if not rows:
                break
            for r in rows:
                entry = AuditEntry(**r._mapping)
                if report.first_seq is None:
                    report.first_seq = entry.seq
                if entry.seq != expected_seq:
                    report.fail(
                        min(entry.seq, expected_seq),
                        f"expected seq {expected_seq}, found {entry.seq} (entry missing or moved)",
                    )
                if entry.prev_hash != expected_prev:
                    report.fail(
                        entry.seq, f"seq {entry.seq}: prev_hash does not link to its predecessor"
                    )
                if entry.computed_hash() != entry.hash:
                    report.fail(entry.seq, f"seq {entry.seq}: content does not match its hash")
                if entry.seq in wanted:
                    hashes[entry.seq] = entry.hash
                expected_seq, expected_prev = entry.seq + 1, entry.hash
                report.entries += 1
                last = entry.seq
            after = int(rows[-1].seq)
        report.last_seq = last
        report.head_hash = expected_prev

        floor = int(anchors[-1].upto_seq) if anchors else 0
        for c in checkpoints:
            report.checkpoints += 1
            seq = int(c.seq)
            message = checkpoint_message(seq, str(c.head_hash), c.signed_at)
            if c.key_id != keys.key_id or not keys.verify(message, str(c.signature)):
                report.fail(seq, f"checkpoint at seq {seq}: signature does not verify")
                continue
            if seq == 0 or seq <= floor:
                continue
            if seq > last:
                report.fail(
                    last + 1,
                    f"checkpoint at seq {seq} is beyond the chain's end {last} (entries removed)",
                )
            elif hashes.get(seq) != c.head_hash:
                report.fail(
                    seq, f"checkpoint at seq {seq}: signed head hash differs from the chain"
                )
    return report


def _verify_archive(path: Path, anchor: Row[Any], prev_hash: str, report: VerifyReport) -> None:
    """The file must match its recorded digest, link to ``prev_hash`` (the end of what came
    before it) and end in the anchored hash that the live chain continues from."""
    if not path.exists():
        report.fail(None, f"archive file {path.name} is missing")
        return
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != str(anchor.file_sha256):
        report.fail(None, f"archive file {path.name} does not match its recorded SHA-256")
        return
    expected_seq, prev, count = int(anchor.first_seq), prev_hash, 0
    for line in data.decode("utf-8").splitlines():
        try:
            raw = json.loads(line)
            raw["occurred_at"] = datetime.fromisoformat(raw["occurred_at"].replace("Z", "+00:00"))
            entry = AuditEntry(**raw)
        except (ValueError, TypeError, KeyError, AttributeError):
            report.fail(expected_seq, f"archive {path.name}: seq {expected_seq} is unreadable")
            return
        if (
            entry.seq != expected_seq
            or entry.prev_hash != prev
            or entry.computed_hash() != entry.hash
        ):
            report.fail(entry.seq, f"archive {path.name}: seq {entry.seq} does not verify")
            return
        expected_seq, prev, count = entry.seq + 1, entry.hash, count + 1
    upto = int(anchor.upto_seq)
    if count != int(anchor.entry_count) or expected_seq != upto + 1 or prev != anchor.last_hash:
        report.fail(upto, f"archive {path.name} does not end in the anchored hash of seq {upto}")
