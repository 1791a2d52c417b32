"""Positions of the hub's outbound feeds (the ИСЗЛ's deliveries): how far each consumer has been served.

One row per consumer (``feed_cursor``): the feed position delivered up to, and why the last attempt failed.
Advanced in the transaction that records a delivery, so a crash between sending and recording sends the
same events again — delivered at least once; the receiver de-duplicates by event id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert

from rserz_soap.db.tables import feed_cursor


@dataclass(frozen=True)
class Cursor:
    name: str
    position: int
    updated_at: datetime | None
    delivered: int
    last_error: str | None


class Cursors:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def lock(self, name: str) -> Cursor:
        """The consumer's cursor, created at 0 if new, locked until the transaction ends (one deliverer)."""
        self._conn.execute(insert(feed_cursor).values(name=name, position=0).on_conflict_do_nothing())
        row = self._conn.execute(
            select(feed_cursor).where(feed_cursor.c.name == name).with_for_update()
        ).one()
        return Cursor(row.name, row.position, row.updated_at, row.delivered, row.last_error)

    def get(self, name: str) -> Cursor | None:
        row = self._conn.execute(select(feed_cursor).where(feed_cursor.c.name == name)).one_or_none()
        return (
            None
            if row is None
            else Cursor(row.name, row.position, row.updated_at, row.delivered, row.last_error)
        )

    def advance(self, name: str, position: int, delivered: int) -> None:
        self._conn.execute(
            feed_cursor.update()
            .where(feed_cursor.c.name == name)
            .values(
                position=position,
                delivered=feed_cursor.c.delivered + delivered,
                updated_at=func.now(),
                last_error=None,
            )
        )

    def failed(self, name: str, error: str) -> None:
        self._conn.execute(
            feed_cursor.update()
            .where(feed_cursor.c.name == name)
            .values(last_error=error[:500], updated_at=func.now())
        )
