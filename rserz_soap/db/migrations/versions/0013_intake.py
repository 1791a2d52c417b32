"""legacy file intake: the OPLIST packages each СМО has handed in

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

* ``intake_package``: one row per imported OPLIST package — by name and by content hash, each unique per
  participant, so a package is applied once (F012 805 for a repeat) even when two imports race.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_package",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column(
            "name", sa.String(length=64), nullable=False,
            comment="the package's file name without .zip, e.g. i45002_01_120501",
        ),
        sa.Column("sha256", sa.String(length=64), nullable=False, comment="of the package's bytes"),
        sa.Column(
            "encoding", sa.String(length=16), nullable=False, comment="of its OPLIST file: UTF-8 or windows-1251"
        ),
        sa.Column("przcod", sa.String(length=16), nullable=True, comment="the point of registration the package came from"),
        sa.Column("batch_id", postgresql.UUID(as_uuid=True), nullable=True, comment="the buffer batch its records went to"),
        sa.Column("nrecords", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("accepted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rejected", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("imported_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("participant_id", "name", name="uq_intake_package_name"),
        sa.UniqueConstraint("participant_id", "sha256", name="uq_intake_package_sha256"),
    )


def downgrade() -> None:
    op.drop_table("intake_package")
