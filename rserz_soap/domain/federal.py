"""What the federal register (ФЕРЗЛ) says about persons, as plain values the register can compare.

The federal card is not the regional one: it has no addresses or attachments, its policies carry the
federal view of insurance, and its status vocabulary is the federal one (:data:`STATUS_TO_FEDERAL`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rserz_soap.domain.person import Document, Status

#: the federal status values and the register's (a suspended person stays insured federally)
STATUS_TO_FEDERAL = {
    Status.INSURED: "INSURED",
    Status.SUSPENDED: "INSURED",
    Status.NOT_INSURED: "NOT_INSURED",
    Status.ANNULLED: "NOT_INSURED",
    Status.DEAD: "DEAD",
    Status.MERGED: "MERGED",
}


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
class InsuranceStatus:
    """getInsuranceStatus: whether a key finds a person, and whether they are insured on the date."""

    found: bool
    insured: bool
    enp: str | None = None
    status: str | None = None
    policy: FederalPolicy | None = None


@dataclass(frozen=True)
class FederalChange:
    change_id: int
    change_date: date
    reason: str
    person: FederalPerson


@dataclass(frozen=True)
class AcceptAnswer:
    """The federal register's answer to a pushed regional change."""

    accepted: bool
    enp: str | None
    errors: tuple[tuple[str, str], ...] = ()  # (code, text)

    @property
    def code(self) -> str | None:
        return self.errors[0][0] if self.errors else None

    @property
    def text(self) -> str:
        return "; ".join(f"{c} {t}" for c, t in self.errors)


@dataclass(frozen=True)
class BatchStatus:
    batch_id: str
    state: str  # QUEUED RUNNING DONE FAILED
    count: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    persons: tuple[FederalPerson, ...]
    not_found: tuple[str, ...]
    last_enp: str | None
    end_of_region: bool
