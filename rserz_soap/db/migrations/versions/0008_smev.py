"""СМЭВ 3: the inbox of ЕГР ЗАГС pushes, newborns waiting for a policy, the hub's СФР requests

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

* ``smev_inbox``: every pushed ЗАГС request by its СМЭВ MessageID, stored before it applies; the act
  records as read, what each did, the receipt's MessageID (fixed before the first send) and when the
  receipt went and the Ack was given. A repeated delivery finds its row and is not applied again.
* ``newborn``: children ЕГР ЗАГС registered, kept until a policy is chosen (a person without an ЕНП has
  no place in ``person``).
* ``smev_request``: the СНИЛС requests sent to СФР and what their answers did.

Revises 0007 (ФЕРЗЛ's tables).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('smev_inbox',
    sa.Column('message_id', sa.String(length=36), nullable=False, comment='СМЭВ MessageID of a pushed request: a repeated delivery finds its row and is not applied again'),
    sa.Column('root', sa.String(length=32), nullable=False, comment='FATALZPRequest, ROGDZPRequest'),
    sa.Column('record_id', sa.String(length=64), nullable=True, comment='ИдСвед, echoed in the receipt'),
    sa.Column('reply_to', sa.Text(), nullable=False, comment='where the receipt goes (ReplyTo)'),
    sa.Column('payload', postgresql.JSONB(astext_type=Text()), nullable=False, comment='the act records as read (domain/civil.py): applied from here'),
    sa.Column('state', sa.String(length=10), server_default=sa.text("'received'"), nullable=False),
    sa.Column('results', postgresql.JSONB(astext_type=Text()), nullable=True, comment='per act record: what was done (applied, confirmed, review …) and to whom'),
    sa.Column('receipt_message_id', sa.String(length=36), nullable=False, comment='MessageID of our receipt, fixed before the first send: a resend is recognised by СМЭВ'),
    sa.Column('deliveries', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('received_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('decided_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True, comment='the operator who settled a held record'),
    sa.Column('receipt_sent_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('acked_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('received', 'applied', 'review', 'resolved', 'refused')", name=op.f('ck_smev_inbox_state')),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_smev_inbox')),
    sa.UniqueConstraint('receipt_message_id', name=op.f('uq_smev_inbox_receipt_message_id')),
    comment='ЕГР ЗАГС pushes by MessageID: stored before they apply, applied once, receipt and Ack tracked'
    )
    op.create_index('ix_smev_inbox_open', 'smev_inbox', ['received_at'], unique=False, postgresql_where=sa.text("acked_at IS NULL OR state = 'received'"))
    op.create_index('ix_smev_inbox_review', 'smev_inbox', ['received_at'], unique=False, postgresql_where=sa.text("state = 'review'"))
    op.create_table('newborn',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False, comment='the ЗАГС push that told of the birth'),
    sa.Column('act_number', sa.String(length=32), nullable=False),
    sa.Column('act_date', sa.Date(), nullable=False),
    sa.Column('office', sa.Text(), nullable=True),
    sa.Column('fam', sa.String(length=40), nullable=False),
    sa.Column('im', sa.String(length=40), nullable=False),
    sa.Column('ot', sa.String(length=40), nullable=True),
    sa.Column('w', sa.SmallInteger(), nullable=True),
    sa.Column('dr', sa.Date(), nullable=False),
    sa.Column('birth_place', sa.Text(), nullable=True),
    sa.Column('mother', postgresql.JSONB(astext_type=Text()), nullable=True, comment='the mother as the act record names her'),
    sa.Column('mother_person_id', sa.BigInteger(), nullable=True, comment='the mother in the register, if found'),
    sa.Column('state', sa.String(length=10), server_default=sa.text("'waiting'"), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=True, comment='set once a policy is chosen (П010)'),
    sa.Column('registered_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("state IN ('waiting', 'insured', 'cancelled')", name=op.f('ck_newborn_state')),
    sa.ForeignKeyConstraint(['mother_person_id'], ['person.id'], name=op.f('fk_newborn_mother_person_id_person')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_newborn_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newborn')),
    sa.UniqueConstraint('act_number', 'act_date', name='uq_newborn_act'),
    comment='children born in the region, kept here until a policy is chosen: a person without an ЕНП has no place in person'
    )
    op.create_index('ix_newborn_waiting', 'newborn', ['dr'], unique=False, postgresql_where=sa.text("state = 'waiting'"))
    op.create_table('smev_request',
    sa.Column('message_id', sa.String(length=36), nullable=False, comment='MessageID of our request: the same on every resend'),
    sa.Column('kind', sa.String(length=40), nullable=False, comment='SnilsByAdditionalDataRequest, SnilsByDataRequest …'),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('snils_asked', sa.String(length=11), nullable=True, comment='the СНИЛС a validation asks about'),
    sa.Column('state', sa.String(length=10), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('answer_message_id', sa.String(length=36), nullable=True, comment='the answer taken: a repeated delivery is skipped'),
    sa.Column('verdict', sa.String(length=10), nullable=True, comment='found, differs, not_found, ambiguous, rejected'),
    sa.Column('snils_found', sa.Text(), nullable=True, comment='what СФР answered (space-separated for twins)'),
    sa.Column('outcome', sa.Text(), nullable=True, comment='what the hub did with the answer'),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('sent_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('answered_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'sent', 'answered', 'review')", name=op.f('ck_smev_request_state')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_smev_request_person_id_person')),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_smev_request')),
    sa.UniqueConstraint('answer_message_id', name=op.f('uq_smev_request_answer_message_id')),
    comment='requests the hub sent through СМЭВ (СФР СНИЛС) and what their answers did'
    )
    op.create_index('ix_smev_request_open', 'smev_request', ['created_at'], unique=False, postgresql_where=sa.text("state IN ('pending', 'sent')"))
    op.create_index('ix_smev_request_person', 'smev_request', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_smev_request_person', table_name='smev_request')
    op.drop_index('ix_smev_request_open', table_name='smev_request', postgresql_where=sa.text("state IN ('pending', 'sent')"))
    op.drop_table('smev_request')
    op.drop_index('ix_newborn_waiting', table_name='newborn', postgresql_where=sa.text("state = 'waiting'"))
    op.drop_table('newborn')
    op.drop_index('ix_smev_inbox_review', table_name='smev_inbox', postgresql_where=sa.text("state = 'review'"))
    op.drop_index('ix_smev_inbox_open', table_name='smev_inbox', postgresql_where=sa.text("acked_at IS NULL OR state = 'received'"))
    op.drop_table('smev_inbox')
