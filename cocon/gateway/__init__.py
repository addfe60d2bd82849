"""WebSocket sessions: auth, rate limits, heartbeat, resume and the fan-out path."""
