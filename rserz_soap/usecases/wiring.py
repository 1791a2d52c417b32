"""Building the use cases' configuration from settings: one place that wires the pieces together."""

from __future__ import annotations

from pathlib import Path

from rserz_soap.config import Settings
from rserz_soap.db.reference import NsiCache
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.flk import verify_directory
from rserz_soap.usecases.buffer_rules import load_rules
from rserz_soap.usecases.intake import Intake

_NSI_CACHE = NsiCache()  # one per process: НСИ answers are shared by every request the process serves


def build_intake(uow: UnitOfWork, settings: Settings) -> Intake:
    """The intake with the error directory as the database holds it (operators may have edited it)."""
    with uow:
        directory = uow.directory.read()
    verify_directory(directory)
    return Intake(
        rules=load_rules(Path(settings.buffer_rules) if settings.buffer_rules else None),
        directory=directory,
        region_okato=settings.region_okato,
        region_code=settings.region_code,
        nsi=_NSI_CACHE,
        federal_first=settings.federal_first,
    )
