"""ФЕРЗЛ as it is today: §5 events instead of an invented daily feed; ЕНП formed by ФЕРЗЛ

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

* ``federal_event_window``: per pulled method (getChangesEvent, getInsuranceStatusChanges) the days taken
  in full and the asynchronous operation in flight (its opToken), so a killed worker polls it again.
* ``federal_event``: every event taken, keyed by ОИП|event|dt (the document gives events no id), with what
  the register did with it; a repeated delivery is skipped, an unknown code is kept for review.
* ``federal_sync_day`` and ``federal_change_seen`` (the invented daily feed) are dropped.
* ``federal_push.enp``: for a new person the ЕНП ФЕРЗЛ formed (createdPcy), NULL until then.
* Reconciliation through the витрины: ``reconciliation_run.staged_rows`` and ``reconciliation_federal``
  (ФЕРЗЛ's insurance витрина as a run received it, compared in ЕНП order).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federal_event_window",
        sa.Column(
            "feed",
            sa.String(length=32),
            nullable=False,
            comment="the ФЕРЗЛ method pulled: getChangesEvent or getInsuranceStatusChanges (§3.2)",
        ),
        sa.Column(
            "done_until", sa.Date(), nullable=True, comment="every day up to this one is taken in full; NULL before the first pull"
        ),
        sa.Column("window_from", sa.Date(), nullable=True, comment="the window in flight (NULL when none)"),
        sa.Column("window_to", sa.Date(), nullable=True),
        sa.Column(
            "op_token",
            sa.Text(),
            nullable=True,
            comment="the operation in flight: a resumed worker polls it instead of a new one",
        ),
        sa.Column(
            "events", sa.Integer(), server_default=sa.text("0"), nullable=False, comment="events taken, all pulls"
        ),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("feed", name=op.f("pk_federal_event_window")),
    )
    op.create_table(
        "federal_event",
        sa.Column(
            "event_key",
            sa.String(length=96),
            nullable=False,
            comment="ОИП|event|dt: what identifies an event (§3.2.12 gives no id); a repeat is skipped",
        ),
        sa.Column("oip", sa.String(length=12), nullable=False),
        sa.Column("enp", sa.String(length=16), nullable=True),
        sa.Column("event", sa.String(length=16), nullable=False, comment="§5 code, as delivered (an unknown one too)"),
        sa.Column("dt", sa.String(length=40), nullable=False, comment="the event's dateTime as delivered"),
        sa.Column("feed", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "outcome",
            sa.String(length=16),
            nullable=False,
            comment="applied, confirmed, unchanged, kept_pinned, review, noted, unknown_person, unknown_code",
        ),
        sa.Column("detail", sa.Text(), nullable=True, comment="the fields it changed, or why it waits for an operator"),
        sa.Column("seen_at", sa.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_federal_event_person_id_person")
        ),
        sa.PrimaryKeyConstraint("event_key", name=op.f("pk_federal_event")),
    )
    op.create_index(
        "ix_federal_event_review",
        "federal_event",
        ["seen_at"],
        unique=False,
        postgresql_where=sa.text("outcome IN ('review', 'unknown_code')"),
    )
    op.drop_table("federal_change_seen")
    op.drop_table("federal_sync_day")
    op.add_column(
        "reconciliation_run",
        sa.Column(
            "staged_rows",
            sa.Integer(),
            nullable=True,
            comment="rows of ФЕРЗЛ's insurance витрина staged for this run; NULL until they are (then batches run)",
        ),
    )
    op.create_table(
        "reconciliation_federal",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("enp", sa.String(length=16), nullable=False),
        sa.Column("oip", sa.String(length=12), nullable=True),
        sa.Column("sex", sa.SmallInteger(), nullable=True),
        sa.Column("birth_year", sa.SmallInteger(), nullable=True),
        sa.Column("policy_type", sa.String(length=1), nullable=True, comment="ФЕРЗЛ letter (§5 pcyType)"),
        sa.Column("policy", sa.String(length=32), nullable=True),
        sa.Column("smo", sa.String(length=5), nullable=True),
        sa.Column("doc_type", sa.Integer(), nullable=True),
        sa.Column("doc_ser", sa.String(length=20), nullable=True),
        sa.Column("doc_num", sa.String(length=40), nullable=True),
        sa.Column("doc_date", sa.Date(), nullable=True),
        sa.Column("snils", sa.String(length=11), nullable=True),
        sa.Column("cancel_date", sa.Date(), nullable=True, comment="«Дата гашения»"),
        sa.Column(
            "status",
            sa.SmallInteger(),
            nullable=True,
            comment="«Статус»: 0 deregistered (death), 1 valid, 2 merged, 3 other",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconciliation_run.id"],
            name=op.f("fk_reconciliation_federal_run_id_reconciliation_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "enp", name=op.f("pk_reconciliation_federal")),
        comment="ФЕРЗЛ's insurance витрина (§3.2.6) as one reconciliation run received it, in ЕНП order",
    )
    op.alter_column(
        "federal_push",
        "enp",
        existing_type=sa.String(length=16),
        comment="the ЕНП the change is about; for a new person the one ФЕРЗЛ formed (createdPcy), NULL before",
        existing_comment="the ЕНП the change is about (allocated by the region for a new person)",
        existing_nullable=True,
    )


def downgrade() -> None:
    op.alter_column(
        "federal_push",
        "enp",
        existing_type=sa.String(length=16),
        comment="the ЕНП the change is about (allocated by the region for a new person)",
        existing_nullable=True,
    )
    op.drop_table("reconciliation_federal")
    op.drop_column("reconciliation_run", "staged_rows")
    op.create_table(
        "federal_sync_day",
        sa.Column("day", sa.Date(), nullable=False, comment="a day of federal changes (getInsuranceStatusChanges)"),
        sa.Column("after_change_id", sa.BigInteger(), nullable=True, comment="the last federal change id taken: a crash resumes after it"),
        sa.Column("changes", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("applied", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("kept_pinned", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unknown", sa.Integer(), server_default=sa.text("0"), nullable=False, comment="ЕНП the region does not hold"),
        sa.Column("finished_at", sa.TIMESTAMP(timezone=True), nullable=True, comment="NULL while the day is being taken"),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_federal_sync_day")),
    )
    op.create_table(
        "federal_change_seen",
        sa.Column("change_id", sa.BigInteger(), nullable=False, comment="ФЕРЗЛ change id: a duplicate delivery is skipped"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("enp", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False, comment="applied, unchanged, kept_pinned, unknown"),
        sa.Column("fields", sa.Text(), nullable=True, comment="the fields it changed or kept"),
        sa.Column("seen_at", sa.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_federal_change_seen_person_id_person")),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_federal_change_seen")),
    )
    op.drop_index(
        "ix_federal_event_review",
        table_name="federal_event",
        postgresql_where=sa.text("outcome IN ('review', 'unknown_code')"),
    )
    op.drop_table("federal_event")
    op.drop_table("federal_event_window")
