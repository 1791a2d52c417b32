"""Intake: every change from a participant is received into the buffer, checked, decided and applied.

States and the moves between them are the domain's table (``domain/buffer.py``). Each entry is decided in
the transaction that applies it, with the person's row locked: a crash leaves the entry in its last
committed state, and processing it again can neither lose it nor apply it twice. Every move is written to
the decision trail (who, when, why).

Federal first (``Intake.federal_first``): the federal register is the legal master, so an accepted change
is not applied at once. It moves to ``awaiting_federal`` with a row in the federal outbox, and
``usecases/outbox.py`` applies it once ФЕРЗЛ has agreed.

The other modules of the buffer: ``submit.py`` (a participant's batch, idempotent by REQUEST_ID),
``review.py`` (an operator's decision), ``outbox.py`` (the federal outbox).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rserz_soap.db.buffer import Batch, Entry, PersonConflict, Settlement
from rserz_soap.db.federal import NewPush
from rserz_soap.db.persons import SavePlan, StoredCard, VersionMeta
from rserz_soap.db.reference import NsiCache
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.applications import APPLICATION, EXTRACT, OBJECTS, Route, route_of
from rserz_soap.domain.buffer import (
    ACCEPTED_CODE,
    ERROR_CODE,
    FINAL,
    PENDING,
    WRONG_SUBMITTER,
    RecordResult,
    State,
    Submitter,
    Trail,
)
from rserz_soap.domain.codec import encode
from rserz_soap.domain.federal import FormedPolicy
from rserz_soap.domain.flk import ErrorDirectory, FlkError, Reference, check
from rserz_soap.domain.operations import OperationContext, OperationRefused, apply_operation
from rserz_soap.domain.person import PersonCard
from rserz_soap.domain.records import Op, OperationRecord
from rserz_soap.usecases import duplicates
from rserz_soap.usecases.buffer_rules import AUTO, BufferRules
from rserz_soap.usecases.resolve import Resolution, prefetch_keys, resolve_person

log = logging.getLogger(__name__)

#: records decided per transaction when entries are processed on their own (a drain, a file)
CHUNK = 200


@dataclass(frozen=True)
class Intake:
    """How incoming changes are checked and decided; built once per process (``wiring.build_intake``)."""

    rules: BufferRules
    directory: ErrorDirectory
    region_okato: str
    region_code: str
    nsi: NsiCache = field(default_factory=NsiCache)
    federal_first: bool = False  # accepted changes wait for ФЕРЗЛ's acceptance before they apply
    find_duplicates: bool = True  # a new person is scored against the register (probable duplicates)
    today: Callable[[], date] = date.today

    def reference(self, uow: UnitOfWork) -> Reference:
        return uow.reference(self.region_okato, self.nsi)


def receive(
    uow: UnitOfWork,
    submitter: Submitter,
    records: Sequence[OperationRecord],
    *,
    request_id: Any = None,
    batch_ref: str | None = None,
) -> Batch:
    """Store the records (state received), in order."""
    with uow:
        return uow.buffer.add(submitter, records, request_id=request_id, batch_ref=batch_ref)


def process(
    uow: UnitOfWork,
    intake: Intake,
    entry_ids: Iterable[int],
    *,
    chunk: int = CHUNK,
    skip_locked: bool = False,
) -> list[RecordResult]:
    """Decide entries in order, ``chunk`` of them per transaction (or all in the caller's transaction).

    A chunk's records are prepared and written together (owners, cards and versions in a fixed number of
    statements). Records that touch the same person or identifier go to separate groups, in order. If a
    group fails unexpectedly it is rolled back to its savepoint and its records are retried one by one,
    each in a savepoint of its own: one broken record stays in its last state for ``process_pending``, its
    neighbours go on. Entries are locked up front in id order; with ``skip_locked`` entries another worker
    holds are left to it, so several workers can drain the buffer together.
    """
    ids = list(entry_ids)
    results: dict[int, RecordResult] = {}
    for start in range(0, len(ids), chunk):
        with uow:
            works: list[Work] = []
            for entry in uow.buffer.lock(ids[start : start + chunk], skip_locked=skip_locked):
                if entry.state in (State.AWAITING_REVIEW, State.AWAITING_FEDERAL, *FINAL):
                    results[entry.id] = entry.result
                else:
                    works.append(Work.of(entry))
            for group in _independent_groups(works):
                results.update(_run_guarded(uow, intake, group))
    return [results[i] for i in ids if i in results]


def process_pending(uow: UnitOfWork, intake: Intake, limit: int = 10_000) -> int:
    """Resume entries left received/checked/accepted (a crash, a queue); returns how many it processed.

    Safe to run in several workers at once: each skips the entries the others hold.
    """
    with uow:
        ids = uow.buffer.resumable(limit)
    return len(process(uow, intake, ids, skip_locked=True))


@dataclass
class Work:
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
    formed: FormedPolicy | None = None  # the policy ФЕРЗЛ formed for it (createdPcy)
    resolution: Resolution | None = None
    stored: StoredCard | None = None

    @classmethod
    def of(cls, entry: Entry, **decided: Any) -> Work:
        return cls(entry.id, entry.state, entry.record, entry.submitter, entry.result, **decided)

    def fresh(self) -> Work:
        """The same work before anything was found out (for a retry on its own)."""
        return Work(
            self.entry_id,
            self.state,
            self.record,
            self.submitter,
            self.fallback,
            self.actor,
            self.review_done,
            self.reason,
            self.federal_accepted,
            self.formed,
        )


@dataclass
class Outcome:
    """What deciding one entry came to: its trail, its line of the protocol, and what to write."""

    work: Work
    trail: Trail
    card: PersonCard | None
    code_erp: str | None
    comment: str
    errors: Sequence[FlkError]
    conflicts: tuple[str, ...] = ()
    show_insurance: bool = True
    reject_reason: str | None = None
    plan: SavePlan | None = None  # the change to apply, when the record is accepted
    push: NewPush | None = None  # the outbox row, when the change must reach ФЕРЗЛ first


def run(uow: UnitOfWork, intake: Intake, works: list[Work]) -> dict[int, RecordResult]:
    """Check, decide and apply a group of records about different persons, writing them together."""
    records = [w.record for w in works]
    keys = sorted({k for w in works if w.record.op == Op.P010 for k in _new_person_keys(w.record)})
    uow.persons.lock_new_person_keys(keys)  # two records registering one new person: one waits
    ref = intake.reference(uow)
    ref.prefetch(records)
    identified = prefetch_keys(uow.search, records, ref)
    for w in works:
        w.resolution = resolve_person(uow.search, w.record, ref, identified)
    person_ids = [w.resolution.person_id for w in works if w.resolution and w.resolution.person_id]
    if len(set(person_ids)) != len(person_ids):
        raise _SamePersonTwice(person_ids)
    stored = uow.persons.load_many_for_update(person_ids)
    for w in works:
        pid = w.resolution.person_id if w.resolution else None
        w.stored = stored[pid] if pid else None
    known = [w for w in works if w.stored and not w.review_done]
    pending = _person_conflicts(uow, intake, known)
    outcomes = [_decide(uow, intake, w, ref, pending.get(w.entry_id)) for w in works]
    plans = [o.plan for o in outcomes if o.plan is not None]
    saved = iter(uow.persons.save_many(plans))
    for o in outcomes:
        if o.plan is not None:
            version = next(saved)
            o.card = o.plan.after.replace(person_id=version.person_id)
            o.trail.move(State.APPLIED, o.work.actor, None)
    return settle(uow, outcomes)


def settle(uow: UnitOfWork, outcomes: Sequence[Outcome]) -> dict[int, RecordResult]:
    """Write the entries' new states, results, trails and outbox rows."""
    settlements = []
    for o in outcomes:
        card, record = o.card, o.work.record
        period = card.open_period() if card is not None and o.show_insurance else None
        result = RecordResult(
            o.trail.entry_id,
            record.n_rec,
            record.record_id,
            o.trail.state,
            o.code_erp,
            o.comment,
            card.person_id if card else None,
            card.enp if card else None,
            encode(period) if period else None,
            tuple(encode(e) for e in o.errors),
            o.conflicts,
        )
        settlements.append(Settlement(result, o.trail, o.reject_reason))
    uow.buffer.settle(settlements)
    uow.outbox.add([o.push for o in outcomes if o.push is not None])
    return {s.result.entry_id: s.result for s in settlements}


