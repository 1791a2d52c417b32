"""The OPLIST packages each СМО has handed in (``intake_package``): claimed once by name and by content.

A claim is an insert that does nothing on a conflict with either unique key (participant + name,
participant + SHA-256), made in the transaction that applies the package: a second import of the same
package — even one racing the first — waits for the first to commit and then finds the package taken.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, or_, select
from sqlalchemy.dialects.postgresql import insert

from rserz_soap.db.tables import intake_package


@dataclass(frozen=True)
class ImportedPackage:
    id: int
    participant_id: int
    name: str
    sha256: str
    encoding: str
    przcod: str | None
    batch_id: uuid.UUID | None
    nrecords: int
    accepted: int
    rejected: int
    imported_at: datetime


class Packages:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def claim(self, participant_id: int, name: str, sha256: str, encoding: str, przcod: str) -> int | None:
        """The new row's id, or None when this participant already handed in this name or these bytes."""
        return self._conn.execute(
            insert(intake_package)
            .values(participant_id=participant_id, name=name, sha256=sha256, encoding=encoding, przcod=przcod)
            .on_conflict_do_nothing()
            .returning(intake_package.c.id)
        ).scalar_one_or_none()

    def settle(
        self, package_id: int, batch_id: uuid.UUID, nrecords: int, accepted: int, rejected: int
    ) -> None:
        self._conn.execute(
            intake_package.update()
            .where(intake_package.c.id == package_id)
            .values(batch_id=batch_id, nrecords=nrecords, accepted=accepted, rejected=rejected)
        )

    def by_name(self, participant_id: int, name: str) -> ImportedPackage | None:
        row = self._conn.execute(
            select(intake_package).where(
                intake_package.c.participant_id == participant_id, intake_package.c.name == name
            )
        ).one_or_none()
        return None if row is None else ImportedPackage(**row._mapping)

    def find(self, participant_id: int, name: str, sha256: str) -> ImportedPackage | None:
        """The earlier package with this name or these bytes (the one a repeat collides with)."""
        row = self._conn.execute(
            select(intake_package)
            .where(
                intake_package.c.participant_id == participant_id,
                or_(intake_package.c.name == name, intake_package.c.sha256 == sha256),
            )
            .order_by(intake_package.c.id)
            .limit(1)
        ).one_or_none()
        return None if row is None else ImportedPackage(**row._mapping)

    def list(self, participant_id: int | None = None) -> list[ImportedPackage]:
        q = select(intake_package).order_by(intake_package.c.id)
        if participant_id is not None:
            q = q.where(intake_package.c.participant_id == participant_id)
        return [ImportedPackage(**r._mapping) for r in self._conn.execute(q)]
