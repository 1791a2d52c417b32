"""The buffer's tables: incoming changes (``buffer_entry``) and their decision trail (``buffer_decision``).

An entry's payload is the domain's ``OperationRecord`` and its result the domain's ``RecordResult``, both
stored as JSON through ``domain.codec``; this module turns rows into those objects and back, so the use
cases see entries, never rows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from rserz_soap.db.tables import PENDING_INDEX_PREDICATE, buffer_decision, buffer_entry, participant
from rserz_soap.domain.buffer import RESUMABLE, RecordResult, State, Submitter, Trail
from rserz_soap.domain.codec import decode, encode
from rserz_soap.domain.records import OperationRecord


@dataclass(frozen=True)
class Entry:
    """A buffer entry as the use cases see it: what was sent, by whom, where it stands."""

    id: int
    state: State
    record: OperationRecord
    submitter: Submitter
    result: RecordResult  # the last settled result (a placeholder while nothing is settled)


@dataclass(frozen=True)
class Batch:
    """The entries one request (or one file) brought, in the order they were sent."""

    batch_id: uuid.UUID  # the hub's own id (BATCH_ID); a REQUEST_ID is the participant's
    entry_ids: tuple[int, ...]
    received_at: datetime
    batch_ref: str | None
    request_id: uuid.UUID | None = None


@dataclass(frozen=True)
class PersonConflict:
    """What else is going on with a known person: others' undecided changes, federal values not pinned."""

    pending: int
    federal: dict[str, Any]


@dataclass(frozen=True)
class Settlement:
    """An entry's new state and result, and the trail of moves that led there."""

    result: RecordResult
    trail: Trail
    reject_reason: str | None = None


@dataclass(frozen=True)
class EntrySummary:
    """One line of the buffer's list: what, from whom, where it stands (the name is for the reviewer's eye)."""

    id: int
    state: State
    participant_kind: str
    participant_code: str
    tip_op: str
    n_rec: int
    received_at: datetime
    updated_at: datetime
    person_id: int | None
    fam: str | None
    im: str | None
    ot: str | None
    dr: str | None
    comment: str | None
    conflicts: tuple[str, ...]


@dataclass(frozen=True)
class EntryFilter:
    states: tuple[State, ...] = ()
    participant_id: int | None = None
    tip_op: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    person_id: int | None = None


@dataclass(frozen=True)
class TrailRow:
    from_state: str | None
    to_state: str
    actor: str
    reason: str | None
    decided_at: datetime


