"""change feed published in commit order

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

A bigserial is handed out at insert time, not at commit, so a reader that follows ``seq`` can pass a row
whose transaction commits later with a smaller number and never see it. Rows remember their transaction
(``xid``) and get a ``feed_seq`` only once every older transaction has ended; the feed follows that.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rserz_soap.db.tables import XID8

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("change_journal", sa.Column("xid", XID8(), server_default=sa.text("pg_current_xact_id()"),
                                              nullable=False,
                                              comment="the writing transaction: a row is published only when every older one has ended"))
    op.add_column("change_journal", sa.Column("feed_seq", sa.BigInteger(), nullable=True,
                                              comment="position in the published feed (getChanges cursor)"))
    op.create_unique_constraint(op.f("uq_change_journal_feed_seq"), "change_journal", ["feed_seq"])
    op.create_index("ix_change_journal_unpublished", "change_journal", ["seq"], unique=False,
                    postgresql_where=sa.text("feed_seq IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_change_journal_unpublished", table_name="change_journal",
                  postgresql_where=sa.text("feed_seq IS NULL"))
    op.drop_constraint(op.f("uq_change_journal_feed_seq"), "change_journal", type_="unique")
    op.drop_column("change_journal", "feed_seq")
    op.drop_column("change_journal", "xid")
