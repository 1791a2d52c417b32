"""Who was shown whose data (152-ФЗ): the disclosure log, read per person and pruned by age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rserz_soap.db.disclosures import Disclosure
from rserz_soap.db.uow import UnitOfWork

__all__ = ["Disclosure", "disclosures_of", "prune_disclosures"]


def disclosures_of(uow: UnitOfWork, person_id: int, *, limit: int = 100) -> list[Disclosure]:
    """The answers that showed this person, newest first."""
    with uow:
        return uow.disclosures.of_person(person_id, limit)


def prune_disclosures(uow: UnitOfWork, retention_days: int, *, now: datetime | None = None) -> int:
    """Forget disclosures older than the retention period; returns how many."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    with uow:
        return uow.disclosures.prune(cutoff)
