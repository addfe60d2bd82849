"""Uploads, their attachment to one message, who may see them, and hash-list matches.

An upload belongs to its uploader and is visible to nobody else until a ``send`` attaches
it (once) to a message; from then on, whoever may read that message's stream may see it.
An upload that matches a hash list is never stored where it could be served: its original
bytes go to the quarantine for the legal report, the uploader is suspended (an automated
sanction, no moderator) and a top-priority case is opened.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from cocon.access import access_conversation, access_room, parse_stream
from cocon.actions import safety
from cocon.actions.common import notify, publish
from cocon.errors import ClientError, NotFound
from cocon.media import IntakeResult, intake, sniff
from cocon.media import store as store_media
from cocon.media.sniff import SNIFF_BYTES, MediaRefused
from cocon.moderation.audit import audit_log_for
from cocon.moderation.policy import CATEGORY_LABELS, SYSTEM_REPORTER, priority, statement
from cocon.protocol.events import Left, MediaInfo
from cocon.runtime import Runtime
from cocon.store import media as media_store
from cocon.store import moderation as mod_store
from cocon.store import rooms as room_store
from cocon.store import streams as stream_store
from cocon.store.identities import UserRow
from cocon.store.media import MediaBackends, MediaRow

log = logging.getLogger(__name__)

URL_PREFIX = "/media/"
DAY_S = 86400.0
#: The automated detector files its reports as "user" 0 (no user has that id); its inbox
#: ``user:0`` exists only so that outcome notices of its cases have somewhere to go.
SYSTEM_ACTOR = "system:hashlist"
BLOCKED_RULE = "Contenu pédocriminel (image reconnue par une liste d'empreintes)"

# Refusal codes of cocon.media -> HTTP status of the upload endpoint.
_STATUS = {
    "media_too_big": 413,
    "media_unsupported_type": 415,
    "media_heic_unsupported": 415,
    "media_av_unavailable": 415,
}


class MediaRefusal(ClientError):
    """An upload refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message, code=code)
        self.status = status


def backends(rt: Runtime) -> MediaBackends:
    if rt.media is None:
        raise MediaRefusal("media_unavailable", "Les médias sont indisponibles.", 503)
    return rt.media


# -- upload --------------------------------------------------------------------------------


async def check_quota(rt: Runtime, user_id: int, incoming: int) -> None:
    """Refuse (429) when the last 24 h of kept uploads plus ``incoming`` bytes is too much."""
    s = rt.settings
    async with rt.engine.connect() as db:
        count, size = await media_store.uploaded_since(db, user_id, time.time() - DAY_S)
    if count >= s.media_daily_uploads or size + incoming > s.media_daily_bytes:
        raise MediaRefusal(
            "media_quota", "Vous avez atteint votre limite d'envois pour aujourd'hui.", 429
        )


async def do_upload(rt: Runtime, user: UserRow, data: bytes, ip: str) -> MediaRow:
    """Check, sanitize and store an upload for ``user``; a hash-list match is handled here."""
    media = backends(rt)
    if await safety.is_restricted(rt, user.id):
        raise MediaRefusal(
            "restricted", "Les photos, vidéos et sons ne sont pas disponibles pour toi.", 403
        )
    await check_quota(rt, user.id, len(data))
    result = await intake(data, media.limits, blocklist=media.index)
    if result.match is not None:
        await _blocked(rt, user, data, result, ip)
    if not result.ok:
        assert result.refusal is not None
        code, message = result.refusal.code, result.refusal.message
        raise MediaRefusal(code, message, _STATUS.get(code, 400))
    assert result.kind is not None and result.mime is not None
    stored = await store_media(media.storage, result)
    async with rt.engine.begin() as db:
        media_id = await media_store.add(
            db,
            owner_id=user.id,
            kind=result.kind,
            mime=result.mime,
            width=result.width,
            height=result.height,
            duration=result.duration,
            key=stored.key,
            preview_key=stored.preview_key,
            size=len(data),
            pdq=json.dumps([h for h, _quality in result.pdq]),
            created_at=time.time(),
        )
        row = await media_store.get(db, media_id)
    assert row is not None
    return row


def upload_info(row: MediaRow) -> dict[str, Any]:
    """The answer of ``POST /api/media`` (the URLs work for the uploader alone until sent)."""
    info = media_info(row)
    return {
        "id": row.id,
        "kind": row.kind,
        "mime": row.mime,
        "width": row.width,
        "height": row.height,
        "duration": row.duration,
        "url": info.url,
        "preview_url": info.preview_url,
    }


# -- hash-list match -----------------------------------------------------------------------


def _sniffed(data: bytes) -> str | None:
    try:
        return sniff(data[:SNIFF_BYTES]).mime
    except MediaRefused:
        return None


