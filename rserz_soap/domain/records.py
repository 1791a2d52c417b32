"""An incoming operation record (the OPLIST ``OP`` of the FFOMS formats), as the domain sees it.

Every channel — SOAP ``submitOperations``, a legacy OPLIST file, the console — builds these, so checks and
transitions are written once. Field names are the domain's; the FFOMS element names live at the XML edge
and are given here in comments only to help a reader map them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from rserz_soap.domain.person import Address, Document, PersonData


class Op(StrEnum):
    """R001 operation codes."""

    P010 = "П010"  # first choice of СМО, ВС issued
    P021 = "П021"  # de-registration: registered in another СМО
    P022 = "П022"  # de-registration: death
    P023 = "П023"  # de-registration: duplicate records resolved
    P024 = "П024"  # de-registration: error in the ЕНП corrected
    P025 = "П025"  # de-registration: policy suspended (military service)
    P031 = "П031"  # change of СМО by wish, no new policy
    P032 = "П032"  # change of СМО on moving, no new policy
    P033 = "П033"  # change of СМО, contract of the СМО ended, no new policy
    P034 = "П034"  # change of СМО by wish, new policy
    P035 = "П035"  # change of СМО on moving, new policy
    P036 = "П036"  # change of СМО, contract ended, new policy
    P040 = "П040"  # change of data that needs no new policy
    P060 = "П060"  # single-format policy handed out after the ВС
    P061 = "П061"  # change of data that needs a new policy
    P062 = "П062"  # duplicate of a policy
    P063 = "П063"  # new policy because the old one expired


#: Operations that issue a policy (ВС or single-format): the record must carry INSURANCE/POLIS, and the
#: operation takes effect on the new policy's start.
ISSUES_POLICY = frozenset({Op.P010, Op.P034, Op.P035, Op.P036, Op.P060, Op.P061, Op.P062, Op.P063})

#: Changes of СМО by the person's wish (not a move, not an ended contract): once a year, by 1 November.
BY_WISH = frozenset({Op.P031, Op.P034})

#: Operations СМО software may send without VIZIT: de-registrations and changes of data are not the person's
#: application (I_Policies builds their VIZIT from the event, not from a visit; the hub accepts it absent).
VISIT_OPTIONAL = frozenset({Op.P021, Op.P022, Op.P023, Op.P024, Op.P025, Op.P040})


@dataclass(frozen=True)
class Visit:
    """VIZIT: the person's application."""

    dvizit: date  # DVIZIT
    method: int = 1  # METHOD: 1 in person, 2 representative, 3 ТФОМС site, 4 ЕПГУ
    petition: int | None = None  # PETITION
    rsmo: int | None = None  # RSMO: reason of choice/change of СМО
    rpolis: int | None = None  # RPOLIS: reason of issue of a policy
    fpolis: int | None = None  # FPOLIS: form of the policy


@dataclass(frozen=True)
class PolicyInput:
    """INSURANCE/POLIS as submitted."""

    vpolis: int
    npolis: str
    dbeg: date
    spolis: str | None = None
    dend: date | None = None
    dstop: date | None = None


@dataclass(frozen=True)
class InsuranceInput:
    """INSURANCE: who insures and with what policy."""

    ter_st: str
    smo_code: str
    enp: str | None = None
    ogrnsmo: str | None = None
    policy: PolicyInput | None = None
    erp: str | None = None  # ERP: the federal register's answer, when the СМО knows it


@dataclass(frozen=True)
class FormatError:
    """A field of one record that fails its type or pattern (F012: 901 order/missing, 902 empty, 903 type,
    904 value not allowed): the record's error, not the batch's."""

    code: str
    field: str | None
    parent: str | None
    detail: str


@dataclass(frozen=True)
class OperationRecord:
    n_rec: int  # N_REC: the record's number in its batch
    op: str  # TIP_OP as received (validated against R001 by the checks, so not yet an Op)
    person: PersonData  # PERSON
    visit: Visit | None  # VIZIT; absent only for VISIT_OPTIONAL operations (ФЛК 422)
    insurance: InsuranceInput  # INSURANCE
    documents: tuple[Document, ...] = ()  # DOC+
    address_g: Address | None = None  # ADDRES_G
    address_p: Address | None = None  # ADDRES_P
    old_person: PersonData | None = None  # OLD_PERSON: the data being changed (П061)
    old_document: Document | None = None  # OLD_DOC
    ddeath: date | None = None  # PERSON/DDEATH (П022)
    record_id: str | None = None  # ID: the СМО's own id of the record, echoed in protocols
    received_on: date | None = None  # the day the hub received the record (event date of a VIZIT-less one)
    extra: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    #: what the record's own format check found (F012 901–904, the element and its parent named): such a
    #: record is rejected as received, its neighbours in the batch go on
    format_errors: tuple[FormatError, ...] = ()

    @property
    def event_date(self) -> date:
        """The date the operation takes effect: the new policy's start for operations that issue one, else
        the application date (a record may echo the person's existing policy, whose start is years back).

        A record without VIZIT (a de-registration or a change of data) takes the death date of a П022, the
        stop date of its policy, or else the day it was received.
        """
        policy = self.insurance.policy
        if policy is not None and self.op in ISSUES_POLICY:
            return policy.dbeg
        if self.visit is not None:
            return self.visit.dvizit
        if self.op == Op.P022 and self.ddeath is not None:
            return self.ddeath
        if policy is not None and policy.dstop is not None:
            return policy.dstop
        return self.received_on or date.min

    @property
    def operation(self) -> Op | None:
        try:
            return Op(self.op)
        except ValueError:
            return None
