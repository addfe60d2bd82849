"""The one typed settings object, read from ``COCON_*`` variables and an optional TOML file.

Precedence: defaults < TOML file (``COCON_CONFIG`` or ``--config``) < environment.
Validation happens once, at start; a bad value stops the process with a clear message.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from cocon.errors import ConfigError

DEFAULT_ROOMS = [
    "Accueil",
    "18-25 ans",
    "25-35 ans",
    "35-50 ans",
    "Plus de 50 ans",
    "Paris & Île-de-France",
    "Sud",
    "Nord & Est",
    "Ouest",
    "Musique",
    "Sport",
]


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every tunable of a Cocon node, with safe defaults."""

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: str = "data"
    database_url: str = ""  # empty: SQLite file in data_dir
    redis_url: str = ""  # empty: in-process bus
    node_id: str = ""  # empty: random per start
    secret_key: str = ""  # empty: generated once and kept in data_dir
    public_rooms: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_ROOMS))
    allowed_origins: list[str] = msgspec.field(default_factory=list)
    trust_forwarded_for: bool = False
    # Limits (issue: bad input and abuse).
    max_frame_bytes: int = 16 * 1024
    auth_timeout_s: float = 5.0
    max_connections_per_ip: int = 20
    entries_per_minute: float = 20.0
    rate_burst: int = 5
    rate_per_s: float = 1.0
    command_rate_per_s: float = 20.0
    command_burst: int = 60
    send_buffer_bytes: int = 1024 * 1024
    message_max_chars: int = 500
    # Delivery.
    history_page: int = 50
    replay_limit: int = 1000
    presence_grace_s: float = 10.0
    member_list_max: int = 200  # members sent on join/resume; the count is always exact
    presence_events_max: int = 500  # above this many members a room gets counts, not events
    heartbeat_s: float = 20.0
    # Guests.
    minor_block_hours: float = 24.0
    session_days: float = 30.0
    pending_pm_limit: int = 5
    auto_migrate: bool | None = None  # None: yes on SQLite, no elsewhere (run `cocon migrate`)
    # Moderation (docs/moderation.md).
    audit_head_every: int = 100  # export the audit chain's head every N entries
    ban_network_days: float = 7.0  # how long a ban also covers the banned person's network
    ban_permanent_after: int = 3  # a ban after this many earlier bans is permanent
    staff_session_hours: float = 12.0
    mute_cache_s: float = 5.0  # how stale a node's view of mutes may be
    # Media uploads (docs/media.md).
    media_max_image_bytes: int = 10 * 1024 * 1024
    media_max_av_bytes: int = 50 * 1024 * 1024
    media_uploads_per_minute: float = 10.0  # per user and node, after a burst of
    media_upload_burst: int = 5
    media_daily_uploads: int = 200  # per user, over the last 24 h
    media_daily_bytes: int = 500 * 1024 * 1024
    media_concurrent_uploads: int = 8  # bodies read and checked at once on one node
    media_storage: str = "local"  # local (data_dir/media) | s3
    media_s3_bucket: str = ""
    media_s3_endpoint_url: str = ""  # empty: AWS
    media_s3_region: str = ""
    media_s3_access_key: str = ""  # empty: boto3's usual lookup (environment, profile, role)
    media_s3_secret_key: str = ""
    media_s3_prefix: str = "media/"
    media_s3_quarantine_prefix: str = "quarantine/"  # hash-list evidence, never served
    # Calls and voice rooms (docs/operations.md, "Calls").
    turn_urls: list[str] = msgspec.field(default_factory=list)  # turn:host:3478?transport=udp
    turn_secret: str = ""  # coturn static-auth-secret (TURN REST API); empty: calls off
    turn_ttl_s: int = 3600  # lifetime of a call's TURN credential (at most an hour)
    calls_direct: bool = False  # no TURN: calls anyway, peers see each other's address
    call_ring_timeout_s: float = 45.0  # an unanswered invite ends after this
    cams_public: bool = True  # public rooms allow webcams (private rooms: their owner decides)
    cam_viewers_max: int = 8  # approved viewers of one room cam at a time
    janus_url: str = ""  # Janus HTTP API, private (http://127.0.0.1:8088/janus); empty: no voice
    janus_ws_url: str = ""  # Janus WebSocket transport as browsers reach it (wss://host/janus)
    janus_secret: str = ""  # AudioBridge admin_key; room secrets are derived from it

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str]] = [
            (0 < self.port < 65536, "port must be between 1 and 65535"),
            (self.max_frame_bytes >= 1024, "max_frame_bytes must be at least 1024"),
            (self.auth_timeout_s > 0, "auth_timeout_s must be positive"),
            (self.heartbeat_s > 0, "heartbeat_s must be positive"),
            (self.max_connections_per_ip >= 1, "max_connections_per_ip must be at least 1"),
            (self.rate_burst >= 1, "rate_burst must be at least 1"),
            (self.rate_per_s > 0, "rate_per_s must be positive"),
            (self.entries_per_minute > 0, "entries_per_minute must be positive"),
            (self.send_buffer_bytes >= 64 * 1024, "send_buffer_bytes must be at least 65536"),
            (1 <= self.message_max_chars <= 4000, "message_max_chars must be in 1..4000"),
            (1 <= self.history_page <= 200, "history_page must be in 1..200"),
            (self.replay_limit >= 1, "replay_limit must be at least 1"),
            (self.presence_grace_s >= 0, "presence_grace_s must not be negative"),
            (len(self.public_rooms) >= 1, "public_rooms must name at least one room"),
            (self.audit_head_every >= 1, "audit_head_every must be at least 1"),
            (self.media_max_image_bytes >= 1024, "media_max_image_bytes must be at least 1024"),
            (self.media_max_av_bytes >= 1024, "media_max_av_bytes must be at least 1024"),
            (self.media_uploads_per_minute > 0, "media_uploads_per_minute must be positive"),
            (self.media_upload_burst >= 1, "media_upload_burst must be at least 1"),
            (self.media_daily_uploads >= 1, "media_daily_uploads must be at least 1"),
            (self.media_daily_bytes >= 1024, "media_daily_bytes must be at least 1024"),
            (self.media_concurrent_uploads >= 1, "media_concurrent_uploads must be at least 1"),
            (self.media_storage in ("local", "s3"), "media_storage must be local or s3"),
            (
                self.media_storage != "s3" or bool(self.media_s3_bucket),
                "media_s3_bucket is required when media_storage is s3",
            ),
            (
                self.media_s3_prefix != self.media_s3_quarantine_prefix,
                "media_s3_prefix and media_s3_quarantine_prefix must differ",
            ),
            (1 <= self.turn_ttl_s <= 3600, "turn_ttl_s must be in 1..3600"),
            (
                not self.turn_secret or bool(self.turn_urls),
                "turn_urls is required when turn_secret is set",
            ),
            (self.call_ring_timeout_s > 0, "call_ring_timeout_s must be positive"),
            (1 <= self.cam_viewers_max <= 50, "cam_viewers_max must be in 1..50"),
            (
                not self.janus_url or bool(self.janus_secret and self.janus_ws_url),
                "janus_secret and janus_ws_url are required when janus_url is set",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise msgspec.ValidationError(message)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{Path(self.data_dir).resolve() / 'cocon.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


_LIST_FIELDS = {"public_rooms", "allowed_origins", "turn_urls"}


# COCON_* variables that are not settings: the config file's path, the scripts' virtualenv,
# and the test suite's own switches. Any other unknown COCON_* is a typo and an error.
_OTHER_VARIABLES = {"COCON_CONFIG", "COCON_VENV"}


def _not_a_setting(key: str) -> bool:
    return key in _OTHER_VARIABLES or key.startswith(("COCON_TEST_", "COCON_CI_"))


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    known = set(Settings.__struct_fields__)
    values: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith("COCON_") or _not_a_setting(key):
            continue
        name = key[len("COCON_") :].lower()
        if name not in known:
            raise ConfigError(f"unknown setting {key}")
        if name in _LIST_FIELDS:
            values[name] = [part.strip() for part in raw.split(",") if part.strip()]
        else:
            values[name] = raw
    return values


def load_settings(
    config_file: str | None = None,
    environ: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build and validate the settings; raise ConfigError with a readable reason."""
    env = dict(os.environ if environ is None else environ)
    merged: dict[str, Any] = {}
    path = config_file or env.get("COCON_CONFIG")
    if path:
        try:
            merged.update(tomllib.loads(Path(path).read_text(encoding="utf-8")))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    merged.update(_from_env(env))
    merged.update({k: v for k, v in overrides.items() if v is not None})
    try:
        settings = msgspec.convert(merged, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid setting: {exc}") from exc
    return settings


def ensure_secret(settings: Settings) -> bytes:
    """The node's keyed-hash secret: configured, or created once in the data folder."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir) / "secret.key"
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key
