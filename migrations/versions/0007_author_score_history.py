"""author score history

Authors are now keyed by the network's stable account id where it has one, so a renamed
account keeps its row; `authorscore` keeps every score it has had. Each existing author's
current score becomes the first entry of its history. Rows keyed by a handle stay as they
are and take the network's id the next time the account is seen.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:20:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "authorscore",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("at", bot.store.types.UTCDateTime(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("formula_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["author.id"],
            name=op.f("fk_authorscore_author_id_author"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorscore")),
    )
    with op.batch_alter_table("authorscore", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_authorscore_author_id"), ["author_id"], unique=False)

    author = sa.table(
        "author",
        sa.column("id", sa.Integer()),
        sa.column("score", sa.Integer()),
        sa.column("score_breakdown", sa.JSON()),
        sa.column("metrics_fetched_at", bot.store.types.UTCDateTime()),
    )
    history = sa.table(
        "authorscore",
        sa.column("author_id", sa.Integer()),
        sa.column("at", bot.store.types.UTCDateTime()),
        sa.column("value", sa.Integer()),
        sa.column("formula_version", sa.String()),
    )
    bind = op.get_bind()
    migrated_at = datetime.now(UTC)
    rows = bind.execute(sa.select(author).where(author.c.score.is_not(None))).all()
    if rows:
        bind.execute(
            history.insert(),
            [
                {
                    "author_id": row.id,
                    "at": row.metrics_fetched_at or migrated_at,
                    "value": row.score,
                    "formula_version": str((row.score_breakdown or {}).get("formula_version", "")),
                }
                for row in rows
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("authorscore", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorscore_author_id"))
    op.drop_table("authorscore")
