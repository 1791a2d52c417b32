"""Identification keys asked for a batch at once answer exactly as the one-key searches do."""

from __future__ import annotations

import dataclasses
from datetime import date

from sqlalchemy import Connection, text

from rserz_soap.db.search import Search
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.domain.records import PolicyInput
from tests import builders

SS = make_snils(411_222_333)
OTHER_SS = make_snils(411_222_334)
DR, DR2 = date(1980, 5, 6), date(1981, 7, 8)


def _person(conn: Connection, n: int, *, npolis: str, ss: str | None, dr: date) -> int:
    person = builders.person_data(fam="Ключева", im="Анна", ss=ss, dr=dr)
    policy = PolicyInput(vpolis=2, npolis=npolis, dbeg=date(2025, 3, 3), dend=date(2025, 4, 14))
    doc = builders.passport(docser="45 01", docnum=f"{600_000 + n}")
    rec = builders.record(person=person, policy=policy, documents=(doc,))
    pid: int = builders.register_person(conn, rec).card.person_id
    return pid


def test_policy_and_snils_keys_of_a_batch_answer_as_one_key_at_a_time(db_conn: Connection) -> None:
    a = _person(db_conn, 1, npolis="450077001", ss=SS, dr=DR)
    b = _person(db_conn, 2, npolis="450077001", ss=SS, dr=DR2)  # the same number; the same СНИЛС, born later
    c = _person(db_conn, 3, npolis="450077002", ss=SS, dr=DR)  # merged into a: never an answer
    d = _person(db_conn, 4, npolis="450077003", ss=OTHER_SS, dr=DR)  # a СНИЛС that is history now
    db_conn.execute(text("UPDATE person SET merged_into = :a WHERE id = :c"), {"a": a, "c": c})
    db_conn.execute(text("UPDATE insurance_period SET spolis = 'ЯЯ' WHERE person_id = :b"), {"b": b})
    db_conn.execute(
        text(
            "UPDATE person_data SET valid_to = DATE '2025-01-01' WHERE person_id = :d AND superseded_at IS NULL"
        ),
        {"d": d},
    )
    search = Search(db_conn)
    policies = [
        ("450077001", None),
        ("450077001", "ЯЯ"),
        ("450077001", ""),
        ("450077001", "ЖЖ"),
        ("450077002", None),
        ("450077003", None),
        ("000000000", None),
    ]
    snils = [(SS, DR), (SS, DR2), (SS, date(1990, 1, 1)), (OTHER_SS, DR), ("00000000000", DR)]

    by_policy, by_snils = search.policy_and_snils_owners(policies, snils)

    assert by_policy == {key: search.by_policy(*key) for key in policies}
    assert by_snils == {key: search.by_snils(*key) for key in snils}
    # and the answers are the ones the cases were made for
    assert by_policy[("450077001", None)] == sorted([a, b])
    assert by_policy[("450077001", "ЯЯ")] == [b]
    assert by_policy[("450077001", "ЖЖ")] == []
    assert by_policy[("450077002", None)] == []  # merged
    assert by_policy[("450077003", None)] == [d]
    assert by_snils[(SS, DR)] == [a]  # c (merged) is not
    assert by_snils[(SS, DR2)] == [b]
    assert by_snils[(OTHER_SS, DR)] == []  # no longer current
    assert search.policy_and_snils_owners([], []) == ({}, {})


def test_resolution_with_prefetched_keys_is_the_resolution_without(db_conn: Connection) -> None:
    from rserz_soap.db.reference import DbReference, NsiCache
    from rserz_soap.usecases.resolve import prefetch_keys, resolve_person

    a = _person(db_conn, 11, npolis="450088001", ss=SS, dr=DR)
    b = _person(db_conn, 12, npolis="450088001", ss=OTHER_SS, dr=DR2)
    unknown_doc = (builders.passport(docser="45 02", docnum="699999"),)
    person = builders.person_data(fam="Ключева", im="Анна", ss=SS, dr=DR)
    records = [
        builders.record(person=person, documents=unknown_doc),  # a ВС no one holds; by СНИЛС: a
        builders.record(  # a policy two persons hold: ambiguous
            person=person,
            documents=unknown_doc,
            policy=PolicyInput(vpolis=2, npolis="450088001", dbeg=date(2025, 3, 3)),
        ),
        builders.record(person=dataclasses.replace(person, ss=OTHER_SS, dr=DR2), documents=unknown_doc),
        builders.record(person=dataclasses.replace(person, ss=None), documents=unknown_doc),  # nobody
    ]
    search = Search(db_conn)
    ref = DbReference(db_conn, builders.OKATO, NsiCache())
    ref.prefetch(records)
    prefetched = prefetch_keys(search, records, ref)
    assert prefetched.policies and prefetched.snils

    with_memo = [resolve_person(search, r, ref, prefetched) for r in records]
    without = [resolve_person(search, r, DbReference(db_conn, builders.OKATO, NsiCache())) for r in records]

    assert with_memo == without
    assert [(r.person_id, r.key, r.ambiguous) for r in with_memo] == [
        (a, "SS", ()),
        (None, "POLIS", tuple(sorted([a, b]))),
        (b, "SS", ()),
        (None, None, ()),
    ]
