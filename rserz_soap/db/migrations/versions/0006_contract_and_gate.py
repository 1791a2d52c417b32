"""the contract as written and a gate that cannot be bent: batch ids, one entry per request record,
disclosures, published snapshots, SHA-1 per peer

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

* ``buffer_entry.batch_id``: the hub's own id of a batch (``BATCH_ID``), unique together with ``N_REC``.
  Existing entries get one id per batch they arrived in (same participant, REQUEST_ID, file and instant).
* A unique index on (participant, REQUEST_ID, N_REC): a second entry for the same record of the same
  request is impossible. Earlier copies made by concurrent repeats (the bug this closes) keep their rows
  but lose their REQUEST_ID (``batch_ref`` says ``dup:``), so the first copy stays the request's.
* ``participant.legacy_sha1``: SHA-1 reference digests only for a peer that opts in.
* ``disclosure``: which persons each read showed to which participant (152-ФЗ), apart from the journal.
* ``snapshot``, ``snapshot_row``, ``snapshot_mo``: published snapshots, immutable once published.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "participant",
        sa.Column(
            "legacy_sha1",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="may still sign with SHA-1 reference digests (opt-in per peer)",
        ),
    )

    op.add_column(
        "buffer_entry",
        sa.Column("batch_id", postgresql.UUID(as_uuid=True), nullable=True, comment="the hub's own id of the batch (BATCH_ID)"),
    )
    op.execute(
        "UPDATE buffer_entry b SET request_id = NULL, batch_ref = left('dup:' || coalesce(b.batch_ref, ''), 64)"
        " FROM (SELECT id, row_number() OVER (PARTITION BY participant_id, request_id, n_rec ORDER BY id) AS k"
        " FROM buffer_entry WHERE request_id IS NOT NULL) d WHERE b.id = d.id AND d.k > 1"
    )
    op.execute(
        "UPDATE buffer_entry b SET batch_id = g.uid FROM (SELECT participant_id, request_id, batch_ref, received_at,"
        " gen_random_uuid() AS uid FROM buffer_entry GROUP BY participant_id, request_id, batch_ref, received_at) g"
        " WHERE b.participant_id = g.participant_id AND b.request_id IS NOT DISTINCT FROM g.request_id"
        " AND b.batch_ref IS NOT DISTINCT FROM g.batch_ref AND b.received_at = g.received_at"
    )
    op.execute(  # a batch that repeats an N_REC (possible only before this revision): one id per entry
        "UPDATE buffer_entry b SET batch_id = gen_random_uuid() FROM (SELECT id, row_number()"
        " OVER (PARTITION BY batch_id, n_rec ORDER BY id) AS k FROM buffer_entry) d WHERE b.id = d.id AND d.k > 1"
    )
    op.alter_column("buffer_entry", "batch_id", nullable=False)
    op.create_unique_constraint(op.f("uq_buffer_entry_batch_id_n_rec"), "buffer_entry", ["batch_id", "n_rec"])
    op.create_index(
        "uq_buffer_entry_request_n_rec",
        "buffer_entry",
        ["participant_id", "request_id", "n_rec"],
        unique=True,
        postgresql_where=sa.text("request_id IS NOT NULL"),
    )

    op.create_table(
        "disclosure",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("disclosed_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("correlation_id", postgresql.UUID(as_uuid=True), nullable=False, comment="the exchange journal's id"),
        sa.Column("person_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False, comment="the persons the answer held"),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"], name=op.f("fk_disclosure_participant_id_participant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure")),
        comment="who was shown whose data, kept apart from the exchange journal and without the data itself",
    )
    op.create_index(op.f("ix_disclosure_disclosed_at"), "disclosure", ["disclosed_at"], unique=False)
    op.create_index("ix_disclosure_person_ids", "disclosure", ["person_ids"], unique=False, postgresql_using="gin")

    op.create_table(
        "snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False, comment="insured at 00:00 of this day"),
        sa.Column("state", sa.String(length=10), server_default=sa.text("'building'"), nullable=False),
        sa.Column("persons", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=True, comment="SHA-256 of the rows in ЕНП order: a rebuild must match"),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=True, comment="by СМО, МО, sex and age band"),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("built_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('building', 'published')", name=op.f("ck_snapshot_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot")),
        sa.UniqueConstraint("day", name=op.f("uq_snapshot_day")),
    )
    op.create_table(
        "snapshot_row",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("enp", sa.String(length=16), nullable=False, comment="rows are read in ЕНП order"),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("fam", sa.String(length=40), nullable=False),
        sa.Column("im", sa.String(length=40), nullable=False),
        sa.Column("ot", sa.String(length=40), nullable=True),
        sa.Column("dr", sa.Date(), nullable=False),
        sa.Column("w", sa.SmallInteger(), nullable=False),
        sa.Column("smo_code", sa.String(length=5), nullable=False),
        sa.Column("vpolis", sa.SmallInteger(), nullable=False),
        sa.Column("spolis", sa.String(length=10), nullable=True),
        sa.Column("npolis", sa.String(length=20), nullable=False),
        sa.Column("dbeg", sa.Date(), nullable=False),
        sa.Column("dend", sa.Date(), nullable=True),
        sa.Column("mo_codes", sa.Text(), nullable=True, comment="attached МО on the day, space-separated"),
        sa.ForeignKeyConstraint(["snapshot_id"], ["snapshot.id"], name=op.f("fk_snapshot_row_snapshot_id_snapshot")),
        sa.PrimaryKeyConstraint("snapshot_id", "enp", name=op.f("pk_snapshot_row")),
    )
    op.create_index("ix_snapshot_row_smo", "snapshot_row", ["snapshot_id", "smo_code", "enp"], unique=False)
    op.create_table(
        "snapshot_mo",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("mo_code", sa.String(length=6), nullable=False),
        sa.Column("enp", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_id"], ["snapshot.id"], name=op.f("fk_snapshot_mo_snapshot_id_snapshot")),
        sa.PrimaryKeyConstraint("snapshot_id", "mo_code", "enp", name=op.f("pk_snapshot_mo")),
        comment="a snapshot's persons by attached МО (an МО reads its own page by page)",
    )


def downgrade() -> None:
    op.drop_table("snapshot_mo")
    op.drop_index("ix_snapshot_row_smo", table_name="snapshot_row")
    op.drop_table("snapshot_row")
    op.drop_table("snapshot")
    op.drop_index("ix_disclosure_person_ids", table_name="disclosure")
    op.drop_index(op.f("ix_disclosure_disclosed_at"), table_name="disclosure")
    op.drop_table("disclosure")
    op.drop_index("uq_buffer_entry_request_n_rec", table_name="buffer_entry")
    op.drop_constraint(op.f("uq_buffer_entry_batch_id_n_rec"), "buffer_entry", type_="unique")
    op.drop_column("buffer_entry", "batch_id")
    op.drop_column("participant", "legacy_sha1")
