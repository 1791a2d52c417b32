"""A военкомат list in the register alone (the hub isolated from ФЕРЗЛ): the suspension and its resumption
as the history answers on any date, the СМО told both ways, rows held for an operator with their reason,
an operator's resolution, and a list taken once. With ФЕРЗЛ: tests/cli/test_military.py."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Connection, select

from rserz_soap.db import persons
from rserz_soap.db.tables import (
    buffer_decision,
    buffer_entry,
    correction_entry,
    person_version,
    stop_list_entry,
)
from rserz_soap.domain import military as mil
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.domain.person import Status
from rserz_soap.domain.records import PolicyInput
from rserz_soap.usecases import identify, military, vital
from rserz_soap.usecases.identify import Key
from tests import builders
from tests.harness import uow

START, END = date(2025, 11, 20), date(2026, 11, 19)
OKATO = "45000"


def _conscript(conn: Connection, n: int, **person: object) -> persons.StoredCard:
    fields: dict[str, object] = {
        "fam": "Солдатов",
        "im": "Иван",
        "ot": "Петрович",
        "w": 1,
        "dr": date(2005, 1, n),
        "ss": make_snils(500_000_000 + n),
    }
    p = builders.person_data(**(fields | person))
    rec = builders.record(
        person=p,
        documents=(builders.passport(docser="45 05", docnum=f"90000{n}"),),
        policy=PolicyInput(vpolis=3, npolis=f"45000000000000{n:02d}", dbeg=date(2024, 3, 3)),
    )
    stored: persons.StoredCard = builders.register_person(conn, rec)
    return stored


def _row(n: int, kind: mil.Kind, card: persons.StoredCard, **change: object) -> mil.ServiceRow:
    d, doc = card.card.data, card.card.main_document()
    assert doc is not None
    row = mil.ServiceRow(
        n, kind, d.fam, d.im, d.ot, d.dr, doc.doctype, doc.docser, doc.docnum, d.ss,
        START, END if kind is mil.Kind.LEAVING else None,
    )  # fmt: skip
    return mil.ServiceRow(**(vars(row) | change))


def _list(number: str, *rows: mil.ServiceRow) -> mil.MilitaryList:
    return mil.MilitaryList(mil.ListHeader("4501", number, date(2026, 11, 25)), rows)


def _insured(conn: Connection, enp: str, on: date) -> tuple[bool, str]:
    status = identify.insurance_status(uow(conn), Key(enp=enp), on)
    assert status.person is not None
    return status.insured, status.person.status.value


def _versions(conn: Connection, pid: int) -> int:
    return len(conn.execute(select(person_version.c.id).where(person_version.c.person_id == pid)).all())


def test_entering_suspends_and_leaving_resumes_with_the_same_enp_and_smo(db_conn: Connection) -> None:
    stored = _conscript(db_conn, 1)
    pid, enp = stored.card.person_id, stored.card.enp
    assert pid is not None and enp is not None
    smo = stored.card.open_period().smo_code  # type: ignore[union-attr]

    entering = _list("В-1", _row(1, mil.Kind.ENTERING, stored))
    first = military.import_list(uow(db_conn), None, entering, terr=OKATO)
    assert [(ln.status, ln.code, ln.enp) for ln in first.lines] == [("suspended", mil.SUSPENDED, enp)]
    stops = db_conn.execute(select(stop_list_entry).where(stop_list_entry.c.person_id == pid)).all()
    assert [(s.smo_code, s.stop_date) for s in stops] == [(smo, START)]

    leaving = _list("У-1", _row(1, mil.Kind.LEAVING, stored))
    second = military.import_list(uow(db_conn), None, leaving, terr=OKATO)
    assert [(ln.status, ln.code) for ln in second.lines] == [("resumed", mil.RESUMED)]
    fixes = db_conn.execute(select(correction_entry).where(correction_entry.c.person_id == pid)).all()
    assert [(c.smo_code, c.tip_op) for c in fixes] == [(smo, "ВОССТ")]

    assert _insured(db_conn, enp, date(2025, 11, 19)) == (True, "insured")
    assert _insured(db_conn, enp, START) == (False, "suspended")
    assert _insured(db_conn, enp, date(2026, 6, 1)) == (False, "suspended")
    assert _insured(db_conn, enp, END) == (True, "insured")
    now = persons.load(db_conn, pid).card
    assert now.status is Status.INSURED and now.enp == enp
    assert (now.open_period().smo_code, now.open_period().dbeg) == (smo, END)  # type: ignore[union-attr]

    versions = _versions(db_conn, pid)
    for lst, before in ((entering, first), (leaving, second)):
        repeat = military.import_list(uow(db_conn), None, lst, terr=OKATO)
        assert repeat.repeat and repeat.lines == before.lines
    assert _versions(db_conn, pid) == versions


def test_rows_the_register_cannot_take_wait_in_the_buffer_with_their_reason(db_conn: Connection) -> None:
    never_suspended = _conscript(db_conn, 2)
    dead = _conscript(db_conn, 3)
    assert dead.card.person_id is not None
    vital.record_death(
        uow(db_conn), dead.card.person_id, date(2025, 10, 1), vital.EventSource("zags", "а/з", "t")
    )
    twin_a = _conscript(db_conn, 4, fam="Близнецов")
    twin_b = _conscript(db_conn, 5, fam="Близнецов", dr=twin_a.card.data.dr)
    lst = _list(
        "В-2",
        _row(1, mil.Kind.LEAVING, never_suspended),
        _row(2, mil.Kind.ENTERING, dead),
        _row(3, mil.Kind.ENTERING, twin_a, docnum="111111", snils=None),  # no document match, the name two
        _row(4, mil.Kind.ENTERING, twin_a, fam="Никтов", docnum="222222", snils=None),
        _row(5, mil.Kind.ENTERING, twin_b, fam="Близнецав", docnum="333333"),  # the СНИЛС finds them
    )
    protocol = military.import_list(uow(db_conn), None, lst, terr=OKATO)
    assert [(ln.n, ln.status, ln.code) for ln in protocol.lines] == [
        (1, "held", mil.NOT_SUSPENDED),
        (2, "held", mil.STATUS_FORBIDS),
        (3, "held", mil.AMBIGUOUS),
        (4, "held", mil.NOT_FOUND),
        (5, "suspended", mil.SUSPENDED),
    ]
    for line in protocol.lines[:4]:
        entry = db_conn.execute(select(buffer_entry).where(buffer_entry.c.id == line.buffer_entry)).one()
        assert entry.state == "awaiting_review"
        reason = db_conn.execute(
            select(buffer_decision.c.reason).where(
                buffer_decision.c.entry_id == line.buffer_entry,
                buffer_decision.c.to_state == "awaiting_review",
            )
        ).scalar_one()
        assert reason.startswith(line.code)
    assert persons.load(db_conn, never_suspended.card.person_id).card == never_suspended.card  # type: ignore[arg-type]

    # an operator: row 4 is twin A under another surname; row 3 is nobody of ours
    pid = twin_a.card.person_id
    assert pid is not None
    done = military.resolve(
        uow(db_conn), None, protocol.lines[3].buffer_entry or 0, pid, actor="op", reason="опечатка"
    )
    assert done == "suspended" and persons.load(db_conn, pid).card.status is Status.SUSPENDED
    gone = military.resolve(
        uow(db_conn), None, protocol.lines[2].buffer_entry or 0, None, actor="op", reason="не наш"
    )
    assert gone == "rejected"
    states = db_conn.execute(
        select(buffer_entry.c.state)
        .where(buffer_entry.c.id.in_([protocol.lines[3].buffer_entry, protocol.lines[2].buffer_entry]))
        .order_by(buffer_entry.c.id)
    ).scalars()
    assert list(states) == ["rejected", "applied"]


def test_an_entry_that_is_not_a_held_row_cannot_be_resolved(db_conn: Connection) -> None:
    with pytest.raises(military.NotHeld):
        military.resolve(uow(db_conn), None, 987654321, None, actor="op", reason="?")
