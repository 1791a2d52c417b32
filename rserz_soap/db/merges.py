"""Merges of duplicate persons: ЕНП aliases that move, ``person_merge`` rows, and what a version changed.

The rules of merging live in ``usecases/duplicates.py``; this module reads and writes the rows they need,
exactly (an unmerge finds the aliases its merge moved by the merge's own instant).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from rserz_soap.db.persons import ASPECTS, Aspect, DataRow
from rserz_soap.db.tables import enp_alias, insurance_period, person, person_data, person_merge
from rserz_soap.domain.person import PersonCard


@dataclass(frozen=True)
class MergeRow:
    id: int
    survivor_id: int
    merged_id: int
    survivor_version_id: int | None
    merged_version_id: int | None
    merged_at: datetime
    unmerged_at: datetime | None
    unmerged_by: str | None


@dataclass(frozen=True)
class DataFacts:
    """The few person_data values an unmerge needs from a version's before and after."""

    ss: str | None
    status: str


class Merges:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def clock(self) -> datetime:
        """The merge's own instant: ``now()`` is the transaction's start, shared by every merge in it."""
        value: datetime = self._conn.execute(select(func.clock_timestamp())).scalar_one()
        return value

    def merged(self, ids: Iterable[int]) -> set[int]:
        """Those of ``ids`` that are merged into someone."""
        wanted = list(ids)
        if not wanted:
            return set()
        rows = self._conn.execute(
            select(person.c.id).where(person.c.id.in_(wanted), person.c.merged_into.is_not(None))
        )
        return set(rows.scalars())

    def move_aliases(self, merged_id: int, survivor_id: int, *, reason: str, at: datetime) -> list[str]:
        """Every ЕНП of ``merged_id`` becomes an alias of ``survivor_id`` (stamped with ``at``)."""
        return list(
            self._conn.execute(
                update(enp_alias)
                .where(enp_alias.c.person_id == merged_id)
                .values(person_id=survivor_id, is_main=False, reason=reason, added_at=at)
                .returning(enp_alias.c.enp)
            ).scalars()
        )

    def aliases_moved_at(self, survivor_id: int, *, reason: str, at: datetime) -> list[str]:
        return list(
            self._conn.execute(
                select(enp_alias.c.enp).where(
                    enp_alias.c.person_id == survivor_id,
                    enp_alias.c.reason == reason,
                    enp_alias.c.added_at == at,
                )
            ).scalars()
        )

    def point_alias(
        self, enp: str, person_id: int, *, is_main: bool, reason: str, at: datetime | None
    ) -> None:
        """Point one ЕНП at ``person_id`` (``at`` None: now)."""
        self._conn.execute(
            update(enp_alias)
            .where(enp_alias.c.enp == enp)
            .values(person_id=person_id, is_main=is_main, reason=reason, added_at=at or func.now())
        )

    def set_merged_into(self, person_id: int, survivor_id: int | None) -> None:
        self._conn.execute(update(person).where(person.c.id == person_id).values(merged_into=survivor_id))

    def record(
        self,
        survivor_id: int,
        merged_id: int,
        *,
        actor: str,
        reason: str | None,
        survivor_version_id: int,
        merged_version_id: int,
        at: datetime,
    ) -> int:
        return int(
            self._conn.execute(
                insert(person_merge)
                .values(
                    survivor_id=survivor_id,
                    merged_id=merged_id,
                    actor=actor,
                    reason=reason,
                    survivor_version_id=survivor_version_id,
                    merged_version_id=merged_version_id,
                    merged_at=at,
                )
                .returning(person_merge.c.id)
            ).scalar_one()
        )

    def lock(self, merge_id: int) -> MergeRow | None:
        r = self._conn.execute(
            select(person_merge).where(person_merge.c.id == merge_id).with_for_update()
        ).one_or_none()
        if r is None:
            return None
        return MergeRow(
            r.id,
            int(r.survivor_id),
            int(r.merged_id),
            r.survivor_version_id,
            r.merged_version_id,
            r.merged_at,
            r.unmerged_at,
            r.unmerged_by,
        )

    def undone(self, merge_id: int, actor: str) -> None:
        self._conn.execute(
            update(person_merge)
            .where(person_merge.c.id == merge_id)
            .values(unmerged_at=func.now(), unmerged_by=actor)
        )

    def merges_into(self, survivor_id: int) -> list[tuple[int, datetime]]:
        """Merges still in force into ``survivor_id``: (merged person, instant), oldest first."""
        rows = self._conn.execute(
            select(person_merge.c.merged_id, person_merge.c.merged_at)
            .where(person_merge.c.survivor_id == survivor_id, person_merge.c.unmerged_at.is_(None))
            .order_by(person_merge.c.id)
        ).all()
        return [(int(r.merged_id), r.merged_at) for r in rows]

    def enps_of(self, person_id: int) -> set[str]:
        """The person's main ЕНП, every ЕНП on its insurance history, and those of merges into it."""
        enps = set(self._conn.execute(select(person.c.main_enp).where(person.c.id == person_id)).scalars())
        enps |= set(
            self._conn.execute(
                select(insurance_period.c.enp).where(insurance_period.c.person_id == person_id).distinct()
            ).scalars()
        )
        for merged_id, _at in self.merges_into(person_id):
            enps |= self.enps_of(merged_id)
        return enps

    def version_values(
        self, aspect: Aspect, person_id: int | None, version_id: int, *, removed: bool
    ) -> frozenset[Any]:
        """Values of the open rows version ``version_id`` superseded (``removed``) or inserted (still current)."""
        t = aspect.table
        cond = [t.c.person_id == person_id]
        cond += (
            [t.c.superseded_by == version_id]
            if removed
            else [t.c.version_id == version_id, t.c.superseded_at.is_(None)]
        )
        if aspect.sliced:
            cond.append(t.c.valid_to.is_(None))
        rows = self._conn.execute(select(*(t.c[c] for c in aspect.columns)).where(*cond)).mappings()
        return frozenset(aspect.kind(**dict(r)) for r in rows)

    def undo_version(self, card: PersonCard, version_id: int) -> PersonCard:
        """``card`` with what version ``version_id`` removed put back and what it added (still current) out.

        Only the set-valued aspects (documents, addresses, insurance, attachments): the data row is one value
        whose later changes must survive, so callers restore its fields one by one.
        """
        changes: dict[str, frozenset[Any]] = {}
        for aspect in ASPECTS:
            if aspect.kind is DataRow:
                continue
            removed = self.version_values(aspect, card.person_id, version_id, removed=True)
            added = self.version_values(aspect, card.person_id, version_id, removed=False)
            if removed or added:
                current: frozenset[Any] = getattr(card, aspect.name)
                changes[aspect.name] = (current - added) | removed
        return card.replace(**changes)

    def data_facts(self, person_id: int, version_id: int) -> tuple[DataFacts | None, DataFacts | None]:
        """The person_data row version ``version_id`` superseded and the open one it wrote (None: unchanged)."""
        t = person_data

        def open_row(link: Any) -> DataFacts | None:
            cond = (t.c.person_id == person_id, link == version_id, t.c.valid_to.is_(None))
            r = self._conn.execute(select(t.c.ss, t.c.status).where(*cond)).first()
            return DataFacts(r.ss, r.status) if r is not None else None

        return open_row(t.c.superseded_by), open_row(t.c.version_id)

    def of_person(self, person_id: int) -> list[MergeRow]:
        """Every merge the person took part in (as survivor or as duplicate), newest first."""
        rows = self._conn.execute(
            select(person_merge)
            .where((person_merge.c.survivor_id == person_id) | (person_merge.c.merged_id == person_id))
            .order_by(person_merge.c.id.desc())
        ).all()
        return [
            MergeRow(
                r.id,
                int(r.survivor_id),
                int(r.merged_id),
                r.survivor_version_id,
                r.merged_version_id,
                r.merged_at,
                r.unmerged_at,
                r.unmerged_by,
            )
            for r in rows
        ]
