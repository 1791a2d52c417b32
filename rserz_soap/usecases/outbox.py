"""The federal outbox: an СМО's accepted operation becomes the territorial fund's application to ФЕРЗЛ.

Since 2022-12-01 ФЕРЗЛ, not the region, forms the ЕНП and the policy (ФОМС's description v5.07 §3.3.1).
An accepted buffer entry whose route (``domain/applications.py``) is an *application* waits in
``awaiting_federal``; the sender (``jobs/federal.py``) turns it into ``submitPolicyApplication``
(``appObject``/``appCause`` of the route) and applies it — in the same transaction that settles the
entry — with the policy ФЕРЗЛ formed (``createdPcy``: the ЕНП, new or kept, and a digital policy), or
rejects it with the federal code (591). A route of *objects* (П040) sends ``registerDudl``/
``registerSnils``/``registerAddress`` for what changed and applies the change when ФЕРЗЛ has them all.

Exactly once, on both sides:

* every entry has one request id (``federal_push.request_id``) for all its attempts; an entry of several
  calls derives one id per call from it (``uuid5``), so each call is the same request every time;
* ФЕРЗЛ answers a repeated request id with its first answer (a lost answer is simply asked for again);
* the hub settles an entry only while it is ``awaiting_federal``, under its row lock.

When ФЕРЗЛ cannot answer, the attempt is noted and :class:`FederalUnavailable` propagates: the sender
stops (a later change of the same person must not overtake an earlier one) and its job retries later.

Throughput: ФЕРЗЛ takes one person per call (§3.3.1, §3.6), so the sender pipelines them. It takes the
waiting entries in batches of up to :data:`BATCH` about *different* persons (a batch ends before an entry
whose person, document, СНИЛС, ЕНП or policy an earlier entry of the batch has), prepares a batch in one
transaction, sends it with up to ``parallel`` calls in flight (threads), and settles its answers in one
transaction. A person's next change is prepared only once the batch before it is settled, so each person's
changes still reach ФЕРЗЛ and the register one after another, in order. (The phases do not overlap: calls
in threads beside the sender's own many short statements would make each statement wait for the GIL.)
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from rserz_soap.db.buffer import Entry
from rserz_soap.db.federal import PushAnswer, PushRow
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.applications import APPLICATION, APPLICATION_METHODS, OBJECTS, app_cause
from rserz_soap.domain.buffer import FEDERAL_REJECTED, RecordResult, State, Trail
from rserz_soap.domain.countries import CountryCodes
from rserz_soap.domain.federal import FederalAnswer, PersonFacts, PolicyApplication
from rserz_soap.domain.operations import OperationRefused, apply_operation
from rserz_soap.domain.person import Address, Document, PersonCard, PersonData
from rserz_soap.domain.records import OperationRecord
from rserz_soap.usecases.federal_port import FederalUnavailable
from rserz_soap.usecases.intake import (
    Intake,
    Work,
    context,
    federal_route,
    record_keys,
    rejected,
    run,
    settle,
)
from rserz_soap.usecases.resolve import Resolution, prefetch_keys, resolve_person

log = logging.getLogger(__name__)

SENDER_LOCK = "rserz:ferzl-push"
#: waiting entries one sender prepares in one transaction, sends together and settles in one transaction
BATCH = 100
#: calls to ФЕРЗЛ one sender keeps in flight by default (``RSERZ_FERZL_PUSH_PARALLEL``)
PARALLEL = 8


class ApplicationsPort(Protocol):
    """What the outbox needs of ФЕРЗЛ (the client: ``federal/mpi_client.py``)."""

    def submit_application(self, request_id: str, app: PolicyApplication) -> FederalAnswer: ...

    def register_dudl(
        self, request_id: str, enp: str, doc: Document, person: PersonData
    ) -> FederalAnswer: ...

    def register_snils(self, request_id: str, enp: str, snils: str) -> FederalAnswer: ...

    def register_address(self, request_id: str, enp: str, address: Address, okato: str) -> FederalAnswer: ...


@dataclass(frozen=True)
class ObjectCall:
    """One registration of an object ФЕРЗЛ must know (§3.6), with its own stable request id."""

    kind: str  # dudl, snils, address
    request_id: str
    document: Document | None = None
    snils: str | None = None
    address: Address | None = None


@dataclass(frozen=True)
class Push:
    """One entry to send: an application, or the object registrations of a change of data."""

    entry_id: int
    request_id: str
    operation: str
    change_date: date
    card: PersonCard  # the card as the check computed it (a new person's ЕНП is unknown)
    application: PolicyApplication | None = None
    objects: tuple[ObjectCall, ...] = ()
    person: PersonData | None = None


@dataclass
class PushReport:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    not_sent: int = 0  # no longer applicable to the register: rejected locally, never sent
    formed: list[str] = field(default_factory=list)  # ЕНП ФЕРЗЛ formed or kept for the applications


def pending_pushes(uow: UnitOfWork, limit: int = 1000, *, lane: int = 0, lanes: int = 1) -> list[int]:
    """Entries waiting to reach ФЕРЗЛ, oldest first (the order they must be sent in), of one sender lane."""
    with uow:
        return uow.outbox.pending(limit, lane=lane, lanes=lanes)


def prepare_push(uow: UnitOfWork, intake: Intake, entry_id: int) -> Push | None:
    """What to send for an entry awaiting ФЕРЗЛ, checked against the register as it is now.

    None when there is nothing to send: the entry is settled already, or the change no longer applies
    to the register (then it is rejected here, with the operation's code, and never sent)."""
    with uow:
        [prepared] = _prepare(uow, intake, [entry_id], _lock_waiting(uow, [entry_id]), one_run=False)
    return prepared


@dataclass
class Prepared:
    """A batch of entries prepared together (:func:`prepare_pushes`)."""

    pushes: list[Push] = field(default_factory=list)
    taken: int = 0  # how many of the given entries the batch took (the rest wait for the next batch)
    not_sent: int = 0  # of those, settled already or no longer applicable: nothing to send


def prepare_pushes(uow: UnitOfWork, intake: Intake, entry_ids: Sequence[int]) -> Prepared:
    """:func:`prepare_push` for the longest run of ``entry_ids`` (in order) about different persons, in one
    transaction. The run ends before an entry whose person, or one of whose identifiers, an earlier entry
    of the run already has: that entry must see the register after the earlier one is settled."""
    out = Prepared()
    with uow:
        for prepared in _prepare(uow, intake, entry_ids, _lock_waiting(uow, entry_ids), one_run=True):
            out.taken += 1
            if prepared is None:
                out.not_sent += 1
            else:
                out.pushes.append(prepared)
    return out


def _prepare(
    uow: UnitOfWork,
    intake: Intake,
    entry_ids: Sequence[int],
    locked: dict[int, tuple[Entry, PushRow | None]],
    *,
    one_run: bool,
) -> list[Push | None]:
    """What to send for each entry (None: nothing), in order; with ``one_run`` only for the entries before
    the first whose person or identifier an earlier one has (:func:`prepare_pushes`).

    The entries' persons are resolved on one reference (their identifiers' owners asked in one query) and
    their cards read in one query: preparing changes no person, so each entry sees the register as it
    would alone. What is sent is written to the outbox in one statement."""
    ref = intake.reference(uow)
    records = [locked[i][0].record for i in entry_ids if locked[i][1] is not None]
    ref.prefetch(records)
    identified = prefetch_keys(uow.search, records, ref)
    seen: set[str] = set()
    run: list[tuple[int, tuple[PushRow, Work, Resolution] | None]] = []  # None: nothing to send
    for entry_id in entry_ids:
        entry, push = locked[entry_id]
        if push is None:
            run.append((entry_id, None))
            continue
        w = _federal_work(entry, accepted=False)
        resolution = resolve_person(uow.search, w.record, ref, identified)
        if one_run:
            keys = record_keys(w.record)
            if resolution.person_id:
                keys.add(f"person:{resolution.person_id}")
            if keys & seen:
                break  # about a person an earlier entry of the batch is about: it goes in the next batch
            seen |= keys
        run.append((entry_id, (push, w, resolution)))
    cards = uow.persons.load_many([t[2].person_id for _, t in run if t is not None and t[2].person_id])
    out: list[Push | None] = []
    sent: list[tuple[int, PersonCard]] = []
    for entry_id, todo in run:
        if todo is None:
            out.append(None)
            continue
        push, w, resolution = todo
        pid = resolution.person_id
        # a person the read did not find: ``load`` raises as it would have alone
        card = (cards[pid] if pid in cards else uow.persons.load(pid).card) if pid else None
        prepared = _prepared(uow, intake, entry_id, push, w, card)
        if prepared is not None:
            sent.append((entry_id, prepared.card))
        out.append(prepared)
    uow.outbox.prepared(sent)
    return out


def _prepared(
    uow: UnitOfWork, intake: Intake, entry_id: int, push: PushRow, w: Work, card: PersonCard | None
) -> Push | None:
    try:
        transition = apply_operation(card, w.record, context(uow, intake, w))
    except OperationRefused as refused:
        err = intake.directory.error(refused.code, n_rec=w.record.n_rec, detail=refused.message)
        outcome = rejected(w, Trail(entry_id, State.AWAITING_FEDERAL), err, "auto", None)
        settle(uow, [outcome])
        uow.outbox.not_sent(entry_id, outcome.comment)
        return None
    route = federal_route(w.record, card)
    rid = str(push.request_id)
    if route.kind == OBJECTS:
        assert card is not None and card.enp is not None
        calls = object_calls(rid, card, transition.after)
        return Push(entry_id, rid, push.operation, push.change_date, transition.after, objects=calls,
                    person=transition.after.data)  # fmt: skip
    assert route.kind == APPLICATION
    countries = uow.countries(intake.nsi)
    app = application(w.record, card, route.app_object or 1, app_cause(route, _rsmo(w.record)), intake,
                      countries)  # fmt: skip
    return Push(entry_id, rid, push.operation, push.change_date, transition.after, application=app)  # fmt: skip


def application(
    rec: OperationRecord,
    card: PersonCard | None,
    app_object: int,
    cause: int | None,
    intake: Intake,
    countries: CountryCodes | None = None,
) -> PolicyApplication:
    """§3.3.1 ``rq/pa`` for an СМО's record: the person as the record states them, the ЕНП they hold."""
    p = rec.person
    method = APPLICATION_METHODS.get(rec.visit.method if rec.visit else 1, 1)
    alpha3 = countries.alpha3(p.c_oksm) if countries is not None and p.c_oksm else None
    documents = tuple(rec.documents) or (tuple(card.documents) if card is not None else ())
    main = sorted(documents, key=lambda d: not d.is_main)
    permit_end = max((d.docexp for d in documents if d.docexp and not d.is_main), default=None)
    return PolicyApplication(
        terr=intake.region_okato,
        smo=rec.insurance.smo_code,
        reg_date=rec.visit.dvizit if rec.visit else rec.event_date,
        app_method=method,
        app_object=app_object,
        app_cause=cause,
        kl=p.kateg or 1,
        person=PersonFacts(p.fam, p.im, p.ot, p.w, p.dr, p.mr, alpha3),
        documents=tuple(main),
        enp=card.enp if card is not None else (rec.insurance.enp or None),
        snils=p.ss,
        policy_end=permit_end if p.kateg not in (1, 6) else None,
    )


def object_calls(request_id: str, before: PersonCard, after: PersonCard) -> tuple[ObjectCall, ...]:
    """The registrations a change of data owes ФЕРЗЛ (§3.6): a new main document, СНИЛС, address."""
    base = uuid.UUID(request_id)
    calls: list[ObjectCall] = []
    doc, old_doc = after.main_document(), before.main_document()
    if doc is not None and (old_doc is None or doc.key != old_doc.key):
        calls.append(ObjectCall("dudl", str(uuid.uuid5(base, "dudl")), document=doc))
    if after.data.ss and after.data.ss != before.data.ss:
        calls.append(ObjectCall("snils", str(uuid.uuid5(base, "snils")), snils=after.data.ss))
    new_g = next((a for a in after.addresses if a.kind == "G"), None)
    old_g = next((a for a in before.addresses if a.kind == "G"), None)
    if new_g is not None and new_g != old_g:
        calls.append(ObjectCall("address", str(uuid.uuid5(base, "address")), address=new_g))
    return tuple(calls)


def send(federal: ApplicationsPort, push: Push, okato: str) -> FederalAnswer:
    """Send what a push holds; the first refusal stops it (the calls before it stay registered)."""
    if push.application is not None:
        return federal.submit_application(push.request_id, push.application)
    enp = push.card.enp or ""
    assert push.person is not None
    for call in push.objects:
        if call.kind == "dudl" and call.document is not None:
            answer = federal.register_dudl(call.request_id, enp, call.document, push.person)
        elif call.kind == "snils" and call.snils is not None:
            answer = federal.register_snils(call.request_id, enp, call.snils)
        elif call.address is not None:
            answer = federal.register_address(call.request_id, enp, call.address, okato)
        else:
            continue
        if not answer.accepted:
            return answer
    return FederalAnswer(True)


def federal_answered(uow: UnitOfWork, intake: Intake, entry_id: int, answer: FederalAnswer) -> RecordResult:
    """Settle an entry with ФЕРЗЛ's answer: apply it with the policy ФЕРЗЛ formed (accepted) or reject it
    with the federal code. An entry already settled (a repeated answer, a second sender) is left as it is."""
    return federal_answers(uow, intake, [(entry_id, answer)])[entry_id]


def federal_answers(
    uow: UnitOfWork, intake: Intake, answers: Sequence[tuple[int, FederalAnswer]]
) -> dict[int, RecordResult]:
    """:func:`federal_answered` for entries about different persons, in one transaction: the accepted
    ones applied together (one group of :func:`~rserz_soap.usecases.intake.run`), the refused ones
    rejected together. Any failure rolls the whole transaction back: nothing of it is settled."""
    results: dict[int, RecordResult] = {}
    accepted: list[Work] = []
    refused: list[tuple[Work, FederalAnswer]] = []
    kept: list[PushAnswer] = []
    with uow:
        locked = _lock_waiting(uow, [entry_id for entry_id, _answer in answers])
        for entry_id, answer in sorted(answers, key=lambda a: a[0]):
            entry, push = locked[entry_id]
            if push is None:
                results[entry_id] = entry.result
                continue
            formed = answer.formed.enp if answer.accepted and answer.formed is not None else None
            kept.append(PushAnswer(entry_id, answer.accepted, answer.code, answer.text, formed))
            w = _federal_work(entry, accepted=answer.accepted, formed=answer.formed)
            if answer.accepted:
                accepted.append(w)
            else:
                refused.append((w, answer))
        uow.outbox.answered(kept)
        if accepted:
            applied = run(uow, intake, accepted)
            for entry_id, result in applied.items():
                if result.state is not State.APPLIED:  # the register moved on since the push was sent
                    log.warning(
                        "ФЕРЗЛ accepted entry %s but the register refuses it now (%s); the next"
                        " reconciliation will show the difference",
                        entry_id,
                        result.comment,
                    )
            results.update(applied)
        outcomes = []
        for w, answer in refused:
            err = intake.directory.error(
                FEDERAL_REJECTED, n_rec=w.record.n_rec, detail=f"ФЕРЗЛ {answer.text or 'отказ без кода'}"
            )
            trail = Trail(w.entry_id, State.AWAITING_FEDERAL)
            outcomes.append(rejected(w, trail, err, "ferzl", answer.text or None))
        if outcomes:
            results.update(settle(uow, outcomes))
    return results


def federal_unreachable(uow: UnitOfWork, entry_id: int, error: str) -> None:
    """Remember why the last attempt got no answer; the entry keeps waiting."""
    with uow:
        uow.outbox.unreachable(entry_id, error)


def push_pending(
    uow: UnitOfWork,
    intake: Intake,
    federal: ApplicationsPort,
    *,
    limit: int = 1000,
    lanes: int = 1,
    parallel: int = PARALLEL,
) -> PushReport:
    """Send up to ``limit`` waiting entries of the first sender lane no other process holds that has any.

    The entries are split into ``lanes`` by person (``FederalPushes.pending``): one sender per lane at a time,
    so a person's changes still reach ФЕРЗЛ one after another in the order they were accepted, while several
    workers overlap their waits for ФЕРЗЛ's answers. A free lane with nothing waiting is passed over (else
    a sender that finds lane 0 free and empty would leave lane 1 to nobody); a caller that finds every lane
    busy or empty returns at once. Within a lane, up to ``parallel`` calls of different persons are in
    flight at once (the module's docstring). ``federal`` must then be safe to call from several threads
    (``MpiClient`` is).
    """
    for lane in range(lanes):
        with uow.exclusive(SENDER_LOCK, lane) as alone:
            if alone:
                report = _push_lane(uow, intake, federal, limit, lane, lanes, parallel)
                if report.sent or report.not_sent:
                    return report
    return PushReport()


def _push_lane(
    uow: UnitOfWork,
    intake: Intake,
    federal: ApplicationsPort,
    limit: int,
    lane: int,
    lanes: int,
    parallel: int,
) -> PushReport:
    """Batch after batch: prepare (one transaction), send (``parallel`` calls in flight), settle (one
    transaction). The first failure stops the calls not yet begun; what was answered is settled, then the
    failure propagates (the failed and the unsent entries wait, in order, for the job's next attempt)."""
    report = PushReport()
    waiting = pending_pushes(uow, limit, lane=lane, lanes=lanes)
    stop = threading.Event()
    failures: list[tuple[Push, Exception]] = []

    def call(push: Push) -> FederalAnswer | None:
        if stop.is_set():
            return None  # not attempted: the entry simply waits
        try:
            return send(federal, push, intake.region_okato)
        except Exception:
            stop.set()
            raise

    with ThreadPoolExecutor(max(1, parallel), thread_name_prefix="ferzl-push") as pool:
        while waiting and not failures:
            batch = prepare_pushes(uow, intake, waiting[:BATCH])
            waiting = waiting[batch.taken :]
            report.not_sent += batch.not_sent
            futures = [(push, pool.submit(call, push)) for push in batch.pushes]
            answered: list[tuple[Push, FederalAnswer]] = []
            for push, future in futures:
                try:
                    got = future.result()
                except Exception as exc:  # noqa: BLE001 - raised below, once the answers are settled
                    failures.append((push, exc))
                    continue
                if got is not None:
                    answered.append((push, got))
            if answered:
                _settle_answers(uow, intake, answered, report)
    for push, failure in failures:
        if isinstance(failure, FederalUnavailable):
            federal_unreachable(uow, push.entry_id, str(failure))
            log.warning("ФЕРЗЛ push of entry %s: %s; the entry waits", push.entry_id, failure)
    if failures:
        raise failures[0][1]
    return report


def _settle_answers(
    uow: UnitOfWork, intake: Intake, answers: Sequence[tuple[Push, FederalAnswer]], report: PushReport
) -> None:
    """Apply a batch's answers in one transaction; should that fail, one entry at a time, so that one entry
    the register cannot take stops the sender at that entry (it stays waiting, as it would have alone)."""
    by_id = [(push.entry_id, answer) for push, answer in answers]
    try:
        results = federal_answers(uow, intake, by_id)
    except Exception as exc:  # noqa: BLE001 - retried one by one below, where it raises again
        log.warning("settling %d ФЕРЗЛ answers together failed (%r); one by one", len(by_id), exc)
        results = {}
        for entry_id, answer in by_id:
            results[entry_id] = federal_answered(uow, intake, entry_id, answer)
            _count(report, entry_id, answer, results[entry_id])
        return
    for entry_id, answer in by_id:
        _count(report, entry_id, answer, results[entry_id])


def _count(report: PushReport, entry_id: int, answer: FederalAnswer, result: RecordResult) -> None:
    report.sent += 1
    if answer.accepted:
        report.accepted += 1
        if answer.formed is not None:
            report.formed.append(answer.formed.enp)
    else:
        report.rejected += 1
        log.info("ФЕРЗЛ rejected entry %s: %s (%s)", entry_id, answer.text, result.state)


def _rsmo(rec: OperationRecord) -> int | None:
    return rec.visit.rsmo if rec.visit else None


def _lock_waiting(uow: UnitOfWork, entry_ids: Sequence[int]) -> dict[int, tuple[Entry, PushRow | None]]:
    """The entries, locked in id order, each with its push while it still waits for ФЕРЗЛ (None once it is
    settled): two statements however many entries."""
    entries = uow.buffer.lock(sorted(set(entry_ids)))
    pushes = uow.outbox.get_many([e.id for e in entries])
    out: dict[int, tuple[Entry, PushRow | None]] = {}
    for entry in entries:
        push = pushes[entry.id]
        waiting = entry.state is State.AWAITING_FEDERAL and push.state == "pending"
        out[entry.id] = (entry, push if waiting else None)
    missing = set(entry_ids) - out.keys()
    if missing:
        raise LookupError(f"no buffer entries {sorted(missing)}")
    return out


def _federal_work(entry: Entry, *, accepted: bool, formed: object = None) -> Work:
    from rserz_soap.domain.federal import FormedPolicy

    return Work(
        entry.id,
        State.AWAITING_FEDERAL,
        entry.record,
        entry.submitter,
        fallback=entry.result,
        actor="ferzl",
        review_done=True,
        federal_accepted=accepted,
        formed=formed if isinstance(formed, FormedPolicy) else None,
    )
