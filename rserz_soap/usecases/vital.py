"""Vital events from outside registers: a death, a death record cancelled — whichever source tells first.

A death reaches the register twice: from ЕГР ЗАГС through СМЭВ 3 and as a ФЕРЗЛ event (ФСМ). Both sources
call :func:`record_death`; the first applies it (insurance stopped for death, attachments closed, a
STOPLIST notice), the second finds the same death recorded and leaves a *confirmation* — a version with
no change to the card, its source and reference in the history — so the history keeps both sources and
nothing is applied twice. A death on another date than the recorded one is not applied: it is a
conflict an operator settles. A repeated delivery from one source is the caller's to recognise (each
flow keeps its own inbox of message or event ids); delivered again anyway, it is one more confirmation.

:func:`cancel_death` (a cancelled act record, ЗАГС; ОФСМ, ФЕРЗЛ) undoes exactly what the death's version
changed — the insurance period and attachments it closed, the status — as a new version.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from rserz_soap.db.persons import VersionMeta
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.operations import record_death as death_transition
from rserz_soap.domain.person import PersonCard, Status

DEATH = "DEATH"  # the version that records a death reported from outside (ЗАГС, ФЕРЗЛ)
DEATH_CONFIRMED = "DEATH_CONFIRMED"  # a second source reports a death already recorded
DEATH_CANCELLED = "DEATH_CANCELLED"


class Outcome(StrEnum):
    APPLIED = "applied"
    CONFIRMED = "confirmed"  # already recorded (by this or another source): kept in history only
    CONFLICT = "conflict"  # the register holds another death date: for an operator
    NOT_DEAD = "not_dead"  # a cancellation for a person the register does not hold as dead
    INACTIVE = "inactive"  # a merged or annulled record: the event belongs to its survivor


@dataclass(frozen=True)
class EventSource:
    """Who reports the event: ``kind`` zags | ferzl | operator, their ``reference`` (act record, event id)."""

    kind: str
    reference: str
    actor: str

    def meta(self, operation: str, valid_from: date) -> VersionMeta:
        return VersionMeta(
            operation, self.kind, self.kind, valid_from, actor=self.actor, reason=self.reference[:500]
        )


def record_death(uow: UnitOfWork, person_id: int, ddeath: date, source: EventSource) -> Outcome:
    """Apply a reported death once, whichever source reports it first (see the module docstring)."""
    with uow:
        stored = uow.persons.load(person_id, for_update=True)
        card = stored.card
        if card.status in (Status.MERGED, Status.ANNULLED):
            return Outcome.INACTIVE
        if card.ddeath is not None:
            if card.ddeath != ddeath:
                return Outcome.CONFLICT
            uow.persons.save(stored, card, source.meta(DEATH_CONFIRMED, ddeath))
            return Outcome.CONFIRMED
        transition = death_transition(card, ddeath)
        uow.persons.save(stored, transition.after, source.meta(DEATH, ddeath), transition.stop_notices)
        return Outcome.APPLIED


def cancel_death(uow: UnitOfWork, person_id: int, source: EventSource) -> Outcome:
    """Undo a recorded death: the periods and attachments its version closed open again, the person is
    insured (or not insured) again — the state before the death, as a new version."""
    with uow:
        stored = uow.persons.load(person_id, for_update=True)
        card = stored.card
        if card.status is not Status.DEAD or card.ddeath is None:
            return Outcome.NOT_DEAD
        death_version = uow.history.last_version_of(person_id, (DEATH, "П022", "FEDERAL_DEATH"))
        restored = uow.merges.undo_version(card, death_version) if death_version is not None else card
        after = _alive(restored)
        uow.persons.save(stored, after, source.meta(DEATH_CANCELLED, card.ddeath))
        return Outcome.APPLIED


def _alive(card: PersonCard) -> PersonCard:
    status = Status.INSURED if card.open_period() is not None else Status.NOT_INSURED
    return dataclasses.replace(card, status=status, ddeath=None)
