"""History of a person: every version with its source and reason, and the card at any point in time.

``state_as_of`` answers "was this person insured on D?" with everything known now (valid time);
``known_on`` answers "what did the register say on D?" (record time) — what a snapshot published on D
or a protocol sent on D was based on. Both read the same append-only rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.buffer import Submitter
from rserz_soap.domain.history import Change, Version
from rserz_soap.domain.person import PersonCard

__all__ = ["Change", "PersonHistory", "Version", "history", "known_on", "person_history", "state_as_of"]


def state_as_of(uow: UnitOfWork, person_id: int, day: date) -> PersonCard | None:
    with uow:
        return uow.persons.as_of(person_id, day)


def known_on(uow: UnitOfWork, person_id: int, moment: date | datetime) -> PersonCard | None:
    """``moment`` a date means the end of that day (UTC)."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment + timedelta(days=1), time.min, tzinfo=UTC) - timedelta(
            microseconds=1
        )
    with uow:
        return uow.persons.known_on(person_id, moment)


def history(uow: UnitOfWork, person_id: int) -> list[Version]:
    """Every version of the person, oldest first, with the rows each one added and superseded."""
    with uow:
        return uow.history.versions(person_id)


@dataclass(frozen=True)
class PersonHistory:
    card: PersonCard
    versions: list[Version]


def person_history(uow: UnitOfWork, enp: str, viewer: Submitter) -> PersonHistory | None:
    """The card and the versions of the person an ЕНП (main or alias) names, as ``viewer`` may see them.

    An СМО sees the history of a person it insures or has insured; anybody else is answered as if no
    such person existed (None), so the answer does not reveal who is in the register. The ТФОМС sees all.
    """
    with uow:
        person_id = uow.persons.find_by_enp(enp)
        if person_id is None:
            return None
        card = uow.persons.load(person_id).card
        if viewer.kind == "smo" and not any(p.smo_code == viewer.code for p in card.insurance):
            return None
        return PersonHistory(card, uow.history.versions(person_id))


def card(uow: UnitOfWork, person_id: int) -> PersonCard | None:
    """The person's card as the register holds it now (None for an unknown id)."""
    with uow:
        found = uow.persons.load_many([person_id])
    return found.get(person_id)
