"""Real-time media: call bookkeeping, TURN credentials, ICE candidate screening, voice rooms.

Pure helpers and node-local state; the ``do_*`` functions that use them live in
``cocon/actions/calls.py``. Browsers never learn each other's address: they go through TURN
(``iceTransportPolicy: 'relay'``) and the signalling server drops every candidate that is not
a relayed one (:mod:`cocon.rtc.sdp`).
"""
