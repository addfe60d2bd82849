"""Events the server sends. Each is encoded once, whatever the number of recipients."""

from __future__ import annotations

from typing import Any

import msgspec


class UserBrief(msgspec.Struct, kw_only=True):
    id: int
    pseudo: str
    gender: str  # "femme" | "homme" | "autre"
    age: int
    dep: str  # département: "75", "2A", "974"
    registered: bool = False


class RoomInfo(msgspec.Struct, kw_only=True):
    id: int
    name: str
    topic: str
    private: bool
    has_password: bool
    count: int
    owner: int | None = None
    cams: bool = False  # webcams allowed in this room (room cams)


class ConversationInfo(msgspec.Struct, kw_only=True):
    id: int
    stream: str
    peer: UserBrief
    state: str  # "pending" | "accepted" | "declined"
    requested_by: int
    epoch: int
    last_seq: int


class FriendInfo(msgspec.Struct, kw_only=True):
    user: UserBrief
    state: str  # "friends" | "requested" (by me) | "incoming"
    online: bool


class CamInfo(msgspec.Struct, kw_only=True):
    """A live webcam in a room: ask its publisher to watch it (``cam_ask``)."""

    user: UserBrief
    friends_only: bool = False  # friends are let in at once, others refused
    since: float


class MediaInfo(msgspec.Struct, kw_only=True):
    """A photo, video or sound attached to a message; ``url`` paths are under /media/."""

    id: int
    kind: str  # "image" | "video" | "audio"
    mime: str
    width: int | None
    height: int | None
    duration: float | None  # seconds (video, audio)
    url: str
    preview_url: str | None  # blurred preview (images)


