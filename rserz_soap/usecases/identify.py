"""Identification and remote search: who is this person, are they insured, what does the register hold.

The read side МО, СМО and ИСЗЛ call most (domain.md §8). A key finds person ids through the indexed
queries of ``db/search.py``; cards are then read in one query, as of ``DATEON`` when asked ("state on
that date" with everything known now). ЕНП aliases of merged duplicates resolve to the survivor.

Identification without a policy is first-class: since the policy became a record in the register, a
clinic may be shown an identity document, or be told a СНИЛС and a birth date, instead. Those keys find
the person by their current values first and, when nobody holds them now, by historical ones — a passport
replaced last year, a corrected СНИЛС — with or without ``DATEON`` (ФЕРЗЛ's getPersonData accepts
historical identifiers the same way, §3.1.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from rserz_soap.db.search import name_key
from rserz_soap.db.uow import UnitOfWork
from rserz_soap.domain.person import InsurancePeriod, PersonCard

MAX_LIMIT = 100
#: identification by name tolerates typos only this close (trigram similarity, same birth date): a wrong
#: letter or two in a full name, not a different person born the same day
FUZZY_IDENTIFY_THRESHOLD = 0.6
DEFAULT_LIMIT = 20


class BadKey(ValueError):
    """The request names no key group, or more than one."""


class SearchTooBroad(ValueError):
    """A remote search must name a surname and a birth date range of at most a year (152-ФЗ: no
    fishing through the register by a common surname)."""


#: the widest birth date range a search may cover, and the shortest surname it may start from
MAX_SEARCH_DAYS = 366
MIN_SEARCH_SURNAME = 2


@dataclass(frozen=True)
class Key:
    """Exactly one group must be given (domain.md §8)."""

    enp: str | None = None
    npolis: str | None = None
    spolis: str | None = None
    doctype: int | None = None
    docser: str | None = None
    docnum: str | None = None
    ss: str | None = None
    fam: str | None = None
    im: str | None = None
    ot: str | None = None
    dr: date | None = None

    def group(self) -> str:
        groups = {
            "ENP": self.enp is not None,
            "POLIS": self.npolis is not None,
            "DOC": self.docnum is not None or self.doctype is not None,
            "SS": self.ss is not None,
            "FIO": self.fam is not None or self.im is not None,
        }
        given = [g for g, present in groups.items() if present]
        if len(given) != 1:
            raise BadKey(
                f"give exactly one key group of ENP | POLIS | DOC | SS+DR | FAM,IM,OT+DR; got {given}"
            )
        (g,) = given
        if g == "DOC" and (self.doctype is None or self.docnum is None):
            raise BadKey("a document key needs DOCTYPE and DOCNUM")
        if g == "SS" and self.dr is None:
            raise BadKey("a СНИЛС key needs DR")
        if g == "FIO" and (self.fam is None or self.im is None or self.dr is None):
            raise BadKey("a name key needs FAM, IM and DR")
        return g


@dataclass(frozen=True)
class Found:
    cards: list[PersonCard]
    excess: bool  # more persons matched than the cap allowed to return


def identify(uow: UnitOfWork, key: Key, *, on: date | None = None, limit: int = DEFAULT_LIMIT) -> Found:
    """Persons matching ``key``; with ``on`` each card is the state on that date (periods included)."""
    limit = max(1, min(limit, MAX_LIMIT))
    group = key.group()
    with uow:
        ids = _ids(uow, key, group, history=on is not None)
        return Found(_cards(uow, ids[:limit], on), excess=len(ids) > limit)


def _ids(uow: UnitOfWork, key: Key, group: str, *, history: bool) -> list[int]:
    search = uow.search
    if group == "ENP":
        ids = search.by_enp(key.enp or "")
    elif group == "POLIS":
        ids = search.by_policy(key.npolis or "", key.spolis)
    elif group == "DOC":
        ids = search.by_document(key.doctype or 0, key.docser, key.docnum or "", include_history=history)
        if not ids and not history:  # a document the person held before still identifies them
            ids = search.by_document(key.doctype or 0, key.docser, key.docnum or "", include_history=True)
    elif group == "SS":
        ids = search.by_snils(key.ss or "", key.dr, include_history=history)
        if not ids and not history:  # so does a СНИЛС recorded before a correction
            ids = search.by_snils(key.ss or "", key.dr, include_history=True)
    else:
        ids = search.by_name(key.fam or "", key.im or "", key.ot, key.dr or date.min, include_history=history)
        if not ids:  # a typo in the name: persons born that day whose name is close enough
            close = search.fuzzy_by_name(
                key.fam or "",
                key.im,
                key.ot,
                dr=key.dr,
                threshold=FUZZY_IDENTIFY_THRESHOLD,
                limit=MAX_LIMIT + 1,
                include_history=history,
            )
            ids = [m.person_id for m in close]
    return ids


def insured_persons(uow: UnitOfWork, keys: Sequence[Key], count: int) -> list[PersonCard]:
    """The persons ``keys`` identify (each exactly), then ``count`` more insured persons: whom a new client
    can ask about (``rserz demo persons``)."""
    with uow:
        ids: list[int] = []
        for key in keys:
            found = _ids(uow, key, key.group(), history=False)
            if len(found) == 1 and found[0] not in ids:
                ids.append(found[0])
        ids += [i for i in uow.search.insured(count + len(ids)) if i not in ids][:count]
        return _cards(uow, ids, None)


def person_data(uow: UnitOfWork, enp: str, *, on: date | None = None) -> PersonCard | None:
    with uow:
        if on is None:  # the hot path of МО software: one query
            return uow.persons.card_by_enp(enp)
        cards = _cards(uow, uow.search.by_enp(enp), on)
        return cards[0] if cards else None


@dataclass(frozen=True)
class InsuranceStatus:
    person: PersonCard | None
    insured: bool
    period: InsurancePeriod | None


def insurance_status(uow: UnitOfWork, key: Key, on: date) -> InsuranceStatus:
    found = identify(uow, key, on=on, limit=2)
    if len(found.cards) != 1:
        return InsuranceStatus(None, False, None)
    card = found.cards[0]
    return InsuranceStatus(card, card.insured_on(on), card.period_on(on))


@dataclass(frozen=True)
class Page:
    cards: list[PersonCard]
    total: int
    scores: list[float]


def search_persons(
    uow: UnitOfWork,
    fam: str,
    im: str | None,
    ot: str | None,
    *,
    dr_from: date | None = None,
    dr_to: date | None = None,
    page: int = 1,
    page_size: int = 20,
    match: str = "FUZZY",
    w: int | None = None,
    max_page_size: int = MAX_LIMIT,
    narrow: bool = True,
) -> Page:
    """Remote search with partial and misspelt names; best matches first, paged.

    ``match``: FUZZY (parts as words of the name, typos tolerated), PREFIX (the name begins with the given
    parts), EXACT (the given parts exactly, patronymic included when given). ``narrow`` (participants over
    SOAP) demands a surname and a birth-date range of at most a year, so that nobody can walk the register;
    the ТФОМС's own staff in the console (every search in their security log) search without it."""
    surname = (fam or "").strip()
    if len(surname) < MIN_SEARCH_SURNAME or (
        narrow and (dr_from is None or dr_to is None or not 0 <= (dr_to - dr_from).days <= MAX_SEARCH_DAYS)
    ):
        raise SearchTooBroad(
            f"FAM of at least {MIN_SEARCH_SURNAME} letters, DR_FROM and DR_TO at most {MAX_SEARCH_DAYS} days apart"
        )
    page_size = max(1, min(page_size, max_page_size))
    page = max(1, page)
    with uow:  # a transaction: the trigram threshold is set for it
        return _search(uow, fam, im, ot, dr_from, dr_to, page, page_size, match, w)


