"""The federal register's tables on our side: the push outbox, the daily-change cursor, reconciliations."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from rserz_soap.db.tables import (
    federal_event,
    federal_event_window,
    federal_push,
    reconciliation_federal,
    reconciliation_item,
    reconciliation_run,
)
from rserz_soap.domain.codec import encode
from rserz_soap.domain.federal import VitrinaRow
from rserz_soap.domain.person import PersonCard

# -- the outbox of changes that must reach ФЕРЗЛ first ---------------------------------------------------


@dataclass(frozen=True)
class PushRow:
    entry_id: int
    request_id: uuid.UUID
    operation: str
    change_date: date
    enp: str | None
    state: str


@dataclass(frozen=True)
class NewPush:
    entry_id: int
    operation: str
    change_date: date
    card: PersonCard
    enp: str | None
    person_id: int | None


@dataclass(frozen=True)
class PushAnswer:
    """ФЕРЗЛ's answer to one entry, as the outbox keeps it; ``enp``: the ЕНП formed for an application."""

    entry_id: int
    accepted: bool
    code: str | None
    text: str | None
    enp: str | None = None


# The cards travel as one JSON document (a text array of JSON would be escaped quote by quote in Python).
# One statement of one shape for any number of rows (a multi-row VALUES is compiled anew for each count).
_ADD_SQL = text(
    "INSERT INTO federal_push (entry_id, request_id, operation, change_date, card, enp, person_id)"
    " SELECT u.entry_id, u.request_id, u.operation, u.change_date, u.card, u.enp, u.person_id"
    " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS u(entry_id bigint, request_id uuid, operation text,"
    " change_date date, card jsonb, enp text, person_id bigint)"
    " ON CONFLICT (entry_id) DO NOTHING"
)

_PREPARED_SQL = text(
    "UPDATE federal_push f SET card = u.card, attempts = f.attempts + 1"
    " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS u(id bigint, card jsonb) WHERE f.entry_id = u.id"
)

_ANSWERED_SQL = text(
    "UPDATE federal_push f SET state = u.state, federal_code = u.code, federal_text = u.text,"
    " last_error = NULL, answered_at = now(), enp = coalesce(u.enp, f.enp)"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:states AS text[]), CAST(:codes AS text[]),"
    " CAST(:texts AS text[]), CAST(:enps AS text[])) AS u(id, state, code, text, enp) WHERE f.entry_id = u.id"
)


