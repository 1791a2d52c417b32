"""What the federal register (ФЕРЗЛ) says about persons, as plain values the register can compare.

The federal card is not the regional one: it has no addresses or attachments, its policies carry the
federal view of insurance, and its status vocabulary is the federal one (:data:`STATUS_TO_FEDERAL`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from rserz_soap.domain.person import Document, InsurancePeriod, Status, StopReason

#: The one mapping of the register's statuses to the federal ones (the emulator's ``cards.py`` uses it
#: too). A suspended person (military service) holds a policy ФЕРЗЛ marks НВС/НПВ — inactive (§4): not
#: insured federally, whatever the register keeps of the ЕНП.
STATUS_TO_FEDERAL = {
    Status.INSURED: "INSURED",
    Status.SUSPENDED: "NOT_INSURED",
    Status.NOT_INSURED: "NOT_INSURED",
    Status.ANNULLED: "NOT_INSURED",
    Status.DEAD: "DEAD",
    Status.MERGED: "MERGED",
}


#: §4 «Статусы объектов»: a policy's status from how its period ended (Д… active, Н… inactive).
POLICY_STATUS_BY_STOP = {
    StopReason.DEATH: "НСН",
    StopReason.YEARLY_CHANGE: "НАП",
    StopReason.MOVED: "НАП",
    StopReason.VS_BY_OTHER_SMO: "НАП",
    StopReason.REISSUED: "НАП",
    StopReason.ANNULLED: "НАП",
    StopReason.DUPLICATE: "НАП",
}
ACTIVE_POLICY = "ДПП"
SUSPENDED_POLICY = "НВС"
EXPIRED_POLICY = "НСД"


def policy_status(period: InsurancePeriod, person_status: Status, latest: bool) -> str:
    """The §4 status of a policy the register holds (the same rule on both sides of reconciliation)."""
    if period.dstop is None:
        if latest and person_status is Status.SUSPENDED:
            return SUSPENDED_POLICY
        return ACTIVE_POLICY
    if latest and person_status is Status.SUSPENDED:
        return SUSPENDED_POLICY
    return POLICY_STATUS_BY_STOP.get(period.stop_reason or 0, EXPIRED_POLICY)


@dataclass(frozen=True)
class FederalPolicy:
    smo: str
    policy_type: str
    dbeg: date
    ser: str | None = None
    num: str | None = None
    dend: date | None = None
    dstop: date | None = None
    stop_reason: str | None = None
    status: str | None = None  # §4 policy status (ДПП, НВС, НСН …)
    enp: str | None = None


@dataclass(frozen=True)
class FederalPerson:
    enp: str
    status: str
    fam: str | None
    im: str | None
    ot: str | None
    w: int
    dr: date
    ss: str | None = None
    ddeath: date | None = None
    mr: str | None = None
    documents: tuple[Document, ...] = ()
    policies: tuple[FederalPolicy, ...] = ()
    oip: str | None = None  # the federal person id (§1 ``Oip``)
    social_status: str | None = None  # §5: 0 working, 1 non-working (getPersonData ``socialStatus``)

    def main_document(self) -> Document | None:
        mains = sorted((d for d in self.documents if d.is_main), key=lambda d: d.docdate or date.min)
        return mains[-1] if mains else None

    def latest_policy(self) -> FederalPolicy | None:
        return max(self.policies, key=lambda p: p.dbeg) if self.policies else None

    def card_value(self, name: str) -> object:
        """The federal value of a card field as the register types it (``manual`` field names)."""
        if name == "document":
            doc = self.main_document()
            if doc is None:
                return None
            return Document(doc.doctype, doc.docser, doc.docnum, docdate=doc.docdate, name_vp=doc.name_vp)
        return {"fam": self.fam, "im": self.im, "ot": self.ot, "w": self.w, "dr": self.dr, "ss": self.ss}[
            name
        ]


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    persons: tuple[FederalPerson, ...]
    not_found: tuple[str, ...]
    last_enp: str | None
    end_of_region: bool


# -- the document's messages as values (ФОМС's description v5.07) ---------------------------------------


@dataclass(frozen=True)
class PolicyApplication:
    """A territorial fund's application (§3.3.1 ``rq/pa``), built from an СМО's operation."""

    terr: str  # ОКАТО of insurance (5 digits)
    smo: str  # F002 code of the chosen СМО
    reg_date: date
    app_method: int
    app_object: int
    app_cause: int | None
    kl: int  # V013 category
    person: PersonFacts
    documents: tuple[Document, ...]
    enp: str | None = None  # required except for a first choice
    snils: str | None = None
    policy_end: date | None = None
    homeless: bool = False


@dataclass(frozen=True)
class PersonFacts:
    fam: str
    im: str
    ot: str | None
    w: int
    dr: date
    mr: str | None = None
    c_oksm: str | None = None  # alpha-3 (RUS) as the application writes it


@dataclass(frozen=True)
class FormedPolicy:
    """``createdPcy``: what ФЕРЗЛ formed — the ЕНП (new or kept) and the policy."""

    enp: str
    pcy_type: str  # ФЕРЗЛ letter
    dbeg: date
    dend: date | None
    status: str  # ДНП right after forming
    okato: str
    smo: str  # insurfCode
    ser: str | None = None
    num: str | None = None


@dataclass(frozen=True)
class FederalAnswer:
    """A write's answer: accepted (maybe with a formed policy) or refused with ``errors/errorItem``."""

    accepted: bool
    formed: FormedPolicy | None = None
    errors: tuple[tuple[str, str], ...] = ()  # (code, message)
    oip: str | None = None

    @property
    def code(self) -> str | None:
        return self.errors[0][0] if self.errors else None

    @property
    def text(self) -> str:
        return "; ".join(f"{c} {t}" for c, t in self.errors)


