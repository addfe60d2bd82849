"""held messages: what the safety policy withheld, until a moderator releases it or not

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "held_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("cid", sa.String(length=64), nullable=False),
        sa.Column("release_cid", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("rules", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.Float(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("sanction_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_held_messages_case", "held_messages", ["case_id"])
    op.create_index("ix_held_messages_report", "held_messages", ["report_id"])
    op.create_index("ix_held_messages_sanction", "held_messages", ["sanction_id"])


def downgrade() -> None:
    op.drop_index("ix_held_messages_sanction", table_name="held_messages")
    op.drop_index("ix_held_messages_report", table_name="held_messages")
    op.drop_index("ix_held_messages_case", table_name="held_messages")
    op.drop_table("held_messages")
