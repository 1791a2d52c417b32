"""The emulator's store operations the methods share: reading and writing a person's versions, the
background thread of asynchronous operations.

Asynchronous operations (§1.2) run in one background thread of the process (``EXECUTOR``); their state
and result are in ``fed_operation``, so any emulator process can answer a Poll for them. An operation a
stopped process left QUEUED or RUNNING is FAILED at the next start (:func:`fail_interrupted_operations`),
and its Poll says so — the hub then asks for it again.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert

from rserz_soap.domain.person import PersonCard
from rserz_soap.emulators.ferzl.cards import decode_card, encode_card, flat_columns
from rserz_soap.emulators.ferzl.store import fed_operation, fed_person, fed_person_version

__all__ = ["EXECUTOR", "current_card", "fail_interrupted_operations", "write_person"]

#: a single background thread computes asynchronous operations, in the order they were started
EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ferzl-async")


def current_card(conn: Connection, enp: str, *, lock: bool = False) -> tuple[PersonCard, int, str] | None:
    """(the card, its version number, the region) of a person the federal copy holds."""
    stmt = select(fed_person.c.card, fed_person.c.version_no, fed_person.c.region).where(
        fed_person.c.enp == enp
    )
    row = conn.execute(stmt.with_for_update() if lock else stmt).first()
    return (decode_card(row.card), int(row.version_no), str(row.region)) if row else None


@functools.cache
def _write_statement(columns: tuple[str, ...]) -> Any:
    """:func:`write_person`'s statement, built once per set of columns (building and keying it anew cost
    more CPU than the rest of a write); the values are bound at execution."""
    values = {c: bindparam(c, type_=fed_person.c[c].type) for c in columns}
    stmt = insert(fed_person).values(**values)
    upsert = stmt.on_conflict_do_update(
        index_elements=[fed_person.c.enp],
        set_={**{k: stmt.excluded[k] for k in columns if k != "enp"}, "updated_at": func.now()},
    ).returning(fed_person.c.enp)
    v = fed_person_version.c
    return (
        insert(fed_person_version)
        .values(
            enp=bindparam("enp", type_=v.enp.type),
            version_no=bindparam("version_no", type_=v.version_no.type),
            recorded_at=func.now(),
            source=bindparam("source", type_=v.source.type),
            card=bindparam("card", type_=v.card.type),
        )
        .on_conflict_do_nothing()
        .add_cte(upsert.cte("person_upsert"))
    )


def write_person(conn: Connection, card: PersonCard, region: str, version_no: int, source: str) -> PersonCard:
    """Upsert ``fed_person`` with ``card`` as version ``version_no`` and record that version."""
    card = card.replace(version_no=version_no)
    payload = encode_card(card)
    values = {
        "enp": card.enp,
        "region": region,
        **flat_columns(card),
        "card": payload,
        "version_no": version_no,
    }
    # one statement (one round trip): the current row and the version beside it
    conn.execute(_write_statement(tuple(values)), {**values, "source": source})
    return card


def fail_interrupted_operations(engine: Engine) -> int:
    """Operations a stopped process left QUEUED or RUNNING are FAILED (their thread is gone)."""
    o = fed_operation.c
    with engine.begin() as conn:
        result = conn.execute(
            update(fed_operation)
            .where(o.state.in_(("QUEUED", "RUNNING")))
            .values(state="FAILED", error="interrupted: the emulator restarted")
        )
    return int(result.rowcount)
