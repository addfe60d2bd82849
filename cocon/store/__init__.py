"""Persistence: SQLAlchemy 2 Core tables, Alembic migrations, repositories.

SQLite and PostgreSQL differences stay inside this package (see ``engine.py``).
"""
