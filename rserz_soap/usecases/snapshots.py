"""Snapshots (срезы): who was insured on a date, published once, served as published (domain.md §10).

A published snapshot is immutable and reproducible: it is built from the register as known at the moment
of publication, stored row by row with a checksum, and :func:`reproduces` rebuilds it from history to
prove that nothing it was built from has been rewritten. ``getSnapshot`` serves only published snapshots;
a date with none is answered as such (the contract's ``ERR_CODE`` 1), never computed on the fly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rserz_soap.db.snapshots import SnapshotInfo
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.buffer import Submitter
from rserz_soap.domain.snapshot import InsuredRow

__all__ = [
    "InsuredRow",
    "SnapshotInfo",
    "SnapshotPage",
    "insured_on",
    "page",
    "publish",
    "published",
    "reproduces",
    "rows",
]


def insured_on(
    uow: UnitOfWork,
    day: date,
    *,
    smo: str | None = None,
    mo: str | None = None,
    page: int = 1,
    page_size: int = 100,
) -> tuple[int, list[InsuredRow]]:
    """Persons insured on ``day`` as the register knows it now (not a published snapshot)."""
    with uow:
        return uow.snapshots.insured_on(day, smo=smo, mo=mo, page=page, page_size=page_size)


def publish(uow: UnitOfWork, day: date, *, actor: str) -> SnapshotInfo:
    """Publish the snapshot of ``day`` (state at 00:00); one already published is returned unchanged."""
    with uow:
        uow.snapshots.lock_day(day)
        existing = uow.snapshots.get(day)
        if existing is not None and existing.state == "published":
            return existing
        return uow.snapshots.build(day, actor)


def reproduces(uow: UnitOfWork, day: date) -> bool:
    """Does rebuilding the published snapshot of ``day`` from history give its rows again (its checksum)?"""
    with uow:
        info = uow.snapshots.get(day)
        if info is None or info.published_at is None:
            raise LookupError(f"no snapshot of {day} is published")
        persons, checksum = uow.snapshots.checksum_as_known(day, info.published_at)
    return (persons, checksum) == (info.persons, info.checksum)


def published(uow: UnitOfWork, first: date | None = None, last: date | None = None) -> list[SnapshotInfo]:
    """Published snapshots, newest first."""
    with uow:
        return uow.snapshots.published(first, last)


@dataclass(frozen=True)
class SnapshotPage:
    snapshot: SnapshotInfo
    total: int  # rows visible to the caller
    rows: list[InsuredRow]


def visible(info: SnapshotInfo, viewer: Submitter) -> int:
    """How many rows of a snapshot ``viewer`` sees: an СМО its insured, an МО its attached, others all."""
    if viewer.kind in ("smo", "mo"):
        return int(info.counts.get(viewer.kind, {}).get(viewer.code, 0))
    return info.persons


def page(uow: UnitOfWork, day: date, viewer: Submitter, *, page: int, page_size: int) -> SnapshotPage | None:
    """A page of the published snapshot of ``day`` as ``viewer`` may see it; None if none is published."""
    with uow:
        info = uow.snapshots.get(day)
        if info is None or info.state != "published":
            return None
        total, rows = uow.snapshots.page(
            info.id,
            smo=viewer.code if viewer.kind == "smo" else None,
            mo=viewer.code if viewer.kind == "mo" else None,
            page=page,
            page_size=page_size,
        )
    return SnapshotPage(info, total, rows)


def rows(uow: UnitOfWork, day: date, *, after: str | None, limit: int) -> list[InsuredRow]:
    """Rows of the published snapshot of ``day`` in ЕНП order after ``after`` (the console's export)."""
    with uow:
        info = uow.snapshots.get(day)
        if info is None or info.state != "published":
            raise LookupError(f"no snapshot of {day} is published")
        return uow.snapshots.rows_after(info.id, after, limit)
