"""The platform's Ed25519 key pair: signs audit checkpoints, receipts and access tokens.

Created at init under ``var/keys``: the private key file is mode 0600. The public key
is served at ``/.well-known/govshare/keys`` as a JWK set.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

PRIVATE_FILE = "platform_ed25519.pem"
PUBLIC_FILE = "platform_ed25519.pub.pem"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class PlatformKeys:
    private_key: Ed25519PrivateKey

    # derived once per key object (every receipt and token check reads them)
    @cached_property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @cached_property
    def public_raw(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @cached_property
    def key_id(self) -> str:
        return hashlib.sha256(self.public_raw).hexdigest()[:16]

    def sign(self, message: bytes) -> str:
        return _b64url(self.private_key.sign(message))

    def verify(self, message: bytes, signature: str) -> bool:
        return verify_signature(self.public_raw, message, signature)

    def jwk(self) -> dict[str, Any]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(self.public_raw),
            "kid": self.key_id,
            "use": "sig",
            "alg": "EdDSA",
        }

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def verify_signature(public_raw: bytes, message: bytes, signature: str) -> bool:
    padded = signature + "=" * (-len(signature) % 4)
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            base64.urlsafe_b64decode(padded), message
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def load_or_create_keys(keys_dir: Path) -> PlatformKeys:
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    private_path = keys_dir / PRIVATE_FILE
    if private_path.exists():
        loaded = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{private_path} is not an Ed25519 private key")
        return PlatformKeys(loaded)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    keys = PlatformKeys(key)
    (keys_dir / PUBLIC_FILE).write_bytes(keys.public_pem())
    return keys
