"""Entering without sign-up, optional registration, login, and session lookup."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import Connection

from cocon.actions.common import now, remember
from cocon.config import Settings
from cocon.domain.passwords import MAX_LENGTH, MIN_LENGTH, hash_password, verify_password
from cocon.domain.postal import PostalCodeError, departement_from_postal
from cocon.domain.pseudo import PseudoError, normalize_pseudo, pseudo_key
from cocon.domain.tokens import new_token, token_id
from cocon.errors import BadRequest, ClientError, Conflict, NotAllowed
from cocon.moderation import gate
from cocon.runtime import Runtime
from cocon.safety.policy import Action, check_name
from cocon.store import identities, social
from cocon.store.identities import FAR_FUTURE, UserRow

GENDERS = ("femme", "homme", "autre")
AGE_MIN, AGE_MAX = 18, 99
HOLD_AFTER_ENTRY_S = 15 * 60.0  # a guest's pseudo stays theirs this long when not online
ONLINE_HOLD_S = 86400.0  # ... and this long from their latest hello


class Underage(ClientError):
    code = "underage"


@dataclass(frozen=True, slots=True)
class Entered:
    user: UserRow
    session_token: str
    device_token: str


def _validate(
    pseudo: object, gender: object, age: object, postal_code: object
) -> tuple[str, str, int, str]:
    if not isinstance(pseudo, str):
        raise BadRequest("Choisissez un pseudo.", code="pseudo_length", field="pseudo")
    try:
        clean = normalize_pseudo(pseudo)
    except PseudoError as exc:
        raise BadRequest(str(exc), code=exc.code, field="pseudo") from exc
    if check_name(clean).action == Action.BLOCK:
        raise BadRequest(
            "Ce pseudo n'est pas accepté : il sexualise ou vise des mineurs, ou vend du sexe "
            "ou de la drogue.",
            code="pseudo_refused",
            field="pseudo",
        )
    if gender not in GENDERS:
        raise BadRequest("Choisissez femme, homme ou autre.", code="gender", field="gender")
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 150:
        raise BadRequest("Indiquez votre âge en années.", code="age", field="age")
    if age > AGE_MAX:
        raise BadRequest(
            f"L'âge doit être entre {AGE_MIN} et {AGE_MAX} ans.", code="age", field="age"
        )
    if not isinstance(postal_code, str):
        raise BadRequest("Indiquez votre code postal.", code="postal_code", field="postal_code")
    try:
        dep = departement_from_postal(postal_code)
    except PostalCodeError as exc:
        raise BadRequest(str(exc), code="postal_code", field="postal_code") from exc
    return clean, str(gender), age, dep


UNDERAGE_MESSAGE = (
    "Cocon est réservé aux personnes majeures. Si quelque chose t'inquiète en ligne, "
    "tu peux en parler gratuitement et anonymement au 3018 (ou sur 3018.fr), "
    "et au 119 en cas de danger."
)


async def do_enter(
    rt: Runtime,
    device_token: str | None,
    ip: str,
    pseudo: object,
    gender: object,
    age: object,
    postal_code: object,
) -> tuple[Entered | None, str, ClientError | None]:
    """Enter as a guest. Returns (entered, device token, refusal): the device token is
    set even on refusal, so that an under-18 refusal is remembered for this device. A ban
    of the device or network refuses with :class:`gate.Banned`."""
    cookie_device = device_token
    device_token = device_token or new_token()
    device_id = token_id(device_token)
    t = now()
    minor = isinstance(age, int) and not isinstance(age, bool) and 0 <= age < AGE_MIN
    invalid: ClientError | None = None
    clean, g, a, dep = "", "", 0, ""
    if not minor:
        try:
            clean, g, a, dep = _validate(pseudo, gender, age, postal_code)
        except ClientError as exc:
            invalid = exc
    key = pseudo_key(clean) if invalid is None and not minor else ""
    net = gate.net_key(rt, ip)
    form = _Form(minor, invalid, clean, key, g, a, dep)
    # One unit of work in the store process: one hop, one commit (docs/benchmarks.md, s4).
    refusal, user, token = await rt.transactions.run(
        _enter, rt.settings, cookie_device, device_id, net, form, t
    )
    if refusal is not None or user is None:
        return None, device_token, refusal
    remember(rt, user)
    return Entered(user, token, device_token), device_token, None


@dataclass(frozen=True, slots=True)
class _Form:
    """What a person typed to enter, once checked (``invalid``: why not)."""

    minor: bool
    invalid: ClientError | None
    pseudo: str
    key: str
    gender: str
    age: int
    dep: str


def _enter(
    db: Connection,
    settings: Settings,
    cookie_device: str | None,
    device_id: str,
    net: str | None,
    form: _Form,
    t: float,
) -> tuple[ClientError | None, UserRow | None, str]:
    """The store side of :func:`do_enter`, in one transaction: (refusal, user, session token)."""
    banned = gate.entry_refusal(db, cookie_device, net, "enter", t)
    if banned is not None:
        return banned, None, ""
    device = identities.device(db, device_id)
    if device is not None and device.underage_until is not None and device.underage_until > t:
        return Underage(UNDERAGE_MESSAGE), None, ""
    if form.minor:
        if device is None:
            identities.add_device(db, device_id, t)
        identities.mark_underage(db, device_id, t + settings.minor_block_hours * 3600)
        return Underage(UNDERAGE_MESSAGE), None, ""
    if form.invalid is not None:
        return form.invalid, None, ""
    hold = identities.pseudo_hold(db, form.key)
    if hold is not None and hold.registered:
        taken = "Ce pseudo est réservé par un membre."
        return Conflict(taken, code="pseudo_taken", field="pseudo"), None, ""
    if hold is not None and hold.until > t:
        return Conflict("Ce pseudo est déjà pris.", code="pseudo_taken", field="pseudo"), None, ""
    if device is None:
        identities.add_device(db, device_id, t)
    user = identities.create_user(
        db,
        pseudo=form.pseudo,
        key=form.key,
        gender=form.gender,
        age=form.age,
        dep=form.dep,
        device_id=device_id,
        now=t,
        hold_until=t + HOLD_AFTER_ENTRY_S,
        taken_from=hold,
    )
    previous = identities.previous_guest(db, device_id, user.id)
    if previous is not None:
        social.carry_over(db, previous, user.id, t)
    token = _open_session(db, settings, user.id, device_id, net, t)
    return None, user, token


def _open_session(
    db: Connection, settings: Settings, user_id: int, device_id: str, net: str | None, t: float
) -> str:
    """A new session of ``user_id`` on this device (and where it comes from); its token."""
    token = new_token()
    expires = t + settings.session_days * 86400
    identities.create_session(db, token_id(token), user_id, device_id, t, expires)
    if net is not None:
        gate.record_network(db, user_id, net, t)
    return token


async def do_register(rt: Runtime, user: UserRow, password: object) -> UserRow:
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise BadRequest(
            f"Le mot de passe doit faire au moins {MIN_LENGTH} caractères.",
            code="password",
            field="password",
        )
    if user.registered:
        raise Conflict("Ce pseudo est déjà enregistré.", code="conflict")
    hashed = await asyncio.to_thread(hash_password, password)
    async with rt.engine.begin() as db:
        other = await identities.registered_by_key(db, user.pseudo_key)
        if other is not None:
            raise Conflict("Ce pseudo est réservé par un membre.", code="pseudo_taken")
        await identities.register(db, user.id, hashed)
        fresh = await identities.user_by_id(db, user.id)
    assert fresh is not None
    remember(rt, fresh)
    return fresh


async def do_login(
    rt: Runtime, device_token: str | None, ip: str, pseudo: object, password: object
) -> Entered:
    if not isinstance(pseudo, str) or not isinstance(password, str):
        raise BadRequest("Pseudo et mot de passe requis.", field="pseudo")
    try:
        key = pseudo_key(normalize_pseudo(pseudo))
    except PseudoError as exc:
        raise NotAllowed("Pseudo ou mot de passe incorrect.", code="bad_login") from exc
    async with rt.engine.connect() as db:
        user = await identities.registered_by_key(db, key)
    ok = (
        user is not None
        and user.password_hash is not None
        and await asyncio.to_thread(verify_password, user.password_hash, password)
    )
    if not ok or user is None:
        raise NotAllowed("Pseudo ou mot de passe incorrect.", code="bad_login")
    device_token = device_token or new_token()
    device_id = token_id(device_token)
    t = now()
    net = gate.net_key(rt, ip)
    token = await rt.transactions.run(_login, rt.settings, user.id, device_id, net, t)
    remember(rt, user)
    return Entered(user, token, device_token)


def _login(
    db: Connection, settings: Settings, user_id: int, device_id: str, net: str | None, t: float
) -> str:
    identities.ensure_device(db, device_id, t)
    identities.set_hold(db, user_id, FAR_FUTURE)
    return _open_session(db, settings, user_id, device_id, net, t)


async def session_user(rt: Runtime, token: str | None) -> UserRow | None:
    if not token or len(token) > 200:
        return None
    async with rt.engine.connect() as db:
        return await db.run_sync(identities.session_user, token_id(token), now())


async def do_logout(rt: Runtime, token: str) -> None:
    async with rt.engine.begin() as db:
        await identities.delete_session(db, token_id(token))


@dataclass(frozen=True, slots=True)
class Admitted:
    user: UserRow
    blocked: list[int]  # the users this one blocks


async def admit(rt: Runtime, token: str | None, ip: str) -> Admitted | gate.Banned | None:
    """At WebSocket hello, in one transaction: the session's user (None: unknown or
    expired), the ban that refuses them (see :func:`gate.hello_refusal`), who they block,
    and a guest's pseudo held while they are online (every hello renews it; the last
    connection to leave shortens it, :func:`release_pseudo`)."""
    if not token or len(token) > 200:
        return None
    t = now()
    net = gate.net_key(rt, ip)
    return await rt.transactions.run(_admit, token_id(token), net, t)


def _admit(
    db: Connection, session_id: str, net: str | None, t: float
) -> Admitted | gate.Banned | None:
    """The store side of :func:`admit`."""
    user = identities.session_user(db, session_id, t)
    if user is None:
        return None
    banned = gate.hello_refusal(db, user, net, t)
    if banned is not None:
        return banned
    blocked = social.blocked_by(db, user.id)
    if not user.registered:
        identities.set_hold(db, user.id, t + ONLINE_HOLD_S)
    return Admitted(user, blocked)


async def release_pseudo(rt: Runtime, user: UserRow) -> None:
    """A guest's last connection left: the pseudo stays theirs for a while, then is free."""
    if user.registered:
        return
    await rt.transactions.run(identities.set_hold, user.id, now() + HOLD_AFTER_ENTRY_S)
