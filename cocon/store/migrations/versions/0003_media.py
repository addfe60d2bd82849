"""media: sanitized uploads and hash-list evidence

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("mime", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("preview_key", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("pdq", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=True),
        sa.Column("cid", sa.String(length=64), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.create_index("ux_media_key", ["key"], unique=True)
        batch_op.create_index("ix_media_preview_key", ["preview_key"], unique=False)
        batch_op.create_index("ix_media_owner_created", ["owner_id", "created_at"], unique=False)
        batch_op.create_index("ix_media_stream_seq", ["stream", "seq"], unique=False)

    op.create_table(
        "media_evidence",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sniffed", sa.String(length=40), nullable=True),
        sa.Column("list_name", sa.String(length=64), nullable=False),
        sa.Column("matched_hash", sa.String(length=64), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("sanction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("media_evidence", schema=None) as batch_op:
        batch_op.create_index("ix_media_evidence_user", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("media_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_media_evidence_user")
    op.drop_table("media_evidence")
    with op.batch_alter_table("media", schema=None) as batch_op:
        batch_op.drop_index("ix_media_stream_seq")
        batch_op.drop_index("ix_media_owner_created")
        batch_op.drop_index("ix_media_preview_key")
        batch_op.drop_index("ux_media_key")
    op.drop_table("media")
