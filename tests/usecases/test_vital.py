"""A death told by two sources is applied once and kept in the history twice; a cancellation undoes it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, select

from rserz_soap.db import persons
from rserz_soap.db.tables import person_version, stop_list_entry
from rserz_soap.domain.person import Status, StopReason
from rserz_soap.usecases import vital
from rserz_soap.usecases.vital import EventSource, Outcome
from tests import builders
from tests.harness import uow

ZAGS = EventSource("zags", "а/з о смерти № 170259660001 от 2025-09-02", "smev:zags")
FERZL = EventSource("ferzl", "событие ФСМ № 98765", "ferzl:events")


def _versions(conn: Connection, pid: int) -> list[tuple[str, str]]:
    rows = conn.execute(
        select(person_version.c.operation, person_version.c.source_kind)
        .where(person_version.c.person_id == pid)
        .order_by(person_version.c.version_no)
    )
    return [(r.operation, r.source_kind) for r in rows]


def test_the_first_source_applies_the_death_the_second_confirms_it(db_conn: Connection) -> None:
    card = builders.register_person(db_conn).card
    pid = card.person_id
    assert vital.record_death(uow(db_conn), pid, date(2025, 9, 1), ZAGS) is Outcome.APPLIED
    dead = persons.load(db_conn, pid).card
    (period,) = dead.insurance
    assert dead.status is Status.DEAD and dead.ddeath == date(2025, 9, 1)
    assert (period.dstop, period.stop_reason) == (date(2025, 9, 1), StopReason.DEATH)
    notices = db_conn.execute(select(stop_list_entry).where(stop_list_entry.c.person_id == pid)).all()
    assert [(n.smo_code, n.reason) for n in notices] == [(period.smo_code, StopReason.DEATH)]

    assert vital.record_death(uow(db_conn), pid, date(2025, 9, 1), FERZL) is Outcome.CONFIRMED
    assert persons.load(db_conn, pid).card == dead.replace(version_no=dead.version_no + 1)  # nothing changed
    assert _versions(db_conn, pid)[-2:] == [(vital.DEATH, "zags"), (vital.DEATH_CONFIRMED, "ferzl")]
    assert len(db_conn.execute(select(stop_list_entry).where(stop_list_entry.c.person_id == pid)).all()) == 1


def test_another_death_date_is_a_conflict_not_a_change(db_conn: Connection) -> None:
    pid = builders.register_person(db_conn).card.person_id
    vital.record_death(uow(db_conn), pid, date(2025, 9, 1), ZAGS)
    before = persons.load(db_conn, pid).card
    assert vital.record_death(uow(db_conn), pid, date(2025, 8, 30), FERZL) is Outcome.CONFLICT
    assert persons.load(db_conn, pid).card == before


def test_a_cancelled_death_restores_insurance_and_attachments(db_conn: Connection) -> None:
    card = builders.register_person(db_conn).card
    pid = card.person_id
    vital.record_death(uow(db_conn), pid, date(2025, 9, 1), ZAGS)
    cancel = EventSource("zags", "аннулирование а/з № 170259660001", "smev:zags")
    assert vital.cancel_death(uow(db_conn), pid, cancel) is Outcome.APPLIED
    alive = persons.load(db_conn, pid).card
    assert alive.status is Status.INSURED and alive.ddeath is None
    assert alive.insurance == card.insurance and alive.attachments == card.attachments
    assert vital.cancel_death(uow(db_conn), pid, cancel) is Outcome.NOT_DEAD  # a repeat changes nothing
