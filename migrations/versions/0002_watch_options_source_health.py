"""watch options, source health, review rating

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 06:01:15.039924
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rating", sa.Integer(), nullable=True))

    with op.batch_alter_table("sourcecursor", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_attempt_at", bot.store.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_mention_at", bot.store.types.UTCDateTime(), nullable=True)
        )

    with op.batch_alter_table("watch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("options", sa.JSON(), server_default="{}", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("watch", schema=None) as batch_op:
        batch_op.drop_column("options")

    with op.batch_alter_table("sourcecursor", schema=None) as batch_op:
        batch_op.drop_column("last_mention_at")
        batch_op.drop_column("last_attempt_at")

    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.drop_column("rating")
