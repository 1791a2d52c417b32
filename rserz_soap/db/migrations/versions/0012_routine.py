"""the routine's files: each participant's file encoding

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

* ``participant.file_encoding``: the encoding of the files the hub writes for the participant (the daily
  REPLIST/STOPLIST/RECLIST package of an СМО): ``utf-8`` (the default) or ``windows-1251``, which much
  СМО software still reads.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "participant",
        sa.Column(
            "file_encoding",
            sa.String(length=16),
            server_default=sa.text("'utf-8'"),
            nullable=False,
            comment="encoding of the files written for the participant: utf-8 or windows-1251",
        ),
    )
    op.create_check_constraint(
        op.f("ck_participant_file_encoding"), "participant", "file_encoding IN ('utf-8', 'windows-1251')"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_participant_file_encoding"), "participant", type_="check")
    op.drop_column("participant", "file_encoding")
