"""Duplicate persons against real PostgreSQL: candidate search, merge and its exact undo."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Connection, Table, func, select

from rserz_soap.db import persons
from rserz_soap.db.tables import (
    address,
    attachment,
    change_journal,
    enp_alias,
    identity_document,
    insurance_period,
    person,
    person_data,
    person_merge,
    person_version,
    stop_list_entry,
)
from rserz_soap.domain.duplicates import score
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.domain.operations import OperationContext, apply_operation
from rserz_soap.domain.person import Address, Attachment, Document, PersonCard, PersonData, Status, StopReason
from rserz_soap.domain.records import PolicyInput
from rserz_soap.usecases import duplicates
from rserz_soap.usecases.duplicates import MergeError, find_candidates, merge, unmerge
from tests import builders
from tests.harness import uow

ON = date(2025, 6, 2)
BASE = builders.person_data(
    fam="Черноусова",
    im="Агния",
    ot="Валериановна",
    w=2,
    dr=date(1963, 7, 11),
    mr="с. Верхние Ключи",
    ss=make_snils(402_118_735),
)
DOC = builders.passport(docser="45 07", docnum="318274", docdate=date(2008, 8, 1))
HOME = builders.address_g(settlement="г. Тихоборск", street="ул. Кленовая", house="17", flat="4")
ELSEWHERE = builders.address_g(settlement="г. Лесоречье", street="ул. Береговая", house="2", flat="9")
BIRTH_CERTIFICATE = builders.passport(doctype=3, docser="II-ЖА", docnum="512345")
HISTORY_TABLES = (person_data, identity_document, address, insurance_period, attachment, person_version)


def _stranger(**kw: Any) -> PersonData:
    """Data sharing nothing with BASE but what the caller passes."""
    base = builders.person_data(
        fam="Гладышев", im="Ростислав", ot="Евгеньевич", w=1, dr=date(1971, 2, 3), mr="г. Звездоград", ss=None
    )
    return dataclasses.replace(base, **kw)


def register(
    conn: Connection,
    data: PersonData = BASE,
    *,
    documents: tuple[Document, ...] = (DOC,),
    home: Address = HOME,
    smo: str = "45001",
    npolis: str = "450070001",
) -> PersonCard:
    policy = PolicyInput(vpolis=2, npolis=npolis, dbeg=date(2025, 3, 3), dend=date(2025, 4, 14))
    rec = dataclasses.replace(
        builders.record(person=data, documents=documents, smo=smo, policy=policy), address_g=home
    )
    ctx = OperationContext(
        smo, date(2025, 3, 3), lambda dr, w: persons.allocate_enp(conn, builders.REGION, dr, w)
    )
    t = apply_operation(None, rec, ctx)
    meta = persons.VersionMeta("П010", "smo", smo, t.valid_from, actor="test")
    saved = persons.save(conn, None, t.after, meta)
    return persons.load(conn, saved.person_id).card


def _pid(card: PersonCard) -> int:
    assert card.person_id is not None
    return card.person_id


def _enp(card: PersonCard) -> str:
    assert card.enp is not None
    return card.enp


def _load(conn: Connection, card: PersonCard) -> PersonCard:
    return persons.load(conn, _pid(card)).card


def _counts(conn: Connection, *cards: PersonCard) -> dict[str, int]:
    ids = [_pid(c) for c in cards]
    return {
        t.name: int(
            conn.execute(select(func.count()).select_from(t).where(t.c.person_id.in_(ids))).scalar_one()
        )
        for t in HISTORY_TABLES
    }


def _merged_into(conn: Connection, card: PersonCard) -> int | None:
    query = select(person.c.merged_into).where(person.c.id == _pid(card))
    found: int | None = conn.execute(query).scalar_one()
    return found


def _with_attachment(conn: Connection, card: PersonCard, a: Attachment) -> PersonCard:
    stored = persons.load(conn, _pid(card), for_update=True)
    after = stored.card.replace(attachments=stored.card.attachments | {a})
    persons.save(conn, stored, after, persons.VersionMeta("ATTACH", "mo", a.mo_code, a.date_in, actor="test"))
    return _load(conn, card)


# --- candidates -------------------------------------------------------------------------------------------


def test_candidate_search_finds_a_planted_near_duplicate_for_each_key(db_conn: Connection) -> None:
    base = register(db_conn)
    other_doc = (builders.passport(docser="45 11", docnum="905512"),)
    surname_typo = register(
        db_conn, dataclasses.replace(BASE, fam="Черноусвоа", ss=None), documents=other_doc, home=ELSEWHERE
    )
    swapped_doc = register(
        db_conn, _stranger(w=2), documents=(dataclasses.replace(DOC, docnum="381274"),), home=ELSEWHERE
    )
    same_snils = register(db_conn, _stranger(ss=BASE.ss, w=2), documents=(), home=ELSEWHERE)
    same_day_and_home = register(db_conn, _stranger(fam="Кравец", im="Агния", w=2, dr=BASE.dr), documents=())
    year_typo = register(
        db_conn, dataclasses.replace(BASE, dr=date(1964, 7, 11), ss=None), documents=(), home=ELSEWHERE
    )
    day_month_swapped = register(
        db_conn, dataclasses.replace(BASE, dr=date(1963, 11, 7), ss=None), documents=(), home=ELSEWHERE
    )
    unrelated = register(db_conn, _stranger(), documents=other_doc, home=ELSEWHERE)

    found = {c.person_id: c.score for c in find_candidates(uow(db_conn), base)}

    expected = {
        surname_typo: "name_birth_place",
        swapped_doc: "document",
        same_snils: "snils",
        same_day_and_home: "birth_address",
        year_typo: "name_birth_place",
        day_month_swapped: "name_birth_place",
    }
    for planted, key in expected.items():
        assert _pid(planted) in found, key
        assert key in found[_pid(planted)].matched
    assert any("переставлены" in r for r in found[_pid(swapped_doc)].keys[0].reasons)
    assert _pid(base) not in found
    assert _pid(unrelated) not in found
    assert score(base, unrelated).total < 0.2
    ranked = [c.person_id for c in find_candidates(uow(db_conn), base)]
    assert ranked.index(_pid(same_snils)) < ranked.index(_pid(same_day_and_home))  # 0.8 before 0.55


def test_the_gathering_statement_finds_exactly_what_its_searches_find_one_by_one(db_conn: Connection) -> None:
    """The key searches and the same-day names go to the database as one statement (``Search.any_of``):
    it must find the union of what each search finds on its own, no more and no less."""
    from rserz_soap.db.search import Search
    from rserz_soap.domain.duplicates import swapped_variants

    base = register(db_conn)
    swapped_doc = register(
        db_conn, _stranger(w=2), documents=(dataclasses.replace(DOC, docnum="381274"),), home=ELSEWHERE
    )
    same_snils = register(db_conn, _stranger(ss=BASE.ss, w=2), documents=(), home=ELSEWHERE)
    same_day = register(db_conn, dataclasses.replace(BASE, fam="Черноусвоа", ss=None), documents=())
    register(db_conn, _stranger(), documents=(builders.passport(docser="45 11", docnum="905512"),))
    search = Search(db_conn)
    doctype, series, number = DOC.key
    variants = sorted({(series, number), *((series, n) for n in swapped_variants(number))})
    name = {"dr": BASE.dr, "threshold": 0.35, "limit": 200, "include_history": True}
    one_by_one = set(search.by_snils(BASE.ss or "", include_history=True))
    for s, n in variants:
        one_by_one |= set(search.by_document(doctype, s or None, n, include_history=True))
    one_by_one |= {m.person_id for m in search.fuzzy_by_name(BASE.fam, BASE.im, BASE.ot, **name)}  # type: ignore[arg-type]
    lookups = [search.snils_lookup(BASE.ss or "", include_history=True, tag="_ss")]
    lookups += [
        search.document_lookup(doctype, s or None, n, include_history=True, tag=f"_{j}")
        for j, (s, n) in enumerate(variants)
    ]
    lookups.append(search.name_lookup(BASE.fam, BASE.im, BASE.ot, tag="_name", **name))  # type: ignore[arg-type]

    together = search.any_of(lookups)

    assert together == one_by_one
    assert {_pid(base), _pid(swapped_doc), _pid(same_snils), _pid(same_day)} <= together
    assert len(together) == 4  # the stranger with another document and name is not gathered
    with uow(db_conn) as work:
        assert duplicates._gather(work, base, thorough=False) == together
    assert search.any_of([]) == set()
    with pytest.raises(ValueError, match="tag"):
        search.any_of([search.snils_lookup("1"), search.snils_lookup("2")])


def test_candidates_are_capped_and_filtered_by_score(db_conn: Connection) -> None:
    base = register(db_conn)
    register(db_conn, dataclasses.replace(BASE, fam="Черноусвоа", ss=None), documents=(), home=ELSEWHERE)
    register(db_conn, _stranger(ss=BASE.ss, w=2), documents=(), home=ELSEWHERE)
    everything = find_candidates(uow(db_conn), base, min_score=0.0)
    assert len(find_candidates(uow(db_conn), base, limit=1)) == 1
    assert all(c.score.total >= 0.75 for c in find_candidates(uow(db_conn), base, min_score=0.75))
    assert [c.score.total for c in everything] == sorted((c.score.total for c in everything), reverse=True)


def test_an_unregistered_card_can_be_checked_before_it_is_stored(db_conn: Connection) -> None:
    base = register(db_conn)
    incoming = PersonCard(data=dataclasses.replace(BASE, fam="ЧЕРНОУСОВА"), documents=frozenset({DOC}))
    found = find_candidates(uow(db_conn), incoming)
    assert found and found[0].person_id == _pid(base) and found[0].score.total > 0.99


def test_merged_persons_are_never_candidates(db_conn: Connection) -> None:
    survivor = register(db_conn)
    duplicate = register(db_conn, dataclasses.replace(BASE, fam="Черноусвоа"), npolis="450070002")
    assert _pid(duplicate) in {c.person_id for c in find_candidates(uow(db_conn), survivor)}
    merge(uow(db_conn), _pid(survivor), _pid(duplicate), actor="op1", on=ON)
    assert _pid(duplicate) not in {
        c.person_id for c in find_candidates(uow(db_conn), _load(db_conn, survivor))
    }


# --- merge ------------------------------------------------------------------------------------------------


def test_merge_makes_both_enp_resolve_to_the_survivor_and_stops_the_duplicate(db_conn: Connection) -> None:
    survivor = register(db_conn, smo="45001")
    duplicate = register(
        db_conn, dataclasses.replace(BASE, fam="Черноусвоа"), smo="45002", npolis="450070002"
    )
    before = _counts(db_conn, survivor, duplicate)

    result = merge(uow(db_conn), _pid(survivor), _pid(duplicate), actor="op1", reason="одно лицо", on=ON)

    assert persons.find_by_enp(db_conn, _enp(survivor)) == _pid(survivor)
    assert persons.find_by_enp(db_conn, _enp(duplicate)) == _pid(survivor)
    assert result.moved_enps == (_enp(duplicate),)
    kept = _load(db_conn, survivor)
    assert kept.insurance == survivor.insurance and kept.status is Status.INSURED
    assert _enp(duplicate) in kept.aliases
    gone = _load(db_conn, duplicate)
    assert gone.status is Status.MERGED and _merged_into(db_conn, duplicate) == _pid(survivor)
    (period,) = gone.insurance
    assert (period.dstop, period.stop_reason) == (ON, StopReason.DUPLICATE) and gone.open_period() is None
    entry = db_conn.execute(
        select(stop_list_entry).where(stop_list_entry.c.person_id == _pid(duplicate))
    ).one()
    assert (entry.smo_code, entry.reason, entry.stop_date, entry.enp) == ("45002", 5, ON, _enp(duplicate))
    assert entry.version_id == result.merged_version.version_id
    row = db_conn.execute(select(person_merge).where(person_merge.c.id == result.merge_id)).one()
    assert (row.survivor_id, row.merged_id, row.actor, row.reason) == (
        _pid(survivor),
        _pid(duplicate),
        "op1",
        "одно лицо",
    )
    assert (row.survivor_version_id, row.merged_version_id) == (
        result.survivor_version.version_id,
        result.merged_version.version_id,
    )
    ids = [row.survivor_version_id, row.merged_version_id]
    versions = db_conn.execute(
        select(
            person_version.c.operation,
            person_version.c.source_kind,
            person_version.c.source_code,
            person_version.c.actor,
        ).where(person_version.c.id.in_(ids))
    )
    assert set(versions) == {("MERGE", "tfoms", "operator", "op1")}
    after = _counts(db_conn, survivor, duplicate)
    assert all(after[t] >= before[t] for t in before), (before, after)
    old = db_conn.execute(
        select(insurance_period.c.superseded_by, insurance_period.c.dstop).where(
            insurance_period.c.person_id == _pid(duplicate), insurance_period.c.superseded_at.is_not(None)
        )
    ).one()
    assert (old.superseded_by, old.dstop) == (result.merged_version.version_id, None)  # kept, not deleted
    journal = (
        db_conn.execute(
            select(change_journal.c.operation).where(
                change_journal.c.version_id.in_([row.survivor_version_id, row.merged_version_id])
            )
        )
        .scalars()
        .all()
    )
    assert journal == ["MERGE", "MERGE"]


def test_no_stop_list_entry_when_both_are_insured_by_the_same_smo(db_conn: Connection) -> None:
    survivor = register(db_conn)
    duplicate = register(db_conn, dataclasses.replace(BASE, fam="Черноусвоа"), npolis="450070002")
    result = merge(uow(db_conn), _pid(survivor), _pid(duplicate), actor="op1", on=ON)
    assert result.stop_notices == ()
    assert (
        db_conn.execute(
            select(func.count())
            .select_from(stop_list_entry)
            .where(stop_list_entry.c.person_id == _pid(duplicate))
        ).scalar_one()
        == 0
    )
    assert _load(db_conn, duplicate).open_period() is None


def test_unmerge_restores_the_alias_mapping_and_the_duplicates_insurance(db_conn: Connection) -> None:
    survivor = register(db_conn, dataclasses.replace(BASE, ss=None), smo="45001")
    duplicate = register(
        db_conn,
        dataclasses.replace(BASE, fam="Черноусвоа"),
        smo="45002",
        npolis="450070002",
        documents=(DOC, BIRTH_CERTIFICATE),
    )
    merged = merge(uow(db_conn), _pid(survivor), _pid(duplicate), actor="op1", on=ON)
    assert merged.taken_over == ("СНИЛС " + str(BASE.ss), "документ 3 II-ЖА 512345")
    assert _load(db_conn, survivor).data.ss == BASE.ss
    before = _counts(db_conn, survivor, duplicate)

    result = unmerge(uow(db_conn), merged.merge_id, actor="op2", reason="разные лица", on=date(2025, 6, 10))

    assert persons.find_by_enp(db_conn, _enp(duplicate)) == _pid(duplicate)
    assert persons.find_by_enp(db_conn, _enp(survivor)) == _pid(survivor)
    alias = db_conn.execute(select(enp_alias).where(enp_alias.c.enp == _enp(duplicate))).one()
    assert (alias.person_id, alias.is_main) == (_pid(duplicate), True)
    restored = _load(db_conn, duplicate)
    assert restored.insurance == duplicate.insurance and restored.open_period() is not None
    assert restored.status is Status.INSURED and result.status is Status.INSURED
    assert restored.data == duplicate.data and restored.documents == duplicate.documents
    assert result.reopened_periods == tuple(duplicate.insurance)
    assert _merged_into(db_conn, duplicate) is None
    kept = _load(db_conn, survivor)
    assert kept.data.ss is None and kept.documents == survivor.documents and kept.aliases == frozenset()
    row = db_conn.execute(select(person_merge).where(person_merge.c.id == merged.merge_id)).one()
    assert row.unmerged_at is not None and row.unmerged_by == "op2"
    after = _counts(db_conn, survivor, duplicate)
    assert all(after[t] >= before[t] for t in before)
    # the closed period stays in history next to the reopened one
    periods = db_conn.execute(
        select(insurance_period.c.dstop, insurance_period.c.superseded_at.is_(None))
        .where(insurance_period.c.person_id == _pid(duplicate))
        .order_by(insurance_period.c.id)
    ).all()
    assert [tuple(p) for p in periods] == [(None, False), (ON, False), (None, True)]


def test_attachments_of_the_duplicate_are_closed_taken_over_and_given_back(db_conn: Connection) -> None:
    survivor = register(db_conn)
    duplicate = register(db_conn, dataclasses.replace(BASE, fam="Черноусвоа"), npolis="450070002")
    therapist = Attachment("450001", 1, date(2024, 1, 10), 1)
    dentist = Attachment("450002", 2, date(2024, 2, 1), 1)
    survivor = _with_attachment(db_conn, survivor, dataclasses.replace(therapist, mo_code="450003"))
    duplicate = _with_attachment(db_conn, duplicate, therapist)
    duplicate = _with_attachment(db_conn, duplicate, dentist)

    result = merge(uow(db_conn), _pid(survivor), _pid(duplicate), actor="op1", on=ON)

    gone = _load(db_conn, duplicate)
    assert gone.active_attachments(ON) == [] and {a.date_out for a in gone.attachments} == {ON}
    kept = _load(db_conn, survivor)
    assert {(a.mo_code, a.area_type) for a in kept.active_attachments(ON)} == {("450003", 1), ("450002", 2)}
    assert any("450002" in t for t in result.taken_over)

    unmerge(uow(db_conn), result.merge_id, actor="op1", on=ON)

    assert _load(db_conn, duplicate).attachments == duplicate.attachments
    assert _load(db_conn, survivor).attachments == survivor.attachments


def test_self_merge_is_refused(db_conn: Connection) -> None:
    survivor = register(db_conn)
    with pytest.raises(MergeError) as err:
        merge(uow(db_conn), _pid(survivor), _pid(survivor), actor="op1")
    assert err.value.code == duplicates.SELF_MERGE


def test_merging_twice_is_refused(db_conn: Connection) -> None:
    survivor = register(db_conn)
    duplicate = register(db_conn, dataclasses.replace(BASE, fam="Черноусвоа"), npolis="450070002")
    third = register(db_conn, dataclasses.replace(BASE, im="Агниа"), npolis="450070003")
    merge(uow(db_conn), _pid(survivor), _pid(duplicate), actor="op1", on=ON)
    for a, b in ((survivor, duplicate), (third, duplicate), (duplicate, third)):
        with pytest.raises(MergeError) as err:
            merge(uow(db_conn), _pid(a), _pid(b), actor="op1", on=ON)
        assert err.value.code == duplicates.ALREADY_MERGED


def test_an_undone_merge_cannot_be_undone_again(db_conn: Connection) -> None:
    survivor = register(db_conn)
    duplicate = register(db_conn, dataclasses.replace(BASE, fam="Черноусвоа"), npolis="450070002")
    result = merge(uow(db_conn), _pid(survivor), _pid(duplicate), actor="op1", on=ON)
    unmerge(uow(db_conn), result.merge_id, actor="op1", on=ON)
    with pytest.raises(MergeError) as err:
        unmerge(uow(db_conn), result.merge_id, actor="op1", on=ON)
    assert err.value.code == duplicates.ALREADY_UNMERGED
    with pytest.raises(MergeError) as unknown:
        unmerge(uow(db_conn), -1, actor="op1")
    assert unknown.value.code == duplicates.UNKNOWN_MERGE
    # the pair may be merged again once the first merge is undone
    again = merge(uow(db_conn), _pid(survivor), _pid(duplicate), actor="op1", on=ON)
    assert again.merge_id != result.merge_id


def test_a_survivor_without_insurance_cannot_absorb_an_insured_duplicate(db_conn: Connection) -> None:
    survivor = register(db_conn)
    duplicate = register(db_conn, dataclasses.replace(BASE, fam="Черноусвоа"), npolis="450070002")
    stored = persons.load(db_conn, _pid(survivor), for_update=True)
    (period,) = stored.card.insurance
    stopped = stored.card.with_periods([period.stopped(date(2025, 5, 1), StopReason.OTHER)])
    persons.save(db_conn, stored, stopped, persons.VersionMeta("П021", "smo", "45001", date(2025, 5, 1)))
    with pytest.raises(MergeError) as err:
        merge(uow(db_conn), _pid(survivor), _pid(duplicate), actor="op1", on=ON)
    assert err.value.code == duplicates.SURVIVOR_NOT_INSURED
    assert _load(db_conn, duplicate).status is Status.INSURED  # nothing written


def test_chained_merges_undo_like_a_stack(db_conn: Connection) -> None:
    a = register(db_conn)
    b = register(db_conn, dataclasses.replace(BASE, fam="Черноусвоа"), npolis="450070002")
    c = register(db_conn, dataclasses.replace(BASE, im="Агниа"), npolis="450070003")
    first = merge(uow(db_conn), _pid(a), _pid(b), actor="op1", on=ON)
    second = merge(uow(db_conn), _pid(c), _pid(a), actor="op1", on=ON)
    assert {persons.find_by_enp(db_conn, _enp(x)) for x in (a, b, c)} == {_pid(c)}
    assert set(second.moved_enps) == {_enp(a), _enp(b)}

    with pytest.raises(MergeError) as err:
        unmerge(uow(db_conn), first.merge_id, actor="op1", on=ON)
    assert err.value.code == duplicates.MERGE_OVERTAKEN

    unmerge(uow(db_conn), second.merge_id, actor="op1", on=ON)
    assert persons.find_by_enp(db_conn, _enp(a)) == _pid(a)
    assert persons.find_by_enp(db_conn, _enp(b)) == _pid(a)  # still merged into a
    unmerge(uow(db_conn), first.merge_id, actor="op1", on=ON)
    assert [persons.find_by_enp(db_conn, _enp(x)) for x in (a, b, c)] == [_pid(a), _pid(b), _pid(c)]
    assert _load(db_conn, b).status is Status.INSURED and _load(db_conn, a).status is Status.INSURED


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_refused_merge_writes_nothing(db_conn: Connection) -> None:
    survivor = register(db_conn)
    before = {t.name: _count(db_conn, t) for t in (person_version, person_merge, enp_alias)}
    with pytest.raises(MergeError):
        merge(uow(db_conn), _pid(survivor), _pid(survivor), actor="op1")
    assert {t.name: _count(db_conn, t) for t in (person_version, person_merge, enp_alias)} == before
