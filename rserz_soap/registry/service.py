"""Building the register's write side from configuration: one place that wires the pieces together."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection, Engine

from rserz_soap.config import Settings
from rserz_soap.db.flk import read_directory
from rserz_soap.domain.flk import verify_directory
from rserz_soap.domain.flk.reference import Reference
from rserz_soap.domain.person import PersonCard
from rserz_soap.registry import duplicates
from rserz_soap.registry.buffer import Registry
from rserz_soap.registry.buffer_rules import load_rules
from rserz_soap.registry.reference import DbReference, NsiCache

_NSI_CACHE = NsiCache()  # one per process: НСИ answers are shared by every request the process serves


def _duplicates(conn: Connection, card: PersonCard) -> Sequence[tuple[int, float]]:
    return [(c.person_id, c.score.total) for c in duplicates.find_candidates(conn, card, thorough=False)]


def build_registry(engine: Engine, settings: Settings) -> Registry:
    """The registry with the error directory as the database holds it (operators may have edited it)."""
    with engine.connect() as conn:
        directory = read_directory(conn)
    verify_directory(directory)

    def reference(conn: Connection) -> Reference:
        return DbReference(conn, settings.region_okato, _NSI_CACHE)

    return Registry(
        engine=engine,
        rules=load_rules(Path(settings.buffer_rules) if settings.buffer_rules else None),
        directory=directory,
        reference=reference,
        region_code=settings.region_code,
        find_duplicates=_duplicates,
        federal_first=settings.federal_first,
    )
