"""What an СМО learns about its insured by period: stop lists (insurance stopped) and corrections by the
ТФОМС (RECLIST), each line with the person's current card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from rserz_soap.db.notices import CorrectionRow, StopRow
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.person import PersonCard

#: the longest period one request may ask for (docs/soap-contract.md)
MAX_PERIOD_DAYS = 31


class BadPeriod(ValueError):
    """The period is reversed or longer than :data:`MAX_PERIOD_DAYS`."""


@dataclass(frozen=True)
class StopLine:
    stop: StopRow
    card: PersonCard


@dataclass(frozen=True)
class CorrectionLine:
    correction: CorrectionRow
    card: PersonCard


T = TypeVar("T")


@dataclass(frozen=True)
class NoticePage(Generic[T]):
    total: int
    lines: list[T]


def _check(first: date, last: date) -> None:
    if last < first or (last - first).days > MAX_PERIOD_DAYS:
        raise BadPeriod(f"DATE_FROM…DATE_TO must be a period of at most {MAX_PERIOD_DAYS} days")


def stop_list(
    uow: UnitOfWork, smo: str, first: date, last: date, *, page: int, size: int
) -> NoticePage[StopLine]:
    _check(first, last)
    with uow:
        total, rows = uow.notices.stops(smo, first, last, page, size)
        cards = uow.persons.load_many(r.person_id for r in rows)
    return NoticePage(total, [StopLine(r, cards[r.person_id]) for r in rows])


def corrections(
    uow: UnitOfWork, smo: str, first: date, last: date, *, page: int, size: int
) -> NoticePage[CorrectionLine]:
    _check(first, last)
    with uow:
        total, rows = uow.notices.corrections(smo, first, last, page, size)
        cards = uow.persons.load_many(r.person_id for r in rows)
    return NoticePage(total, [CorrectionLine(r, cards[r.person_id]) for r in rows])