class BufferEntries:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(
        self,
        submitter: Submitter,
        records: Sequence[OperationRecord],
        *,
        request_id: uuid.UUID | None,
        batch_ref: str | None,
    ) -> Batch:
        """Store the records in state received, each with its first trail row, in order, as one batch."""
        batch_id = uuid.uuid4()
        rows = [
            {
                "participant_id": submitter.participant_id,
                "request_id": request_id,
                "batch_ref": batch_ref,
                "batch_id": batch_id,
                "n_rec": r.n_rec,
                "tip_op": r.op[:4],
                "payload": encode(r),
                "state": State.RECEIVED.value,
            }
            for r in records
        ]
        if not rows:
            return Batch(batch_id, (), self._now(), batch_ref, request_id)
        added = self._conn.execute(
            insert(buffer_entry).returning(buffer_entry.c.id, buffer_entry.c.received_at), rows
        ).all()
        ids = [r.id for r in added]
        self._conn.execute(
            insert(buffer_decision),
            [
                {
                    "entry_id": i,
                    "from_state": None,
                    "to_state": State.RECEIVED.value,
                    "actor": submitter.actor,
                    "reason": batch_ref,
                }
                for i in ids
            ],
        )
        return Batch(batch_id, tuple(ids), added[0].received_at, batch_ref, request_id)

    def _now(self) -> datetime:
        now: datetime = self._conn.execute(select(func.now())).scalar_one()
        return now

    def batch(
        self, participant_id: int, *, request_id: uuid.UUID | None = None, batch_id: uuid.UUID | None = None
    ) -> Batch | None:
        """The entries a participant sent with ``request_id`` (or in the batch ``batch_id``); None if none."""
        e = buffer_entry
        key = e.c.request_id == request_id if request_id is not None else e.c.batch_id == batch_id
        rows = self._conn.execute(
            select(e.c.id, e.c.received_at, e.c.batch_ref, e.c.batch_id, e.c.request_id)
            .where(e.c.participant_id == participant_id, key)
            .order_by(e.c.id)
        ).all()
        if not rows:
            return None
        first = rows[0]
        return Batch(
            first.batch_id, tuple(r.id for r in rows), first.received_at, first.batch_ref, first.request_id
        )

    def batch_ids_on(self, participant_id: int, first: date, last: date) -> list[uuid.UUID]:
        """The batches a participant sent on the days ``first``…``last``, in the order they arrived."""
        e = buffer_entry
        day = func.date(e.c.received_at)
        rows = self._conn.execute(
            select(e.c.batch_id, func.min(e.c.id).label("first"))
            .where(e.c.participant_id == participant_id, day >= first, day <= last)
            .group_by(e.c.batch_id)
            .order_by("first")
        ).all()
        return [r.batch_id for r in rows]

    def lock(self, entry_ids: Sequence[int], *, skip_locked: bool = False) -> list[Entry]:
        """The entries, locked in id order (two workers never wait on each other in a cycle).

        ``skip_locked``: entries another transaction holds are left out (several workers drain together).
        """
        rows = self._conn.execute(
            _with_sender()
            .where(buffer_entry.c.id.in_(list(entry_ids)))
            .order_by(buffer_entry.c.id)
            .with_for_update(of=buffer_entry, skip_locked=skip_locked)
        ).mappings()
        return [_entry(r) for r in rows]

    def lock_one(self, entry_id: int) -> Entry:
        """One entry, locked: one worker at a time decides it."""
        found = self.lock([entry_id])
        if not found:
            raise LookupError(f"no buffer entry {entry_id}")
        return found[0]

    def resumable(self, limit: int) -> list[int]:
        """Entries a crash or a queue left received, checked or accepted, oldest first."""
        return list(
            self._conn.execute(
                select(buffer_entry.c.id)
                .where(buffer_entry.c.state.in_([s.value for s in RESUMABLE]))
                .order_by(buffer_entry.c.id)
                .limit(limit)
            ).scalars()
        )

    def results(self, entry_ids: Sequence[int]) -> list[RecordResult]:
        rows = self._conn.execute(
            select(buffer_entry).where(buffer_entry.c.id.in_(list(entry_ids)))
        ).mappings()
        by_id = {r["id"]: _result(r) for r in rows}
        return [by_id[i] for i in entry_ids]

    def settle(self, settlements: Sequence[Settlement]) -> None:
        """Write the entries' new states, results and trails: one UPDATE and one INSERT for all of them."""
        if not settlements:
            return
        rows = [
            {
                "id": s.result.entry_id,
                "state": s.result.state.value,
                "result": encode(s.result),
                "pid": s.result.person_id,
            }
            for s in settlements
        ]
        self._conn.execute(_SETTLE_SQL, {"rows": json.dumps(rows, ensure_ascii=False)})
        moves = [row for s in settlements for row in _trail_rows(s.trail, s.reject_reason)]
        if moves:
            self._conn.execute(insert(buffer_decision), moves)

    def person_conflicts(
        self, pairs: Iterable[tuple[int, int, int]], pending: Iterable[State]
    ) -> dict[int, PersonConflict]:
        """For (person, entry, participant) triples, in one query: per entry, the person's undecided
        changes from other participants, and the federal values no active pin overrides."""
        triples = list(pairs)
        if not triples:
            return {}
        rows = self._conn.execute(
            _PERSON_CONFLICTS_SQL,
            {
                "pids": [t[0] for t in triples],
                "eids": [t[1] for t in triples],
                "sids": [t[2] for t in triples],
                "pending": [s.value for s in pending],
            },
        )
        return {r.eid: PersonConflict(int(r.pending), r.federal or {}) for r in rows}

    # -- the console's view ----------------------------------------------------------------------------

    def get(self, entry_id: int) -> Entry | None:
        row = self._conn.execute(_with_sender().where(buffer_entry.c.id == entry_id)).mappings().first()
        return _entry(row) if row is not None else None

    def summaries(self, flt: EntryFilter, *, before: int | None, limit: int) -> list[EntrySummary]:
        """Newest first, keyset-paged on the id (``before``: the last id of the previous page)."""
        e, p = buffer_entry, participant
        person = e.c.payload["person"]
        q = select(
            e.c.id,
            e.c.state,
            p.c.kind,
            p.c.code,
            e.c.tip_op,
            e.c.n_rec,
            e.c.received_at,
            e.c.updated_at,
            e.c.person_id,
            person["fam"].astext,
            person["im"].astext,
            person["ot"].astext,
            person["dr"].astext,
            e.c.result["comment"].astext,
            e.c.result["conflicts"],
        ).join(p, p.c.id == e.c.participant_id)
        if flt.states:
            q = q.where(e.c.state.in_([s.value for s in flt.states]))
        if flt.participant_id is not None:
            q = q.where(e.c.participant_id == flt.participant_id)
        if flt.tip_op:
            q = q.where(e.c.tip_op == flt.tip_op)
        if flt.since is not None:
            q = q.where(e.c.received_at >= flt.since)
        if flt.until is not None:
            q = q.where(e.c.received_at < flt.until)
        if flt.person_id is not None:
            q = q.where(e.c.person_id == flt.person_id)
        if before is not None:
            q = q.where(e.c.id < before)
        rows = self._conn.execute(q.order_by(e.c.id.desc()).limit(limit)).all()
        return [
            EntrySummary(
                id=r[0],
                state=State(r[1]),
                participant_kind=r[2],
                participant_code=r[3],
                tip_op=r[4],
                n_rec=r[5],
                received_at=r[6],
                updated_at=r[7],
                person_id=r[8],
                fam=r[9],
                im=r[10],
                ot=r[11],
                dr=r[12],
                comment=r[13],
                conflicts=tuple(r[14] or ()),
            )
            for r in rows
        ]

    def trail(self, entry_id: int) -> list[TrailRow]:
        d = buffer_decision
        rows = self._conn.execute(
            select(d.c.from_state, d.c.to_state, d.c.actor, d.c.reason, d.c.decided_at)
            .where(d.c.entry_id == entry_id)
            .order_by(d.c.id)
        ).all()
        return [TrailRow(*r) for r in rows]