async def _ensure_system_inbox(rt: Runtime) -> None:
    try:
        async with rt.engine.begin() as db:
            if await db.run_sync(stream_store.position, f"user:{SYSTEM_REPORTER}") is None:
                await db.run_sync(stream_store.create_stream, f"user:{SYSTEM_REPORTER}")
    except IntegrityError:  # another node created it at the same time
        pass


async def _blocked(rt: Runtime, user: UserRow, data: bytes, result: IntakeResult, ip: str) -> None:
    """Keep the evidence, open a top-priority case, suspend the uploader, audit it all.

    Each step is written before the next starts, so that a failure half-way leaves the
    evidence and the case rather than nothing (the upload is refused in every case).
    """
    match = result.match
    assert match is not None
    t = time.time()
    sha = hashlib.sha256(data).hexdigest()
    sniffed = _sniffed(data)
    where = await backends(rt).quarantine.keep(
        data,
        {
            "user": user.id,
            "pseudo": user.pseudo,
            "sha256": sha,
            "size": len(data),
            "sniffed": sniffed,
            "list": match.list_name,
            "matched_hash": match.hash_hex,
            "distance": match.distance,
            "ip": ip,
            "ts": t,
        },
    )
    await _ensure_system_inbox(rt)
    category = "illegal_image"
    comment = (
        f"Envoi bloqué automatiquement : correspondance avec la liste « {match.list_name} » "
        f"(distance {match.distance}). Preuve conservée (sha256 {sha})."
    )
    async with rt.engine.begin() as db:
        case = await mod_store.open_case(db, f"user:{user.id}")
        if case is None:
            case_id = await mod_store.create_case(
                db, f"user:{user.id}", user.id, None, priority(category), t
            )
        else:
            case_id = int(case["id"])
            await mod_store.raise_priority(db, case_id, priority(category))
        report_id = await mod_store.add_report(
            db,
            case_id=case_id,
            reporter_id=SYSTEM_REPORTER,
            category=category,
            comment=comment,
            target_kind="user",
            target_id=user.id,
            stream=None,
            seq=None,
            evidence=None,
            created_at=t,
        )
        evidence_id = await media_store.add_evidence(
            db,
            user_id=user.id,
            location=where,
            sha256=sha,
            size=len(data),
            sniffed=sniffed,
            list_name=match.list_name,
            matched_hash=match.hash_hex,
            distance=match.distance,
            ip=ip,
            case_id=case_id,
            sanction_id=None,
            created_at=t,
        )
    audit = audit_log_for(rt.engine, rt.settings.data_dir, rt.settings.audit_head_every)
    await audit.append(
        SYSTEM_ACTOR,
        "media_blocked",
        f"user:{user.id}",
        comment,
        {
            "case": case_id,
            "report": report_id,
            "evidence": evidence_id,
            "sha256": sha,
            "list": match.list_name,
            "distance": match.distance,
        },
    )
    await _suspend(rt, user.id, case_id, evidence_id, t)


async def _suspend(rt: Runtime, user_id: int, case_id: int, evidence_id: int, t: float) -> None:
    """An automated ban of the user and their devices, until a human reviews the case.

    Networks are not banned: a false match must not lock out a family or a school. The
    statement of reasons says it is automated and how to appeal, like any sanction.
    """
    reason = (
        "Votre envoi correspond à une image illégale connue. Votre compte est suspendu "
        "en attendant l'examen d'une personne de l'équipe de modération."
    )
    facts = f"Envoi bloqué ({CATEGORY_LABELS['illegal_image']})."
    async with rt.engine.begin() as db:
        sanction_id = await mod_store.add_sanction(
            db,
            user_id=user_id,
            kind="ban",
            room_id=None,
            rule=BLOCKED_RULE,
            reason=reason,
            facts=facts,
            starts_at=t,
            ends_at=None,
            staff_id=None,
            case_id=case_id,
            revoked=False,
        )
        devices = await mod_store.devices_of(db, user_id)
        await mod_store.add_ban_marks(db, sanction_id, [("device", d, None) for d in devices])
        await media_store.set_evidence_sanction(db, evidence_id, sanction_id)
    audit = audit_log_for(rt.engine, rt.settings.data_dir, rt.settings.audit_head_every)
    await audit.append(
        SYSTEM_ACTOR,
        "sanction_ban",
        f"user:{user_id}",
        reason,
        {"sanction": sanction_id, "kind": "ban", "case": case_id, "automated": True},
    )
    text = statement("ban", BLOCKED_RULE, facts, reason, t, None, None, sanction_id)
    text["automated"] = True
    await notify(rt, user_id, "sanction", text)
    await publish(rt, f"user:{user_id}", Left(room=0, reason="ban"), control="close")


# -- attaching to a message ----------------------------------------------------------------