class FederalPushes:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, pushes: Sequence[NewPush]) -> None:
        """One row per entry, each with a request id of its own (kept on every attempt)."""
        if not pushes:
            return
        rows = [
            {
                "entry_id": p.entry_id,
                "request_id": str(uuid.uuid4()),
                "operation": p.operation,
                "change_date": p.change_date.isoformat(),
                "card": encode(p.card),
                "enp": p.enp,
                "person_id": p.person_id,
            }
            for p in pushes
        ]
        self._conn.execute(_ADD_SQL, {"rows": json.dumps(rows, ensure_ascii=False)})

    def pending(self, limit: int, *, lane: int = 0, lanes: int = 1) -> list[int]:
        """Entries waiting to reach ФЕРЗЛ, oldest first (the order they must be sent in), of one lane: a
        person's entries are always in the lane of their person id, a new person's (no id yet) in lane 0."""
        q = select(federal_push.c.entry_id).where(federal_push.c.state == "pending")
        if lanes > 1:
            q = q.where(func.mod(func.coalesce(federal_push.c.person_id, 0), lanes) == lane)
        return list(self._conn.execute(q.order_by(federal_push.c.entry_id).limit(limit)).scalars())

    def get_many(self, entry_ids: Sequence[int]) -> dict[int, PushRow]:
        c = federal_push.c
        rows = self._conn.execute(
            select(c.entry_id, c.request_id, c.operation, c.change_date, c.enp, c.state).where(
                c.entry_id.in_(list(entry_ids))
            )
        )
        return {
            r.entry_id: PushRow(r.entry_id, r.request_id, r.operation, r.change_date, r.enp, r.state)
            for r in rows
        }

    def prepared(self, cards: Sequence[tuple[int, PersonCard]]) -> None:
        """Each entry's card as it is sent this time (recomputed against the register as it is now), and
        one more attempt: one statement for a batch of (entry id, card)."""
        if not cards:
            return
        rows = [{"id": entry_id, "card": encode(card)} for entry_id, card in cards]
        self._conn.execute(_PREPARED_SQL, {"rows": json.dumps(rows, ensure_ascii=False)})

    def not_sent(self, entry_id: int, why: str) -> None:
        self._conn.execute(
            update(federal_push)
            .where(federal_push.c.entry_id == entry_id)
            .values(state="rejected", last_error=f"not sent: {why}", answered_at=func.now())
        )

    def answered(self, answers: Sequence[PushAnswer]) -> None:
        """ФЕРЗЛ's answers, one statement for a batch: each entry accepted or rejected with the federal
        code and text, its last error cleared; its ЕНП replaced only by the one ФЕРЗЛ formed (or kept) for
        an application (``createdPcy``), left as it was otherwise."""
        if not answers:
            return
        self._conn.execute(
            _ANSWERED_SQL,
            {
                "ids": [a.entry_id for a in answers],
                "states": ["accepted" if a.accepted else "rejected" for a in answers],
                "codes": [a.code for a in answers],
                "texts": [a.text or None for a in answers],
                "enps": [a.enp for a in answers],
            },
        )

    def unreachable(self, entry_id: int, error: str) -> None:
        self._conn.execute(
            update(federal_push)
            .where(federal_push.c.entry_id == entry_id, federal_push.c.state == "pending")
            .values(last_error=error[:500])
        )


# -- ФЕРЗЛ's events (§5) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventWindow:
    feed: str
    done_until: date | None
    window_from: date | None
    window_to: date | None
    op_token: str | None


class FederalEvents:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def window(self, feed: str, *, lock: bool = False) -> EventWindow:
        """The feed's cursor (made if new)."""
        self._conn.execute(pg_insert(federal_event_window).values(feed=feed).on_conflict_do_nothing())
        q = select(federal_event_window).where(federal_event_window.c.feed == feed)
        r = self._conn.execute(q.with_for_update() if lock else q).one()
        return EventWindow(r.feed, r.done_until, r.window_from, r.window_to, r.op_token)

    def started(self, feed: str, dfrom: date, dto: date, op_token: str) -> None:
        self._conn.execute(
            update(federal_event_window)
            .where(federal_event_window.c.feed == feed)
            .values(window_from=dfrom, window_to=dto, op_token=op_token, updated_at=func.now())
        )

    def finished(self, feed: str, done_until: date, events: int) -> None:
        self._conn.execute(
            update(federal_event_window)
            .where(federal_event_window.c.feed == feed)
            .values(
                done_until=done_until,
                window_from=None,
                window_to=None,
                op_token=None,
                events=federal_event_window.c.events + events,
                updated_at=func.now(),
            )
        )

    def seen(self, key: str) -> bool:
        return (
            self._conn.execute(
                select(federal_event.c.event_key).where(federal_event.c.event_key == key)
            ).first()
            is not None
        )

    def first_delivery(self, key: str, oip: str, enp: str | None, event: str, dt: str, feed: str) -> bool:
        """Remember an event; False when it was taken before (a duplicate, or a window taken again)."""
        return (
            self._conn.execute(
                pg_insert(federal_event)
                .values(event_key=key, oip=oip, enp=enp, event=event, dt=dt, feed=feed, outcome="taking")
                .on_conflict_do_nothing()
                .returning(federal_event.c.event_key)
            ).first()
            is not None
        )

    def outcome(self, key: str, person_id: int | None, outcome: str, detail: str | None) -> None:
        self._conn.execute(
            update(federal_event)
            .where(federal_event.c.event_key == key)
            .values(person_id=person_id, outcome=outcome, detail=detail)
        )

    def counts(self) -> dict[str, int]:
        rows = self._conn.execute(
            select(federal_event.c.outcome, func.count()).group_by(federal_event.c.outcome)
        ).all()
        return {str(k): int(v) for k, v in rows}

    def for_review(self, limit: int = 100) -> list[tuple[str, str, str | None, str | None]]:
        """Events an operator must look at (an unknown code, a merge …): (key, event, ЕНП, detail)."""
        rows = self._conn.execute(
            select(
                federal_event.c.event_key, federal_event.c.event, federal_event.c.enp, federal_event.c.detail
            )
            .where(federal_event.c.outcome.in_(("review", "unknown_code")))
            .order_by(federal_event.c.seen_at)
            .limit(limit)
        ).all()
        return [(r[0], r[1], r[2], r[3]) for r in rows]


