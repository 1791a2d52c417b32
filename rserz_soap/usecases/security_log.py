"""The security event log: every login, failure, lockout, permission change, view of a person and change.

152-ФЗ and the ФСТЭК orders ask who did what, when, from where and with what outcome. Every console action
and every ``rserz users`` command records one event through :func:`record`, in the transaction of the work
it describes when there is one (a change and its event commit together) — so a change without its line in
the log cannot exist. The line names persons by internal id and changes by field *names*; personal data
and passwords never enter it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rserz_soap.db.security_log import EventFilter, EventRow
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.access import Event, Outcome, SecurityEvent

__all__ = ["EventFilter", "EventRow", "Who", "events", "logins", "record"]

PAGE_MAX = 200


@dataclass(frozen=True)
class Who:
    """Who acts and from where: a console session, or a command on the server (``login`` ``cli:<user>``)."""

    login: str
    user_id: int | None = None
    session_id: int | None = None
    ip: str | None = None
    user_agent: str | None = None
    method: str | None = None
    path: str | None = None

    @property
    def actor(self) -> str:
        """How versions, pins and decisions name this person (``console:<login>``)."""
        return self.login if ":" in self.login else f"console:{self.login}"

    def at(self, method: str, path: str) -> Who:
        return replace(self, method=method, path=path)


def record(
    uow: UnitOfWork,
    who: Who | None,
    event: Event,
    outcome: Outcome = Outcome.SUCCESS,
    *,
    object_type: str | None = None,
    object_id: object = None,
    details: dict[str, Any] | None = None,
    login: str | None = None,
) -> int:
    """Add one line to the log (joining the caller's transaction when there is one)."""
    w = who or Who(login=login or "")
    with uow:
        return uow.security_log.add(
            SecurityEvent(
                event=event,
                outcome=outcome,
                user_id=w.user_id,
                login=login if login is not None else (w.login or None),
                session_id=w.session_id,
                ip=w.ip,
                user_agent=w.user_agent,
                method=w.method,
                path=w.path,
                object_type=object_type,
                object_id=None if object_id is None else str(object_id),
                details=details or {},
            )
        )


def events(
    uow: UnitOfWork, flt: EventFilter, *, before: int | None = None, limit: int = 50
) -> list[EventRow]:
    """A page of the log, newest first (``before``: the last id of the previous page)."""
    with uow:
        return uow.security_log.page(flt, before=before, limit=max(1, min(limit, PAGE_MAX)))


def logins(uow: UnitOfWork) -> list[str]:
    with uow:
        return uow.security_log.logins()
