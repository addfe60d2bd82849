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
