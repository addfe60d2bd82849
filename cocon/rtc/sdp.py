"""Screening of ICE candidates and SDP: only relayed (TURN) candidates go through.

A host candidate carries a private address, a server-reflexive one the public address, and
the ``raddr``/``rport`` of a relayed candidate the public address the TURN server saw. The
browsers are told to gather relayed candidates only (``iceTransportPolicy: 'relay'``); this is
the server-side backstop for a modified or buggy client: anything else is dropped, the
related address of relayed candidates is blanked, and the connection addresses of the SDP
(``c=``, ``a=rtcp:``) are neutralized (ICE does not use them).
"""

from __future__ import annotations

import re

_CANDIDATE_PREFIXES = ("a=candidate:", "candidate:")
_TYPES = {"host", "srflx", "prflx", "relay"}
_RTCP = re.compile(r"^a=rtcp:(\d+)( IN IP[46] \S+)?$")


def candidate_type(line: str) -> str | None:
    """The ``typ`` of an ICE candidate line (RFC 8839 §5.1), or None if it is not one.

    ``candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...``
    """
    text = line.strip()
    for prefix in _CANDIDATE_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    else:
        return None
    parts = text.split()
    if len(parts) < 8 or parts[6] != "typ" or parts[7] not in _TYPES:
        return None
    if not parts[1].isdigit() or not parts[3].isdigit() or not parts[5].isdigit():
        return None
    return parts[7]


def _blank_related(line: str) -> str:
    """A relayed candidate without its related address (the caller's public address)."""
    parts = line.split()
    out: list[str] = []
    i = 0
    while i < len(parts):
        if parts[i] in ("raddr", "rport") and i + 1 < len(parts):
            out += [parts[i], "0.0.0.0" if parts[i] == "raddr" else "0"]
            i += 2
            continue
        out.append(parts[i])
        i += 1
    return " ".join(out)


def screen_candidate(line: str) -> str | None:
    """The candidate line to forward, or None to drop it (anything but ``typ relay``)."""
    if candidate_type(line) != "relay":
        return None
    return _blank_related(line.strip())


def screen_sdp(sdp: str) -> tuple[str, int]:
    """The SDP with every non-relayed candidate removed; (sdp, number of lines dropped)."""
    eol = "\r\n" if "\r\n" in sdp else "\n"
    lines = sdp.split(eol)
    out: list[str] = []
    dropped = 0
    for line in lines:
        if line.startswith("a=candidate:"):
            kept = screen_candidate(line)
            if kept is None:
                dropped += 1
                continue
            out.append(kept)
        elif line.startswith("c=IN IP4 "):
            out.append("c=IN IP4 0.0.0.0")
        elif line.startswith("c=IN IP6 "):
            out.append("c=IN IP6 ::")
        elif (m := _RTCP.match(line)) is not None:
            out.append(f"a=rtcp:{m.group(1)} IN IP4 0.0.0.0")
        else:
            out.append(line)
    return eol.join(out), dropped
