"""СМЭВ 3 on our side: the inbox of ЕГР ЗАГС pushes, the newborns, the СФР requests.

The inbox is the exactly-once argument of the ЗАГС flow (``usecases/zags.py``): a pushed message is
inserted by its MessageID before anything is applied, applied in a transaction that also moves its row
out of ``received``, and acknowledged only after that commit. A repeated delivery (СМЭВ redelivers what
was not acknowledged; a worker killed between the commit and the Ack) finds the row and is only
acknowledged again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from rserz_soap.db.tables import newborn, smev_inbox, smev_request


@dataclass(frozen=True)
class InboxRow:
    message_id: str
    root: str
    record_id: str | None
    reply_to: str
    payload: Any
    state: str
    results: Any
    receipt_message_id: str
    receipt_sent: bool
    acked: bool
    deliveries: int


def _inbox_row(r: Any) -> InboxRow:
    return InboxRow(
        r.message_id,
        r.root,
        r.record_id,
        r.reply_to,
        r.payload,
        r.state,
        r.results,
        r.receipt_message_id,
        r.receipt_sent_at is not None,
        r.acked_at is not None,
        r.deliveries,
    )


class SmevInbox:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def store(
        self, message_id: str, root: str, record_id: str | None, reply_to: str, payload: Any
    ) -> InboxRow:
        """Insert a delivered message; a repeat only counts the delivery. Returns the row as stored."""
        stmt = pg_insert(smev_inbox).values(
            message_id=message_id,
            root=root,
            record_id=record_id,
            reply_to=reply_to,
            payload=payload,
            receipt_message_id=str(uuid.uuid1()),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[smev_inbox.c.message_id], set_={"deliveries": smev_inbox.c.deliveries + 1}
        )
        self._conn.execute(stmt)
        row = self.get(message_id)
        assert row is not None
        return row

    def get(self, message_id: str, *, for_update: bool = False) -> InboxRow | None:
        stmt = select(smev_inbox).where(smev_inbox.c.message_id == message_id)
        if for_update:
            stmt = stmt.with_for_update()
        r = self._conn.execute(stmt).first()
        return _inbox_row(r) if r is not None else None

    def decided(self, message_id: str, state: str, results: Any, *, by: str | None = None) -> None:
        self._conn.execute(
            update(smev_inbox)
            .where(smev_inbox.c.message_id == message_id)
            .values(state=state, results=results, decided_at=func.now(), decided_by=by)
        )

    def answered(self, message_id: str) -> None:
        """The receipt went and the Ack was given (the first time each; later repeats keep the times)."""
        t = smev_inbox.c
        self._conn.execute(
            update(smev_inbox)
            .where(t.message_id == message_id)
            .values(
                receipt_sent_at=func.coalesce(t.receipt_sent_at, func.now()),
                acked_at=func.coalesce(t.acked_at, func.now()),
            )
        )

    def act_cancelled(self, act_number: str, act_date: date) -> bool:
        """Whether a push already annulled this death act record."""
        wanted = [{"act_number": act_number, "act_date": act_date.isoformat(), "status": "cancelled"}]
        return bool(
            self._conn.execute(
                select(func.count())
                .select_from(smev_inbox)
                .where(smev_inbox.c.root == "FATALZPRequest", smev_inbox.c.payload["deaths"].contains(wanted))
            ).scalar_one()
        )

    def unfinished(self, limit: int) -> list[str]:
        """Messages stored but not applied, or not answered, or not acknowledged: a crash's leftovers."""
        t = smev_inbox.c
        return list(
            self._conn.execute(
                select(t.message_id)
                .where((t.acked_at.is_(None)) | (t.state == "received"))
                .order_by(t.received_at)
                .limit(limit)
            ).scalars()
        )

    def held(self, limit: int = 100) -> list[InboxRow]:
        """Pushes with an act record waiting for an operator (the review list of the console)."""
        rows = self._conn.execute(
            select(smev_inbox)
            .where(smev_inbox.c.state == "review")
            .order_by(smev_inbox.c.received_at)
            .limit(limit)
        )
        return [_inbox_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self._conn.execute(select(smev_inbox.c.state, func.count()).group_by(smev_inbox.c.state))
        return {r[0]: r[1] for r in rows}


@dataclass(frozen=True)
class NewNewborn:
    message_id: str
    act_number: str
    act_date: date
    office: str | None
    fam: str
    im: str
    ot: str | None
    w: int | None
    dr: date
    birth_place: str | None
    mother: Any
    mother_person_id: int | None


class Newborns:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, n: NewNewborn) -> bool:
        """Register a newborn once per act record; False when that act record is already here."""
        stmt = (
            pg_insert(newborn)
            .values(**vars(n))
            .on_conflict_do_nothing(index_elements=[newborn.c.act_number, newborn.c.act_date])
        )
        return bool(self._conn.execute(stmt).rowcount)

    def cancel(self, act_number: str, act_date: date) -> bool:
        result = self._conn.execute(
            update(newborn)
            .where(
                newborn.c.act_number == act_number,
                newborn.c.act_date == act_date,
                newborn.c.state == "waiting",
            )
            .values(state="cancelled")
        )
        return bool(result.rowcount)

    def count(self, state: str = "waiting") -> int:
        return int(
            self._conn.execute(
                select(func.count()).select_from(newborn).where(newborn.c.state == state)
            ).scalar_one()
        )