# -- reconciliation --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionalRow:
    """The compared fields of one regional person, as text (normalised by the caller's function)."""

    person_id: int
    enp: str
    fam: str | None
    im: str | None
    ot: str | None
    w: int
    dr: date
    ss: str | None
    doctype: int | None
    docser: str | None
    docnum: str | None
    smo: str | None
    ddeath: date | None


@dataclass(frozen=True)
class RunRow:
    id: int
    state: str
    filter: dict[str, Any]
    policy: str
    cursor_enp: str | None
    batch_id: str | None
    batch_after: str | None
    staged_rows: int | None
    batches: int
    persons: int
    differences: int
    applied: int
    error: str | None
    started_at: Any
    heartbeat_at: Any
    finished_at: Any


#: a staged row is a row of the витрина as the domain names it
StagedRow = VitrinaRow
STAGED_COLUMNS = VitrinaRow._fields


@dataclass(frozen=True)
class ItemRow:
    enp: str
    person_id: int | None
    category: str
    field: str
    regional: str | None
    federal: str | None
    resolution: str


# The regional side of a batch: the current card's compared fields in one statement (index range on ЕНП).
_REGIONAL_SQL = """
SELECT p.id, p.main_enp, d.fam, d.im, d.ot, d.w, d.dr, d.ss, d.ddeath, doc.doctype, doc.docser, doc.docnum, ip.smo_code
FROM person p
JOIN person_data d ON d.person_id = p.id AND d.superseded_at IS NULL AND d.valid_to IS NULL
LEFT JOIN LATERAL (
  SELECT x.doctype, x.docser, x.docnum FROM identity_document x
  WHERE x.person_id = p.id AND x.superseded_at IS NULL AND x.valid_to IS NULL AND x.is_main
  ORDER BY x.docdate DESC NULLS LAST, x.id DESC LIMIT 1) doc ON true
LEFT JOIN LATERAL (
  SELECT i.smo_code FROM insurance_period i
  WHERE i.person_id = p.id AND i.superseded_at IS NULL ORDER BY i.dbeg DESC, i.id DESC LIMIT 1) ip ON true
WHERE p.merged_into IS NULL AND {where}
ORDER BY p.main_enp
LIMIT :limit
"""

_FILTERS = {
    "smo": "EXISTS (SELECT 1 FROM insurance_period f WHERE f.person_id = p.id AND f.superseded_at IS NULL"
    " AND f.dstop IS NULL AND f.smo_code = :smo)",
    "mo": "EXISTS (SELECT 1 FROM attachment a WHERE a.person_id = p.id AND a.superseded_at IS NULL"
    " AND a.date_out IS NULL AND a.mo_code = :mo)",
    "changed_since": "EXISTS (SELECT 1 FROM person_version v WHERE v.person_id = p.id"
    " AND v.recorded_at >= :changed_since)",
}


