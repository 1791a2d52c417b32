"""The exchange journal as staff read it: who called what, with what outcome, and (where body logging is on
for that participant) the messages themselves."""

from __future__ import annotations

from rserz_soap.db.exchange import JournalFilter, JournalRow
from rserz_soap.db.uow import UnitOfWork

__all__ = ["JournalFilter", "JournalRow", "entries", "entry"]


def entries(
    uow: UnitOfWork, flt: JournalFilter, *, before: int | None = None, limit: int = 50
) -> list[JournalRow]:
    """A page of the journal, newest first, without bodies (``before``: the last id of the previous page)."""
    with uow:
        return uow.exchange.page(flt, before=before, limit=max(1, min(limit, 200)))


def entry(uow: UnitOfWork, row_id: int) -> JournalRow | None:
    """One row with its bodies, if they were kept."""
    with uow:
        return uow.exchange.get(row_id)
