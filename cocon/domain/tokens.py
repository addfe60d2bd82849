"""Opaque tokens and keyed hashes: what is stored is never what the client holds."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_id(token: str) -> str:
    """The stored form of a session or device token (a leaked table grants nothing)."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(secret: bytes, value: str) -> str:
    """HMAC of a personal value (an IP address): comparable, but not reversible."""
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()
