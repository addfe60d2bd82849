"""Staff accounts: argon2 password + TOTP, and their sessions (separate from users')."""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass

import pyotp
from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.domain.passwords import MIN_LENGTH, hash_password, verify_password
from cocon.domain.pseudo import PseudoError, normalize_pseudo, pseudo_key
from cocon.domain.tokens import new_token, token_id
from cocon.errors import BadRequest, Conflict, NotAllowed
from cocon.moderation.audit import audit_log_for
from cocon.moderation.roles import STAFF_ROLES, Role
from cocon.runtime import Runtime
from cocon.store import moderation as store

TOTP_STEP_S = 30


@dataclass(frozen=True, slots=True)
class Staff:
    """The member of staff behind a request."""

    id: int
    pseudo: str
    role: Role

    @property
    def actor(self) -> str:
        return f"staff:{self.id}"


def _staff(row: store.StaffRow) -> Staff:
    return Staff(row.id, row.pseudo, Role.parse(row.role))


async def create_account(
    engine: AsyncEngine, data_dir: str, head_every: int, pseudo: str, role: str, password: str
) -> tuple[int, str]:
    """Create a staff account; returns (id, TOTP provisioning URI). Audited."""
    parsed = Role.parse(role)
    if parsed not in STAFF_ROLES:
        raise BadRequest("role must be moderator or admin")
    if len(password) < MIN_LENGTH:
        raise BadRequest(f"password must be at least {MIN_LENGTH} characters")
    try:
        clean = normalize_pseudo(pseudo)
    except PseudoError as exc:
        raise BadRequest(str(exc)) from exc
    secret = pyotp.random_base32()
    hashed = await asyncio.to_thread(hash_password, password)
    async with engine.begin() as db:
        if await store.staff_by_key(db, pseudo_key(clean)) is not None:
            raise Conflict("a staff account with that pseudo exists")
        staff_id = await store.create_staff(
            db, clean, pseudo_key(clean), parsed.name.lower(), hashed, secret, time.time()
        )
    await audit_log_for(engine, data_dir, head_every).append(
        "cli", "staff_create", f"staff:{staff_id}", "", {"role": parsed.name.lower()}
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=clean, issuer_name="Cocon")
    return staff_id, uri


def _totp_step(secret: str, code: str, now: float) -> int | None:
    """The time step ``code`` belongs to (one step of drift allowed), or None."""
    totp = pyotp.TOTP(secret)
    here = int(now) // TOTP_STEP_S
    for step in (here, here - 1, here + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def do_login(
    rt: Runtime, pseudo: object, password: object, code: object
) -> tuple[Staff, str]:
    """Check password and TOTP (each code works once); returns the staff and a session token."""
    refused = NotAllowed("Identifiants incorrects.", code="bad_login")
    if not isinstance(pseudo, str) or not isinstance(password, str) or not isinstance(code, str):
        raise refused
    try:
        key = pseudo_key(normalize_pseudo(pseudo))
    except PseudoError as exc:
        raise refused from exc
    async with rt.engine.connect() as db:
        row = await store.staff_by_key(db, key)
    if row is None or row.disabled:
        await asyncio.to_thread(hash_password, password)  # same time as a real check
        raise refused
    audit = audit_log_for(rt.engine, rt.settings.data_dir, rt.settings.audit_head_every)
    ok = await asyncio.to_thread(verify_password, row.password_hash, password)
    t = time.time()
    step = _totp_step(row.totp_secret, code.strip(), t) if ok else None
    if step is not None:
        async with rt.engine.begin() as db:
            if not await store.use_totp_step(db, row.id, step):
                step = None
    if step is None:
        await audit.append("anonymous", "staff_login_failed", f"staff:{row.id}")
        raise refused
    token = new_token()
    async with rt.engine.begin() as db:
        await store.create_staff_session(
            db, token_id(token), row.id, t, t + rt.settings.staff_session_hours * 3600
        )
    staff = _staff(row)
    await audit.append(staff.actor, "staff_login", staff.actor)
    return staff, token


async def session_staff(rt: Runtime, token: str | None) -> Staff | None:
    if not token or len(token) > 200:
        return None
    async with rt.engine.connect() as db:
        row = await store.staff_for_session(db, token_id(token), time.time())
    return None if row is None else _staff(row)


async def do_logout(rt: Runtime, token: str) -> None:
    async with rt.engine.begin() as db:
        await store.end_staff_session(db, token_id(token), time.time())
