"""The buffer's batch settle: one statement writes every entry's state, result and person, as each alone."""

from __future__ import annotations

from sqlalchemy import Connection, text

from rserz_soap.db.buffer import BufferEntries, Settlement
from rserz_soap.domain.buffer import RecordResult, State, Submitter, Trail
from tests import builders


def test_a_batch_settles_each_entry_with_its_own_result_person_and_trail(fresh_conn: Connection) -> None:
    participant = fresh_conn.execute(
        text(
            "INSERT INTO participant (kind, code, name) VALUES ('smo', '45993', 'СМО проверки')"
            " ON CONFLICT (kind, code) DO UPDATE SET name = excluded.name RETURNING id"
        )
    ).scalar_one()
    person_id = builders.register_person(fresh_conn).card.person_id
    buffer = BufferEntries(fresh_conn)
    batch = buffer.add(
        Submitter(participant, "smo", "45993"),
        [builders.record(n_rec=1), builders.record(n_rec=2), builders.record(n_rec=3)],
        request_id=None,
        batch_ref="b",
    )
    applied, refused, untouched = batch.entry_ids
    fresh_conn.execute(
        text("UPDATE buffer_entry SET person_id = :p WHERE id = :i"), {"p": person_id, "i": refused}
    )
    ok = RecordResult(applied, 1, None, State.APPLIED, "AA", "Запись принята «кавычки» \"и\" \\ слэш", person_id,
                      "4599999999999999", {"npolis": "1", "dbeg": "2025-03-03"})  # fmt: skip
    no = RecordResult(refused, 2, "r-2", State.REJECTED, "AE", "119 Дата", None, None, None,
                      ({"code": "119", "comment": "Дата"},), ("конфликт",))  # fmt: skip
    moved, rejected = Trail(applied, State.RECEIVED), Trail(refused, State.RECEIVED)
    moved.move(State.CHECKED, "flk", None)
    moved.move(State.ACCEPTED, "auto", None)
    moved.move(State.APPLIED, "auto", None)
    rejected.move(State.REJECTED, "flk", None)

    buffer.settle([Settlement(ok, moved), Settlement(no, rejected, reject_reason="119 Дата")])

    assert buffer.results([applied, refused, untouched]) == [
        ok,
        no,
        RecordResult(untouched, 3, None, State.RECEIVED, None, "Запись получена"),
    ]
    people: dict[int, int | None] = dict(
        fresh_conn.execute(
            text("SELECT id, person_id FROM buffer_entry WHERE id = ANY(:i)"), {"i": list(batch.entry_ids)}
        ).all()
    )
    assert people == {applied: person_id, refused: person_id, untouched: None}  # none given: kept
    assert [(t.to_state, t.reason) for t in buffer.trail(refused)] == [
        ("received", "b"),
        ("rejected", "119 Дата"),
    ]
    assert [t.to_state for t in buffer.trail(applied)] == ["received", "checked", "accepted", "applied"]
    buffer.settle([])
