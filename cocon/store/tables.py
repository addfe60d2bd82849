"""Table definitions (SQLAlchemy Core). Migrations in ``migrations/`` must match them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

devices = Table(
    "devices",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the device token
    Column("created_at", Float, nullable=False),
    Column("underage_until", Float, nullable=True),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pseudo", String(40), nullable=False),
    Column("pseudo_key", String(80), nullable=False),
    Column("gender", String(10), nullable=False),
    Column("age", Integer, nullable=False),
    Column("dep", String(3), nullable=False),
    Column("device_id", String(64), nullable=True),
    Column("registered", Boolean, nullable=False, default=False),
    Column("password_hash", String(200), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Index("ix_users_pseudo_key", "pseudo_key"),
    Index("ix_users_device", "device_id"),  # the guests of a device (friends, bans follow)
)

# Who holds a pseudo now: registered users for good, guests while connected or seen lately.
pseudo_holds = Table(
    "pseudo_holds",
    metadata,
    Column("pseudo_key", String(80), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("until", Float, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the session token
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("device_id", String(64), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_sessions_user", "user_id"),
)

streams = Table(
    "streams",
    metadata,
    Column("id", String(40), primary_key=True),  # "room:1", "dm:3", "user:12"
    Column("epoch", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False, default=0),
)

entries = Table(
    "entries",
    metadata,
    Column("stream", String(40), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("kind", String(16), nullable=False),  # "text" | "notice"
    Column("sender_id", Integer, nullable=True),
    Column("cid", String(64), nullable=True),
    Column("body", Text, nullable=False),
    Column("data", Text, nullable=True),  # JSON: mentions, notice payload
    Column("ts", Float, nullable=False),
    Index("ux_entries_sender_cid", "sender_id", "cid", unique=True),
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(60), nullable=False),
    Column("topic", String(200), nullable=False, default=""),
    Column("private", Boolean, nullable=False, default=False),
    Column("owner_id", Integer, ForeignKey("users.id"), nullable=True),
    Column("password_hash", String(200), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("closed", Boolean, nullable=False, default=False),
    # Webcams allowed (private rooms: the owner's choice; public rooms: COCON_CAMS_PUBLIC).
    Column("cams", Boolean, nullable=False, default=False, server_default=false()),
)

# The live webcams of rooms (one per user and room), shared by every node; the viewers of a
# cam are not stored (cocon/rtc/cams.py). Rows of a node that died are removed when its
# users leave the rooms (presence sweep) and are not listed meanwhile.
room_cams = Table(
    "room_cams",
    metadata,
    Column("room_id", Integer, ForeignKey("rooms.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("cam_id", String(32), nullable=False),
    Column("node", String(64), nullable=False),
    Column("friends_only", Boolean, nullable=False, default=False),
    Column("started_at", Float, nullable=False),
)

# Private rooms only: who belongs ("member"), who may enter ("invited"), who was kicked.
room_members = Table(
    "room_members",
    metadata,
    Column("room_id", Integer, ForeignKey("rooms.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("state", String(10), nullable=False),
    Index("ix_room_members_user", "user_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_lo", Integer, ForeignKey("users.id"), nullable=False),
    Column("user_hi", Integer, ForeignKey("users.id"), nullable=False),
    Column("requested_by", Integer, nullable=False),
    Column("state", String(10), nullable=False),  # pending | accepted | declined
    Column("created_at", Float, nullable=False),
    Index("ux_conversations_pair", "user_lo", "user_hi", unique=True),
    Index("ix_conversations_hi", "user_hi"),
)

blocks = Table(
    "blocks",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("blocked_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("created_at", Float, nullable=False),
    Index("ix_blocks_blocked", "blocked_id"),
)

friendships = Table(
    "friendships",
    metadata,
    Column("user_lo", Integer, ForeignKey("users.id"), primary_key=True),
    Column("user_hi", Integer, ForeignKey("users.id"), primary_key=True),
    Column("requested_by", Integer, nullable=False),
    Column("state", String(10), nullable=False),  # pending | friends
    Column("created_at", Float, nullable=False),
    Index("ix_friendships_hi", "user_hi"),
)

# --- Moderation (cocon/moderation, migration 0002) -------------------------------------

# Hash-chained and append-only: no code path updates or deletes a row (triggers refuse it).
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts_us", BigInteger, nullable=False),  # microseconds: exact in every database
    Column("actor", String(80), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(80), nullable=False),
    Column("reason", Text, nullable=False),
    Column("data", Text, nullable=False),  # canonical JSON
    Column("prev", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# The number of audit entries, kept beside the log so that a cut tail shows.
audit_count = Table(
    "audit_count",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("count", BigInteger, nullable=False),
)

staff = Table(
    "staff",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pseudo", String(40), nullable=False),
    Column("pseudo_key", String(80), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # moderator | admin
    Column("password_hash", String(200), nullable=False),
    Column("totp_secret", String(64), nullable=False),
    Column("totp_last_step", BigInteger, nullable=False, default=0),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the token
    Column("staff_id", Integer, ForeignKey("staff.id"), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

# The networks (keyed hash of the /24 or /64) a user was seen from: bans reach them.
user_networks = Table(
    "user_networks",
    metadata,
    Column("user_id", Integer, primary_key=True),
    Column("net", String(64), primary_key=True),
    Column("last_seen", Float, nullable=False),
    Index("ix_user_networks_net", "net"),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", String(80), nullable=False),  # "user:12", "room:3", "msg:dm:3:41"
    Column("accused_id", Integer, nullable=True),
    Column("room_id", Integer, nullable=True),
    Column("priority", Integer, nullable=False),  # 0 = most urgent
    Column("status", String(10), nullable=False),  # open | closed
    Column("outcome", String(40), nullable=True),
    Column("opened_at", Float, nullable=False),
    Column("closed_at", Float, nullable=True),
    Column("closed_by", Integer, nullable=True),
    Index("ix_cases_target_status", "target", "status"),
    Index("ix_cases_queue", "status", "priority", "opened_at"),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("reporter_id", Integer, nullable=False),
    Column("category", String(32), nullable=False),
    Column("comment", Text, nullable=False),
    Column("target_kind", String(10), nullable=False),  # message | user | room | staff
    Column("target_id", Integer, nullable=True),
    Column("stream", String(40), nullable=True),
    Column("seq", BigInteger, nullable=True),
    Column("evidence", Text, nullable=True),  # JSON: the entries as the reporter saw them
    Column("created_at", Float, nullable=False),
    Index("ix_reports_case", "case_id"),
    Index("ix_reports_reporter", "reporter_id"),
)

sanctions = Table(
    "sanctions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False),
    Column("kind", String(10), nullable=False),  # warn | delete | mute | kick | ban
    Column("room_id", Integer, nullable=True),  # mute/kick scope; None: everywhere
    Column("rule", String(80), nullable=False),
    Column("reason", Text, nullable=False),
    Column("facts", Text, nullable=False),
    Column("starts_at", Float, nullable=False),
    Column("ends_at", Float, nullable=True),  # None: permanent (or instantaneous)
    Column("staff_id", Integer, nullable=True),  # None: automated
    Column("case_id", Integer, nullable=True),
    Column("revoked", Boolean, nullable=False, default=False),
    Index("ix_sanctions_user", "user_id"),
)

# What a ban attaches to besides the user: devices and networks (each with its own end).
ban_marks = Table(
    "ban_marks",
    metadata,
    Column("sanction_id", Integer, ForeignKey("sanctions.id"), primary_key=True),
    Column("kind", String(8), primary_key=True),  # device | net
    Column("value", String(64), primary_key=True),
    Column("until", Float, nullable=True),
    Index("ix_ban_marks_value", "kind", "value"),
)

evasions = Table(
    "evasions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sanction_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=True),
    Column("via", String(10), nullable=False),  # enter | login | hello
    Column("matched", String(10), nullable=False),  # user | device | net
    Column("ts", Float, nullable=False),
)

appeals = Table(
    "appeals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sanction_id", Integer, ForeignKey("sanctions.id"), nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("assigned_to", Integer, nullable=True),
    Column("status", String(12), nullable=False),  # open | upheld | overturned
    Column("decided_by", Integer, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("decided_at", Float, nullable=True),
    Index("ix_appeals_user", "user_id"),
)

# Actions a conflicted moderator asked for: they wait for a second moderator.
pending_actions = Table(
    "pending_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("requested_by", Integer, nullable=False),
    Column("payload", Text, nullable=False),  # JSON of the sanction request
    Column("status", String(10), nullable=False),  # waiting | done
    Column("confirmed_by", Integer, nullable=True),
    Column("created_at", Float, nullable=False),
)

# Messages the text-safety policy held for review (migration 0006). The text never enters
# ``entries`` until a moderator releases it; then it is appended with ``release_cid`` (random,
# so the (sender, cid) index makes the delivery happen once however often it is retried).
held_messages = Table(
    "held_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("report_id", Integer, ForeignKey("reports.id"), nullable=False),
    Column("stream", String(40), nullable=False),
    Column("sender_id", Integer, nullable=False),
    Column("cid", String(64), nullable=False),  # the sender's cid, as they sent it
    Column("release_cid", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("rules", String(200), nullable=False),  # the policy rules that held it
    Column("created_at", Float, nullable=False),
    Column("status", String(10), nullable=False),  # held | released | withheld
    Column("decided_by", Integer, nullable=True),
    Column("decided_at", Float, nullable=True),
    Column("seq", BigInteger, nullable=True),  # released: its place in the stream
    Column("sanction_id", Integer, nullable=True),  # withheld: the appealable decision
    Index("ix_held_messages_case", "case_id"),
    Index("ix_held_messages_report", "report_id"),
    Index("ix_held_messages_sanction", "sanction_id"),
)

# --- Media (cocon/media, docs/media.md, migration 0003) --------------------------------

# A sanitized upload. Owned by its uploader and visible to nobody else until attached to
# one message (``stream``, ``seq``); then its readers are that stream's readers.
media = Table(
    "media",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_id", Integer, nullable=False),
    Column("kind", String(8), nullable=False),  # image | video | audio
    Column("mime", String(40), nullable=False),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("duration", Float, nullable=True),
    Column("key", String(64), nullable=False),  # storage key (random, 256 bits)
    Column("preview_key", String(64), nullable=True),  # blurred preview (images)
    Column("size", BigInteger, nullable=False),  # bytes received (counts in the quota)
    Column("pdq", Text, nullable=False),  # JSON list of PDQ hex hashes (re-check later)
    Column("created_at", Float, nullable=False),
    Column("stream", String(40), nullable=True),  # set once, when attached to a message
    Column("cid", String(64), nullable=True),  # the send that attached it (idempotent retry)
    Column("seq", BigInteger, nullable=True),
    Index("ux_media_key", "key", unique=True),
    Index("ix_media_preview_key", "preview_key"),
    Index("ix_media_owner_created", "owner_id", "created_at"),
    Index("ix_media_stream_seq", "stream", "seq"),
)

# Uploads refused by a hash list: the original bytes sit in a quarantine (never served)
# for the legal report; this row says what, who, from where and what matched.
media_evidence = Table(
    "media_evidence",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False),
    Column("location", String(200), nullable=False),  # quarantine file or object name
    Column("sha256", String(64), nullable=False),  # of the original bytes
    Column("size", BigInteger, nullable=False),
    Column("sniffed", String(40), nullable=True),  # the sniffed type of the original
    Column("list_name", String(64), nullable=False),
    Column("matched_hash", String(64), nullable=False),
    Column("distance", Integer, nullable=False),
    Column("ip", String(64), nullable=False),  # kept for the report to the authorities
    Column("case_id", Integer, nullable=True),
    Column("sanction_id", Integer, nullable=True),
    Column("created_at", Float, nullable=False),
    Index("ix_media_evidence_user", "user_id"),
)