def rejected(
    w: Work,
    trail: Trail,
    err: FlkError,
    actor: str,
    reason: str | None,
    *,
    card: PersonCard | None = None,
    earlier: Sequence[FlkError] = (),
) -> Outcome:
    """The entry rejected for ``err`` (AE), after the findings ``earlier`` on the same record."""
    trail.move(State.REJECTED, actor, reason)
    comment = f"{err.code} {err.comment}"
    return Outcome(w, trail, card, ERROR_CODE, comment, [*earlier, err], reject_reason=comment)


def context(uow: UnitOfWork, intake: Intake, w: Work) -> OperationContext:
    """The operation's context. With federal-first on the register never numbers anyone: a new person's
    ЕНП and every new policy are what ФЕРЗЛ formed (``w.formed``). Only an isolated stand (federal-first
    off, the registry's own tests) allocates an ЕНП from the region's range and keeps the record's policy."""
    submitter, record = w.submitter, w.record

    def allocate(dr: date, sex: int) -> str:
        return uow.persons.allocate_enp(intake.region_code, dr, sex)

    return OperationContext(
        submitter.code if submitter.kind == "smo" else record.insurance.smo_code,
        intake.today(),
        None if intake.federal_first else allocate,
        formed=w.formed,
    )


# -- internals -------------------------------------------------------------------------------------------


