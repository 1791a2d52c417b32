"""History of a person: every version with its source and reason, and the card at any point in time.

``state_as_of`` answers "was this person insured on D?" with everything known now (valid time);
``known_on`` answers "what did the register say on D?" (record time) — what a snapshot published on D
or a protocol sent on D was based on. Both read the same append-only rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, select

from rserz_soap.db import persons
from rserz_soap.db.tables import person_version
from rserz_soap.domain.person import PersonCard


@dataclass(frozen=True)
class Change:
    aspect: str
    added: tuple[dict[str, Any], ...]
    superseded: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Version:
    version_no: int
    operation: str
    source_kind: str
    source_code: str
    valid_from: date
    recorded_at: datetime
    actor: str | None
    reason: str | None
    buffer_entry_id: int | None
    changes: tuple[Change, ...]


def state_as_of(conn: Connection, person_id: int, day: date) -> PersonCard | None:
    return persons.load_as_of(conn, person_id, day)


def known_on(conn: Connection, person_id: int, moment: date | datetime) -> PersonCard | None:
    """``moment`` a date means the end of that day (UTC)."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment + timedelta(days=1), time.min, tzinfo=UTC) - timedelta(
            microseconds=1
        )
    return persons.load_known_on(conn, person_id, moment)


def history(conn: Connection, person_id: int) -> list[Version]:
    """Every version of the person, oldest first, with the rows each one added and superseded."""
    versions = conn.execute(
        select(person_version)
        .where(person_version.c.person_id == person_id)
        .order_by(person_version.c.version_no)
    ).all()
    added: dict[int, dict[str, list[dict[str, Any]]]] = {}
    superseded: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for aspect in persons.ASPECTS:
        t = aspect.table
        for row in conn.execute(select(t).where(t.c.person_id == person_id).order_by(t.c.id)).mappings():
            values = {k: v for k, v in row.items() if k in aspect.columns or k in ("valid_from", "valid_to")}
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
