"""one word per thing: the Slack card is `card`, the network's thread is `conversation_id`

The `conversation` table held Slack cards while `mention.conversation_ref` held the
network's thread: the table becomes `card` (with `event.card_id`), and the mention's
column becomes `conversation_id`. Rows, ids and constraints carry over unchanged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _rename(
        old="conversation", new="card", old_column="conversation_ref", new_column="conversation_id"
    )


def downgrade() -> None:
    _rename(
        old="card", new="conversation", old_column="conversation_id", new_column="conversation_ref"
    )


def _rename(*, old: str, new: str, old_column: str, new_column: str) -> None:
    old_ref, new_ref = f"{old}_id", f"{new}_id"
    if op.get_bind().dialect.name == "postgresql":
        op.rename_table(old, new)
        op.execute(f"ALTER SEQUENCE IF EXISTS {old}_id_seq RENAME TO {new}_id_seq")
        op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT pk_{old} TO pk_{new}")
        op.execute(
            f"ALTER TABLE {new} RENAME CONSTRAINT uq_{old}_mention_id TO uq_{new}_mention_id"
        )
        op.execute(
            f"ALTER TABLE {new} RENAME CONSTRAINT fk_{old}_mention_id_mention "
            f"TO fk_{new}_mention_id_mention"
        )
        for column in ("channel_id", "state"):
            op.execute(f"ALTER INDEX ix_{old}_{column} RENAME TO ix_{new}_{column}")
        op.alter_column("event", old_ref, new_column_name=new_ref)
        op.execute(
            f"ALTER TABLE event RENAME CONSTRAINT fk_event_{old_ref}_{old} "
            f"TO fk_event_{new_ref}_{new}"
        )
        op.execute(f"ALTER INDEX ix_event_{old_ref} RENAME TO ix_event_{new_ref}")
        op.alter_column("mention", old_column, new_column_name=new_column)
        return
    # SQLite keeps constraint names in each table's SQL: rebuild the tables with the new ones.
    op.rename_table(old, new)
    with op.batch_alter_table(new, recreate="always") as batch_op:
        batch_op.drop_index(f"ix_{old}_channel_id")
        batch_op.drop_index(f"ix_{old}_state")
        batch_op.drop_constraint(f"uq_{old}_mention_id", type_="unique")
        batch_op.drop_constraint(f"fk_{old}_mention_id_mention", type_="foreignkey")
        batch_op.create_unique_constraint(f"uq_{new}_mention_id", ["mention_id"])
        batch_op.create_foreign_key(
            f"fk_{new}_mention_id_mention", "mention", ["mention_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index(f"ix_{new}_channel_id", ["channel_id"], unique=False)
        batch_op.create_index(f"ix_{new}_state", ["state"], unique=False)
    with op.batch_alter_table("event", recreate="always") as batch_op:
        batch_op.drop_index(f"ix_event_{old_ref}")
        batch_op.drop_constraint(f"fk_event_{old_ref}_{old}", type_="foreignkey")
        batch_op.alter_column(old_ref, new_column_name=new_ref, existing_type=sa.Integer())
    with op.batch_alter_table("event", recreate="always") as batch_op:
        batch_op.create_foreign_key(
            f"fk_event_{new_ref}_{new}", new, [new_ref], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index(f"ix_event_{new_ref}", [new_ref], unique=False)
    with op.batch_alter_table("mention") as batch_op:
        batch_op.alter_column(
            old_column, new_column_name=new_column, existing_type=sa.String(length=500)
        )