def _run_guarded(uow: UnitOfWork, intake: Intake, works: list[Work]) -> dict[int, RecordResult]:
    try:
        with uow.savepoint():
            return run(uow, intake, works)
    except Exception as exc:
        if len(works) == 1:
            log.exception("buffer entry %s failed; left for a retry", works[0].entry_id)
            return {works[0].entry_id: works[0].fallback}
        log.warning("a group of %d records failed together (%r); retrying them one by one", len(works), exc)
        out: dict[int, RecordResult] = {}
        for w in works:
            out.update(_run_guarded(uow, intake, [w.fresh()]))
        return out


def _decide(
    uow: UnitOfWork, intake: Intake, w: Work, ref: Reference, person_conflict: PersonConflict | None
) -> Outcome:
    record, card = w.record, (w.stored.card if w.stored else None)
    trail = Trail(w.entry_id, w.state)
    if record.format_errors:  # it failed its own format check at the edge: nothing else is asked of it
        found = [
            intake.directory.error(
                e.code, n_rec=record.n_rec, detail=e.detail, field=e.field, parent=e.parent
            )
            for e in record.format_errors
        ]
        trail.move(State.REJECTED, "flk", None)
        comment = "; ".join(f"{e.code} {e.comment}" for e in found)
        return Outcome(w, trail, None, ERROR_CODE, comment, found, reject_reason=comment)
    errors = _flk(intake, ref, record, card, w.submitter)
    fatal = [e for e in errors if e.severity == "E"]
    if fatal:
        trail.move(State.REJECTED, "flk", None)
        comment = "; ".join(f"{e.code} {e.comment}" for e in fatal)
        return Outcome(w, trail, card, ERROR_CODE, comment, errors, reject_reason=comment)
    if trail.state is State.RECEIVED:
        trail.move(State.CHECKED, "flk", None)
    if not w.review_done:
        conflicts = _conflicts(uow, intake, w, card, person_conflict)
        if conflicts or intake.rules.decision_for(record.op) != AUTO:
            why = "; ".join(conflicts) or f"{record.op}: decided by a ТФОМС operator"
            trail.move(State.AWAITING_REVIEW, "auto", why)
            return Outcome(
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
    try:
        transition = apply_operation(card, record, context(uow, intake, w))
    except OperationRefused as refused:
        err = intake.directory.error(refused.code, n_rec=record.n_rec, detail=refused.message)
        return rejected(w, trail, err, "auto", None, card=card, earlier=errors)
    if transition.confirmed:  # the old СМО's answer to its STOPLIST: nothing to store or to push
        trail.move(State.APPLIED, w.actor, None)
        comment = f"Подтверждение: период страхования закрыт {transition.valid_from.isoformat()}"
        return Outcome(w, trail, card, ACCEPTED_CODE, comment, errors, show_insurance=False)
    route = federal_route(record, card) if intake.federal_first and not w.federal_accepted else None
    if route is not None and route.kind == EXTRACT:
        trail.move(State.APPLIED, w.actor, None)
        comment = "Полис не переоформляется: документ о полисе — выписка из регистра (rserz extract)"
        return Outcome(w, trail, card, ACCEPTED_CODE, comment, errors)
    if route is not None and route.kind in (APPLICATION, OBJECTS):
        trail.move(State.AWAITING_FEDERAL, "auto", None)
        push = NewPush(
            w.entry_id,
            record.op,
            transition.valid_from,
            transition.after,
            transition.after.enp,
            card.person_id if card else None,
        )
        comment = "Принята ТФОМС, ожидает подтверждения ФЕРЗЛ"
        return Outcome(w, trail, card, None, comment, errors, show_insurance=False, push=push)
    submitter = w.submitter
    meta = VersionMeta(
        record.op,
        submitter.kind,
        submitter.code,
        transition.valid_from,
        actor=w.actor if w.actor != "auto" else submitter.actor,
        buffer_entry_id=w.entry_id,
        reason=w.reason,
    )
    plan = SavePlan(w.stored, transition.after, meta, transition.stop_notices)
    return Outcome(w, trail, transition.after, ACCEPTED_CODE, "Запись принята", errors, plan=plan)


def federal_route(record: OperationRecord, card: PersonCard | None) -> Route:
    """What the operation becomes federally (``domain/applications.py``), for the card it applies to."""
    op = record.operation
    assert op is not None  # an unknown code was refused before
    last = max(card.insurance, key=lambda q: q.dbeg) if card is not None and card.insurance else None
    rsmo = record.visit.rsmo if record.visit else None
    same = last is not None and last.smo_code == record.insurance.smo_code
    return route_of(op, known=card is not None and card.enp is not None, same_smo=same, rsmo=rsmo)


def _flk(
    intake: Intake, ref: Reference, record: OperationRecord, card: PersonCard | None, submitter: Submitter
) -> list[FlkError]:
    errors = check(record, card, ref, intake.directory, today=intake.today())
    if submitter.kind == "smo" and record.insurance.smo_code != submitter.code:
        errors.append(
            intake.directory.error(
                WRONG_SUBMITTER,
                n_rec=record.n_rec,
                detail=f"INSURANCE/SMO {record.insurance.smo_code}, отправитель {submitter.code}",
            )
        )
    return errors


def _person_conflicts(uow: UnitOfWork, intake: Intake, works: list[Work]) -> dict[int, PersonConflict]:
    """For known persons, in one query: undecided changes of other participants, unpinned federal values."""
    rules = intake.rules
    if not works or not (rules.other_participant_pending or rules.federal_contradiction):
        return {}
    return uow.buffer.person_conflicts(
        ((w.stored.card.person_id or 0, w.entry_id, w.submitter.participant_id) for w in works if w.stored),
        PENDING,
    )


def _conflicts(
    uow: UnitOfWork, intake: Intake, w: Work, card: PersonCard | None, person_conflict: PersonConflict | None
) -> list[str]:
    found: list[str] = []
    rules, record, resolution = intake.rules, w.record, w.resolution
    if rules.ambiguous_person and resolution is not None and resolution.ambiguous:
        found.append(f"ключ {resolution.key} указывает на нескольких лиц: {list(resolution.ambiguous)}")
    if card is not None:
        if person_conflict is not None:
            if rules.other_participant_pending and person_conflict.pending:
                found.append("по этому лицу есть нерешённое изменение другого участника")
            if rules.federal_contradiction:
                found += _federal_contradictions(person_conflict.federal, record)
    elif rules.probable_duplicate and intake.find_duplicates:
        addresses = frozenset(a for a in (record.address_g, record.address_p) if a is not None)
        probe = PersonCard(data=record.person, documents=frozenset(record.documents), addresses=addresses)
        best = [
            (c.person_id, c.score.total)
            for c in duplicates.find_candidates(uow, probe, thorough=False)
            if c.score.total >= rules.duplicate_min_score
        ]
        if best:
            pid, score = max(best, key=lambda x: x[1])
            found.append(f"вероятный дубликат лица {pid} (сходство {score:.2f})")
    return found


class _SamePersonTwice(Exception):
    """Two records of one group resolved to one person (by different keys): run them one by one."""


def _new_person_keys(record: OperationRecord) -> list[str]:
    keys = [f"doc:{d.key}" for d in record.documents if d.is_main]
    return keys + ([f"ss:{record.person.ss}"] if record.person.ss else [])


def record_keys(record: OperationRecord) -> set[str]:
    """Identifiers by which two records of one chunk (or one batch of the federal sender) could be about
    the same person."""
    keys = {f"enp:{record.insurance.enp}"} if record.insurance.enp else set()
    keys |= {
        f"doc:{d.key}" for d in (*record.documents, *([record.old_document] if record.old_document else []))
    }
    if record.person.ss:
        keys.add(f"ss:{record.person.ss}")
    if record.insurance.policy is not None:
        keys.add(f"pol:{record.insurance.policy.npolis}")
    return keys


def _independent_groups(works: Sequence[Work]) -> list[list[Work]]:
    """Consecutive groups in which no two records share an identifier; order is kept across groups."""
    groups: list[list[Work]] = []
    current: list[Work] = []
    seen: set[str] = set()
    for w in works:
        keys = record_keys(w.record)
        if current and keys & seen:
            groups.append(current)
            current, seen = [], set()
        current.append(w)
        seen |= keys
    if current:
        groups.append(current)
    return groups


_FEDERAL_FIELDS: dict[str, Callable[[OperationRecord], object]] = {
    "fam": lambda r: r.person.fam,
    "im": lambda r: r.person.im,
    "ot": lambda r: r.person.ot,
    "w": lambda r: r.person.w,
    "dr": lambda r: r.person.dr.isoformat(),
    "ss": lambda r: r.person.ss,
}


def _federal_contradictions(known: dict[str, Any], record: OperationRecord) -> list[str]:
    """Fields where the record disagrees with what ФЕРЗЛ holds (pinned fields are already left out)."""
    return [
        f"{name.upper()} расходится с ФЕРЗЛ ({known[name]!s})"
        for name, get in _FEDERAL_FIELDS.items()
        if name in known and get(record) != known[name]
    ]
