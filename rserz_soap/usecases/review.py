"""Review: a ТФОМС operator decides a change the buffer held back (a conflict, or a rule that says so)."""

from __future__ import annotations

from dataclasses import dataclass

from rserz_soap.db.buffer import Entry, EntryFilter, EntrySummary, TrailRow
from rserz_soap.db.pins import KnownFederal
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.buffer import REJECTED_CODE, RecordResult, State, Trail
from rserz_soap.domain.person import PersonCard
from rserz_soap.usecases.intake import Intake, Outcome, Work, run, settle


class NotAwaitingReview(ValueError):
    """The entry is not (or no longer) waiting for an operator's decision."""


def accept(uow: UnitOfWork, intake: Intake, entry_id: int, *, actor: str, reason: str) -> RecordResult:
    """An operator accepts a held change: it is checked again against today's register and applied."""
    with uow:
        work = _held(uow, entry_id, actor, reason)
        return run(uow, intake, [work])[entry_id]


def reject(uow: UnitOfWork, entry_id: int, *, actor: str, reason: str) -> RecordResult:
    """An operator rejects a held change; the register is untouched."""
    with uow:
        work = _held(uow, entry_id, actor, reason)
        trail = Trail(entry_id, State.AWAITING_REVIEW)
        trail.move(State.REJECTED, actor, reason)
        outcome = Outcome(work, trail, None, REJECTED_CODE, f"Отклонено ТФОМС: {reason}", [])
        return settle(uow, [outcome])[entry_id]


def _held(uow: UnitOfWork, entry_id: int, actor: str, reason: str) -> Work:
    """The held entry, locked, as work decided by ``actor``."""
    entry = uow.buffer.lock_one(entry_id)
    if entry.state is not State.AWAITING_REVIEW:
        raise NotAwaitingReview(f"buffer entry {entry_id} is {entry.state.value}, not awaiting review")
    return Work.of(entry, actor=actor, review_done=True, reason=reason)


# -- the reviewer's queue ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryView:
    """A held change beside what it would change: the entry as sent, its trail, the person as the register
    holds them now, and what ФЕРЗЛ was last seen to hold."""

    entry: Entry
    trail: list[TrailRow]
    current: PersonCard | None
    federal: dict[str, KnownFederal]


def queue(
    uow: UnitOfWork, flt: EntryFilter, *, before: int | None = None, limit: int = 50
) -> list[EntrySummary]:
    """Entries matching ``flt``, newest first (``before``: the last id of the previous page)."""
    with uow:
        return uow.buffer.summaries(flt, before=before, limit=max(1, min(limit, 200)))


def entry(uow: UnitOfWork, entry_id: int) -> EntryView | None:
    with uow:
        found = uow.buffer.get(entry_id)
        if found is None:
            return None
        person_id = found.result.person_id
        current = uow.persons.load_many([person_id]).get(person_id) if person_id is not None else None
        federal = uow.pins.known_federal(person_id) if person_id is not None else {}
        return EntryView(found, uow.buffer.trail(entry_id), current, federal)
