"""a birth-date window and a name's trigrams in one GiST index

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

A remote search (searchPersons: a misspelt surname, the name, a birth-date window of at most a year) had
two indexes to choose from and neither fitted: the btree ``(dr, name_key)`` gives every person born in the
window — ≈ 7,500 for six months in a register of a million — and PostgreSQL then computed the trigram
similarity of each; the GIN trigram index gives everyone whose name shares the common trigrams of a
Russian name. 49 ms of PostgreSQL's time for a six-month window, 97 ms for a year and a common name.

``ix_person_data_dr_name_trgm_current`` is a GiST index over both (``btree_gist`` for the date,
``gist_trgm_ops`` for the name): one index walk keeps only the window's rows whose trigram signature can
match, and the similarity is computed for those alone — 7 ms and 29 ms for the same two searches
(docs/data-model.md). The extension ships with PostgreSQL (contrib) and is trusted, like pg_trgm.

Building it takes ≈ 9 s per million persons (2 minutes for a register of 13 million); it holds off writes
to ``person_data``, not reads, which is what the upgrade procedure expects (docs/deployment.md: the workers
are stopped while ``rserz migrate`` runs, the web keeps serving reads).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_index(
        "ix_person_data_dr_name_trgm_current",
        "person_data",
        ["dr", "name_key"],
        postgresql_using="gist",
        postgresql_ops={"name_key": "gist_trgm_ops"},
        postgresql_where=sa.text("superseded_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_person_data_dr_name_trgm_current", table_name="person_data")
    op.execute("DROP EXTENSION IF EXISTS btree_gist")
