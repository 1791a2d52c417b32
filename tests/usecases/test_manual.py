from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Connection, select

from rserz_soap.db import persons
from rserz_soap.db.tables import correction_entry, person_pin, person_version
from rserz_soap.usecases import history, manual
from tests import builders
from tests.harness import uow


def test_apply_federal_values_changes_the_card_and_leaves_an_audit_trail(db_conn: Connection) -> None:
    pid = builders.register_person(db_conn).card.person_id
    result = manual.apply_federal(
        uow(db_conn),
        pid,
        {"fam": "Смирнова-Козлова", "mr": "г. Озёрск"},
        actor="op.ivanova",
        reason="данные ФЕРЗЛ от 01.06.2025",
        respect_pins=False,
        valid_from=date(2025, 6, 1),
    )
    assert result.changed == ("fam", "mr")
    card = persons.load(db_conn, pid).card
    assert card.data.fam == "Смирнова-Козлова"
    v = db_conn.execute(
        select(person_version).where(person_version.c.person_id == pid, person_version.c.version_no == 2)
    ).one()
    assert (v.operation, v.actor, v.reason) == ("MANUAL_FEDERAL", "op.ivanova", "данные ФЕРЗЛ от 01.06.2025")
    corr = db_conn.execute(select(correction_entry).where(correction_entry.c.person_id == pid)).one()
    assert corr.smo_code == "45001" and corr.is_active == 1
    # the old surname stays true for dates before the change
    before = history.state_as_of(uow(db_conn), pid, date(2025, 5, 31))
    assert before is not None and before.data.fam == "Смирнова"


def test_a_deviation_needs_a_justification(db_conn: Connection) -> None:
    pid = builders.register_person(db_conn).card.person_id
    with pytest.raises(manual.ManualChangeError, match="justification"):
        manual.set_deviation(
            uow(db_conn), pid, {"fam": "Смирнова"}, federal={"fam": "Смирнов"}, actor="op", justification="  "
        )


def test_a_pinned_deviation_survives_federal_sync_and_is_reported_as_accepted(db_conn: Connection) -> None:
    pid = builders.register_person(db_conn).card.person_id
    manual.set_deviation(
        uow(db_conn),
        pid,
        {"im": "Анна-Мария"},
        federal={"im": "Анна"},
        actor="op.petrov",
        justification="решение суда № 2-123/2025",
    )
    assert manual.pinned_fields(uow(db_conn), pid) == {"im": "Анна-Мария"}
    assert manual.deviation_status(uow(db_conn), pid, "im", "Анна") == "accepted_deviation"
    # the federal sync comes with its value: the pinned field is skipped, the others are applied
    sync = manual.apply_federal(
        uow(db_conn),
        pid,
        {"im": "Анна", "ot": "Павловна"},
        actor="ferzl-sync",
        reason="суточные изменения",
        respect_pins=True,
        source_kind="ferzl",
    )
    assert sync.skipped_pinned == ("im",) and sync.changed == ("ot",)
    card = persons.load(db_conn, pid).card
    assert (card.data.im, card.data.ot) == ("Анна-Мария", "Павловна")
    # an unpinned difference is an error for reconciliation, not a deviation
    assert manual.deviation_status(uow(db_conn), pid, "ot", "Петровна") == "differs"
    # releasing the pin lets the operator apply the federal value again
    assert manual.release_pin(uow(db_conn), pid, "im", actor="op.petrov")
    assert manual.deviation_status(uow(db_conn), pid, "im", "Анна") == "differs"
    released = db_conn.execute(
        select(person_pin.c.released_by).where(person_pin.c.person_id == pid)
    ).scalar_one()
    assert released == "op.petrov"


def test_an_unknown_field_is_refused_and_nothing_changes(db_conn: Connection) -> None:
    stored = builders.register_person(db_conn)
    with pytest.raises(manual.ManualChangeError):
        manual.apply_federal(
            uow(db_conn), stored.card.person_id, {"salary": 1}, actor="op", reason="x", respect_pins=False
        )
    assert persons.load(db_conn, stored.card.person_id).card == stored.card