class _Ev(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    pass


class SessionDescription(msgspec.Struct, forbid_unknown_fields=True):
    """WebRTC SDP (RTCSessionDescriptionInit): ``type`` is "offer" or "answer"."""

    type: str
    sdp: str


class IceCandidate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """An ICE candidate as ``RTCIceCandidate.toJSON()`` gives it."""

    candidate: str
    sdpMid: str | None = None  # the browser's own field names
    sdpMLineIndex: int | None = None
    usernameFragment: str | None = None


class IceServer(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One entry of ``RTCConfiguration.iceServers`` (TURN, with a per-call credential)."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class Message(_Ev, tag="msg"):
    stream: str
    seq: int
    sender: UserBrief
    text: str
    ts: float
    mentions: list[int] = []
    cid: str | None = None
    replay: bool = False
    media: MediaInfo | None = None
    flag: str | None = None  # "harassment" | "sexual": shown behind a click to others


class Notice(_Ev, tag="notice"):
    """A durable entry of a user's inbox stream (requests, invitations...)."""

    stream: str
    seq: int
    kind: str
    data: dict[str, Any]
    ts: float
    replay: bool = False


class Hidden(_Ev, tag="hidden"):
    """A stream entry you do not see (its sender is blocked by you): just advance last_seq."""

    stream: str
    seq: int
    replay: bool = False


class Screened(_Ev, tag="screened"):
    """Your message was not delivered (held for review, blocked, or you were restricted)."""

    stream: str
    cid: str
    action: str  # "hold" | "block" | "restrict_minor"
    message: str
    reasons: list[str] = []
    card: str | None = None  # "minor_help"
    resources: list[str] = []
    ref: str | None = None


class SafetyCard(_Ev, tag="safety"):
    """Advice or a warning shown beside a conversation (safe meeting, scam, safety)."""

    stream: str
    card: str  # "safe_meeting" | "scam_warning" | "safety" | "minor_help"
    message: str
    resources: list[str] = []
    suggest_report: bool = False


class Welcome(_Ev, tag="welcome"):
    me: UserBrief
    token: str
    inbox: str
    inbox_epoch: int
    inbox_seq: int
    rooms: list[RoomInfo]
    conversations: list[ConversationInfo]
    blocked: list[int] = []
    ref: str | None = None


class Resumed(_Ev, tag="resumed"):
    """Result of resuming one stream: replayed items were sent just before it."""

    stream: str
    recovered: bool
    epoch: int
    last_seq: int
    reason: str | None = None
    members: list[UserBrief] | None = None  # room streams: who is there now


class Error(_Ev, tag="error"):
    code: str
    message: str
    ref: str | None = None
    field: str | None = None
    retry_after: float | None = None
    sanction: dict[str, Any] | None = None  # code "banned": the statement of reasons


class Ack(_Ev, tag="ack"):
    cid: str
    stream: str
    seq: int
    ref: str | None = None
    duplicate: bool = False


class Pong(_Ev, tag="pong"):
    ref: str | None = None


class Rooms(_Ev, tag="rooms"):
    rooms: list[RoomInfo]
    ref: str | None = None


class Counts(_Ev, tag="counts"):
    """Live member counts of rooms that changed, room id (as a string) -> count."""

    counts: dict[str, int]


class Joined(_Ev, tag="joined"):
    room: RoomInfo
    stream: str
    epoch: int
    last_seq: int
    members: list[UserBrief]
    history: list[Message]
    cams: list[CamInfo] = []  # the room's live webcams (rooms that allow them)
    ref: str | None = None


class Left(_Ev, tag="left"):
    room: int
    reason: str = "leave"  # "leave" | "kicked"
    ref: str | None = None


class Presence(_Ev, tag="presence"):
    room: int
    user: UserBrief
    joined: bool


class TypingEvent(_Ev, tag="typing"):
    stream: str
    user: UserBrief


class RoomUpdated(_Ev, tag="room"):
    room: RoomInfo
    ref: str | None = None


class HistoryPage(_Ev, tag="history"):
    stream: str
    messages: list[Message]
    has_more: bool
    ref: str | None = None


class ProfileCard(_Ev, tag="profile"):
    user: UserBrief
    online: bool
    friend: str | None = None  # None | "friends" | "requested" | "incoming"
    blocked: bool = False
    ref: str | None = None


class ConversationEvent(_Ev, tag="conversation"):
    conversation: ConversationInfo
    ref: str | None = None


class Friends(_Ev, tag="friends"):
    friends: list[FriendInfo]
    ref: str | None = None


class FriendUpdate(_Ev, tag="friend"):
    friend: FriendInfo | None
    user: int
    ref: str | None = None


class BlockList(_Ev, tag="blocked"):
    users: list[int]
    ref: str | None = None


class Done(_Ev, tag="ok"):
    """Plain success of a command that has no richer reply."""

    ref: str | None = None


class Reported(_Ev, tag="reported"):
    """A report was received; ``case`` groups the reports on the same target."""

    report: int
    case: int
    ref: str | None = None


class Appealed(_Ev, tag="appealed"):
    appeal: int
    ref: str | None = None


class Deleted(_Ev, tag="deleted"):
    """Moderation removed the text of an entry (its seq stays, so no gap)."""

    stream: str
    seq: int


class CallEvent(_Ev, tag="call"):
    """A 1:1 call changed state: "ringing" (invited), "active" (accepted), "ended"."""

    call: str
    state: str  # "ringing" | "active" | "ended"
    role: str  # "caller" | "callee": yours
    peer: UserBrief
    conversation: int
    video: bool = False
    ice_servers: list[IceServer] = []
    direct: bool = False  # no TURN: your address is visible to the other side
    friend: bool = False  # the peer is a friend (a stranger's camera starts blurred)
    reason: str | None = None  # ended: "hangup" | "declined" | "timeout" | "gone" | "busy"
    ref: str | None = None


class CallSignalEvent(_Ev, tag="call_signal"):
    """SDP or an ICE candidate from the other side of an active call (screened)."""

    call: str
    sdp: SessionDescription | None = None
    candidate: IceCandidate | None = None


class VoiceEvent(_Ev, tag="voice"):
    """Answer to ``voice_join``: where Janus is, and who you will be in the AudioBridge room
    once ``voice_attach`` made your handle join it."""

    room: int
    janus: str  # Janus WebSocket URL
    janus_room: int
    id: int  # your participant id in the AudioBridge room (chosen by the server)
    display: str
    ice_servers: list[IceServer] = []
    owner: bool = False  # you may mute others (voice_mute)
    muted: bool = False  # a moderator muted you in this voice room: you join muted
    ref: str | None = None


class VoiceMuted(_Ev, tag="voice_muted"):
    """You were muted (or unmuted) in a voice room, by its owner or by moderation (then you
    cannot unmute yourself: the server mutes you again)."""

    room: int
    muted: bool
    by: str  # "owner" | "moderation"
    ref: str | None = None


class VoiceEnded(_Ev, tag="voice_ended"):
    """The server ended your voice connection: ``left`` (you are no longer in the chat
    room), ``replaced`` (you joined from another tab), ``renamed`` (your browser changed
    the name Cocon gave you) or ``gone`` (Janus lost you)."""

    room: int
    reason: str
    ref: str | None = None


class CamUpdate(_Ev, tag="cam"):
    """A webcam of the room went live or changed (``cam``), or stopped (``cam: null``)."""

    room: int
    user: int
    cam: CamInfo | None
    ref: str | None = None


class CamList(_Ev, tag="cams"):
    """The live webcams of a room (answer to ``cams``)."""

    room: int
    cams: list[CamInfo]
    viewers_max: int
    ref: str | None = None


class CamViewEvent(_Ev, tag="cam_view"):
    """One viewer of one room cam: "pending" (asked), "active" (approved), "ended"."""

    view: str
    state: str  # "pending" | "active" | "ended"
    role: str  # "publisher" | "viewer": yours
    room: int
    peer: UserBrief  # the viewer (for the publisher) or the publisher (for the viewer)
    friend: bool = False  # the peer is a friend (a stranger's camera starts blurred)
    ice_servers: list[IceServer] = []
    direct: bool = False  # no TURN: your address is visible to the other side
    # ended: "declined" | "revoked" | "stopped" | "left" | "gone" | "ended" | "full"
    # | "blocked" | "cams_off"
    reason: str | None = None
    ref: str | None = None


class CamSignalEvent(_Ev, tag="cam_signal"):
    """SDP or an ICE candidate from the other side of an approved view (screened)."""

    view: str
    sdp: SessionDescription | None = None
    candidate: IceCandidate | None = None


Event = (
    Message
    | Notice
    | Hidden
    | Screened
    | SafetyCard
    | Welcome
    | Resumed
    | Error
    | Ack
    | Pong
    | Rooms
    | Counts
    | Joined
    | Left
    | Presence
    | TypingEvent
    | RoomUpdated
    | HistoryPage
    | ProfileCard
    | ConversationEvent
    | Friends
    | FriendUpdate
    | BlockList
    | Done
    | Reported
    | Appealed
    | Deleted
    | CallEvent
    | CallSignalEvent
    | VoiceEvent
    | VoiceMuted
    | VoiceEnded
    | CamUpdate
    | CamList
    | CamViewEvent
    | CamSignalEvent
)

_encoder = msgspec.json.Encoder()


def encode(event: Event) -> bytes:
    """JSON bytes of an event (UTF-8), ready to frame once for every recipient."""
    return _encoder.encode(event)