@dataclass(frozen=True)
class RequestRow:
    message_id: str
    kind: str
    person_id: int
    snils_asked: str | None
    state: str
    answer_message_id: str | None


class SmevRequests:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, kind: str, person_ids: Sequence[int], snils: dict[int, str] | None = None) -> list[str]:
        """One pending request per person, each with its MessageID fixed now; returns the MessageIDs."""
        rows: list[dict[str, Any]] = [
            {
                "message_id": str(uuid.uuid1()),
                "kind": kind,
                "person_id": pid,
                "snils_asked": (snils or {}).get(pid),
            }
            for pid in person_ids
        ]
        if rows:
            self._conn.execute(pg_insert(smev_request).values(rows))
        return [str(r["message_id"]) for r in rows]

    def to_send(self, limit: int) -> list[RequestRow]:
        t = smev_request.c
        rows = self._conn.execute(
            select(smev_request).where(t.state == "pending").order_by(t.created_at, t.message_id).limit(limit)
        )
        return [
            RequestRow(r.message_id, r.kind, r.person_id, r.snils_asked, r.state, r.answer_message_id)
            for r in rows
        ]

    def sent(self, message_id: str) -> None:
        self._conn.execute(
            update(smev_request)
            .where(smev_request.c.message_id == message_id, smev_request.c.state == "pending")
            .values(state="sent", sent_at=func.now(), attempts=smev_request.c.attempts + 1, last_error=None)
        )

    def failed(self, message_id: str, error: str) -> None:
        self._conn.execute(
            update(smev_request)
            .where(smev_request.c.message_id == message_id)
            .values(attempts=smev_request.c.attempts + 1, last_error=error[:500])
        )

    def get(self, message_id: str, *, for_update: bool = False) -> RequestRow | None:
        stmt = select(smev_request).where(smev_request.c.message_id == message_id)
        if for_update:
            stmt = stmt.with_for_update()
        r = self._conn.execute(stmt).first()
        if r is None:
            return None
        return RequestRow(r.message_id, r.kind, r.person_id, r.snils_asked, r.state, r.answer_message_id)

    def answered(
        self,
        message_id: str,
        answer_message_id: str,
        state: str,
        verdict: str,
        snils: str | None,
        outcome: str,
    ) -> None:
        self._conn.execute(
            update(smev_request)
            .where(smev_request.c.message_id == message_id)
            .values(
                state=state,
                answer_message_id=answer_message_id,
                verdict=verdict,
                snils_found=snils,
                outcome=outcome[:500],
                answered_at=func.now(),
            )
        )

    def persons_without_snils(self, limit: int) -> list[int]:
        """Living persons with no СНИЛС and no request for one still open."""
        return list(
            self._conn.execute(
                text(
                    "SELECT d.person_id FROM person_data d"
                    " WHERE d.superseded_at IS NULL AND d.valid_to IS NULL AND d.ss IS NULL"
                    " AND d.status IN ('insured', 'not_insured', 'suspended')"
                    " AND NOT EXISTS (SELECT 1 FROM smev_request r WHERE r.person_id = d.person_id"
                    "   AND r.state IN ('pending', 'sent'))"
                    " ORDER BY d.person_id LIMIT :n"
                ),
                {"n": limit},
            ).scalars()
        )

    def shared_snils(self, limit: int) -> dict[int, str]:
        """Persons whose СНИЛС another current person also holds (suspicious: one of them is wrong)."""
        rows = self._conn.execute(
            text(
                "WITH cur AS (SELECT d.person_id, d.ss FROM person_data d"
                "  WHERE d.superseded_at IS NULL AND d.valid_to IS NULL AND d.ss IS NOT NULL"
                "  AND d.status NOT IN ('merged', 'annulled'))"
                " SELECT c.person_id, c.ss FROM cur c WHERE c.ss IN (SELECT ss FROM cur GROUP BY ss HAVING count(*) > 1)"
                " AND NOT EXISTS (SELECT 1 FROM smev_request r WHERE r.person_id = c.person_id"
                "   AND r.kind = 'SnilsValidationRequest' AND r.snils_asked = c.ss)"
                " ORDER BY c.person_id LIMIT :n"
            ),
            {"n": limit},
        )
        return {r[0]: r[1] for r in rows}

    def counts(self) -> dict[str, int]:
        rows = self._conn.execute(select(smev_request.c.state, func.count()).group_by(smev_request.c.state))
        return {r[0]: r[1] for r in rows}
