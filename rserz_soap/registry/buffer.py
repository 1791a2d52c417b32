"""The buffer: every change from a participant waits here until it is checked, decided and applied.

States: received → checked → awaiting_review → accepted / rejected → (awaiting_federal →) applied.
Receiving commits the records first, so nothing accepted is lost whatever happens next. Each entry is then processed in a
transaction of its own that moves its state *and* applies it to the register together, with the person's
row locked: a crash leaves the entry in its last committed state, and processing it again can neither
lose it nor apply it twice. Every move is written to the decision trail (who, when, why).

Federal first (``federal_first``): the federal register is the legal master, so an accepted change is not
applied at once. It moves to ``awaiting_federal`` with a row in ``federal_push`` (its outbox: a stable
request id, the operation, the ЕНП allocated for a new person). A sender (``jobs/federal.py``) takes the
pushes in entry order: :meth:`Registry.prepare_push` computes the card against the register as it is *now*
(an earlier push of the same person may have been applied since), the federal register answers, and
:meth:`Registry.federal_answered` applies the change — in the same transaction that settles the entry —
or rejects it with the federal code (591). A repeat of the same request id gets ФЕРЗЛ's first answer, and
an entry already settled is never settled again, so neither side applies a change twice.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from rserz_soap.db import persons
from rserz_soap.db.tables import buffer_decision, buffer_entry, federal_push, participant
from rserz_soap.domain.codec import decode, encode
from rserz_soap.domain.federal import AcceptAnswer
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
    AWAITING_FEDERAL = "awaiting_federal"
    REJECTED = "rejected"
    APPLIED = "applied"


FINAL = (State.REJECTED, State.APPLIED)
PENDING = (State.RECEIVED, State.CHECKED, State.AWAITING_REVIEW, State.ACCEPTED, State.AWAITING_FEDERAL)

ACCEPTED_CODE = "AA"  # CODE_ERP: accepted and applied
ERROR_CODE = "AE"  # rejected by ФЛК or by the operation's rules
REJECTED_CODE = "AR"  # rejected by a ТФОМС decision

WRONG_SUBMITTER = "590"  # the record's СМО is not the participant that sent it
FEDERAL_REJECTED = "591"  # the federal register refused the change


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
    federal_first: bool = False  # accepted changes wait for ФЕРЗЛ's acceptance before they apply
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
        """Process entries in order, ``chunk`` of them per transaction.

        A commit per chunk instead of per record is one WAL flush per chunk, and a chunk's records are
        prepared and written together (owners, cards and versions in a fixed number of statements). Records
        that touch the same person or identifier go to separate groups, in order. If a group fails
        unexpectedly it is rolled back to its savepoint and its records are retried one by one, each in a
        savepoint of its own: one broken record stays in its last state for ``process_pending``, its
        neighbours go on. Entries are locked up front in id order; with ``skip_locked`` entries another
        worker holds are left to it, so several workers can drain the buffer together.
        """
        ids = list(entry_ids)
        results: dict[int, RecordResult] = {}
        for start in range(0, len(ids), chunk):
            with self.engine.begin() as conn:
                part = ids[start : start + chunk]
                locked = conn.execute(_entries_query(part, skip_locked)).mappings().all()
                works: list[_Work] = []
                for entry in locked:
                    state = State(entry["state"])
                    if state in FINAL or state in (State.AWAITING_REVIEW, State.AWAITING_FEDERAL):
                        results[entry["id"]] = _result_of(entry)
                        continue
                    works.append(
                        _Work(
                            entry["id"],
                            state,
                            decode(OperationRecord, entry["payload"]),
                            Submitter(
                                entry["participant_id"], entry["participant_kind"], entry["participant_code"]
                            ),
                            fallback=_result_of(entry),
                        )
                    )
                for group in _independent_groups(works):
                    results.update(self._run_guarded(conn, group))
        return [results[i] for i in ids if i in results]

    def _run_guarded(self, conn: Connection, works: list[_Work]) -> dict[int, RecordResult]:
        savepoint = conn.begin_nested()
        try:
            out = self._run(conn, works)
        except Exception as exc:
            savepoint.rollback()
            if len(works) == 1:
                log.exception("buffer entry %s failed; left for a retry", works[0].entry_id)
                return {works[0].entry_id: works[0].fallback}
            log.warning(
                "a group of %d records failed together (%r); retrying them one by one", len(works), exc
            )
            out = {}
            for w in works:
                out.update(self._run_guarded(conn, [w.fresh()]))
            return out
        savepoint.commit()
        return out

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

    def _run(self, conn: Connection, works: list[_Work]) -> dict[int, RecordResult]:
        """Check, decide and apply a group of records about different persons, writing them together."""
        records = [w.record for w in works]
        keys = sorted({k for w in works if w.record.op == Op.P010 for k in _new_person_keys(w.record)})
        if keys:  # two records registering one new person: the second waits for the first's commit
            conn.execute(_ADVISORY_LOCKS_SQL, {"keys": keys})
        ref = self.reference(conn)
        ref.prefetch(records)
        for w in works:
            w.resolution = resolve_person(conn, w.record, ref)
        person_ids = [w.resolution.person_id for w in works if w.resolution and w.resolution.person_id]
        if len(set(person_ids)) != len(person_ids):
            raise _SamePersonTwice(person_ids)
        stored = persons.load_many_for_update(conn, person_ids)
        for w in works:
            pid = w.resolution.person_id if w.resolution else None
            w.stored = stored[pid] if pid else None
        pending = self._person_conflicts(conn, [w for w in works if w.stored and not w.review_done])
        outcomes = [self._decide(conn, w, ref, pending.get(w.entry_id)) for w in works]
        plans = [o.plan for o in outcomes if o.plan is not None]
        saved = iter(persons.save_many(conn, plans))
        for o in outcomes:
            if o.plan is not None:
                version = next(saved)
                o.card = o.plan.after.replace(person_id=version.person_id)
                o.trail.move(State.APPLIED, o.work.actor, None)
        return _settle_all(conn, outcomes)

    def _decide(self, conn: Connection, w: _Work, ref: Reference, person_conflict: Any) -> _Outcome:
        record, card = w.record, (w.stored.card if w.stored else None)
        trail = _Trail(w.entry_id, w.state)
        errors = self._flk(ref, record, card, w.submitter)
        fatal = [e for e in errors if e.severity == "E"]
        if fatal:
            trail.move(State.REJECTED, "flk", None)
            comment = "; ".join(f"{e.code} {e.comment}" for e in fatal)
            return _Outcome(w, trail, card, ERROR_CODE, comment, errors, reject_reason=comment)
        if trail.state is State.RECEIVED:
            trail.move(State.CHECKED, "flk", None)
        if not w.review_done:
            conflicts = self._conflicts(conn, w, card, person_conflict)
            if conflicts or self.rules.decision_for(record.op) != AUTO:
                why = "; ".join(conflicts) or f"{record.op}: decided by a ТФОМС operator"
                trail.move(State.AWAITING_REVIEW, "auto", why)
                return _Outcome(
                    w,
                    trail,
                    card,
                    None,
                    "Запись на согласовании в ТФОМС: " + why,
                    errors,
                    conflicts=tuple(conflicts),
                    show_insurance=False,
                )
        if trail.state not in (State.ACCEPTED, State.AWAITING_FEDERAL):
            trail.move(State.ACCEPTED, w.actor, w.reason)
        submitter = w.submitter
        try:
            transition = apply_operation(card, record, self._context(conn, w))
        except OperationRefused as refused:
            err = self.directory.error(refused.code, n_rec=record.n_rec, detail=refused.message)
            return _rejected(w, trail, err, "auto", None, card=card, earlier=errors)
        if transition.confirmed:  # the old СМО's answer to its STOPLIST: nothing to store or to push
            trail.move(State.APPLIED, w.actor, None)
            comment = f"Подтверждение: период страхования закрыт {transition.valid_from.isoformat()}"
            return _Outcome(w, trail, card, ACCEPTED_CODE, comment, errors, show_insurance=False)
        if self.federal_first and not w.federal_accepted:
            trail.move(State.AWAITING_FEDERAL, "auto", None)
            push = {
                "entry_id": w.entry_id,
                "request_id": uuid.uuid4(),
                "operation": record.op,
                "change_date": transition.valid_from,
                "card": encode(transition.after),
                "enp": transition.after.enp,
                "person_id": card.person_id if card else None,
            }
            comment = "Принята ТФОМС, ожидает подтверждения ФЕРЗЛ"
            return _Outcome(w, trail, card, None, comment, errors, show_insurance=False, push=push)
        meta = persons.VersionMeta(
            record.op,
            submitter.kind,
            submitter.code,
            transition.valid_from,
            actor=w.actor if w.actor != "auto" else f"{submitter.kind}:{submitter.code}",
            buffer_entry_id=w.entry_id,
            reason=w.reason,
        )
        plan = persons.SavePlan(w.stored, transition.after, meta, transition.stop_notices)
        return _Outcome(w, trail, transition.after, ACCEPTED_CODE, "Запись принята", errors, plan=plan)

    def _context(self, conn: Connection, w: _Work) -> OperationContext:
        """The operation's context; a change ФЕРЗЛ has seen keeps the ЕНП it was pushed with."""
        submitter, record = w.submitter, w.record

        def allocate(dr: date, sex: int) -> str:
            return w.federal_enp or persons.allocate_enp(conn, self.region_code, dr, sex)

        return OperationContext(
            submitter.code if submitter.kind == "smo" else record.insurance.smo_code, self.today(), allocate
        )

    # -- federal first -----------------------------------------------------------------------------------

    def pending_pushes(self, limit: int = 1000) -> list[int]:
        """Entries waiting to reach ФЕРЗЛ, oldest first (the order they must be sent in)."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(federal_push.c.entry_id)
                    .where(federal_push.c.state == "pending")
                    .order_by(federal_push.c.entry_id)
                    .limit(limit)
                ).scalars()
            )

    def prepare_push(self, entry_id: int) -> Push | None:
        """The change to send for an entry awaiting ФЕРЗЛ, computed against the register as it is now.

        None when there is nothing to send: the entry is settled already, or the change no longer applies
        to the register (then it is rejected here, with the operation's code, and never sent)."""
        with self.engine.begin() as conn:
            entry, push = _waiting_push(conn, entry_id)
            if push is None:
                return None
            w = self._federal_work(entry, push.enp, accepted=False)
            ref = self.reference(conn)
            resolution = resolve_person(conn, w.record, ref)
            stored = persons.load(conn, resolution.person_id) if resolution.person_id else None
            try:
                transition = apply_operation(
                    stored.card if stored else None, w.record, self._context(conn, w)
                )
            except OperationRefused as refused:
                err = self.directory.error(refused.code, n_rec=w.record.n_rec, detail=refused.message)
                outcome = _rejected(w, _Trail(entry_id, State.AWAITING_FEDERAL), err, "auto", None)
                _settle_all(conn, [outcome])
                conn.execute(
                    update(federal_push)
                    .where(federal_push.c.entry_id == entry_id)
                    .values(
                        state="rejected", last_error=f"not sent: {outcome.comment}", answered_at=func.now()
                    )
                )
                return None
            card = transition.after
            conn.execute(
                update(federal_push)
                .where(federal_push.c.entry_id == entry_id)
                .values(card=encode(card), attempts=federal_push.c.attempts + 1)
            )
            return Push(entry_id, str(push.request_id), push.operation, push.change_date, card)

    def federal_answered(self, entry_id: int, answer: AcceptAnswer) -> RecordResult:
        """Settle an entry with ФЕРЗЛ's answer: apply it (accepted) or reject it with the federal code.

        An entry already settled (a repeated answer, a second sender) is left as it is."""
        with self.engine.begin() as conn:
            entry, push = _waiting_push(conn, entry_id)
            if push is None:
                return _result_of(entry)
            conn.execute(
                update(federal_push)
                .where(federal_push.c.entry_id == entry_id)
                .values(
                    state="accepted" if answer.accepted else "rejected",
                    federal_code=answer.code,
                    federal_text=answer.text or None,
                    last_error=None,
                    answered_at=func.now(),
                )
            )
            w = self._federal_work(entry, answer.enp or push.enp, accepted=answer.accepted)
            if answer.accepted:
                result = self._run(conn, [w])[entry_id]
                if result.state is not State.APPLIED:  # the register moved on since the push was sent
                    log.warning(
                        "ФЕРЗЛ accepted entry %s but the register refuses it now (%s); the next"
                        " reconciliation will show the difference",
                        entry_id,
                        result.comment,
                    )
                return result
            err = self.directory.error(
                FEDERAL_REJECTED, n_rec=w.record.n_rec, detail=f"ФЕРЗЛ {answer.text or 'отказ без кода'}"
            )
            outcome = _rejected(
                w, _Trail(entry_id, State.AWAITING_FEDERAL), err, "ferzl", answer.text or None
            )
            return _settle_all(conn, [outcome])[entry_id]

    def federal_unreachable(self, entry_id: int, error: str) -> None:
        """Remember why the last attempt got no answer; the entry keeps waiting."""
        with self.engine.begin() as conn:
            conn.execute(
                update(federal_push)
                .where(federal_push.c.entry_id == entry_id, federal_push.c.state == "pending")
                .values(last_error=error[:500])
            )

    def _federal_work(self, entry: Any, enp: str | None, *, accepted: bool) -> _Work:
        return _Work(
            entry["id"],
            State.AWAITING_FEDERAL,
            decode(OperationRecord, entry["payload"]),
            Submitter(entry["participant_id"], entry["participant_kind"], entry["participant_code"]),
            fallback=_result_of(entry),
            actor="ferzl",
            review_done=True,
            federal_accepted=accepted,
            federal_enp=enp,
        )

    # -- review ------------------------------------------------------------------------------------------

    def accept(self, entry_id: int, *, actor: str, reason: str) -> RecordResult:
        """An operator accepts a held change: it is checked again against today's register and applied."""
        with self.engine.begin() as conn:
            work = self._review(conn, entry_id, actor, reason)
            return self._run(conn, [work])[entry_id]

    def reject(self, entry_id: int, *, actor: str, reason: str) -> RecordResult:
        """An operator rejects a held change; the register is untouched."""
        with self.engine.begin() as conn:
            work = self._review(conn, entry_id, actor, reason)
            trail = _Trail(entry_id, State.AWAITING_REVIEW)
            trail.move(State.REJECTED, actor, reason)
            outcome = _Outcome(work, trail, None, REJECTED_CODE, f"Отклонено ТФОМС: {reason}", [])
            return _settle_all(conn, [outcome])[entry_id]

    def _review(self, conn: Connection, entry_id: int, actor: str, reason: str) -> _Work:
        """The held entry, locked, as work decided by ``actor``."""
        entry = conn.execute(_entry_query(entry_id)).mappings().one()
        if entry["state"] != State.AWAITING_REVIEW:
            raise ValueError(f"buffer entry {entry_id} is {entry['state']}, not awaiting review")
        return _Work(
            entry_id,
            State.AWAITING_REVIEW,
            decode(OperationRecord, entry["payload"]),
            Submitter(entry["participant_id"], entry["participant_kind"], entry["participant_code"]),
            actor=actor,
            review_done=True,
            reason=reason,
            fallback=_result_of(entry),
        )

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

    def _person_conflicts(self, conn: Connection, works: list[_Work]) -> dict[int, Any]:
        """For known persons, in one query: undecided changes of other participants, unpinned federal values."""
        rules = self.rules
        if not works or not (rules.other_participant_pending or rules.federal_contradiction):
            return {}
        rows = conn.execute(
            _PERSON_CONFLICTS_SQL,
            {
                "pids": [w.stored.card.person_id for w in works if w.stored],
                "eids": [w.entry_id for w in works],
                "sids": [w.submitter.participant_id for w in works],
                "pending": [st.value for st in PENDING],
            },
        )
        return {r.eid: r for r in rows}

    def _conflicts(
        self, conn: Connection, w: _Work, card: PersonCard | None, person_conflict: Any
    ) -> list[str]:
        found: list[str] = []
        rules, record, resolution = self.rules, w.record, w.resolution
        if rules.ambiguous_person and resolution is not None and resolution.ambiguous:
            found.append(f"ключ {resolution.key} указывает на нескольких лиц: {list(resolution.ambiguous)}")
        if card is not None:
            if person_conflict is not None:
                if rules.other_participant_pending and person_conflict.pending:
                    found.append("по этому лицу есть нерешённое изменение другого участника")
                if rules.federal_contradiction:
                    found += _federal_contradictions(person_conflict.federal or {}, record)
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


class _SamePersonTwice(Exception):
    """Two records of one group resolved to one person (by different keys): run them one by one."""


@dataclass
class _Work:
    """One entry being processed: what was received, and what processing has found out so far."""

    entry_id: int
    state: State
    record: OperationRecord
    submitter: Submitter
    fallback: RecordResult  # what to report if processing fails unexpectedly
    actor: str = "auto"
    review_done: bool = False
    reason: str | None = None
    federal_accepted: bool = False  # ФЕРЗЛ has accepted the change: apply it now
    federal_enp: str | None = None  # the ЕНП the change was pushed to ФЕРЗЛ with (a new person's)
    resolution: Resolution | None = None
    stored: persons.StoredCard | None = None

    def fresh(self) -> _Work:
        return _Work(
            self.entry_id,
            self.state,
            self.record,
            self.submitter,
            self.fallback,
            self.actor,
            self.review_done,
            self.reason,
            self.federal_accepted,
            self.federal_enp,
        )


@dataclass
class _Outcome:
    work: _Work
    trail: _Trail
    card: PersonCard | None
    code_erp: str | None
    comment: str
    errors: Sequence[FlkError]
    conflicts: tuple[str, ...] = ()
    show_insurance: bool = True
    reject_reason: str | None = None
    plan: persons.SavePlan | None = None  # the change to apply, when the record is accepted
    push: dict[str, Any] | None = None  # the federal_push row, when the change must reach ФЕРЗЛ first


@dataclass(frozen=True)
class Push:
    """One change to send to ФЕРЗЛ: the same request id on every attempt."""

    entry_id: int
    request_id: str
    operation: str
    change_date: date
    card: PersonCard


def _rejected(
    w: _Work,
    trail: _Trail,
    err: FlkError,
    actor: str,
    reason: str | None,
    *,
    card: PersonCard | None = None,
    earlier: Sequence[FlkError] = (),
) -> _Outcome:
    """The entry rejected for ``err`` (AE), after the findings ``earlier`` on the same record."""
    trail.move(State.REJECTED, actor, reason)
    comment = f"{err.code} {err.comment}"
    return _Outcome(w, trail, card, ERROR_CODE, comment, [*earlier, err], reject_reason=comment)


def _waiting_push(conn: Connection, entry_id: int) -> tuple[Any, Any | None]:
    """The entry, locked, and its push while it still waits for ФЕРЗЛ (None once it is settled)."""
    entry = conn.execute(_entry_query(entry_id)).mappings().one()
    push = conn.execute(select(federal_push).where(federal_push.c.entry_id == entry_id)).one()
    waiting = entry["state"] == State.AWAITING_FEDERAL and push.state == "pending"
    return entry, push if waiting else None


def _settle_all(conn: Connection, outcomes: Sequence[_Outcome]) -> dict[int, RecordResult]:
    """Write the entries' new states, results and trails: one UPDATE and one INSERT for all of them."""
    results: dict[int, RecordResult] = {}
    ids, states, payloads, pids, moves = [], [], [], [], []
    pushes = [o.push for o in outcomes if o.push is not None]
    for o in outcomes:
        card, record = o.card, o.work.record
        period = card.open_period() if card is not None and o.show_insurance else None
        person_id = card.person_id if card else None
        result = RecordResult(
            o.trail.entry_id,
            record.n_rec,
            record.record_id,
            o.trail.state,
            o.code_erp,
            o.comment,
            person_id,
            card.enp if card else None,
            encode(period) if period else None,
            _errors(o.errors),
            o.conflicts,
        )
        results[o.trail.entry_id] = result
        ids.append(o.trail.entry_id)
        states.append(o.trail.state.value)
        payloads.append(json.dumps(encode(result), ensure_ascii=False))
        pids.append(person_id)
        moves += o.trail.rows(o.reject_reason)
    if ids:
        conn.execute(_SETTLE_SQL, {"ids": ids, "states": states, "results": payloads, "pids": pids})
    if moves:
        conn.execute(insert(buffer_decision), moves)
    if pushes:
        conn.execute(
            pg_insert(federal_push).values(pushes).on_conflict_do_nothing(index_elements=["entry_id"])
        )
    return results


_SETTLE_SQL = text(
    "UPDATE buffer_entry b SET state = u.state, result = CAST(u.result AS jsonb),"
    " person_id = coalesce(u.pid, b.person_id), updated_at = now()"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:states AS text[]), CAST(:results AS text[]),"
    " CAST(:pids AS bigint[])) AS u(id, state, result, pid) WHERE b.id = u.id"
)
_ADVISORY_LOCKS_SQL = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k"
)


