"""Pushing the register's events to the regional information-support system (ИСЗЛ).

Besides pulling ``getChanges``, the ИСЗЛ is told of the events it subscribes to (``domain/iszl.py``) as
they are published. The published feed is the outbox: a cursor (``feed_cursor`` row ``iszl``) says how far
the ИСЗЛ has been served. One deliverer at a time holds the cursor's row lock, reads the next published
changes in feed order, sends the subscribed ones in one call, and advances the cursor in the same
transaction. So:

* nothing is lost — the cursor moves only after the ИСЗЛ acknowledged the call; an outage leaves it where
  it is and the next run (an RQ job with retries) starts from there;
* in order per person — the feed is in commit order and nothing is sent past an unacknowledged event;
* at least once — a crash after the ИСЗЛ answered and before the cursor's commit sends those events again;
  each carries its feed position as its id, by which the ИСЗЛ de-duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.iszl import Event, classify

CURSOR = "iszl"
BATCH = 200


class IszlUnavailable(Exception):
    """The ИСЗЛ cannot take the events now (network, timeout, outage, a refusal to retry): later."""


class IszlPort(Protocol):
    def notify(self, events: Sequence[Event]) -> int:
        """Deliver ``events``; returns how many the ИСЗЛ accepted (repeats included). Raises
        ``IszlUnavailable`` when it did not take them."""
        ...


@dataclass
class DeliveryReport:
    sent: int = 0  # events delivered
    skipped: int = 0  # published changes of kinds the ИСЗЛ does not subscribe to
    calls: int = 0
    position: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def deliver(
    uow: UnitOfWork, iszl: IszlPort, subscribed: frozenset[str], *, batch: int = BATCH, max_batches: int = 50
) -> DeliveryReport:
    """Send what the ИСЗЛ has not been sent yet, in feed order, ``batch`` events a call."""
    report = DeliveryReport()
    for _ in range(max_batches):
        with uow:
            cursor = uow.cursors.lock(CURSOR)
            entries, _more = uow.feed.read(cursor.position, batch, kind="iszl", code="")
            report.position = cursor.position
            if not entries:
                return report
            events = [
                Event(
                    e.feed_seq, kind, e.enp, e.operation, e.valid_from, e.recorded_at, e.smo_code, e.mo_codes
                )
                for e in entries
                if (kind := classify(e.operation)) in subscribed
            ]
            if events:
                iszl.notify(events)  # IszlUnavailable: the cursor stays (the caller records why: ``failed``)
                report.calls += 1
            uow.cursors.advance(CURSOR, entries[-1].feed_seq, len(events))
            report.position = entries[-1].feed_seq
            report.sent += len(events)
            report.skipped += len(entries) - len(events)
            for ev in events:
                report.by_kind[ev.kind] = report.by_kind.get(ev.kind, 0) + 1
    return report


def failed(uow: UnitOfWork, error: str) -> None:
    """Remember why the ИСЗЛ could not be reached (``rserz status``, the console)."""
    with uow:
        uow.cursors.lock(CURSOR)
        uow.cursors.failed(CURSOR, error)


def state(uow: UnitOfWork) -> tuple[int, int, str | None]:
    """(position delivered up to, last published position, the last error)."""
    with uow:
        cursor = uow.cursors.get(CURSOR)
        last = uow.feed.last_published()
    if cursor is None:
        return 0, last, None
    return cursor.position, last, cursor.last_error
