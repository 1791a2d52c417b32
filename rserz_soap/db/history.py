"""Every version of a person with the rows each one added and superseded (the append-only aspect tables)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from rserz_soap.db.persons import ASPECTS
from rserz_soap.db.tables import person_version
from rserz_soap.domain.history import Change, Version


class Histories:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def versions(self, person_id: int) -> list[Version]:
        """Oldest first."""
        versions = self._conn.execute(
            select(person_version)
            .where(person_version.c.person_id == person_id)
            .order_by(person_version.c.version_no)
        ).all()
        added: dict[int, dict[str, list[dict[str, Any]]]] = {}
        superseded: dict[int, dict[str, list[dict[str, Any]]]] = {}
        for aspect in ASPECTS:
            t = aspect.table
            rows = self._conn.execute(select(t).where(t.c.person_id == person_id).order_by(t.c.id)).mappings()
            for row in rows:
                values = {
                    k: v for k, v in row.items() if k in aspect.columns or k in ("valid_from", "valid_to")
                }
                added.setdefault(row["version_id"], {}).setdefault(aspect.name, []).append(values)
                if row["superseded_by"] is not None:
                    superseded.setdefault(row["superseded_by"], {}).setdefault(aspect.name, []).append(values)
        result = []
        for v in versions:
            names = sorted(set(added.get(v.id, {})) | set(superseded.get(v.id, {})))
            changes = tuple(
                Change(n, tuple(added.get(v.id, {}).get(n, [])), tuple(superseded.get(v.id, {}).get(n, [])))
                for n in names
            )
            result.append(
                Version(
                    v.version_no,
                    v.operation,
                    v.source_kind,
                    v.source_code,
                    v.valid_from,
                    v.recorded_at,
                    v.actor,
                    v.reason,
                    v.buffer_entry_id,
                    changes,
                )
            )
        return result

    def last_version_of(self, person_id: int, operations: tuple[str, ...]) -> int | None:
        """The id of the person's latest version made by one of ``operations``."""
        found: int | None = self._conn.execute(
            select(person_version.c.id)
            .where(person_version.c.person_id == person_id, person_version.c.operation.in_(operations))
            .order_by(person_version.c.version_no.desc())
            .limit(1)
        ).scalar_one_or_none()
        return found
