"""The federal outbox's batch statements: each entry's row ends as the single-entry update left it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from rserz_soap.db.federal import FederalPushes, NewPush, PushAnswer
from rserz_soap.domain.codec import encode
from rserz_soap.domain.person import PersonCard
from tests import builders


def _entries(conn: Connection, n: int) -> list[int]:
    participant = conn.execute(
        text(
            "INSERT INTO participant (kind, code, name) VALUES ('smo', '45992', 'СМО проверки')"
            " ON CONFLICT (kind, code) DO UPDATE SET name = excluded.name RETURNING id"
        )
    ).scalar_one()
    return [
        int(
            conn.execute(
                text(
                    "INSERT INTO buffer_entry (participant_id, batch_id, n_rec, tip_op, payload, state)"
                    " VALUES (:p, :b, :n, 'П010', '{}', 'awaiting_federal') RETURNING id"
                ),
                {"p": participant, "b": uuid.uuid4(), "n": i + 1},
            ).scalar_one()
        )
        for i in range(n)
    ]


def _card(fam: str) -> PersonCard:
    return PersonCard(data=builders.person_data(fam=fam), documents=frozenset({builders.passport()}))


def _rows(conn: Connection, ids: list[int]) -> dict[int, Any]:
    rows = conn.execute(
        text(
            "SELECT entry_id, state, federal_code, federal_text, last_error, answered_at IS NOT NULL AS answered,"
            " enp, attempts, card FROM federal_push WHERE entry_id = ANY(:ids)"
        ),
        {"ids": ids},
    ).all()
    return {r.entry_id: r for r in rows}


def test_a_batch_of_answers_accepts_rejects_and_keeps_or_replaces_the_enp(fresh_conn: Connection) -> None:
    formed, kept, refused, silent, untouched = ids = _entries(fresh_conn, 5)
    pushes = FederalPushes(fresh_conn)
    pushes.add(
        [NewPush(i, "П010", date(2025, 3, 3), _card("Пушкова"), "4599999999999999", None) for i in ids]
    )
    fresh_conn.execute(
        text("UPDATE federal_push SET last_error = 'ФЕРЗЛ down' WHERE entry_id = ANY(:i)"), {"i": ids}
    )

    pushes.answered(
        [
            PushAnswer(formed, True, None, None, enp="4511111111111111"),
            PushAnswer(kept, True, None, ""),  # accepted, no ЕНП formed: the row's ЕНП stays
            PushAnswer(refused, False, "409.39.5", "ДУДЛ принадлежит другому лицу"),
            PushAnswer(silent, False, "500", ""),  # an empty text is kept as NULL
        ]
    )

    rows = _rows(fresh_conn, ids)
    got = {
        i: (r.state, r.federal_code, r.federal_text, r.last_error, r.answered, r.enp) for i, r in rows.items()
    }
    assert got == {
        formed: ("accepted", None, None, None, True, "4511111111111111"),
        kept: ("accepted", None, None, None, True, "4599999999999999"),
        refused: ("rejected", "409.39.5", "ДУДЛ принадлежит другому лицу", None, True, "4599999999999999"),
        silent: ("rejected", "500", None, None, True, "4599999999999999"),
        untouched: ("pending", None, None, "ФЕРЗЛ down", False, "4599999999999999"),
    }
    pushes.answered([])  # nothing to write: no statement, no error


def test_a_batch_of_prepared_cards_replaces_each_card_and_counts_an_attempt(fresh_conn: Connection) -> None:
    first, second, untouched = ids = _entries(fresh_conn, 3)
    pushes = FederalPushes(fresh_conn)
    pushes.add([NewPush(i, "П010", date(2025, 3, 3), _card("Прежняя"), None, None) for i in ids])

    pushes.prepared([(first, _card("Первая")), (second, _card("Вторая"))])
    pushes.prepared([(first, _card("Первая снова"))])

    rows = _rows(fresh_conn, ids)
    assert {i: (r.attempts, r.card) for i, r in rows.items()} == {
        first: (2, encode(_card("Первая снова"))),
        second: (1, encode(_card("Вторая"))),
        untouched: (0, encode(_card("Прежняя"))),
    }
    pushes.prepared([])


def test_adding_pushes_writes_each_row_once_with_a_request_id_of_its_own(fresh_conn: Connection) -> None:
    new_person, known = ids = _entries(fresh_conn, 2)
    person_id = builders.register_person(fresh_conn).card.person_id
    pushes = FederalPushes(fresh_conn)
    pushes.add(
        [
            NewPush(new_person, "П010", date(2025, 3, 3), _card("Новая"), None, None),
            NewPush(known, "П040", date(2025, 4, 1), _card("Известная"), "4599999999999999", person_id),
        ]
    )
    first = {
        r.entry_id: r
        for r in fresh_conn.execute(
            text(
                "SELECT entry_id, request_id, operation, change_date, card, enp, person_id, state, attempts"
                " FROM federal_push WHERE entry_id = ANY(:ids)"
            ),
            {"ids": ids},
        )
    }
    assert {i: (r.operation, r.change_date, r.card, r.enp, r.person_id, r.state, r.attempts)
            for i, r in first.items()} == {
        new_person: ("П010", date(2025, 3, 3), encode(_card("Новая")), None, None, "pending", 0),
        known: ("П040", date(2025, 4, 1), encode(_card("Известная")), "4599999999999999", person_id, "pending", 0),
    }  # fmt: skip
    assert isinstance(first[known].request_id, uuid.UUID)
    assert first[new_person].request_id != first[known].request_id

    pushes.add(
        [NewPush(known, "П040", date(2025, 5, 5), _card("Другая"), None, None)]
    )  # a repeat: kept as it was
    again = fresh_conn.execute(
        text("SELECT request_id, change_date, enp FROM federal_push WHERE entry_id = :i"), {"i": known}
    ).one()
    assert tuple(again) == (first[known].request_id, date(2025, 4, 1), "4599999999999999")
    pushes.add([])
