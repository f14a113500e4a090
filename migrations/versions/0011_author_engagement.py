"""author engagement

Authors get the median engagement (likes + reposts + replies) of their stored posts and
the number of posts it was measured on; reach formula 2.0 counts it from five posts.
Existing authors start unmeasured and are measured, and re-scored, as they are next seen.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 12:47:28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("author", schema=None) as batch_op:
        batch_op.add_column(sa.Column("median_engagement", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("engagement_sample", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("author", schema=None) as batch_op:
        batch_op.drop_column("engagement_sample")
        batch_op.drop_column("median_engagement")
