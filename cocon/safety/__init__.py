"""Cocon trust and safety: French-aware message analysis, conversation risk, policy.

``analyze(text)`` labels one message; :class:`ConversationRisk` combines labels over a
private conversation; :func:`decide` and :func:`check_name` turn them into decisions.
See ``docs/safety.md``.
"""

from __future__ import annotations

from cocon.safety.analyzer import LABELS, Analysis, analyze

__all__ = ["LABELS", "Analysis", "analyze"]