def _new_person_keys(record: OperationRecord) -> list[str]:
    keys = [f"doc:{d.key}" for d in record.documents if d.is_main]
    return keys + ([f"ss:{record.person.ss}"] if record.person.ss else [])


def _record_keys(record: OperationRecord) -> set[str]:
    """Identifiers by which two records of one chunk could be about the same person."""
    keys = {f"enp:{record.insurance.enp}"} if record.insurance.enp else set()
    keys |= {
        f"doc:{d.key}" for d in (*record.documents, *([record.old_document] if record.old_document else []))
    }
    if record.person.ss:
        keys.add(f"ss:{record.person.ss}")
    if record.insurance.policy is not None:
        keys.add(f"pol:{record.insurance.policy.npolis}")
    return keys


def _independent_groups(works: Sequence[_Work]) -> list[list[_Work]]:
    """Consecutive groups in which no two records share an identifier; order is kept across groups."""
    groups: list[list[_Work]] = []
    current: list[_Work] = []
    seen: set[str] = set()
    for w in works:
        keys = _record_keys(w.record)
        if current and keys & seen:
            groups.append(current)
            current, seen = [], set()
        current.append(w)
        seen |= keys
    if current:
        groups.append(current)
    return groups


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
    "SELECT u.eid, (SELECT count(*) FROM buffer_entry b WHERE b.person_id = u.pid AND b.id <> u.eid"
    " AND b.participant_id <> u.sid AND b.state = ANY(:pending)) AS pending,"
    " (SELECT json_object_agg(f.field, f.value) FROM federal_value f WHERE f.person_id = u.pid AND NOT EXISTS"
    " (SELECT 1 FROM person_pin x WHERE x.person_id = f.person_id AND x.field = f.field"
    " AND x.released_at IS NULL)) AS federal"
    " FROM unnest(CAST(:pids AS bigint[]), CAST(:eids AS bigint[]), CAST(:sids AS int[])) AS u(pid, eid, sid)"
)


def _federal_contradictions(known: dict[str, Any], record: OperationRecord) -> list[str]:
    """Fields where the record disagrees with what ФЕРЗЛ holds (pinned fields are already left out)."""
    return [
        f"{name.upper()} расходится с ФЕРЗЛ ({known[name]!s})"
        for name, get in _FEDERAL_FIELDS.items()
        if name in known and get(record) != known[name]
    ]
