"""The platform's keys (``var/keys``) in a passphrase-encrypted archive, kept apart from the
database backup.

The directory holds the Ed25519 key pair that signs audit checkpoints, call receipts and
access tokens (``audit.keys``) and the Fernet key that encrypts source-connector URLs and
webhook secrets (``aggregation.connectors``). A database backup never contains them: whoever
holds a backup file must not also hold what decrypts its secrets and forges its signatures.

Format: ``GSKEYS1\\n``, a 16-byte salt, then a Fernet token over a tar of the directory's
files; the Fernet key is scrypt(passphrase, salt, n=2**15, r=8, p=1).
"""

from __future__ import annotations

import base64
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from govshare.kernel.errors import ValidationFailed

MAGIC = b"GSKEYS1\n"
SALT_BYTES = 16
MIN_PASSPHRASE = 12
MAX_KEY_FILE_BYTES = 1 << 20


def _fernet(passphrase: str, salt: bytes) -> Fernet:
    raw = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(raw))


def _check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise ValidationFailed(
            f"密钥备份口令至少{MIN_PASSPHRASE}位",
            f"the key-archive passphrase needs at least {MIN_PASSPHRASE} characters",
            code="backup_passphrase_weak",
            field="passphrase",
        )


def key_files(keys_dir: Path) -> list[Path]:
    return sorted(p for p in keys_dir.iterdir() if p.is_file()) if keys_dir.is_dir() else []


def write_keys_archive(keys_dir: Path, dest: Path, passphrase: str) -> list[str]:
    """Encrypt every file of ``keys_dir`` into ``dest`` (mode 0600); returns the names."""
    _check_passphrase(passphrase)
    files = key_files(keys_dir)
    if not files:
        raise ValidationFailed(
            "密钥目录为空", "the keys directory holds no keys", code="backup_no_keys"
        )
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in files:
            info = tarfile.TarInfo(path.name)
            data = path.read_bytes()
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
    salt = os.urandom(SALT_BYTES)
    token = _fernet(passphrase, salt).encrypt(buf.getvalue())
    write_private(dest, MAGIC + salt + token)
    return [p.name for p in files]


@dataclass(frozen=True)
class KeyArchive:
    files: dict[str, bytes]


def read_keys_archive(src: Path, passphrase: str) -> KeyArchive:
    data = src.read_bytes()
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + SALT_BYTES + 1:
        raise ValidationFailed(
            "不是 govshare 密钥备份文件",
            "not a govshare key archive",
            code="backup_keys_invalid",
            field="keys",
        )
    salt = data[len(MAGIC) : len(MAGIC) + SALT_BYTES]
    try:
        plain = _fernet(passphrase, salt).decrypt(data[len(MAGIC) + SALT_BYTES :])
    except InvalidToken as exc:
        raise ValidationFailed(
            "密钥备份口令错误或文件已损坏",
            "wrong passphrase, or the key archive is damaged",
            code="backup_keys_invalid",
            field="passphrase",
        ) from exc
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r") as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if not member.isfile() or name != member.name or member.size > MAX_KEY_FILE_BYTES:
                continue  # only plain files at the top level
            fh = tar.extractfile(member)
            if fh is not None:
                files[name] = fh.read()
    return KeyArchive(files)


def install_keys(archive: KeyArchive, keys_dir: Path) -> Path | None:
    """Put the archive's files into ``keys_dir``; keys already there that differ are moved
    aside to ``keys.replaced-<n>`` next to it (never deleted). Returns that directory."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    aside: Path | None = None
    for path in key_files(keys_dir):
        if archive.files.get(path.name) == path.read_bytes():
            continue
        if aside is None:
            n = 1
            while (keys_dir.parent / f"keys.replaced-{n}").exists():
                n += 1
            aside = keys_dir.parent / f"keys.replaced-{n}"
            aside.mkdir(mode=0o700)
        path.rename(aside / path.name)
    for name, data in archive.files.items():
        write_private(keys_dir / name, data)
    return aside


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 (atomically: a temporary file, renamed)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
