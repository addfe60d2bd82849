"""TURN REST API credentials (the coturn ``use-auth-secret`` scheme).

``username = "<expiry unix time>:<label>"`` and ``password = base64(HMAC-SHA1(secret,
username))``. coturn recomputes the password from its ``static-auth-secret`` and refuses the
username once the expiry has passed, so a credential is good for one call and ``ttl_s``
seconds (at most an hour), and nothing has to be shared with coturn but the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

MAX_TTL_S = 3600


@dataclass(frozen=True, slots=True)
class TurnCredential:
    username: str
    password: str
    expires_at: int


def turn_credential(
    secret: str, label: str, ttl_s: int, now: float | None = None
) -> TurnCredential:
    """A credential for ``label`` (no personal data: a call id and a role), valid ``ttl_s``."""
    ttl = max(1, min(int(ttl_s), MAX_TTL_S))
    expires = int(now if now is not None else time.time()) + ttl
    username = f"{expires}:{label}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode(), expires)


def check_credential(secret: str, username: str, password: str, now: float | None = None) -> bool:
    """What coturn does with a REST credential (used by the tests)."""
    expires, _, _ = username.partition(":")
    if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
        return False
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), password)
