from __future__ import annotations

import uuid

from sqlalchemy import Connection, select, update

from rserz_soap.db import exchange
from rserz_soap.db.participants import upsert_participant
from rserz_soap.db.tables import exchange_journal, participant


def _rec(pid: int, corr: uuid.UUID) -> exchange.ExchangeRecord:
    return exchange.ExchangeRecord(
        corr,
        "in",
        "identification",
        "getPersonData",
        "ok",
        participant_id=pid,
        signature_result="valid",
        duration_ms=3,
        request_body="<r>ФИО</r>",
        response_body="<a/>",
    )


def test_bodies_are_kept_only_where_enabled(db_conn: Connection) -> None:
    pid = upsert_participant(db_conn, "mo", "450001", "МО")
    quiet, loud = uuid.uuid4(), uuid.uuid4()
    exchange.record(db_conn, _rec(pid, quiet))
    db_conn.execute(update(participant).where(participant.c.id == pid).values(log_bodies=True))
    exchange.record(db_conn, _rec(pid, loud))
    rows = {r.correlation_id: r for r in db_conn.execute(select(exchange_journal))}
    assert rows[quiet].request_body is None and rows[quiet].response_body is None
    assert rows[loud].request_body == "<r>ФИО</r>"
    assert rows[quiet].signature_result == "valid" and rows[quiet].operation == "getPersonData"
