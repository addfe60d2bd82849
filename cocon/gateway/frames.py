"""Server-to-client WebSocket frames, built once and written to every recipient.

wsproto frames per connection; the fan-out path frames a publication once, here, and writes
the same bytes to every recipient (RFC 6455 §5.2: FIN + text opcode, no mask from a server,
7/16/64-bit payload length). Tests check these bytes against aiohttp's client parser.
"""

from __future__ import annotations

import struct

_FIN_TEXT = 0x81


def text_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented text frame carrying ``payload`` (UTF-8 JSON)."""
    n = len(payload)
    if n < 126:
        return bytes((_FIN_TEXT, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", _FIN_TEXT, 126, n) + payload
    return struct.pack("!BBQ", _FIN_TEXT, 127, n) + payload
