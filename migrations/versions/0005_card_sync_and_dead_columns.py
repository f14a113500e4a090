"""card sync version; drop never-used columns

A card whose chat.update failed is re-sent until Slack has it: `synced_version` records the
version Slack shows. `watch.team_id`, `mention.content_hash` and `conversation.sla_due_at`
were never read or written with meaning, so they go.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("synced_version", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.drop_column("sla_due_at")
    # What is in Slack today is what the card showed when it was last updated.
    op.execute("UPDATE conversation SET synced_version = version WHERE message_ts IS NOT NULL")
    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.drop_column("content_hash")
    with op.batch_alter_table("watch", schema=None) as batch_op:
        batch_op.drop_column("team_id")


def downgrade() -> None:
    with op.batch_alter_table("watch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team_id", sa.String(length=32), nullable=True))
    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("content_hash", sa.String(length=64), server_default="", nullable=False)
        )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_due_at", bot.store.types.UTCDateTime(), nullable=True))
        batch_op.drop_column("synced_version")
