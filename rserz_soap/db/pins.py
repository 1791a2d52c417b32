"""Pins (deliberate deviations from ФЕРЗЛ, ``person_pin``) and the federal values we know (``federal_value``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from rserz_soap.db.tables import federal_value, person_pin
from rserz_soap.domain.codec import encode


@dataclass(frozen=True)
class PinRow:
    field: str
    value: Any
    federal_value: Any
    justification: str
    actor: str
    pinned_at: datetime


@dataclass(frozen=True)
class KnownFederal:
    """A value ФЕРЗЛ was last seen to hold, and where it was seen."""

    value: Any
    observed_at: datetime
    source: str


@dataclass(frozen=True)
class NewPin:
    field: str
    value: Any  # encoded: the value the region keeps
    federal_value: Any  # encoded: what ФЕРЗЛ held when the pin was made
    justification: str
    actor: str


class Pins:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def active(self, person_id: int) -> dict[str, Any]:
        """Active pins of a person: field → the value the region keeps."""
        rows = self._conn.execute(
            select(person_pin.c.field, person_pin.c.value).where(
                person_pin.c.person_id == person_id, person_pin.c.released_at.is_(None)
            )
        )
        return {r[0]: r[1] for r in rows}

    def fields_of(self, person_ids: Iterable[int]) -> dict[int, set[str]]:
        """The pinned fields of several persons, in one query."""
        rows = self._conn.execute(
            select(person_pin.c.person_id, person_pin.c.field).where(
                person_pin.c.released_at.is_(None), person_pin.c.person_id.in_(list(person_ids))
            )
        )
        out: dict[int, set[str]] = {}
        for pid, name in rows:
            out.setdefault(pid, set()).add(name)
        return out

    def pin(self, person_id: int, pins: Iterable[NewPin]) -> None:
        rows = [{"person_id": person_id, **vars(p)} for p in pins]
        if rows:
            self._conn.execute(insert(person_pin), rows)

    def release(self, person_id: int, names: Iterable[str], actor: str) -> int:
        res = self._conn.execute(
            update(person_pin)
            .where(
                person_pin.c.person_id == person_id,
                person_pin.c.field.in_(list(names)),
                person_pin.c.released_at.is_(None),
            )
            .values(released_at=func.now(), released_by=actor)
        )
        return int(res.rowcount or 0)

    def remember_federal(self, person_id: int, values: Mapping[str, Any], *, source: str) -> None:
        for name, value in values.items():
            stmt = pg_insert(federal_value).values(
                person_id=person_id, field=name, value=encode(value), source=source
            )
            self._conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[federal_value.c.person_id, federal_value.c.field],
                    set_={"value": stmt.excluded.value, "source": source, "observed_at": func.now()},
                )
            )

    def active_pins(self, person_id: int) -> list[PinRow]:
        """Active pins with their justification and author, by field."""
        p = person_pin
        rows = self._conn.execute(
            select(p.c.field, p.c.value, p.c.federal_value, p.c.justification, p.c.actor, p.c.pinned_at)
            .where(p.c.person_id == person_id, p.c.released_at.is_(None))
            .order_by(p.c.field)
        ).all()
        return [PinRow(*r) for r in rows]

    def known_federal(self, person_id: int) -> dict[str, KnownFederal]:
        """The federal values remembered for a person (daily changes, reconciliation, lookups)."""
        f = federal_value
        rows = self._conn.execute(
            select(f.c.field, f.c.value, f.c.observed_at, f.c.source).where(f.c.person_id == person_id)
        ).all()
        return {r[0]: KnownFederal(r[1], r[2], r[3]) for r in rows}
