"""The insured person as the register sees it: a card of facts, each a value with its own dates.

Everything here is an immutable value. A change never edits a card: an operation produces a new card and
the persistence layer stores the difference as a new version (rows that left the card are superseded,
rows that entered it are inserted). Because every fact is a hashable value, "the difference" is plain set
arithmetic, the same for every aspect.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Sex:
    """V005."""

    MALE = 1
    FEMALE = 2


class Status(StrEnum):
    INSURED = "insured"
    NOT_INSURED = "not_insured"
    SUSPENDED = "suspended"  # military service: insurance suspended, ЕНП kept (326-ФЗ art. 10)
    DEAD = "dead"
    ANNULLED = "annulled"
    MERGED = "merged"  # a duplicate merged into another person; its ЕНП resolve to the survivor


class StopReason:
    """Why insurance in an СМО stopped (the reason sent to that СМО in its STOPLIST)."""

    DEATH = 1
    YEARLY_CHANGE = 2
    MOVED = 3
    VS_BY_OTHER_SMO = 4  # another СМО issued its ВС / new policy (a change of СМО П034–П036)
    DUPLICATE = 5
    OTHER = 6
    ANNULLED = 7
    REISSUED = 8


class PolicyType:
    """F008. Codes 1–3 are certain from every source; what 4 and 5 name is read from the loaded F008
    (docs/domain-sources.md): the register only needs to know that both are single-format policies
    numbered by the ЕНП."""

    OLD_STYLE = 1
    VS = 2  # временное свидетельство
    SINGLE_PAPER = 3
    SINGLE_ELECTRONIC = 4
    SINGLE_DIGITAL = 5


@dataclass(frozen=True)
class PersonData:
    """Name, sex, birth, citizenship, category, СНИЛС, contacts: the scalar part of the card."""

    fam: str
    im: str
    ot: str | None
    w: int
    dr: date
    dost: str | None = None
    mr: str | None = None
    birth_oksm: str | None = None
    c_oksm: str | None = "643"
    kateg: int = 1
    ss: str | None = None
    phone: str | None = None
    email: str | None = None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.fam, self.im, self.ot) if p)


@dataclass(frozen=True)
class Document:
    doctype: int
    docser: str | None
    docnum: str
    docdate: date | None = None
    docexp: date | None = None
    name_vp: str | None = None
    is_main: bool = True

    @property
    def key(self) -> tuple[int, str, str]:
        """What makes two documents the same document (uniqueness, duplicate search)."""
        return (self.doctype, (self.docser or "").replace(" ", "").upper(), self.docnum.replace(" ", ""))


@dataclass(frozen=True)
class Address:
    """ADDRES_G (registration) or ADDRES_P (actual); the wire names are in the comments."""

    kind: str  # G registration, P actual
    okato: str | None = None  # OKATO
    region: str | None = None  # SUBJ
    district: str | None = None  # RNNAME
    settlement: str | None = None  # NPNAME
    street: str | None = None  # UL
    house: str | None = None  # DOM
    flat: str | None = None  # KV
    fias_guid: str | None = None  # FIAS_GUID: the address object in ФИАС/ГАР
    postcode: str | None = None  # INDX
    building: str | None = None  # KORP: корпус
    registered_on: date | None = None  # DREG: date of the registration at this address
    homeless: bool = False  # BOMG: no fixed abode
    fias_aoid: str | None = None  # FIAS_AOID: ФИАС address object id (СМО software sends it)
    fias_houseid: str | None = None  # FIAS_HOUSEID: ФИАС house id


@dataclass(frozen=True)
class InsurancePeriod:
    smo_code: str
    ter_st: str
    enp: str
    vpolis: int
    npolis: str
    dbeg: date
    spolis: str | None = None
    ogrnsmo: str | None = None
    dend: date | None = None
    dstop: date | None = None
    stop_reason: int | None = None
    rsmo: int | None = None
    rpolis: int | None = None
    method: int | None = None

    def active_on(self, day: date) -> bool:
        """Insured by this period on ``day``: started, not stopped on or before it, not past its end."""
        if self.dbeg > day:
            return False
        if self.dstop is not None and self.dstop <= day:
            return False
        return not (self.dend is not None and self.dend < day)

    @property
    def is_open(self) -> bool:
        return self.dstop is None

    def stopped(self, on: date, reason: int) -> InsurancePeriod:
        return dataclasses.replace(self, dstop=on, stop_reason=reason)


@dataclass(frozen=True)
class Attachment:
    mo_code: str
    area_type: int
    date_in: date
    method: int
    section: str | None = None
    doctor_snils: str | None = None
    date_out: date | None = None

    def active_on(self, day: date) -> bool:
        return self.date_in <= day and (self.date_out is None or self.date_out > day)


@dataclass(frozen=True)
class PersonCard:
    """Everything the register holds about one person now (the current rows of every aspect)."""

    data: PersonData
    status: Status = Status.NOT_INSURED
    ddeath: date | None = None
    documents: frozenset[Document] = field(default_factory=frozenset)
    addresses: frozenset[Address] = field(default_factory=frozenset)
    insurance: frozenset[InsurancePeriod] = field(default_factory=frozenset)
    attachments: frozenset[Attachment] = field(default_factory=frozenset)
    person_id: int | None = None
    enp: str | None = None
    aliases: frozenset[str] = field(default_factory=frozenset)
    version_no: int = 0

    def open_period(self) -> InsurancePeriod | None:
        """The period not yet stopped (at most one: a second is a defect the checks refuse)."""
        open_ = sorted((p for p in self.insurance if p.is_open), key=lambda p: p.dbeg)
        return open_[-1] if open_ else None

    def period_on(self, day: date) -> InsurancePeriod | None:
        active = sorted((p for p in self.insurance if p.active_on(day)), key=lambda p: p.dbeg)
        return active[-1] if active else None

    def insured_on(self, day: date) -> bool:
        if self.ddeath is not None and self.ddeath <= day:
            return False
        return self.status != Status.SUSPENDED and self.period_on(day) is not None

    def main_document(self) -> Document | None:
        mains = sorted((d for d in self.documents if d.is_main), key=lambda d: d.docdate or date.min)
        return mains[-1] if mains else None

    def active_attachments(self, day: date) -> list[Attachment]:
        return sorted((a for a in self.attachments if a.active_on(day)), key=lambda a: a.area_type)

    def replace(self, **changes: object) -> PersonCard:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def with_periods(self, periods: Iterable[InsurancePeriod]) -> PersonCard:
        return dataclasses.replace(self, insurance=frozenset(periods))
