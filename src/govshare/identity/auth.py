"""Credentials: argon2 password hashes, client-secret hashes, signed access tokens."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from govshare.audit.keys import PlatformKeys
from govshare.kernel.errors import Unauthenticated
from govshare.kernel.ids import new_id

_hasher = PasswordHasher()
ISSUER = "govshare"
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# A dummy hash so that an unknown username costs as much as a wrong password.
DUMMY_HASH = hash_password("govshare-timing-equaliser")


def hash_client_secret(secret: str) -> str:
    """Client secrets are 256-bit random strings, so a plain SHA-256 is enough."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def client_secret_matches(secret_hash: str, secret: str) -> bool:
    return hmac.compare_digest(secret_hash, hash_client_secret(secret))


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: datetime
    jti: str


def issue_client_token(
    keys: PlatformKeys, *, client_id: str, department_id: str, now: datetime, ttl_seconds: int
) -> AccessToken:
    jti = new_id()
    exp = now + timedelta(seconds=ttl_seconds)
    claims = {
        "iss": ISSUER,
        "sub": client_id,
        "dept": department_id,
        "typ": "client",
        "iat": int(now.timestamp()),
        "exp": int(exp.timestamp()),
        "jti": jti,
    }
    token = jwt.encode(claims, keys.private_key, algorithm="EdDSA", headers={"kid": keys.key_id})
    return AccessToken(token=token, expires_at=exp, jti=jti)


class _VerifiedTokens:
    """Tokens whose signature, issuer and type were already checked, so that a client
    system's every call does not re-verify the same Ed25519 signature. Keyed by the
    verifying key and the exact token text; bounded (least recently used out). Expiry is
    checked on every call, and revocation of the client system is read from the database
    on every call by the caller, so the cache changes neither."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._claims: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> dict[str, Any] | None:
        with self._lock:
            claims = self._claims.get(key)
            if claims is not None:
                self._claims.move_to_end(key)
            return claims

    def put(self, key: tuple[str, str], claims: dict[str, Any]) -> None:
        with self._lock:
            self._claims[key] = claims
            while len(self._claims) > self._size:
                self._claims.popitem(last=False)


_verified = _VerifiedTokens()


def decode_client_token(keys: PlatformKeys, token: str, *, now: datetime) -> dict[str, Any]:
    cache_key = (keys.key_id, token)
    claims = _verified.get(cache_key)
    if claims is None:
        try:
            claims = jwt.decode(
                token,
                keys.public_key,
                algorithms=["EdDSA"],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "jti"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(
                "访问令牌无效", "the access token is invalid", code="token_invalid"
            ) from exc
        if claims.get("typ") != "client":
            raise Unauthenticated("访问令牌类型错误", "wrong token type", code="token_invalid")
        _verified.put(cache_key, claims)
    if int(claims["exp"]) <= int(now.timestamp()):
        raise Unauthenticated(
            "访问令牌已过期", "the access token has expired", code="token_expired"
        )
    return dict(claims)
