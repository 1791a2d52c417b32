"""Writing the exchange journal off the request path: rows are queued and inserted in batches.

A journal row per request used to cost a transaction (and its round trips) on every answer. The writer
thread inserts whatever has queued up, at least every ``interval`` seconds, in one multi-row INSERT; a
stopping worker flushes what is left. What a crash can lose is the last fraction of a second of journal
rows — never a change to the register, which the handlers commit themselves before answering.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading

from sqlalchemy import Engine, insert

from rserz_soap.db.exchange import ExchangeRecord
from rserz_soap.db.tables import exchange_journal

log = logging.getLogger(__name__)


class JournalWriter:
    def __init__(self, engine: Engine, *, interval: float = 0.2, max_batch: int = 500) -> None:
        self._engine = engine
        self._interval = interval
        self._max_batch = max_batch
        self._queue: queue.Queue[tuple[ExchangeRecord, bool]] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, rec: ExchangeRecord, *, log_bodies: bool) -> None:
        self._ensure_thread()
        self._queue.put((rec, log_bodies))

    def flush(self) -> int:
        """Write everything queued now (also used by tests to see the journal synchronously)."""
        batch: list[tuple[ExchangeRecord, bool]] = []
        while len(batch) < self._max_batch * 20:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return 0
        rows = [
            {
                "correlation_id": r.correlation_id,
                "direction": r.direction,
                "participant_id": r.participant_id,
                "peer": r.peer,
                "service": r.service,
                "operation": r.operation,
                "request_id": r.request_id,
                "signature_result": r.signature_result,
                "outcome": r.outcome,
                "error_code": r.error_code,
                "duration_ms": r.duration_ms,
                "request_body": r.request_body if keep else None,
                "response_body": r.response_body if keep else None,
            }
            for r, keep in batch
        ]
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(exchange_journal), rows)
        except Exception:
            log.exception("exchange journal: %d rows could not be written", len(rows))
        return len(rows)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():  # also after a fork (gunicorn worker)
                self._thread = threading.Thread(target=self._run, name="exchange-journal", daemon=True)
                self._thread.start()
                atexit.register(self.flush)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()
