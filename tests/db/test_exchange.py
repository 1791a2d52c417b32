from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import Connection, Engine, select, update

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


def test_rows_met_by_an_outage_are_written_once_postgresql_is_back(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    """The fault suite saw journal and disclosure rows dropped while PostgreSQL restarted."""
    import psycopg
    from sqlalchemy import create_engine, func

    real = fresh_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    gone = f"postgresql://postgres@/x?host={tmp_path}"  # a server that is not there: as during a restart
    down = True
    engine = create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(gone if down else real), pool_pre_ping=True
    )
    writer = exchange.BatchedInsert(engine, exchange_journal, name="test-journal", interval=3600)

    def row() -> dict[str, object]:
        return exchange._row(_rec(None, uuid.uuid4()), False)  # type: ignore[arg-type]

    writer.submit(row())
    writer.submit(row())
    assert writer.flush() == 0 and writer.held == 2  # kept, not dropped
    down = False
    writer.submit(row())
    assert writer.flush() == 3 and writer.held == 0
    with fresh_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(exchange_journal)).scalar_one() == 3
    # a row the server refuses for another reason is not retried forever
    writer.submit({**row(), "direction": "sideways"})
    assert writer.flush() == 0 and writer.held == 0
    engine.dispose()


def test_batched_rows_are_written_exactly_as_submitted(fresh_engine: Engine) -> None:
    """The writers COPY their batches: bodies with every character COPY escapes, NULLs and the disclosure's
    array of person ids come back as they went in."""
    from sqlalchemy import text

    from rserz_soap.db.disclosures import DisclosureWriter

    with fresh_engine.begin() as conn:
        pid = upsert_participant(conn, "mo", "450001", "МО")
    journal = exchange.JournalWriter(fresh_engine, interval=3600)
    nasty = "<r>tab\there new\nline back\\slash cr\r \\N «ФИО»</r>"
    loud, quiet = uuid.uuid4(), uuid.uuid4()
    journal.submit(
        exchange.ExchangeRecord(
            loud,
            "in",
            "identification",
            "getPersonData",
            "ok",
            participant_id=pid,
            request_body=nasty,
            response_body="<a/>",
            duration_ms=7,
        ),
        log_bodies=True,
    )
    journal.submit(_rec(pid, quiet), log_bodies=False)
    assert journal.flush() == 2
    disclosures = DisclosureWriter(fresh_engine, interval=3600)
    disclosures.submit(pid, "getPersonData", loud, [3, 1, 2, 3])
    assert disclosures.flush() == 1
    with fresh_engine.connect() as conn:
        rows = {r.correlation_id: r for r in conn.execute(select(exchange_journal))}
        shown = conn.execute(text("SELECT correlation_id, person_ids FROM disclosure")).all()
    assert rows[loud].request_body == nasty and rows[loud].response_body == "<a/>"
    assert rows[loud].duration_ms == 7 and rows[loud].peer is None and rows[loud].started_at is not None
    assert rows[quiet].request_body is None and rows[quiet].signature_result == "valid"
    assert [(c, list(ids)) for c, ids in shown] == [(loud, [1, 2, 3])]
