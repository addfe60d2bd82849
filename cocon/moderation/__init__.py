"""Moderation and accountability: reports, cases, sanctions, appeals, the audit chain.

See ``docs/moderation.md``. The pure core (roles, policy, the audit chain's verification) has
no I/O; the writes go through ``cocon.actions.moderation``.
"""
