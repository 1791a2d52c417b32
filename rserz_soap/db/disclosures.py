"""Disclosures (152-ФЗ): which persons each answer showed to which participant, and when.

Kept apart from the exchange journal — it names persons, the journal does not — and without any personal
data of its own: internal person ids, the participant, the operation and the journal's correlation id.
Written off the request path like the journal (a crash can lose the last fraction of a second of rows,
never an answer's data). Rows older than the retention period are pruned by a scheduled job.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, func, select

from rserz_soap.db.exchange import BatchedInsert
from rserz_soap.db.tables import disclosure


@dataclass(frozen=True)
class Disclosure:
    disclosed_at: datetime
    participant_id: int
    operation: str
    correlation_id: uuid.UUID
    person_ids: tuple[int, ...]


class DisclosureWriter:
    def __init__(self, engine: Engine, *, interval: float = 0.2) -> None:
        self._rows = BatchedInsert(engine, disclosure, name="disclosures", interval=interval)

    def submit(
        self, participant_id: int, operation: str, correlation_id: uuid.UUID, person_ids: Iterable[int]
    ) -> None:
        ids = sorted(set(person_ids))
        if ids:
            self._rows.submit(
                {
                    "participant_id": participant_id,
                    "operation": operation[:64],
                    "correlation_id": correlation_id,
                    "person_ids": ids,
                }
            )

    def flush(self) -> int:
        return self._rows.flush()


class Disclosures:
    """Disclosures inside one unit of work: who saw a person; pruning by age."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def of_person(self, person_id: int, limit: int = 100) -> list[Disclosure]:
        d = disclosure
        rows = self._conn.execute(
            select(d.c.disclosed_at, d.c.participant_id, d.c.operation, d.c.correlation_id, d.c.person_ids)
            .where(d.c.person_ids.any(person_id))
            .order_by(d.c.disclosed_at.desc())
            .limit(limit)
        )
        return [Disclosure(r[0], r[1], r[2], r[3], tuple(r[4])) for r in rows]

    def prune(self, older_than: datetime) -> int:
        return int(
            self._conn.execute(delete(disclosure).where(disclosure.c.disclosed_at < older_than)).rowcount or 0
        )

    def count(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(disclosure)).scalar_one())