async def claim(rt: Runtime, user_id: int, media_id: int, stream: str, cid: str) -> MediaRow:
    """Reserve the user's own, not yet attached, upload for the send ``(stream, cid)``."""
    async with rt.engine.begin() as db:
        if not await media_store.claim(db, media_id, user_id, stream, cid):
            raise NotFound("Ce média n'existe pas ou a déjà été envoyé.", field="media")
        row = await media_store.get(db, media_id)
    assert row is not None
    return row


async def release(rt: Runtime, media_id: int, stream: str, cid: str) -> None:
    async with rt.engine.begin() as db:
        await media_store.release(db, media_id, stream, cid)


async def attached(rt: Runtime, media_id: int, seq: int) -> None:
    async with rt.engine.begin() as db:
        await media_store.attached(db, media_id, seq)


def media_info(row: MediaRow) -> MediaInfo:
    return MediaInfo(
        id=row.id,
        kind=row.kind,
        mime=row.mime,
        width=row.width,
        height=row.height,
        duration=row.duration,
        url=URL_PREFIX + row.key,
        preview_url=None if row.preview_key is None else URL_PREFIX + row.preview_key,
    )


async def infos(rt: Runtime, ids: list[int]) -> dict[int, MediaInfo]:
    """Media of stored entries, by id (for history and replay)."""
    if not ids:
        return {}
    async with rt.engine.connect() as db:
        rows = await media_store.by_ids(db, ids)
    return {i: media_info(r) for i, r in rows.items()}


# -- serving -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Served:
    row: MediaRow
    preview: bool

    @property
    def kind(self) -> str:
        return "image" if self.preview else self.row.kind

    @property
    def mime(self) -> str:
        return "image/jpeg" if self.preview else self.row.mime

    @property
    def key(self) -> str:
        if self.preview:
            assert self.row.preview_key is not None
            return self.row.preview_key
        return self.row.key


async def access_media(rt: Runtime, user_id: int, key: str) -> Served:
    """The file ``key`` if ``user_id`` may see it; NotFound otherwise (existence hidden).

    The uploader always; then the readers of the stream of the message it is attached
    to: a public room's stream -> anyone signed in; a private room -> its members; a
    conversation -> its two participants (the recipient of a pending request only after
    accepting it). A message removed by moderation takes its media with it.
    """
    async with rt.engine.connect() as db:
        found = await media_store.by_key(db, key)
        if found is None:
            raise NotFound("Ce média n'existe pas.")
        row, preview = found
        if row.owner_id == user_id:
            return Served(row, preview)
        seq = row.seq
        if seq is None and row.stream is not None and row.cid is not None:
            # Committed and published, but its seq not yet recorded on the media row.
            seq = await media_store.entry_seq(db, row.stream, row.owner_id, row.cid)
        if row.stream is None or seq is None:
            raise NotFound("Ce média n'existe pas.")
        data = await media_store.entry_data(db, row.stream, seq)
        if data is None or data.get("media") != row.id:
            raise NotFound("Ce média n'existe pas.")
        kind, ident = parse_stream(row.stream)
        if kind == "room":
            room = await access_room(db, user_id, ident)
            if room.private and await room_store.member_state(db, ident, user_id) != "member":
                raise NotFound("Ce média n'existe pas.")
            return Served(row, preview)
        if kind != "dm":
            raise NotFound("Ce média n'existe pas.")
        conv = await access_conversation(db, user_id, ident)
        if conv.state != "accepted" and conv.requested_by != user_id:
            raise NotFound("Ce média n'existe pas.")
    return Served(row, preview)


async def access_media_as_staff(rt: Runtime, report_id: int, key: str) -> Served:
    """A medium shown to staff only if the report's evidence holds its message."""
    async with rt.engine.connect() as db:
        report = await mod_store.report(db, report_id)
        found = await media_store.by_key(db, key)
    if report is None or found is None or not report["evidence"]:
        raise NotFound("Ce média n'existe pas.")
    row, preview = found
    shown = {(e.get("stream"), e.get("seq")) for e in json.loads(report["evidence"])}
    if row.stream is None or (row.stream, row.seq) not in shown:
        raise NotFound("Ce média n'existe pas.")
    return Served(row, preview)


async def evidence_media(rt: Runtime, report_id: int) -> list[dict[str, Any]]:
    """The media of the messages a report's evidence holds, with staff-only URLs."""
    async with rt.engine.connect() as db:
        report = await mod_store.report(db, report_id)
        if report is None:
            raise NotFound("Signalement inconnu.")
        evidence = json.loads(report["evidence"]) if report["evidence"] else []
        out: list[dict[str, Any]] = []
        for e in evidence:
            row = await media_store.by_message(db, e["stream"], e["seq"])
            if row is None:
                continue
            base = f"/staff/api/reports/{report_id}/media/"
            out.append(
                {
                    "stream": row.stream,
                    "seq": row.seq,
                    **upload_info(row),
                    "url": base + row.key,
                    "preview_url": None if row.preview_key is None else base + row.preview_key,
                }
            )
    return out
