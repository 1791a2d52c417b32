"""Who was insured on a date (domain.md §10): the basis of snapshots and of getSnapshot.

Read from current rows (valid time as known now); publishing immutable monthly snapshots is the
snapshot routine's job.
"""

from __future__ import annotations

from datetime import date

from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.snapshot import InsuredRow

__all__ = ["InsuredRow", "insured_on"]


def insured_on(
    uow: UnitOfWork,
    day: date,
    *,
    smo: str | None = None,
    mo: str | None = None,
    page: int = 1,
    page_size: int = 100,
) -> tuple[int, list[InsuredRow]]:
    """Persons insured on ``day`` (optionally of one СМО, or attached to one МО), paged by person id."""
    with uow:
        return uow.snapshots.insured_on(day, smo=smo, mo=mo, page=page, page_size=page_size)