class Reconciliations:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def start(self, flt: Mapping[str, str], policy: str, actor: str) -> int:
        return int(
            self._conn.execute(
                insert(reconciliation_run)
                .values(filter=dict(flt), policy=policy, actor=actor)
                .returning(reconciliation_run.c.id)
            ).scalar_one()
        )

    def run(self, run_id: int, *, for_update: bool = False) -> RunRow:
        q = select(reconciliation_run).where(reconciliation_run.c.id == run_id)
        r = self._conn.execute(q.with_for_update() if for_update else q).one()
        return RunRow(*(r._mapping[c] for c in RunRow.__dataclass_fields__))

    def run_ids(self, limit: int) -> list[int]:
        return list(
            self._conn.execute(
                select(reconciliation_run.c.id).order_by(reconciliation_run.c.id.desc()).limit(limit)
            ).scalars()
        )

    def batch_started(self, run_id: int, batch_id: str, after: str | None) -> None:
        self._conn.execute(
            update(reconciliation_run)
            .where(reconciliation_run.c.id == run_id)
            .values(batch_id=batch_id, batch_after=after or "", heartbeat_at=func.now())
        )

    def batch_settled(
        self, run_id: int, *, cursor: str | None, persons: int, differences: int, applied: int, done: bool
    ) -> None:
        self._conn.execute(
            update(reconciliation_run)
            .where(reconciliation_run.c.id == run_id)
            .values(
                cursor_enp=cursor,
                batch_id=None,
                batch_after=None,
                batches=reconciliation_run.c.batches + 1,
                persons=reconciliation_run.c.persons + persons,
                differences=reconciliation_run.c.differences + differences,
                applied=reconciliation_run.c.applied + applied,
                heartbeat_at=func.now(),
                state="done" if done else "running",
                finished_at=func.now() if done else None,
            )
        )

    def end(self, run_id: int, state: str, *, cursor: str | None = None, error: str | None = None) -> None:
        """A running run ends (done, failed or cancelled); one that has ended already is left as it is."""
        values: dict[str, Any] = {"state": state, "finished_at": func.now(), "heartbeat_at": func.now()}
        if cursor is not None:
            values["cursor_enp"] = cursor
        if error is not None:
            values["error"] = error
        self._conn.execute(
            update(reconciliation_run)
            .where(reconciliation_run.c.id == run_id, reconciliation_run.c.state == "running")
            .values(**values)
        )

    def counts(self, run_id: int) -> dict[str, int]:
        rows = self._conn.execute(
            select(reconciliation_item.c.category, func.count())
            .where(reconciliation_item.c.run_id == run_id)
            .group_by(reconciliation_item.c.category)
        ).all()
        return {str(k): int(v) for k, v in rows}

    def add_items(self, run_id: int, items: Sequence[ItemRow]) -> None:
        if not items:
            return
        self._conn.execute(
            pg_insert(reconciliation_item)
            .values([{"run_id": run_id, **vars(i)} for i in items])
            .on_conflict_do_nothing(constraint="uq_reconciliation_item")
        )

    def items(self, run_id: int, category: str | None = None) -> list[ItemRow]:
        """The run's differences in ЕНП and field order."""
        q = select(reconciliation_item).where(reconciliation_item.c.run_id == run_id)
        if category is not None:
            q = q.where(reconciliation_item.c.category == category)
        rows = self._conn.execute(q.order_by(reconciliation_item.c.enp, reconciliation_item.c.field))
        return [
            ItemRow(r.enp, r.person_id, r.category, r.field, r.regional, r.federal, r.resolution)
            for r in rows
        ]

    def items_page(
        self,
        run_id: int,
        *,
        category: str | None = None,
        field: str | None = None,
        resolution: str | None = None,
        after_id: int | None = None,
        limit: int,
    ) -> list[tuple[int, ItemRow]]:
        """A page of the run's differences in (ЕНП, field) order after the item ``after_id`` (keyset paging
        whose cursor is an internal id, so no ЕНП has to travel in a URL); each with its item id."""
        t = reconciliation_item
        q = select(t).where(t.c.run_id == run_id)
        if category:
            q = q.where(t.c.category == category)
        if field:
            q = q.where(t.c.field == field)
        if resolution:
            q = q.where(t.c.resolution == resolution)
        if after_id is not None:
            q = q.where(
                text(
                    "(reconciliation_item.enp, reconciliation_item.field) >"
                    " (SELECT x.enp, x.field FROM reconciliation_item x WHERE x.id = :after_id)"
                )
            )
        rows = self._conn.execute(q.order_by(t.c.enp, t.c.field).limit(limit), {"after_id": after_id})
        return [
            (r.id, ItemRow(r.enp, r.person_id, r.category, r.field, r.regional, r.federal, r.resolution))
            for r in rows
        ]

    def stale(self, older_than_seconds: float) -> list[int]:
        """Running runs whose worker has not settled a batch for a while (a killed worker)."""
        return list(
            self._conn.execute(
                select(reconciliation_run.c.id).where(
                    reconciliation_run.c.state == "running",
                    reconciliation_run.c.heartbeat_at
                    < func.now() - text(f"interval '{float(older_than_seconds)} seconds'"),
                )
            ).scalars()
        )

    def stage(self, run_id: int, rows: Iterable[Sequence[object]]) -> int:
        """COPY the витрина's rows (in :data:`STAGED_COLUMNS` order) for the run; the caller's transaction
        also marks the run staged, so a run is either staged whole or not at all."""
        from rserz_soap.db import bulk

        self._conn.execute(delete(reconciliation_federal).where(reconciliation_federal.c.run_id == run_id))
        count = bulk.copy_rows(
            self._conn, "reconciliation_federal", ("run_id", *STAGED_COLUMNS), ((run_id, *r) for r in rows)
        )
        self._conn.execute(
            update(reconciliation_run)
            .where(reconciliation_run.c.id == run_id)
            .values(staged_rows=count, batch_id=None, heartbeat_at=func.now())
        )
        return count

    def staged_rows(
        self, run_id: int, *, after: str | None = None, enps: Sequence[str] | None = None, limit: int
    ) -> list[StagedRow]:
        f = reconciliation_federal.c
        q = select(*(f[c] for c in STAGED_COLUMNS)).where(f.run_id == run_id)
        q = q.where(f.enp.in_(list(enps)) if enps is not None else f.enp > (after or ""))
        rows = self._conn.execute(q.order_by(f.enp).limit(limit)).all()
        return [VitrinaRow(*r) for r in rows]

    def drop_stage(self, run_id: int) -> None:
        self._conn.execute(delete(reconciliation_federal).where(reconciliation_federal.c.run_id == run_id))

    def regional_rows(
        self,
        *,
        after: str | None = None,
        upto: str | None = None,
        enps: Sequence[str] | None = None,
        flt: Mapping[str, Any] | None = None,
        limit: int,
    ) -> list[RegionalRow]:
        """The region's persons in ЕНП order after ``after`` (up to ``upto``, among ``enps``, by filter)."""
        where = ["p.main_enp > :after"]
        params: dict[str, Any] = {"after": after or "", "limit": limit}
        if upto is not None:
            where.append("p.main_enp <= :upto")
            params["upto"] = upto
        if enps is not None:
            where.append("p.main_enp = ANY(:enps)")
            params["enps"] = list(enps)
        for name, value in (flt or {}).items():
            where.append(_FILTERS[name])
            params[name] = value
        rows = self._conn.execute(text(_REGIONAL_SQL.format(where=" AND ".join(where))), params)
        return [
            RegionalRow(
                r.id,
                r.main_enp,
                r.fam,
                r.im,
                r.ot,
                r.w,
                r.dr,
                r.ss,
                r.doctype,
                r.docser,
                r.docnum,
                r.smo_code,
                r.ddeath,
            )
            for r in rows
        ]
