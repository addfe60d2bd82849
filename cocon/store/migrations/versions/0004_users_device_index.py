"""index the guests of a device

Re-entering from a device looks up the previous guest of that device: without this index
that is a scan of every user, and entering got slower as the site grew.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_device", "users", ["device_id"])


def downgrade() -> None:
    op.drop_index("ix_users_device", table_name="users")
