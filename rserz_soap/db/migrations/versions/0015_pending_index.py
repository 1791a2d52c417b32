"""the index of a person's undecided buffer entries covers awaiting_federal too

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05

``ix_buffer_entry_person_pending`` was made before federal first added the state ``awaiting_federal``, so
the conflict check of every incoming record (a person's undecided changes from other participants, all
of ``domain.buffer.PENDING``) could not use it and read the whole buffer per record — 22 ms a record with
20,000 entries, growing with the buffer. The index now covers every undecided state, and the query states
them as a constant the planner can match (``db/buffer.py``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_BEFORE = "state IN ('received', 'checked', 'awaiting_review', 'accepted')"
_AFTER = "state IN ('received', 'checked', 'awaiting_review', 'accepted', 'awaiting_federal')"


def upgrade() -> None:
    op.drop_index("ix_buffer_entry_person_pending", table_name="buffer_entry")
    op.create_index(
        "ix_buffer_entry_person_pending", "buffer_entry", ["person_id"], postgresql_where=sa.text(_AFTER)
    )


def downgrade() -> None:
    op.drop_index("ix_buffer_entry_person_pending", table_name="buffer_entry")
    op.create_index(
        "ix_buffer_entry_person_pending", "buffer_entry", ["person_id"], postgresql_where=sa.text(_BEFORE)
    )
