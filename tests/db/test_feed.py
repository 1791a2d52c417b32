"""The changes feed never lets a reader pass a change that commits late."""

from __future__ import annotations

from sqlalchemy import Engine, text

from rserz_soap.db import feed
from tests import builders


def _journal(conn, person_id: int, operation: str) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text("INSERT INTO change_journal (person_id, operation, smo_code) VALUES (:p, :o, '45001')"),
        {"p": person_id, "o": operation},
    )


def _publish_and_read(engine: Engine, after: int) -> list[str]:
    with engine.begin() as conn:
        feed.publish(conn)
    with engine.connect() as conn:
        entries, _more = feed.read(conn, after, 100, kind="iszl", code="iszl")
    return [e.operation for e in entries]


def test_a_late_commit_with_a_smaller_seq_is_not_skipped(fresh_engine: Engine) -> None:
    with fresh_engine.begin() as conn:
        pid = builders.register_person(conn).card.person_id
    start = _publish_and_read(fresh_engine, 0)
    assert start == ["П010"]
    cursor = 1
    slow = fresh_engine.connect()
    tx = slow.begin()
    _journal(slow, pid, "SLOW")  # takes the smaller seq, commits last
    with fresh_engine.begin() as fast:
        _journal(fast, pid, "FAST")
    # the fast change is committed, but publishing it now would let a reader pass SLOW's seq
    assert _publish_and_read(fresh_engine, cursor) == []
    tx.commit()
    slow.close()
    assert _publish_and_read(fresh_engine, cursor) == ["SLOW", "FAST"]


def test_visibility_by_caller(fresh_engine: Engine) -> None:
    with fresh_engine.begin() as conn:
        pid = builders.register_person(conn).card.person_id
        conn.execute(
            text("UPDATE change_journal SET mo_codes = '450001 450007' WHERE person_id = :p"), {"p": pid}
        )
        assert feed.publish(conn) == 0  # its own transaction is not over: nothing of it is published
    with fresh_engine.begin() as conn:
        assert feed.publish(conn) == 1
    with fresh_engine.connect() as conn:
        assert len(feed.read(conn, 0, 10, kind="smo", code="45001")[0]) == 1
        assert feed.read(conn, 0, 10, kind="smo", code="45002")[0] == []
        assert len(feed.read(conn, 0, 10, kind="mo", code="450007")[0]) == 1
        assert feed.read(conn, 0, 10, kind="mo", code="45000")[0] == []
        entries, more = feed.read(conn, 0, 1, kind="iszl", code="iszl")
        assert len(entries) == 1 and not more
