"""channel pace and card retry times

`channelpace` holds one row per Slack channel the poster has written to: when its next
message may go (shared by every worker, moved with a compare-and-set), why it is paused
(not_in_channel, ...; the row `*` pauses the whole workspace on a refused token) and when a
card last got through. Cards get `retry_at`: after a failed post, not tried before then.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 12:46:41
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.store.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channelpace",
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("next_at", bot.store.types.UTCDateTime(), nullable=False),
        sa.Column("paused_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("paused_at", bot.store.types.UTCDateTime(), nullable=True),
        sa.Column("last_posted_at", bot.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channelpace")),
    )
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_at", bot.store.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.drop_column("retry_at")

    op.drop_table("channelpace")
