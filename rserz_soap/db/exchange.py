"""The exchange journal: one row per inbound request and per outbound call (ФЕРЗЛ, СМЭВ).

Bodies hold personal data (152-ФЗ): they are stored only for participants whose ``log_bodies`` is on.

The SOAP endpoint writes its rows off the request path (:class:`JournalWriter`): rows are queued and
inserted in batches by a thread, at least every ``interval`` seconds, in one multi-row INSERT; a stopping
worker flushes what is left. What a crash can lose is the last fraction of a second of journal rows —
never a change to the register, which the use cases commit before answering.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from rserz_soap.db.tables import exchange_journal, participant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExchangeRecord:
    correlation_id: uuid.UUID
    direction: str  # "in" | "out"
    service: str
    operation: str
    outcome: str  # ok | fault | error
    participant_id: int | None = None
    peer: str | None = None
    request_id: uuid.UUID | None = None
    signature_result: str | None = None
    error_code: str | None = None
    duration_ms: int | None = None
    request_body: str | None = None
    response_body: str | None = None


def log_bodies_for(conn: Connection, participant_id: int | None) -> bool:
    if participant_id is None:
        return False
    return bool(
        conn.execute(select(participant.c.log_bodies).where(participant.c.id == participant_id)).scalar()
    )


def _row(rec: ExchangeRecord, keep_bodies: bool) -> dict[str, Any]:
    return {
        "correlation_id": rec.correlation_id,
        "direction": rec.direction,
        "participant_id": rec.participant_id,
        "peer": rec.peer,
        "service": rec.service,
        "operation": rec.operation,
        "request_id": rec.request_id,
        "signature_result": rec.signature_result,
        "outcome": rec.outcome,
        "error_code": rec.error_code,
        "duration_ms": rec.duration_ms,
        "request_body": rec.request_body if keep_bodies else None,
        "response_body": rec.response_body if keep_bodies else None,
    }


def record(conn: Connection, rec: ExchangeRecord, *, log_bodies: bool | None = None) -> None:
    """Journal one exchange; bodies are dropped unless body logging is enabled for the participant.

    ``log_bodies`` is the participant's setting when the caller already knows it (the SOAP gate caches
    participants), saving a query per request.
    """
    keep = log_bodies_for(conn, rec.participant_id) if log_bodies is None else log_bodies
    conn.execute(insert(exchange_journal).values(**_row(rec, keep)))


def record_call(engine: Engine, rec: ExchangeRecord) -> None:
    """Journal one outbound call now, in a transaction of its own, never failing the call it describes."""
    try:
        with engine.begin() as conn:
            record(conn, rec, log_bodies=False)
    except Exception:
        log.exception("could not journal the outbound call %s", rec.operation)


class BatchedInsert:
    """Rows of one table written off the request path: queued, inserted by a thread in multi-row INSERTs
    at least every ``interval`` seconds; a stopping process flushes what is left."""

    def __init__(
        self, engine: Engine, table: Any, *, name: str, interval: float = 0.2, max_batch: int = 500
    ) -> None:
        self._engine = engine
        self._table = table
        self._name = name
        self._interval = interval
        self._max_batch = max_batch
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, row: dict[str, Any]) -> None:
        self._ensure_thread()
        self._queue.put(row)

    def flush(self) -> int:
        """Write everything queued now (also used by tests to see the rows synchronously)."""
        rows: list[dict[str, Any]] = []
        while len(rows) < self._max_batch * 20:
            try:
                rows.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if not rows:
            return 0
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(self._table), rows)
        except Exception:
            log.exception("%s: %d rows could not be written", self._name, len(rows))
        return len(rows)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():  # also after a fork (gunicorn worker)
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
                atexit.register(self.flush)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()


class JournalWriter:
    """Exchange-journal rows written in batches by a thread (see the module docstring)."""

    def __init__(self, engine: Engine, *, interval: float = 0.2, max_batch: int = 500) -> None:
        self._rows = BatchedInsert(
            engine, exchange_journal, name="exchange-journal", interval=interval, max_batch=max_batch
        )

    def submit(self, rec: ExchangeRecord, *, log_bodies: bool) -> None:
        self._rows.submit(_row(rec, log_bodies))

    def flush(self) -> int:
        return self._rows.flush()
