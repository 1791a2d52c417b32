"""The federal outbox: accepted changes that must reach ФЕРЗЛ before they apply here.

A sender (``jobs/federal.py``) takes the pushes in entry order: :func:`prepare_push` computes the card
against the register as it is *now* (an earlier push of the same person may have been applied since),
the federal register answers, and :func:`federal_answered` applies the change — in the same transaction
that settles the entry — or rejects it with the federal code (591). A repeat of the same request id gets
ФЕРЗЛ's first answer, and an entry already settled is never settled again, so neither side applies a
change twice. When ФЕРЗЛ cannot answer, the attempt is noted and :class:`FederalUnavailable` propagates:
the sender stops (a later change of the same person must not overtake an earlier one) and its job
retries later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from rserz_soap.db.buffer import Entry
from rserz_soap.db.federal import PushRow
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.buffer import FEDERAL_REJECTED, RecordResult, State, Trail
from rserz_soap.domain.federal import AcceptAnswer
from rserz_soap.domain.operations import OperationRefused, apply_operation
from rserz_soap.domain.person import PersonCard
from rserz_soap.usecases.federal_port import FederalRegister, FederalUnavailable
from rserz_soap.usecases.intake import Intake, Work, context, rejected, run, settle
from rserz_soap.usecases.resolve import resolve_person

log = logging.getLogger(__name__)

SENDER_LOCK = "rserz:ferzl-push"


@dataclass(frozen=True)
class Push:
    """One change to send to ФЕРЗЛ: the same request id on every attempt."""

    entry_id: int
    request_id: str
    operation: str
    change_date: date
    card: PersonCard


@dataclass
class PushReport:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    not_sent: int = 0  # no longer applicable to the register: rejected locally, never sent


def pending_pushes(uow: UnitOfWork, limit: int = 1000) -> list[int]:
    """Entries waiting to reach ФЕРЗЛ, oldest first (the order they must be sent in)."""
    with uow:
        return uow.outbox.pending(limit)


def prepare_push(uow: UnitOfWork, intake: Intake, entry_id: int) -> Push | None:
    """The change to send for an entry awaiting ФЕРЗЛ, computed against the register as it is now.

    None when there is nothing to send: the entry is settled already, or the change no longer applies
    to the register (then it is rejected here, with the operation's code, and never sent)."""
    with uow:
        entry, push = _waiting(uow, entry_id)
        if push is None:
            return None
        w = _federal_work(entry, push.enp, accepted=False)
        ref = intake.reference(uow)
        resolution = resolve_person(uow.search, w.record, ref)
        stored = uow.persons.load(resolution.person_id) if resolution.person_id else None
        try:
            transition = apply_operation(stored.card if stored else None, w.record, context(uow, intake, w))
        except OperationRefused as refused:
            err = intake.directory.error(refused.code, n_rec=w.record.n_rec, detail=refused.message)
            outcome = rejected(w, Trail(entry_id, State.AWAITING_FEDERAL), err, "auto", None)
            settle(uow, [outcome])
            uow.outbox.not_sent(entry_id, outcome.comment)
            return None
        uow.outbox.prepared(entry_id, transition.after)
        return Push(entry_id, str(push.request_id), push.operation, push.change_date, transition.after)


def federal_answered(uow: UnitOfWork, intake: Intake, entry_id: int, answer: AcceptAnswer) -> RecordResult:
    """Settle an entry with ФЕРЗЛ's answer: apply it (accepted) or reject it with the federal code.

    An entry already settled (a repeated answer, a second sender) is left as it is."""
    with uow:
        entry, push = _waiting(uow, entry_id)
        if push is None:
            return entry.result
        uow.outbox.answered(entry_id, accepted=answer.accepted, code=answer.code, text_=answer.text)
        w = _federal_work(entry, answer.enp or push.enp, accepted=answer.accepted)
        if answer.accepted:
            result = run(uow, intake, [w])[entry_id]
            if result.state is not State.APPLIED:  # the register moved on since the push was sent
                log.warning(
                    "ФЕРЗЛ accepted entry %s but the register refuses it now (%s); the next"
                    " reconciliation will show the difference",
                    entry_id,
                    result.comment,
                )
            return result
        err = intake.directory.error(
            FEDERAL_REJECTED, n_rec=w.record.n_rec, detail=f"ФЕРЗЛ {answer.text or 'отказ без кода'}"
        )
        outcome = rejected(w, Trail(entry_id, State.AWAITING_FEDERAL), err, "ferzl", answer.text or None)
        return settle(uow, [outcome])[entry_id]


def federal_unreachable(uow: UnitOfWork, entry_id: int, error: str) -> None:
    """Remember why the last attempt got no answer; the entry keeps waiting."""
    with uow:
        uow.outbox.unreachable(entry_id, error)


def push_pending(
    uow: UnitOfWork, intake: Intake, federal: FederalRegister, region: str, *, limit: int = 1000
) -> PushReport:
    """Send up to ``limit`` waiting changes; one sender at a time (a second one returns at once)."""
    with uow.exclusive(SENDER_LOCK) as alone:
        if not alone:
            return PushReport()
        report = PushReport()
        for entry_id in pending_pushes(uow, limit):
            push = prepare_push(uow, intake, entry_id)
            if push is None:
                report.not_sent += 1
                continue
            try:
                answer = federal.accept_regional_change(
                    push.request_id, region, push.operation, push.change_date, push.card
                )
            except FederalUnavailable as exc:
                federal_unreachable(uow, entry_id, str(exc))
                log.warning("ФЕРЗЛ push of entry %s: %s; the entry waits", entry_id, exc)
                raise
            report.sent += 1
            result = federal_answered(uow, intake, entry_id, answer)
            if answer.accepted:
                report.accepted += 1
            else:
                report.rejected += 1
                log.info("ФЕРЗЛ rejected entry %s: %s (%s)", entry_id, answer.text, result.state)
        return report


def _waiting(uow: UnitOfWork, entry_id: int) -> tuple[Entry, PushRow | None]:
    """The entry, locked, and its push while it still waits for ФЕРЗЛ (None once it is settled)."""
    entry = uow.buffer.lock_one(entry_id)
    push = uow.outbox.get(entry_id)
    waiting = entry.state is State.AWAITING_FEDERAL and push.state == "pending"
    return entry, push if waiting else None


def _federal_work(entry: Entry, enp: str | None, *, accepted: bool) -> Work:
    return Work(
        entry.id,
        State.AWAITING_FEDERAL,
        entry.record,
        entry.submitter,
        fallback=entry.result,
        actor="ferzl",
        review_done=True,
        federal_accepted=accepted,
        federal_enp=enp,
    )
