"""The exchange journal: one row per inbound request and per outbound call (ФЕРЗЛ, СМЭВ).

Bodies hold personal data (152-ФЗ): they are stored only for participants whose ``log_bodies`` is on.

The SOAP endpoint writes its rows off the request path (:class:`JournalWriter`): rows are queued and
inserted in batches by a thread, at least every ``interval`` seconds, in one COPY; a stopping
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
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from rserz_soap.db.bulk import copy_rows
from rserz_soap.db.health import unreachable
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
    """Rows of one table written off the request path: queued, written by a thread with COPY
    at least every ``interval`` seconds; a stopping process flushes what is left.

    While PostgreSQL cannot be reached (restarting) the rows are kept and written once it is back — at most
    ``max_held`` of them, the oldest dropped beyond that — so a short outage loses no journal or disclosure
    row; a batch the server refuses for another reason is logged and dropped (it would fail forever)."""

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
        self._flushing = threading.Lock()
        self._held: list[dict[str, Any]] = []  # rows of a batch that met an outage: written first
        self.max_held = max_batch * 200

    def submit(self, row: dict[str, Any]) -> None:
        self._ensure_thread()
        self._queue.put(row)

    def flush(self) -> int:
        """Write everything queued now (also used by tests to see the rows synchronously); returns how many
        rows were written."""
        with self._flushing:
            rows, self._held = self._held, []
            limit = len(rows) + self._max_batch * 20
            while len(rows) < limit:
                try:
                    rows.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not rows:
                return 0
            try:
                with self._engine.begin() as conn:
                    # COPY: half the CPU of a multi-row INSERT per row, here and in PostgreSQL
                    columns = list(rows[0])
                    copy_rows(
                        conn, self._table.name, columns, ([row.get(c) for c in columns] for row in rows)
                    )
            except Exception as exc:
                if not unreachable(exc):
                    log.exception("%s: %d rows could not be written", self._name, len(rows))
                    return 0
                dropped = max(0, len(rows) - self.max_held)
                self._held = rows[dropped:]
                log.warning(
                    "%s: PostgreSQL unreachable, %d rows held for the next attempt%s",
                    self._name,
                    len(self._held),
                    f", {dropped} oldest dropped" if dropped else "",
                )
                return 0
            return len(rows)

    @property
    def held(self) -> int:
        return len(self._held)

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


# -- reading the journal (the console) -----------------------------------------------------------------------


@dataclass(frozen=True)
class JournalFilter:
    participant_id: int | None = None
    peer: str | None = None
    direction: str | None = None
    service: str | None = None
    operation: str | None = None
    outcome: str | None = None
    correlation_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class JournalRow:
    id: int
    correlation_id: uuid.UUID
    direction: str
    participant_id: int | None
    participant: str | None  # kind:code of the participant
    peer: str | None
    service: str
    operation: str
    request_id: uuid.UUID | None
    signature_result: str | None
    outcome: str
    error_code: str | None
    duration_ms: int | None
    started_at: datetime
    has_body: bool
    request_body: str | None = None
    response_body: str | None = None


class ExchangeJournal:
    """The journal as the console reads it: keyset pages, newest first; bodies only when asked for one row."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def page(self, flt: JournalFilter, *, before: int | None, limit: int) -> list[JournalRow]:
        j, p = exchange_journal, participant
        has_body = (j.c.request_body.is_not(None)) | (j.c.response_body.is_not(None))
        q = select(
            *[j.c[n] for n in _LIST_COLUMNS],
            (p.c.kind + ":" + p.c.code).label("participant"),
            has_body.label("has_body"),
        ).outerjoin(p, p.c.id == j.c.participant_id)
        for name in (
            "participant_id",
            "peer",
            "direction",
            "service",
            "operation",
            "outcome",
            "correlation_id",
        ):
            value = getattr(flt, name)
            if value is not None and value != "":
                q = q.where(j.c[name] == value)
        if flt.since is not None:
            q = q.where(j.c.started_at >= flt.since)
        if flt.until is not None:
            q = q.where(j.c.started_at < flt.until)
        if before is not None:
            q = q.where(j.c.id < before)
        rows = self._conn.execute(q.order_by(j.c.id.desc()).limit(limit)).mappings()
        return [JournalRow(**{k: r[k] for k in (*_LIST_COLUMNS, "participant", "has_body")}) for r in rows]

    def get(self, row_id: int) -> JournalRow | None:
        j, p = exchange_journal, participant
        r = (
            self._conn.execute(
                select(j, (p.c.kind + ":" + p.c.code).label("participant"))
                .outerjoin(p, p.c.id == j.c.participant_id)
                .where(j.c.id == row_id)
            )
            .mappings()
            .first()
        )
        if r is None:
            return None
        return JournalRow(
            **{k: r[k] for k in (*_LIST_COLUMNS, "participant", "request_body", "response_body")},
            has_body=r["request_body"] is not None or r["response_body"] is not None,
        )


_LIST_COLUMNS = (
    "id",
    "correlation_id",
    "direction",
    "participant_id",
    "peer",
    "service",
    "operation",
    "request_id",
    "signature_result",
    "outcome",
    "error_code",
    "duration_ms",
    "started_at",
)