@dataclass(frozen=True)
class ChangeEvent:
    """``enpChangedEvent`` (§3.2.11–12, §5): who changed and how, not what."""

    oip: str
    event: str
    dt: str  # the event's dateTime as sent (part of its identity)
    enp: str | None = None

    @property
    def key(self) -> str:
        return f"{self.oip}|{self.event}|{self.dt}"


@dataclass(frozen=True)
class MilitaryService:
    """One person of a военкомат list for ``suspendOmsPolicy`` (§3.5)."""

    index: str  # localPersonIndex
    fam: str
    im: str
    ot: str | None
    dr: date
    document: Document
    start: date
    end: date
    months: int
    snils: str | None = None
    oip: str | None = None


class VitrinaRow(NamedTuple):
    """One row of ФЕРЗЛ's insurance витрина (§3.2.6) as the register keeps it (names are not in it)."""

    enp: str
    oip: str | None
    sex: int | None
    birth_year: int | None
    policy_type: str | None  # ФЕРЗЛ letter
    policy: str | None  # «Полис»: series+number, ВС number, УЭК number or the ЕНП by type
    smo: str | None
    doc_type: int | None
    doc_ser: str | None
    doc_num: str | None
    doc_date: date | None
    snils: str | None
    cancel_date: date | None  # «Дата гашения»
    status: int | None  # «Статус»: 0 deregistered (death), 1 valid, 2 merged, 3 other


@dataclass(frozen=True)
class NilRecord:
    """A person not identified and not insured, as an МО registered them (§3.7.1 findNils)."""

    oip: str
    nlr: str
    fio: str
    birth_day: date
    gender: int
    date_khodat: date
    mo_code: str
    mo_okato: str
    decision: str | None = None


@dataclass(frozen=True)
class NewbornRecord:
    """A newborn without state birth registration (§3.9.1 findNRs) and their unconfirmed representative."""

    oip: str
    surname: str
    gender: int
    birthday: date | None
    legal_oip: str | None
    legal_enp: str | None


@dataclass(frozen=True)
class Representation:
    """One legal representation (§3.8.1): ``oip`` is the other person, ``rep_type`` 1 parent … 5 curator."""

    oip: str
    rep_type: str
    date_b: date
    date_e: date | None
    status: str
    represents: bool  # True: this person represents ``oip``; False: ``oip`` represents this person
