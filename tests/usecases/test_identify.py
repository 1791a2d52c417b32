"""Identification by every key group, as of a date, through ЕНП aliases, with the result cap; search."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Connection

from rserz_soap.db import persons
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.domain.operations import OperationContext, apply_operation
from rserz_soap.domain.records import PolicyInput
from rserz_soap.usecases import duplicates
from rserz_soap.usecases.identify import (
    BadKey,
    Key,
    SearchTooBroad,
    identify,
    insurance_status,
    person_data,
    search_persons,
)
from tests import builders
from tests.harness import uow


def _person(conn: Connection, n: int, **kw: object):  # type: ignore[no-untyped-def]
    p = builders.person_data(ss=make_snils(300_000_000 + n * 11), **kw)  # type: ignore[arg-type]
    rec = builders.record(
        person=p,
        documents=(builders.passport(docnum=f"{500000 + n:06d}"),),
        policy=PolicyInput(vpolis=2, npolis=f"0{n:08d}", dbeg=date(2025, 3, 3)),
    )
    return builders.register_person(conn, rec)


def _ids(found: object) -> list[int | None]:
    return [c.person_id for c in found.cards]  # type: ignore[attr-defined]


def test_every_key_group_finds_the_person(db_conn: Connection) -> None:
    card = _person(db_conn, 1).card
    doc = card.main_document()
    assert doc is not None and card.enp is not None
    keys = [
        Key(enp=card.enp),
        Key(npolis="000000001"),
        Key(doctype=doc.doctype, docser=doc.docser, docnum=doc.docnum),
        Key(ss=card.data.ss, dr=card.data.dr),
        Key(fam=card.data.fam, im=card.data.im, ot=card.data.ot, dr=card.data.dr),
    ]
    for key in keys:
        assert _ids(identify(uow(db_conn), key)) == [card.person_id], key


@pytest.mark.parametrize(
    "key",
    [
        Key(),
        Key(enp="1" * 16, ss="1" * 11, dr=date(2000, 1, 1)),
        Key(ss="11223344595"),
        Key(fam="Иванов", dr=date(2000, 1, 1)),
        Key(docnum="1"),
    ],
)
def test_a_request_must_name_exactly_one_complete_key(db_conn: Connection, key: Key) -> None:
    with pytest.raises(BadKey):
        identify(uow(db_conn), key)


def test_not_identified_is_an_empty_list(db_conn: Connection) -> None:
    assert identify(uow(db_conn), Key(enp="4554910834000012")).cards == []


def test_state_on_a_date(db_conn: Connection) -> None:
    stored = _person(db_conn, 2)
    ctx = OperationContext("45002", date(2025, 10, 1), lambda dr, w: "")
    rec = builders.record(
        "П032", smo="45002", enp=stored.card.enp, dvizit=date(2025, 9, 1), rsmo=3, policy=None
    )
    t = apply_operation(stored.card, rec, ctx)
    persons.save(db_conn, stored, t.after, persons.VersionMeta("П032", "smo", "45002", t.valid_from))
    key = Key(enp=stored.card.enp)
    before = identify(uow(db_conn), key, on=date(2025, 8, 31)).cards[0]
    after = identify(uow(db_conn), key, on=date(2025, 9, 1)).cards[0]
    assert before.open_period().smo_code == "45001" and after.open_period().smo_code == "45002"  # type: ignore[union-attr]
    status = insurance_status(uow(db_conn), key, date(2025, 3, 10))
    assert status.insured and status.period is not None and status.period.smo_code == "45001"
    assert not insurance_status(uow(db_conn), key, date(2025, 3, 1)).insured  # before the ВС


def test_an_alias_of_a_merged_duplicate_resolves_to_the_survivor(db_conn: Connection) -> None:
    survivor = _person(db_conn, 3).card
    dup = _person(db_conn, 4, fam="Смирнова").card
    assert survivor.person_id is not None and dup.person_id is not None and dup.enp is not None
    duplicates.merge(uow(db_conn), survivor.person_id, dup.person_id, actor="op")
    found = person_data(uow(db_conn), dup.enp)
    assert found is not None and found.person_id == survivor.person_id and found.enp == survivor.enp


def test_the_cap_sets_the_excess_flag(db_conn: Connection) -> None:
    twins = [_person(db_conn, 10 + i, fam="Близнецова").card for i in range(3)]
    key = Key(fam="Близнецова", im=twins[0].data.im, ot=twins[0].data.ot, dr=twins[0].data.dr)
    capped = identify(uow(db_conn), key, limit=2)
    assert len(capped.cards) == 2 and capped.excess
    full = identify(uow(db_conn), key, limit=20)
    assert len(full.cards) == 3 and not full.excess


def test_search_tolerates_typos_and_partial_names(db_conn: Connection) -> None:
    target = _person(db_conn, 20, fam="Ковальчук", im="Ярослава", ot="Игоревна").card
    _person(db_conn, 21, fam="Петренко", im="Ярослава", ot="Игоревна")
    born = {
        "dr_from": target.data.dr.replace(month=1, day=1),
        "dr_to": target.data.dr.replace(month=12, day=31),
    }
    typo = search_persons(uow(db_conn), "Кавальчук", "Ярослава", "Игоревна", **born)
    assert typo.cards and typo.cards[0].person_id == target.person_id
    partial = search_persons(uow(db_conn), "Ковальчук", None, None, **born)
    assert target.person_id in [c.person_id for c in partial.cards]
    dated = search_persons(
        uow(db_conn), "Ковальчук", None, None, dr_from=date(2000, 1, 1), dr_to=date(2001, 1, 1)
    )
    assert target.person_id not in [c.person_id for c in dated.cards]  # born 1985
    paged = search_persons(uow(db_conn), "Ковальчук", None, None, page=2, page_size=1, **born)
    assert paged.total >= 1 and len(paged.cards) == max(0, min(1, paged.total - 1))


def test_a_search_must_name_a_surname_and_a_year_of_birth_at_most(db_conn: Connection) -> None:
    """152-ФЗ: a remote search is for finding a patient, not for browsing the register by a surname."""
    for broad in (
        {"fam": "Ковальчук"},  # no birth date at all
        {"fam": "Ковальчук", "dr_from": date(1980, 1, 1), "dr_to": date(1990, 1, 1)},  # a decade
        {"fam": "К", "dr_from": date(1985, 1, 1), "dr_to": date(1985, 12, 31)},  # a letter
    ):
        with pytest.raises(SearchTooBroad):
            search_persons(uow(db_conn), broad.pop("fam"), None, None, **broad)  # type: ignore[arg-type]


def test_a_person_without_a_policy_is_identified_by_a_former_document_or_snils(db_conn: Connection) -> None:
    """Clinics may be shown an identity document instead of a policy: historical values identify too."""
    from rserz_soap.usecases import manual

    stored = _person(db_conn, 30)
    card = stored.card
    old_doc = card.main_document()
    assert old_doc is not None and card.person_id is not None
    new_doc = builders.passport(docser="45 21", docnum="731030", docdate=date(2025, 6, 1))
    new_ss = make_snils(300_000_000 + 30 * 11 + 7)
    manual.apply_federal(
        uow(db_conn),
        card.person_id,
        {"document": new_doc, "ss": new_ss},
        actor="test",
        reason="замена",
        respect_pins=False,
    )
    by_old_doc = Key(doctype=old_doc.doctype, docser=old_doc.docser, docnum=old_doc.docnum)
    by_old_ss = Key(ss=card.data.ss, dr=card.data.dr)
    for key in (
        by_old_doc,
        by_old_ss,
        Key(doctype=14, docser="45 21", docnum="731030"),
        Key(ss=new_ss, dr=card.data.dr),
    ):
        found = identify(uow(db_conn), key)
        assert _ids(found) == [card.person_id], key
        assert found.cards[0].data.ss == new_ss  # the person as they are now
    assert identify(uow(db_conn), Key(doctype=14, docser="45 21", docnum="000000")).cards == []
