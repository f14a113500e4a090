"""digest slots and indexes

`digestsent` holds one row per channel, kind (daily, weekly) and first day covered: the
worker that inserts it owns the slot, so a digest is posted once. Cards get indexes on
(channel, queued_at / claimed_at / closed_at) for the digest"s counts, and a schedule can
name staff in the response times (`name_staff`, off by default).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 12:06:07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.store.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digestsent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("claimed_at", bot.store.types.UTCDateTime(), nullable=False),
        sa.Column("lease_until", bot.store.types.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("posted_at", bot.store.types.UTCDateTime(), nullable=True),
        sa.Column("chart_posted_at", bot.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digestsent")),
        sa.UniqueConstraint(
            "channel_id", "kind", "day", name=op.f("uq_digestsent_channel_id_kind_day")
        ),
    )
    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.create_index(
            "ix_card_channel_id_claimed_at", ["channel_id", "claimed_at"], unique=False
        )
        batch_op.create_index(
            "ix_card_channel_id_closed_at", ["channel_id", "closed_at"], unique=False
        )
        batch_op.create_index(
            "ix_card_channel_id_queued_at", ["channel_id", "queued_at"], unique=False
        )
        batch_op.create_index(
            "ix_card_channel_id_state",
            ["channel_id", "state", "posted_at", "claimed_at"],
            unique=False,
        )

    with op.batch_alter_table("digestschedule", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_staff", sa.Boolean(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("digestschedule", schema=None) as batch_op:
        batch_op.drop_column("name_staff")

    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.drop_index("ix_card_channel_id_state")
        batch_op.drop_index("ix_card_channel_id_queued_at")
        batch_op.drop_index("ix_card_channel_id_closed_at")
        batch_op.drop_index("ix_card_channel_id_claimed_at")

    op.drop_table("digestsent")
