"""Typed client commands and server events; JSON over WebSocket. No I/O here."""
