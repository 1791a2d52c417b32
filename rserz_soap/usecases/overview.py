"""The dashboard: the register's size, what changed, what waits, and how the links to the outside stand.

Read-only figures, each answered by ``db/overview.py`` in one statement; names of СМО and МО come from НСИ
as valid today. Where the circuit of an outside system stands is not the database's to know: the console
adds it from Redis (``admin/status.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from rserz_soap.db.overview import FederalWork, PeerStatus
from rserz_soap.db.uow import UnitOfWork

__all__ = [
    "FederalWork",
    "Insured",
    "PeerStatus",
    "backlog",
    "changes_per_day",
    "federal_work",
    "insured",
    "peers",
]

#: the outside systems the hub calls, as the exchange journal names them (``peer``)
PEERS = ("ferzl", "smev")


@dataclass(frozen=True)
class Insured:
    on: date
    total: int
    by_smo: list[tuple[str, str, int]]  # (code, name, persons), largest first
    by_mo: list[tuple[str, str, int]]


def insured(uow: UnitOfWork, on: date) -> Insured:
    """Persons insured on ``on`` by СМО, and attachments in force by МО (with their НСИ names)."""
    with uow:
        smo = uow.overview.insured_by_smo(on)
        mo = uow.overview.attached_by_mo(on)
        smo_names = {
            r.code: str(r.data.get("nam_smok") or r.data.get("nam_smop") or "")
            for r in uow.nsi.records_on("F002", on)
        }
        mo_names = {
            r.code: str(r.data.get("nam_mok") or r.data.get("nam_mop") or "")
            for r in uow.nsi.records_on("F003", on)
        }
    return Insured(
        on,
        sum(smo.values()),
        sorted(((c, smo_names.get(c, ""), n) for c, n in smo.items()), key=lambda x: (-x[2], x[0])),
        sorted(((c, mo_names.get(c, ""), n) for c, n in mo.items()), key=lambda x: (-x[2], x[0])),
    )


def changes_per_day(uow: UnitOfWork, days: int = 30) -> list[tuple[date, int]]:
    with uow:
        return uow.overview.changes_per_day(max(1, min(days, 366)))


def backlog(uow: UnitOfWork) -> dict[str, tuple[int, datetime | None]]:
    """Buffer entries not final yet, by state: (how many, the oldest one's arrival)."""
    with uow:
        return uow.overview.buffer_backlog()


def peers(uow: UnitOfWork) -> list[PeerStatus]:
    with uow:
        return [uow.overview.peer(p) for p in PEERS]


def federal_work(uow: UnitOfWork) -> FederalWork:
    """The ФЕРЗЛ outbox, the last day of federal changes taken, reconciliations running."""
    with uow:
        return uow.overview.federal_work()
