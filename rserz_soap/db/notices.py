"""What the register tells an СМО of its insured: stop lists (``stop_list_entry``) and corrections by the
ТФОМС (``correction_entry``), read by period and page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Table, func, insert, select

from rserz_soap.db.tables import correction_entry, stop_list_entry


@dataclass(frozen=True)
class StopRow:
    id: int
    person_id: int
    enp: str
    reason: int
    stop_date: date
    created_at: datetime


@dataclass(frozen=True)
class CorrectionRow:
    id: int
    person_id: int
    tip_op: str
    is_active: int
    err_code: str | None
    err_desc: str | None
    created_at: datetime


@dataclass(frozen=True)
class NewCorrection:
    smo_code: str
    person_id: int
    version_id: int | None
    tip_op: str
    is_active: int
    err_code: str | None
    err_desc: str | None


class Notices:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def stops(self, smo: str, first: date, last: date, page: int, size: int) -> tuple[int, list[StopRow]]:
        total, rows = self._page(stop_list_entry, smo, first, last, page, size)
        return total, [StopRow(r.id, r.person_id, r.enp, r.reason, r.stop_date, r.created_at) for r in rows]

    def corrections(
        self, smo: str, first: date, last: date, page: int, size: int
    ) -> tuple[int, list[CorrectionRow]]:
        total, rows = self._page(correction_entry, smo, first, last, page, size)
        return total, [
            CorrectionRow(r.id, r.person_id, r.tip_op, r.is_active, r.err_code, r.err_desc, r.created_at)
            for r in rows
        ]

    def add_correction(self, c: NewCorrection) -> None:
        self._conn.execute(insert(correction_entry).values(**vars(c)))

    def _page(
        self, table: Table, smo: str, first: date, last: date, page: int, size: int
    ) -> tuple[int, list]:  # type: ignore[type-arg]
        """The СМО's rows recorded in the period, a page of them in id order, and how many there are."""
        day = func.date(table.c.created_at)
        cond = (table.c.smo_code == smo) & (day >= first) & (day <= last)
        total = self._conn.execute(select(func.count()).select_from(table).where(cond)).scalar_one()
        rows = list(
            self._conn.execute(
                select(table).where(cond).order_by(table.c.id).offset((page - 1) * size).limit(size)
            ).all()
        )
        return int(total), rows
