"""НСИ as imported: every version of every directory (nothing an import brings is ever lost)."""

from __future__ import annotations

from datetime import date

from rserz_soap.db.nsi import VersionInfo
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.files.nsi import NsiRecord

__all__ = ["VersionInfo", "records_on", "versions"]


def versions(uow: UnitOfWork, directory: str | None = None) -> list[VersionInfo]:
    with uow:
        return uow.nsi.versions(directory)


def records_on(uow: UnitOfWork, directory: str, on: date) -> list[NsiRecord]:
    with uow:
        return uow.nsi.records_on(directory, on)
