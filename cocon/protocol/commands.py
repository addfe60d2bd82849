"""Commands a client sends, one JSON object per WebSocket text frame.

Every command has a ``type`` and may carry a ``ref`` (a client-chosen string, echoed in the
reply or error it causes). Unknown fields are refused, so typos surface as errors.
"""

from __future__ import annotations

import msgspec

from cocon.protocol.events import IceCandidate, SessionDescription

Position = tuple[int, int]  # (epoch, last_seq)


class _Cmd(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, kw_only=True):
    ref: str | None = None


class Hello(_Cmd, tag="hello"):
    """First frame: authenticate (cookie or token) and resume streams."""

    token: str | None = None
    streams: dict[str, Position] = msgspec.field(default_factory=dict)


class Resume(_Cmd, tag="resume"):
    """Ask again for what was missed on some streams (e.g. after a gap)."""

    streams: dict[str, Position]


class Ping(_Cmd, tag="ping"):
    pass


class ListRooms(_Cmd, tag="rooms"):
    pass


class Join(_Cmd, tag="join"):
    room: int
    password: str | None = None


class Leave(_Cmd, tag="leave"):
    room: int


class CreateRoom(_Cmd, tag="create_room"):
    name: str
    topic: str = ""
    password: str | None = None


class SetRoom(_Cmd, tag="set_room"):
    """Owner: change the topic, password ("" removes it) and/or whether webcams are allowed."""

    room: int
    topic: str | None = None
    password: str | None = None
    cams: bool | None = None


class Invite(_Cmd, tag="invite"):
    room: int
    user: int


class Kick(_Cmd, tag="kick"):
    room: int
    user: int


class Transfer(_Cmd, tag="transfer"):
    room: int
    user: int


class Send(_Cmd, tag="send"):
    stream: str
    cid: str
    text: str = ""  # may be empty when ``media`` is given
    media: int | None = None  # an upload of yours (POST /api/media), attached once
    confirm: bool = False  # yes, send it anyway (after a ``confirm_needed`` error)


class Typing(_Cmd, tag="typing"):
    stream: str


class History(_Cmd, tag="history"):
    stream: str
    before: int | None = None
    limit: int = 50


class Profile(_Cmd, tag="profile"):
    user: int


class OpenPm(_Cmd, tag="open_pm"):
    user: int


class AnswerPm(_Cmd, tag="answer_pm"):
    conversation: int
    accept: bool


class Block(_Cmd, tag="block"):
    user: int


class Unblock(_Cmd, tag="unblock"):
    user: int


class FriendRequest(_Cmd, tag="friend_request"):
    user: int


class FriendAnswer(_Cmd, tag="friend_answer"):
    user: int
    accept: bool


class FriendRemove(_Cmd, tag="friend_remove"):
    user: int


class ListFriends(_Cmd, tag="friends"):
    pass


class Report(_Cmd, tag="report"):
    """Report a message (stream + seq), a user, a room or a moderator's decision (staff)."""

    target: str  # "message" | "user" | "room" | "staff"
    category: str  # see docs/moderation.md
    comment: str = ""
    stream: str | None = None
    seq: int | None = None
    user: int | None = None
    room: int | None = None
    staff: int | None = None
    media: int | None = None  # target "user": a still frame of a call (your own upload)


class CallInvite(_Cmd, tag="call_invite"):
    """Call someone you have an accepted private conversation with."""

    user: int
    video: bool = True


class CallAnswer(_Cmd, tag="call_answer"):
    call: str
    accept: bool


class CallSignal(_Cmd, tag="call_signal"):
    """WebRTC signalling of an active call: an SDP offer/answer or an ICE candidate."""

    call: str
    sdp: SessionDescription | None = None
    candidate: IceCandidate | None = None


class CallHangup(_Cmd, tag="call_hangup"):
    call: str


class VoiceJoin(_Cmd, tag="voice_join"):
    """Join the voice room of a chat room you are in (answer: a ``voice`` event)."""

    room: int


class VoiceAttach(_Cmd, tag="voice_attach"):
    """After ``voice_join``: Cocon makes your AudioBridge handle (on your own Janus session)
    join the voice room, with the id and display it chose."""

    room: int
    session: int
    handle: int


class VoiceLeave(_Cmd, tag="voice_leave"):
    room: int


class VoiceMute(_Cmd, tag="voice_mute"):
    """The room's owner mutes (or unmutes) someone in its voice room."""

    room: int
    user: int
    muted: bool = True


class CamStart(_Cmd, tag="cam_start"):
    """Publish your webcam in a room that allows it (again: change ``friends_only``)."""

    room: int
    friends_only: bool = False


class CamStop(_Cmd, tag="cam_stop"):
    room: int


class ListCams(_Cmd, tag="cams"):
    room: int


class CamAsk(_Cmd, tag="cam_ask"):
    """Ask the publisher of a room cam to let you watch it."""

    room: int
    user: int


class CamAnswer(_Cmd, tag="cam_answer"):
    """The publisher lets a viewer in, or not."""

    view: str
    accept: bool


class CamSignal(_Cmd, tag="cam_signal"):
    """WebRTC signalling of an approved view: an SDP offer/answer or an ICE candidate."""

    view: str
    sdp: SessionDescription | None = None
    candidate: IceCandidate | None = None


class CamClose(_Cmd, tag="cam_close"):
    """End a view: the publisher revokes a viewer, or a viewer stops watching."""

    view: str


class Appeal(_Cmd, tag="appeal"):
    """Contest a sanction (its number is in the statement of reasons)."""

    sanction: int
    text: str


Command = (
    Hello
    | Resume
    | Ping
    | ListRooms
    | Join
    | Leave
    | CreateRoom
    | SetRoom
    | Invite
    | Kick
    | Transfer
    | Send
    | Typing
    | History
    | Profile
    | OpenPm
    | AnswerPm
    | Block
    | Unblock
    | FriendRequest
    | FriendAnswer
    | FriendRemove
    | ListFriends
    | Report
    | Appeal
    | CallInvite
    | CallAnswer
    | CallSignal
    | CallHangup
    | VoiceJoin
    | VoiceAttach
    | VoiceLeave
    | VoiceMute
    | CamStart
    | CamStop
    | ListCams
    | CamAsk
    | CamAnswer
    | CamSignal
    | CamClose
)

decoder: msgspec.json.Decoder[Command] = msgspec.json.Decoder(Command)
