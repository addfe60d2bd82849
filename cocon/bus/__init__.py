"""Pub/sub and presence between the nodes of a deployment.

``memory.py`` is the embedded default (one process); ``redis.py`` the scale-out one. Both
pass the same contract tests (``tests/test_bus_contract.py``).
"""