def _with_sender() -> Any:
    return select(
        buffer_entry,
        participant.c.kind.label("participant_kind"),
        participant.c.code.label("participant_code"),
    ).join(participant, participant.c.id == buffer_entry.c.participant_id)


def _entry(row: Any) -> Entry:
    return Entry(
        row["id"],
        State(row["state"]),
        decode(OperationRecord, row["payload"]),
        Submitter(row["participant_id"], row["participant_kind"], row["participant_code"]),
        _result(row),
    )


def _result(row: Any) -> RecordResult:
    if row["result"] is None:
        return RecordResult(row["id"], row["n_rec"], None, State(row["state"]), None, "Запись получена")
    return decode(RecordResult, row["result"])


def _trail_rows(trail: Trail, reject_reason: str | None) -> list[dict[str, Any]]:
    return [
        {
            "entry_id": trail.entry_id,
            "from_state": old.value,
            "to_state": new.value,
            "actor": actor,
            "reason": reason if reason is not None or new is not State.REJECTED else reject_reason,
        }
        for old, new, actor, reason in trail.moves
    ]


# The rows travel as one JSON document, not as arrays: psycopg escapes every quote of every JSON element
# of a text array in Python, which cost more CPU than the statement itself.
_SETTLE_SQL = text(
    "UPDATE buffer_entry b SET state = u.state, result = u.result,"
    " person_id = coalesce(u.pid, b.person_id), updated_at = now()"
    " FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS u(id bigint, state text, result jsonb, pid bigint)"
    " WHERE b.id = u.id"
)

# One round trip for the conflicts of known persons: undecided changes of other participants, and the
# federal values not overridden by an active pin. The undecided states are spelled out as a constant
# (``PENDING_INDEX_PREDICATE``) so that every plan, a prepared statement's generic one too, reads the
# partial index of pending entries instead of the whole buffer; ``:pending`` narrows them further.
_PERSON_CONFLICTS_SQL = text(
    "SELECT u.eid, (SELECT count(*) FROM buffer_entry b WHERE b.person_id = u.pid AND b.id <> u.eid"
    f" AND b.participant_id <> u.sid AND b.{PENDING_INDEX_PREDICATE} AND b.state = ANY(:pending)) AS pending,"
    " (SELECT json_object_agg(f.field, f.value) FROM federal_value f WHERE f.person_id = u.pid AND NOT EXISTS"
    " (SELECT 1 FROM person_pin x WHERE x.person_id = f.person_id AND x.field = f.field"
    " AND x.released_at IS NULL)) AS federal"
    " FROM unnest(CAST(:pids AS bigint[]), CAST(:eids AS bigint[]), CAST(:sids AS int[])) AS u(pid, eid, sid)"
)
