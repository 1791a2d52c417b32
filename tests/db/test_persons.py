from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlalchemy import Connection, func, select

from rserz_soap.db import persons
from rserz_soap.db.tables import change_journal, identity_document, person_data, stop_list_entry
from rserz_soap.domain.operations import OperationContext, apply_operation
from rserz_soap.domain.person import Status
from rserz_soap.domain.records import PolicyInput
from tests import builders


def _ctx(conn: Connection, smo: str = "45001") -> OperationContext:
    return OperationContext(
        smo, date(2025, 6, 1), lambda dr, w: persons.allocate_enp(conn, builders.REGION, dr, w)
    )


def _meta(op: str, on: date, smo: str = "45001") -> persons.VersionMeta:
    return persons.VersionMeta(op, "smo", smo, on, actor="test")


def _register(conn: Connection) -> persons.StoredCard:
    t = apply_operation(None, builders.record(), _ctx(conn))
    saved = persons.save(conn, None, t.after, _meta("П010", t.valid_from))
    return persons.load(conn, saved.person_id)


def _pid(stored: persons.StoredCard) -> int:
    assert stored.card.person_id is not None
    return stored.card.person_id


def test_a_registered_card_loads_back_equal(db_conn: Connection) -> None:
    stored = _register(db_conn)
    card = stored.card
    assert card.status is Status.INSURED and card.version_no == 1
    assert card.enp is not None and persons.find_by_enp(db_conn, card.enp) == card.person_id
    rec = builders.record()
    assert card.data == rec.person and card.documents == frozenset(rec.documents)
    (period,) = card.insurance
    assert (period.smo_code, period.vpolis, period.npolis, period.enp) == ("45001", 2, "450012345", card.enp)


def test_a_change_supersedes_rows_and_keeps_the_old_slice(db_conn: Connection) -> None:
    stored = _register(db_conn)
    new_doc = builders.passport(docser="45 10", docnum="654321", docdate=date(2025, 5, 1))
    rec = builders.record("П040", documents=(new_doc,), dvizit=date(2025, 5, 10), policy=None)
    t = apply_operation(stored.card, rec, _ctx(db_conn))
    persons.save(db_conn, stored, t.after, _meta("П040", t.valid_from))
    card = persons.load(db_conn, _pid(stored)).card
    assert card.documents == frozenset({new_doc}) and card.version_no == 2
    rows = db_conn.execute(
        select(
            identity_document.c.docnum,
            identity_document.c.valid_from,
            identity_document.c.valid_to,
            identity_document.c.superseded_at.is_(None).label("current"),
        )
        .where(identity_document.c.person_id == card.person_id)
        .order_by(identity_document.c.id)
    ).all()
    # the original row superseded; a closed slice of it up to the day before; the new document from the change
    assert [(r.docnum, r.valid_to, r.current) for r in rows] == [
        ("123456", None, False),
        ("123456", date(2025, 5, 9), True),
        ("654321", None, True),
    ]
    journal = db_conn.execute(
        select(func.count()).select_from(change_journal).where(change_journal.c.person_id == card.person_id)
    ).scalar_one()
    assert journal == 2


def test_a_stale_card_cannot_be_saved(db_conn: Connection) -> None:
    stored = _register(db_conn)
    after = stored.card.replace(data=dataclasses.replace(stored.card.data, phone="+79000000000"))
    persons.save(db_conn, stored, after, _meta("П040", date(2025, 5, 1)))
    with pytest.raises(persons.ConcurrentChange):
        persons.save(db_conn, stored, after, _meta("П040", date(2025, 5, 1)))


def test_change_of_smo_leaves_a_stop_list_entry_for_the_previous_one(db_conn: Connection) -> None:
    stored = _register(db_conn)
    rec = builders.record(
        "П031",
        smo="45002",
        dvizit=date(2025, 9, 1),
        rsmo=2,
        policy=PolicyInput(vpolis=2, npolis="450012345", dbeg=date(2025, 9, 1)),
    )
    t = apply_operation(stored.card, rec, _ctx(db_conn, "45002"))
    persons.save(db_conn, stored, t.after, _meta("П031", t.valid_from, "45002"), t.stop_notices)
    card = persons.load(db_conn, _pid(stored)).card
    assert card.open_period() is not None and card.open_period().smo_code == "45002"  # type: ignore[union-attr]
    entry = db_conn.execute(
        select(stop_list_entry).where(stop_list_entry.c.person_id == card.person_id)
    ).one()
    assert (entry.smo_code, entry.reason, entry.stop_date) == ("45001", 2, date(2025, 9, 1))
    assert (
        db_conn.execute(
            select(func.count()).select_from(person_data).where(person_data.c.person_id == card.person_id)
        ).scalar_one()
        == 1
    )


@pytest.mark.parametrize(
    ("fam", "im", "ot"), [("Соловьёв", "Пётр", "Ильич"), ("ЁЛКИН", "Иван", None), ("Ким", "Ён", "")]
)
def test_name_key_in_python_equals_the_generated_column(
    db_conn: Connection, fam: str, im: str, ot: str | None
) -> None:
    from rserz_soap.db import search

    rec = builders.record(person=builders.person_data(fam=fam, im=im, ot=ot, w=1, ss=None))
    pid = _pid(builders.register_person(db_conn, rec))
    stored = db_conn.execute(
        select(person_data.c.name_key).where(person_data.c.person_id == pid)
    ).scalar_one()
    assert stored == search.name_key(fam, im, ot)
    assert ("ё" not in stored and not stored.endswith(" ")) or ot == ""
    assert search.Search(db_conn).by_name(fam.replace("ё", "е"), im, ot, rec.person.dr) == [pid]
