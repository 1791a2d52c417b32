"""The buffer: every change from a participant waits here until it is checked, decided and applied.

States: received → checked → awaiting_review → accepted / rejected → applied. Receiving commits the
records first, so nothing accepted is lost whatever happens next. Each entry is then processed in a
transaction of its own that moves its state *and* applies it to the register together, with the person's
row locked: a crash leaves the entry in its last committed state, and processing it again can neither
lose it nor apply it twice. Every move is written to the decision trail (who, when, why).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text, update

from rserz_soap.db import persons
from rserz_soap.db.tables import buffer_decision, buffer_entry, participant
from rserz_soap.domain.codec import decode, encode
from rserz_soap.domain.flk import ErrorDirectory, FlkError, Reference, check
from rserz_soap.domain.operations import OperationContext, OperationRefused, apply_operation
from rserz_soap.domain.person import PersonCard
from rserz_soap.domain.records import Op, OperationRecord
from rserz_soap.registry.buffer_rules import AUTO, BufferRules
from rserz_soap.registry.resolve import Resolution, resolve_person

log = logging.getLogger(__name__)


class State(StrEnum):
    RECEIVED = "received"
    CHECKED = "checked"
    AWAITING_REVIEW = "awaiting_review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    APPLIED = "applied"


FINAL = (State.REJECTED, State.APPLIED)
PENDING = (State.RECEIVED, State.CHECKED, State.AWAITING_REVIEW, State.ACCEPTED)

ACCEPTED_CODE = "AA"  # CODE_ERP: accepted and applied
ERROR_CODE = "AE"  # rejected by ФЛК or by the operation's rules
REJECTED_CODE = "AR"  # rejected by a ТФОМС decision

WRONG_SUBMITTER = "590"  # the record's СМО is not the participant that sent it


@dataclass(frozen=True)
class Submitter:
    participant_id: int
    kind: str  # smo, mo, tfoms …
    code: str


@dataclass(frozen=True)
class RecordResult:
    """One REPLIST line: the outcome of one record, final or not yet."""

    entry_id: int
    n_rec: int
    record_id: str | None
    state: State
    code_erp: str | None
    comment: str
    person_id: int | None = None
    enp: str | None = None
    insurance: dict[str, Any] | None = None
    errors: tuple[dict[str, Any], ...] = ()
    conflicts: tuple[str, ...] = ()


@dataclass
class Registry:
    """The register's write side: receive, process, decide.

    ``reference`` gives ФЛК its lookups for a connection; ``find_duplicates`` scores a new person against
    the register (the duplicates use case), returning (person_id, score) pairs.
    """

    engine: Engine
    rules: BufferRules
    directory: ErrorDirectory
    reference: Callable[[Connection], Reference]
    region_code: str
    find_duplicates: Callable[[Connection, PersonCard], Sequence[tuple[int, float]]] | None = None
    today: Callable[[], date] = date.today
    _closing: list[str] = field(default_factory=list)

    # -- receiving ---------------------------------------------------------------------------------------

    def receive(
        self,
        submitter: Submitter,
        records: Iterable[OperationRecord],
        *,
        request_id: uuid.UUID | None = None,
        batch_ref: str | None = None,
    ) -> list[int]:
        """Store the records (state received) and commit; returns their entry ids in order."""
        rows = [
            {
                "participant_id": submitter.participant_id,
                "request_id": request_id,
                "batch_ref": batch_ref,
                "n_rec": r.n_rec,
                "tip_op": r.op[:4],
                "payload": encode(r),
                "state": State.RECEIVED.value,
            }
            for r in records
        ]
        if not rows:
            return []
        with self.engine.begin() as conn:
            ids = list(conn.execute(insert(buffer_entry).returning(buffer_entry.c.id), rows).scalars())
            conn.execute(
                insert(buffer_decision),
                [
                    {
                        "entry_id": i,
                        "from_state": None,
                        "to_state": State.RECEIVED.value,
                        "actor": f"{submitter.kind}:{submitter.code}",
                        "reason": batch_ref,
                    }
                    for i in ids
                ],
            )
        return ids

    def submit(
        self,
        submitter: Submitter,
        records: Sequence[OperationRecord],
        *,
        request_id: uuid.UUID | None = None,
        batch_ref: str | None = None,
    ) -> list[RecordResult]:
        ids = self.receive(submitter, records, request_id=request_id, batch_ref=batch_ref)
        return self.process(ids)

    # -- processing --------------------------------------------------------------------------------------

    def process(
        self, entry_ids: Iterable[int], *, chunk: int = 200, skip_locked: bool = False
    ) -> list[RecordResult]:
        """Process entries in order, ``chunk`` of them per transaction, each in a savepoint of its own.

        A commit per chunk instead of per record is what makes batches fast (one WAL flush per chunk);
        the savepoints keep records independent: a record that fails unexpectedly is rolled back alone
        and stays in its last state for ``process_pending`` to retry, while its neighbours go on. The
        chunk's entries are locked up front in id order; with ``skip_locked`` entries another worker holds
        are left to it (several workers can drain the buffer together).
        """
        ids = list(entry_ids)
        results: list[RecordResult] = []
        for start in range(0, len(ids), chunk):
            with self.engine.begin() as conn:
                part = ids[start : start + chunk]
                locked = conn.execute(_entries_query(part, skip_locked)).mappings().all()
                entries = {row["id"]: row for row in locked}
                for entry_id in part:
                    entry = entries.get(entry_id)
                    if entry is None:  # another worker has it
                        continue
                    savepoint = conn.begin_nested()
                    try:
                        results.append(self._process_one(conn, entry))
                    except Exception:
                        savepoint.rollback()
                        log.exception("buffer entry %s failed; left for a retry", entry_id)
                        results.append(_result_of(entry))
                    else:
                        savepoint.commit()
        return results

    def process_pending(self, limit: int = 10_000) -> int:
        """Resume entries left received/checked/accepted (a crash, a queue); returns how many it processed.

        Safe to run in several workers at once: each skips the entries the others hold.
        """
        with self.engine.connect() as conn:
            ids = list(
                conn.execute(
                    select(buffer_entry.c.id)
                    .where(buffer_entry.c.state.in_([State.RECEIVED, State.CHECKED, State.ACCEPTED]))
                    .order_by(buffer_entry.c.id)
                    .limit(limit)
                ).scalars()
            )
        return len(self.process(ids, skip_locked=True))

    def _process_one(self, conn: Connection, entry: Any) -> RecordResult:
        state = State(entry["state"])
        if state in FINAL or state is State.AWAITING_REVIEW:
            return _result_of(entry)
        record = decode(OperationRecord, entry["payload"])
        submitter = Submitter(entry["participant_id"], entry["participant_kind"], entry["participant_code"])
        return self._check_and_apply(
            conn, entry["id"], state, record, submitter, actor="auto", review_done=False
        )

    def _check_and_apply(
        self,
        conn: Connection,
        entry_id: int,
        state: State,
        record: OperationRecord,
        submitter: Submitter,
        *,
        actor: str,
        review_done: bool,
        reason: str | None = None,
    ) -> RecordResult:
        trail = _Trail(entry_id, state)
        if record.op == Op.P010:
            self._serialise_new_person(conn, record)
        ref = self.reference(conn)
        ref.prefetch(record)
        resolution = resolve_person(conn, record, ref)
        stored = persons.load(conn, resolution.person_id, for_update=True) if resolution.person_id else None
        card = stored.card if stored else None
        errors = self._flk(ref, record, card, submitter)
        fatal = [e for e in errors if e.severity == "E"]
        if fatal:
            trail.move(State.REJECTED, "flk", None)
            comment = "; ".join(f"{e.code} {e.comment}" for e in fatal)
            return self._settle(conn, trail, record, card, ERROR_CODE, comment, errors, reject_reason=comment)
        if trail.state is State.RECEIVED:
            trail.move(State.CHECKED, "flk", None)
        if not review_done:
            conflicts = self._conflicts(conn, entry_id, record, submitter, resolution, card)
            if conflicts or self.rules.decision_for(record.op) != AUTO:
                why = "; ".join(conflicts) or f"{record.op}: decided by a ТФОМС operator"
                trail.move(State.AWAITING_REVIEW, "auto", why)
                return self._settle(
                    conn,
                    trail,
                    record,
                    card,
                    None,
                    "Запись на согласовании в ТФОМС: " + why,
                    errors,
                    conflicts=tuple(conflicts),
                    show_insurance=False,
                )
        if trail.state is not State.ACCEPTED:
            trail.move(State.ACCEPTED, actor, reason)
        ctx = OperationContext(
            submitter.code if submitter.kind == "smo" else record.insurance.smo_code,
            self.today(),
            lambda dr, w: persons.allocate_enp(conn, self.region_code, dr, w),
        )
        try:
            transition = apply_operation(card, record, ctx)
        except OperationRefused as refused:
            err = self.directory.error(refused.code, n_rec=record.n_rec, detail=refused.message)
            trail.move(State.REJECTED, "auto", None)
            comment = f"{err.code} {err.comment}"
            return self._settle(
                conn, trail, record, card, ERROR_CODE, comment, [*errors, err], reject_reason=comment
            )
        meta = persons.VersionMeta(
            record.op,
            submitter.kind,
            submitter.code,
            transition.valid_from,
            actor=actor if actor != "auto" else f"{submitter.kind}:{submitter.code}",
            buffer_entry_id=entry_id,
            reason=reason,
        )
        saved = persons.save(conn, stored, transition.after, meta, transition.stop_notices)
        trail.move(State.APPLIED, actor, None)
        after = transition.after.replace(person_id=saved.person_id)
        return self._settle(conn, trail, record, after, ACCEPTED_CODE, "Запись принята", errors)

    # -- review ------------------------------------------------------------------------------------------

    def accept(self, entry_id: int, *, actor: str, reason: str) -> RecordResult:
        """An operator accepts a held change: it is checked again against today's register and applied."""
        with self.engine.begin() as conn:
            entry = self._locked_for_review(conn, entry_id)
            record = decode(OperationRecord, entry["payload"])
            submitter = Submitter(
                entry["participant_id"], entry["participant_kind"], entry["participant_code"]
            )
            return self._check_and_apply(
                conn,
                entry_id,
                State.AWAITING_REVIEW,
                record,
                submitter,
                actor=actor,
                review_done=True,
                reason=reason,
            )

    def reject(self, entry_id: int, *, actor: str, reason: str) -> RecordResult:
        """An operator rejects a held change; the register is untouched."""
        with self.engine.begin() as conn:
            entry = self._locked_for_review(conn, entry_id)
            record = decode(OperationRecord, entry["payload"])
            trail = _Trail(entry_id, State.AWAITING_REVIEW)
            trail.move(State.REJECTED, actor, reason)
            return self._settle(conn, trail, record, None, REJECTED_CODE, f"Отклонено ТФОМС: {reason}", [])

    def _locked_for_review(self, conn: Connection, entry_id: int) -> Any:
        entry = conn.execute(_entry_query(entry_id)).mappings().one()
        if entry["state"] != State.AWAITING_REVIEW:
            raise ValueError(f"buffer entry {entry_id} is {entry['state']}, not awaiting review")
        return entry

    # -- reading -----------------------------------------------------------------------------------------

    def results(self, entry_ids: Sequence[int]) -> list[RecordResult]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(buffer_entry).where(buffer_entry.c.id.in_(entry_ids))).mappings().all()
        by_id = {r["id"]: _result_of(r) for r in rows}
        return [by_id[i] for i in entry_ids]

    # -- internals ---------------------------------------------------------------------------------------

    def _flk(
        self, ref: Reference, record: OperationRecord, card: PersonCard | None, submitter: Submitter
    ) -> list[FlkError]:
        errors = check(record, card, ref, self.directory, today=self.today())
        if submitter.kind == "smo" and record.insurance.smo_code != submitter.code:
            errors.append(
                self.directory.error(
                    WRONG_SUBMITTER,
                    n_rec=record.n_rec,
                    detail=f"INSURANCE/SMO {record.insurance.smo_code}, отправитель {submitter.code}",
                )
            )
        return errors

    @staticmethod
    def _serialise_new_person(conn: Connection, record: OperationRecord) -> None:
        """Two records registering the same new person must not both create one: the second waits for the
        first's commit and then finds the person (or its document) already in the register."""
        keys = [f"doc:{d.key}" for d in record.documents if d.is_main]
        if record.person.ss:
            keys.append(f"ss:{record.person.ss}")
        if keys:  # one statement; sorted so that two records never wait for each other in a cycle
            conn.execute(
                text(
                    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(CAST(:keys AS text[])) "
                    "AS k ORDER BY k"
                ),
                {"keys": sorted(keys)},
            )

    def _conflicts(
        self,
        conn: Connection,
        entry_id: int,
        record: OperationRecord,
        submitter: Submitter,
        resolution: Resolution,
        card: PersonCard | None,
    ) -> list[str]:
        found: list[str] = []
        rules = self.rules
        if rules.ambiguous_person and resolution.ambiguous:
            found.append(f"ключ {resolution.key} указывает на нескольких лиц: {list(resolution.ambiguous)}")
        if card is not None and card.person_id is not None:
            if rules.other_participant_pending or rules.federal_contradiction:
                row = conn.execute(
                    _PERSON_CONFLICTS_SQL,
                    {
                        "p": card.person_id,
                        "e": entry_id,
                        "s": submitter.participant_id,
                        "pending": [st.value for st in PENDING],
                    },
                ).one()
                if rules.other_participant_pending and row.pending:
                    found.append("по этому лицу есть нерешённое изменение другого участника")
                if rules.federal_contradiction:
                    found += _federal_contradictions(row.federal or {}, record)
        elif rules.probable_duplicate and self.find_duplicates is not None:
            addresses = frozenset(a for a in (record.address_g, record.address_p) if a is not None)
            probe = PersonCard(data=record.person, documents=frozenset(record.documents), addresses=addresses)
            best = [
                (pid, s) for pid, s in self.find_duplicates(conn, probe) if s >= rules.duplicate_min_score
            ]
            if best:
                pid, score = max(best, key=lambda x: x[1])
                found.append(f"вероятный дубликат лица {pid} (сходство {score:.2f})")
        return found

    @staticmethod
    def _settle(
        conn: Connection,
        trail: _Trail,
        record: OperationRecord,
        card: PersonCard | None,
        code_erp: str | None,
        comment: str,
        errors: Sequence[FlkError],
        *,
        conflicts: tuple[str, ...] = (),
        show_insurance: bool = True,
        reject_reason: str | None = None,
    ) -> RecordResult:
        """Write the entry's new state, its result and its trail: one UPDATE and one INSERT."""
        period = card.open_period() if card is not None and show_insurance else None
        person_id = card.person_id if card else None
        result = RecordResult(
            trail.entry_id,
            record.n_rec,
            record.record_id,
            trail.state,
            code_erp,
            comment,
            person_id,
            card.enp if card else None,
            encode(period) if period else None,
            _errors(errors),
            conflicts,
        )
        values: dict[str, Any] = {
            "state": trail.state.value,
            "updated_at": func.now(),
            "result": encode(result),
        }
        if person_id is not None:
            values["person_id"] = person_id
        conn.execute(update(buffer_entry).where(buffer_entry.c.id == trail.entry_id).values(**values))
        moves = trail.rows(reject_reason)
        if moves:
            conn.execute(insert(buffer_decision), moves)
        return result


