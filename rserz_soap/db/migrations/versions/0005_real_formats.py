"""real formats: the published KATEG table, full addresses

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

KATEG is recoded from the table the hub used until now (working / non-working pairs interleaved) to the
one СМО software and rt.srz exchange (concept OID 1.2.643.2.40.3.3.0.6.6, docs/domain-sources.md):

    old  meaning (old table)                                   new
     0   working citizen of an EAEU state, temporarily staying   3 if C_OKSM is an EAEU state (051, 112,
                                                                   398, 417), else 0 (unknown)
     1   citizen of the RF, working                              1
     2   citizen of the RF, not working                          6
     3   foreigner permanently resident, working                 2
     4   foreigner permanently resident, not working             7
     5   stateless permanently resident, working                 4
     6   stateless permanently resident, not working             9
     7   foreigner temporarily resident, working                 3
     8   foreigner temporarily resident, not working             8
     9   stateless temporarily resident, working                11
    10   stateless temporarily resident, not working            12
    11   refugee, working                                        5
    12   refugee, not working                                   10

The new table has no code of its own for EAEU workers; they are working foreigners staying temporarily (3),
and the residence-document check exempts EAEU citizens instead (domain/categories.py).

Recoded: every ``person_data`` row (current and superseded, so history reads in one table); the payload of
buffer entries not yet final (``person`` and ``old_person``: they are still to be checked and applied);
the card of pending ФЕРЗЛ pushes; pinned deviations and remembered federal values of the field ``kateg``.
Final buffer entries (applied, rejected) keep their payload as received: they are the record of what an
СМО sent, nothing processes them again, and a rejected one may carry the published code that the old
table refused — recoding it would falsify the evidence.

The ``address`` table gains the elements СМО software sends: INDX, KORP, DREG, BOMG, FIAS_AOID,
FIAS_HOUSEID.

Downgrade maps the codes back (new 3 becomes old 7: an EAEU worker cannot be told from a temporarily
resident working foreigner any more, and new 0 becomes old 0) and drops the address columns.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

OLD_TO_NEW = {1: 1, 2: 6, 3: 2, 4: 7, 5: 4, 6: 9, 7: 3, 8: 8, 9: 11, 10: 12, 11: 5, 12: 10}
NEW_TO_OLD = {new: old for old, new in OLD_TO_NEW.items()}
EAEU = "('051', '112', '398', '417')"
EAEU_WORKER_OLD, EAEU_WORKER_NEW = 0, 3
PENDING_STATES = "('received', 'checked', 'awaiting_review', 'accepted', 'awaiting_federal')"


def _upgraded(kateg: str, c_oksm: str) -> str:
    """SQL: the new code of the old code ``kateg`` (an int expression) of a person of citizenship ``c_oksm``."""
    whens = " ".join(f"WHEN {old} THEN {new}" for old, new in OLD_TO_NEW.items())
    eaeu = f"WHEN {EAEU_WORKER_OLD} THEN CASE WHEN {c_oksm} IN {EAEU} THEN {EAEU_WORKER_NEW} ELSE 0 END"
    return f"(CASE {kateg} {eaeu} {whens} ELSE {kateg} END)"


def _downgraded(kateg: str, c_oksm: str) -> str:
    whens = " ".join(f"WHEN {new} THEN {old}" for new, old in NEW_TO_OLD.items())
    return f"(CASE {kateg} {whens} ELSE {kateg} END)"


def _recode(mapping: Callable[[str, str], str]) -> None:
    # Side tables first: their 0 → 3 decision reads the person's citizenship from person_data, which
    # the recode does not change, but keeping one order in both directions is simpler to reason about.
    for path in ("person", "old_person"):
        kateg = f"(payload->'{path}'->>'kateg')::int"
        oksm = f"(payload->'{path}'->>'c_oksm')"
        op.execute(
            f"UPDATE buffer_entry SET payload = jsonb_set(payload, '{{{path},kateg}}',"
            f" to_jsonb({mapping(kateg, oksm)}))"
            f" WHERE state IN {PENDING_STATES} AND jsonb_typeof(payload->'{path}'->'kateg') = 'number'"
        )
    kateg, oksm = "(card->'data'->>'kateg')::int", "(card->'data'->>'c_oksm')"
    op.execute(
        f"UPDATE federal_push SET card = jsonb_set(card, '{{data,kateg}}', to_jsonb({mapping(kateg, oksm)}))"
        f" WHERE state = 'pending' AND jsonb_typeof(card->'data'->'kateg') = 'number'"
    )
    citizenship = (
        "(SELECT d.c_oksm FROM person_data d WHERE d.person_id = t.person_id AND d.superseded_at IS NULL"
        " ORDER BY d.id DESC LIMIT 1)"
    )
    for table, columns in (("person_pin", ("value", "federal_value")), ("federal_value", ("value",))):
        for column in columns:
            kateg = f"(t.{column})::text::int"
            op.execute(
                f"UPDATE {table} t SET {column} = to_jsonb({mapping(kateg, citizenship)})"
                f" WHERE t.field = 'kateg' AND jsonb_typeof(t.{column}) = 'number'"
            )
    recoded = mapping("kateg", "c_oksm")
    op.execute(f"UPDATE person_data SET kateg = {recoded} WHERE kateg BETWEEN 0 AND 12 AND {recoded} <> kateg")


def upgrade() -> None:
    _recode(_upgraded)
    op.add_column('address', sa.Column('postcode', sa.String(length=6), nullable=True, comment='INDX'))
    op.add_column('address', sa.Column('building', sa.String(length=12), nullable=True, comment='KORP: корпус'))
    op.add_column('address', sa.Column('registered_on', sa.Date(), nullable=True, comment='DREG: date of the registration at this address'))
    op.add_column('address', sa.Column('homeless', sa.Boolean(), server_default=sa.text('false'), nullable=False, comment='BOMG'))
    op.add_column('address', sa.Column('fias_aoid', sa.String(length=36), nullable=True, comment='FIAS_AOID: ФИАС address object id'))
    op.add_column('address', sa.Column('fias_houseid', sa.String(length=36), nullable=True, comment='FIAS_HOUSEID: ФИАС house id'))


def downgrade() -> None:
    for column in ('fias_houseid', 'fias_aoid', 'homeless', 'registered_on', 'building', 'postcode'):
        op.drop_column('address', column)
    _recode(_downgraded)
