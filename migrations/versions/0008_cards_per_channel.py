"""cards per channel, thread keys, feedback, muted authors

A mention matched by several watches gets a card in each watch's channel (unique per
mention and channel, with the watch and the reason); cards of one conversation or one link
share a top-level card through `threadkey`; snoozes, closing notes, sentiment feedback and
muted authors are stored. Existing cards keep their watch, and each posted top-level card
claims its conversation's key, so later replies still go in its thread.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:44:06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.store.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mutedauthor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("watch_id", sa.Integer(), nullable=False),
        sa.Column("muted_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("at", bot.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["author.id"],
            name=op.f("fk_mutedauthor_author_id_author"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["watch_id"],
            ["watch.id"],
            name=op.f("fk_mutedauthor_watch_id_watch"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mutedauthor")),
        sa.UniqueConstraint(
            "author_id", "watch_id", name=op.f("uq_mutedauthor_author_id_watch_id")
        ),
    )
    with op.batch_alter_table("mutedauthor", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mutedauthor_watch_id"), ["watch_id"], unique=False)

    op.create_table(
        "sentimentfeedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mention_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("model_label", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("model_polarity", sa.Float(), nullable=True),
        sa.Column("at", bot.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mention_id"],
            ["mention.id"],
            name=op.f("fk_sentimentfeedback_mention_id_mention"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sentimentfeedback")),
    )
    with op.batch_alter_table("sentimentfeedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sentimentfeedback_mention_id"), ["mention_id"], unique=False
        )

    op.create_table(
        "threadkey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=700), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"], ["card.id"], name=op.f("fk_threadkey_card_id_card"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threadkey")),
        sa.UniqueConstraint("channel_id", "key", name=op.f("uq_threadkey_channel_id_key")),
    )
    with op.batch_alter_table("threadkey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_threadkey_card_id"), ["card_id"], unique=False)

    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.add_column(sa.Column("watch_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
        batch_op.add_column(
            sa.Column("snoozed_until", bot.store.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("closing_note", sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=True)
        )
        batch_op.drop_constraint(batch_op.f("uq_card_mention_id"), type_="unique")
        batch_op.create_index(batch_op.f("ix_card_watch_id"), ["watch_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_card_mention_id_channel_id"), ["mention_id", "channel_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_card_watch_id_watch"), "watch", ["watch_id"], ["id"], ondelete="SET NULL"
        )

    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "conversation_title", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("link_url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True)
        )

    op.execute(
        "UPDATE card SET watch_id = (SELECT mention.watch_id FROM mention WHERE mention.id = card.mention_id)"
    )
    op.execute(
        "INSERT INTO threadkey (channel_id, key, card_id) "
        "SELECT card.channel_id, mention.network || ':' || mention.conversation_id, MIN(card.id) "
        "FROM card JOIN mention ON mention.id = card.mention_id "
        "WHERE card.message_ts IS NOT NULL AND card.thread_ts = card.message_ts "
        "AND mention.conversation_id IS NOT NULL "
        "GROUP BY card.channel_id, mention.network, mention.conversation_id"
    )


def downgrade() -> None:
    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.drop_column("link_url")
        batch_op.drop_column("conversation_title")

    with op.batch_alter_table("card", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_card_watch_id_watch"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_card_mention_id_channel_id"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_card_watch_id"))
        batch_op.create_unique_constraint(batch_op.f("uq_card_mention_id"), ["mention_id"])
        batch_op.drop_column("closing_note")
        batch_op.drop_column("snoozed_until")
        batch_op.drop_column("reason")
        batch_op.drop_column("watch_id")

    with op.batch_alter_table("threadkey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_threadkey_card_id"))

    op.drop_table("threadkey")
    with op.batch_alter_table("sentimentfeedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sentimentfeedback_mention_id"))

    op.drop_table("sentimentfeedback")
    with op.batch_alter_table("mutedauthor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mutedauthor_watch_id"))

    op.drop_table("mutedauthor")