@dataclass
class _Trail:
    """The moves of one entry in one transaction, written together when the entry settles."""

    entry_id: int
    state: State
    moves: list[tuple[State, State, str, str | None]] = field(default_factory=list)

    def move(self, new: State, actor: str, reason: str | None) -> None:
        self.moves.append((self.state, new, actor, reason))
        self.state = new

    def rows(self, reject_reason: str | None) -> list[dict[str, Any]]:
        return [
            {
                "entry_id": self.entry_id,
                "from_state": old.value,
                "to_state": new.value,
                "actor": actor,
                "reason": reason if reason is not None or new is not State.REJECTED else reject_reason,
            }
            for old, new, actor, reason in self.moves
        ]


def _entries_query(entry_ids: Sequence[int], skip_locked: bool) -> Any:
    """A chunk's entries with their senders, locked in id order (no deadlock between two workers)."""
    return (
        select(
            buffer_entry,
            participant.c.kind.label("participant_kind"),
            participant.c.code.label("participant_code"),
        )
        .join(participant, participant.c.id == buffer_entry.c.participant_id)
        .where(buffer_entry.c.id.in_(list(entry_ids)))
        .order_by(buffer_entry.c.id)
        .with_for_update(of=buffer_entry, skip_locked=skip_locked)
    )