def _search(
    uow: UnitOfWork,
    fam: str,
    im: str | None,
    ot: str | None,
    dr_from: date | None,
    dr_to: date | None,
    page: int,
    page_size: int,
    match: str,
    w: int | None,
) -> Page:
    exact_day = dr_from if dr_from is not None and dr_from == dr_to else None
    matches = uow.search.fuzzy_by_name(
        fam,
        im,
        ot,
        dr=exact_day,
        dr_from=None if exact_day else dr_from,
        dr_to=None if exact_day else dr_to,
        threshold=0.5,
        limit=MAX_LIMIT * 10,
        partial=match == "FUZZY",
        prefix=match in ("PREFIX", "EXACT"),
        w=w,
    )
    if match == "EXACT":
        wanted = name_key(fam, im or "", ot) if ot else None
        matches = [m for m in matches if wanted is None or m.person_id in _exact(uow, m.person_id, wanted)]
    window = matches[(page - 1) * page_size : page * page_size]
    cards = _cards(uow, [m.person_id for m in window], None)
    return Page(cards, len(matches), [m.similarity for m in window])


def _exact(uow: UnitOfWork, person_id: int, key: str) -> set[int]:
    card = uow.persons.load_many([person_id]).get(person_id)
    same = card is not None and name_key(card.data.fam, card.data.im, card.data.ot) == key
    return {person_id} if same else set()


def _cards(uow: UnitOfWork, ids: list[int], on: date | None) -> list[PersonCard]:
    if on is None:
        loaded = uow.persons.load_many(ids)
        return [loaded[i] for i in ids if i in loaded]
    out = []
    for i in ids:
        card = uow.persons.as_of(i, on)
        if card is not None:
            out.append(card)
    return out
