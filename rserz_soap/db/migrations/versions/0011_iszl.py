"""the ИСЗЛ's deliveries: a cursor per outbound feed consumer

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-05

* ``feed_cursor``: how far each consumer of the published feed has been served (the ИСЗЛ's pushes):
  the feed position delivered up to, the count sent, and why the last attempt failed.

Revises 0009 (no 0010: the routine's migration landed as 0012, after this one).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_cursor",
        sa.Column("name", sa.String(length=32), nullable=False, comment="the consumer, e.g. iszl"),
        sa.Column("position", sa.BigInteger(), nullable=False, comment="change_journal.feed_seq delivered up to"),
        sa.Column(
            "delivered", sa.BigInteger(), server_default=sa.text("0"), nullable=False, comment="events sent so far"
        ),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True, comment="why the last attempt failed; NULL after a success"),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("feed_cursor")