def _entry_query(entry_id: int) -> Any:
    """The entry with its sender, locked: one worker at a time decides an entry."""
    return (
        select(
            buffer_entry,
            participant.c.kind.label("participant_kind"),
            participant.c.code.label("participant_code"),
        )
        .join(participant, participant.c.id == buffer_entry.c.participant_id)
        .where(buffer_entry.c.id == entry_id)
        .with_for_update(of=buffer_entry)
    )


def _errors(errors: Sequence[FlkError]) -> tuple[dict[str, Any], ...]:
    return tuple(encode(e) for e in errors)


def _result_of(entry: Any) -> RecordResult:
    if entry["result"] is None:
        return RecordResult(entry["id"], entry["n_rec"], None, State(entry["state"]), None, "Запись получена")
    return decode(RecordResult, entry["result"])


_FEDERAL_FIELDS: dict[str, Callable[[OperationRecord], object]] = {
    "fam": lambda r: r.person.fam,
    "im": lambda r: r.person.im,
    "ot": lambda r: r.person.ot,
    "w": lambda r: r.person.w,
    "dr": lambda r: r.person.dr.isoformat(),
    "ss": lambda r: r.person.ss,
}


# One round trip for the conflicts of a known person: undecided changes of other participants, and the
# federal values not overridden by an active pin.
_PERSON_CONFLICTS_SQL = text(
    "SELECT (SELECT count(*) FROM buffer_entry b WHERE b.person_id = :p AND b.id <> :e"
    " AND b.participant_id <> :s AND b.state = ANY(:pending)) AS pending,"
    " (SELECT json_object_agg(f.field, f.value) FROM federal_value f WHERE f.person_id = :p AND NOT EXISTS"
    " (SELECT 1 FROM person_pin x WHERE x.person_id = f.person_id AND x.field = f.field"
    " AND x.released_at IS NULL)) AS federal"
)


def _federal_contradictions(known: dict[str, Any], record: OperationRecord) -> list[str]:
    """Fields where the record disagrees with what ФЕРЗЛ holds (pinned fields are already left out)."""
    return [
        f"{name.upper()} расходится с ФЕРЗЛ ({known[name]!s})"
        for name, get in _FEDERAL_FIELDS.items()
        if name in known and get(record) != known[name]
    ]
