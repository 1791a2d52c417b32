"""The security event log (``security_event``): written once, read by auditors, never changed.

The table refuses UPDATE, DELETE and TRUNCATE by itself (a trigger, ``tables.SECURITY_EVENT_APPEND_ONLY``).
Reads are keyset-paged on the id (newest first), so the log reads as fast after ten years as after a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from rserz_soap.db.tables import console_user, security_event
from rserz_soap.domain.access import SecurityEvent


@dataclass(frozen=True)
class EventRow:
    id: int
    at: datetime
    user_id: int | None
    login: str | None
    session_id: int | None
    ip: str | None
    user_agent: str | None
    event: str
    outcome: str
    method: str | None
    path: str | None
    object_type: str | None
    object_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class EventFilter:
    login: str | None = None
    event: str | None = None
    outcome: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class SecurityLog:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, e: SecurityEvent) -> int:
        return int(
            self._conn.execute(
                insert(security_event)
                .values(
                    user_id=e.user_id,
                    login=(e.login or "")[:64] or None,
                    session_id=e.session_id,
                    ip=(e.ip or "")[:45] or None,
                    user_agent=(e.user_agent or "")[:200] or None,
                    event=e.event.value,
                    outcome=e.outcome.value,
                    method=(e.method or "")[:8] or None,
                    path=(e.path or "")[:200] or None,
                    object_type=e.object_type,
                    object_id=e.object_id,
                    details=e.details,
                )
                .returning(security_event.c.id)
            ).scalar_one()
        )

    def page(self, flt: EventFilter, *, before: int | None, limit: int) -> list[EventRow]:
        """Newest first; ``before`` is the id of the last row of the previous page."""
        t = security_event
        q = select(t)
        if flt.login:
            q = q.where(t.c.login == flt.login)
        for name in ("event", "outcome", "object_type", "object_id"):
            value = getattr(flt, name)
            if value:
                q = q.where(t.c[name] == value)
        if flt.since is not None:
            q = q.where(t.c.at >= flt.since)
        if flt.until is not None:
            q = q.where(t.c.at < flt.until)
        if before is not None:
            q = q.where(t.c.id < before)
        rows = self._conn.execute(q.order_by(t.c.id.desc()).limit(limit)).mappings()
        return [EventRow(**{k: r[k] for k in EventRow.__dataclass_fields__}) for r in rows]

    def logins(self) -> list[str]:
        """The logins of every console user (the filter's choices)."""
        return list(self._conn.execute(select(console_user.c.login).order_by(console_user.c.login)).scalars())
