"""Records and cards that pass every ФЛК rule, and small helpers to break exactly one thing.

Every failing case in the rule tests starts from one of these and changes one field, so "the good record
passes" and "this change fails code X" together show that code X is what the change trips.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

from rserz_soap.domain.flk.reference import add_working_days
from rserz_soap.domain.identifiers import make_enp, make_snils
from rserz_soap.domain.person import (
    Document,
    InsurancePeriod,
    PersonCard,
    PersonData,
    PolicyType,
    Status,
)
from rserz_soap.domain.records import InsuranceInput, OperationRecord, PolicyInput, Visit

TODAY = date(2025, 3, 3)  # a Monday
REGION_OKATO = "45000"
SMO = "45001"  # the submitting СМО of every record
SMO_OGRN = "1020000010007"
OTHER_SMO = "45002"
ENDED_SMO = "45004"  # F002: contract ended 31.12.2024
DR = date(1985, 7, 10)
ENP = make_enp("45", DR, 1, 12)
SNILS = make_snils(112_233_445)
PERSON_ID = 1
OTHER_ID = 2
VS_NUMBER = "450000123"


def person(**changes: Any) -> PersonData:
    base = PersonData(
        fam="Иванов",
        im="Пётр",
        ot="Сергеевич",
        w=1,
        dr=DR,
        mr="г. Звездоград",
        birth_oksm="643",
        c_oksm="643",
        kateg=1,
        ss=SNILS,
    )
    return dataclasses.replace(base, **changes)


def passport(**changes: Any) -> Document:
    base = Document(doctype=14, docser="45 08", docnum="123456", docdate=date(2012, 6, 20), name_vp="ОВД")
    return dataclasses.replace(base, **changes)


def vs_policy(**changes: Any) -> PolicyInput:
    base = PolicyInput(vpolis=PolicyType.VS, npolis=VS_NUMBER, dbeg=TODAY, dend=add_working_days(TODAY, 30))
    return dataclasses.replace(base, **changes)


def single_policy(**changes: Any) -> PolicyInput:
    base = PolicyInput(vpolis=PolicyType.SINGLE_ELECTRONIC, npolis=ENP, dbeg=TODAY)
    return dataclasses.replace(base, **changes)


def valid_record(op: str = "П010", **changes: Any) -> OperationRecord:
    """A П010 (first choice, ВС issued) for a person not in the register, from СМО 45001."""
    base = OperationRecord(
        n_rec=1,
        op=op,
        person=person(),
        visit=Visit(dvizit=TODAY, method=1, rsmo=1, rpolis=1),
        insurance=InsuranceInput(
            ter_st=REGION_OKATO, smo_code=SMO, enp=ENP, ogrnsmo=SMO_OGRN, policy=vs_policy()
        ),
        documents=(passport(),),
    )
    return dataclasses.replace(base, **changes)


def with_person(record: OperationRecord, **changes: Any) -> OperationRecord:
    return dataclasses.replace(record, person=dataclasses.replace(record.person, **changes))


def with_visit(record: OperationRecord, **changes: Any) -> OperationRecord:
    assert record.visit is not None
    return dataclasses.replace(record, visit=dataclasses.replace(record.visit, **changes))


def with_insurance(record: OperationRecord, **changes: Any) -> OperationRecord:
    return dataclasses.replace(record, insurance=dataclasses.replace(record.insurance, **changes))


def with_policy(record: OperationRecord, **changes: Any) -> OperationRecord:
    assert record.insurance.policy is not None
    return with_insurance(record, policy=dataclasses.replace(record.insurance.policy, **changes))


def with_document(record: OperationRecord, **changes: Any) -> OperationRecord:
    return dataclasses.replace(record, documents=(dataclasses.replace(record.documents[0], **changes),))


def period(smo: str = SMO, **changes: Any) -> InsurancePeriod:
    base = InsurancePeriod(
        smo_code=smo,
        ter_st=REGION_OKATO,
        enp=ENP,
        vpolis=PolicyType.SINGLE_ELECTRONIC,
        npolis=ENP,
        dbeg=date(2020, 1, 15),
        rsmo=1,
        rpolis=1,
        method=1,
    )
    return dataclasses.replace(base, **changes)


def insured_card(smo: str = SMO, **changes: Any) -> PersonCard:
    """The registered person of :func:`valid_record`, insured by ``smo`` with a single-format policy."""
    base = PersonCard(
        data=person(),
        status=Status.INSURED,
        documents=frozenset({passport()}),
        insurance=frozenset({period(smo)}),
        person_id=PERSON_ID,
        enp=ENP,
    )
    return dataclasses.replace(base, **changes)


def known_person_record(op: str, **changes: Any) -> OperationRecord:
    """A record about the registered person (no new policy; the application date is the event date)."""
    record = valid_record(op, **changes)
    return with_visit(with_insurance(record, policy=None), rsmo=None, rpolis=None)


def good_cases() -> dict[str, tuple[OperationRecord, PersonCard | None]]:
    """For every operation, a record and the card it resolves to that together pass every rule."""
    new_policy = {"policy": single_policy()}
    return {
        "П010": (valid_record(), None),
        "П010 after de-registration": (
            valid_record(),
            insured_card(
                status=Status.NOT_INSURED,
                insurance=frozenset({period(dstop=date(2024, 5, 1), stop_reason=6)}),
            ),
        ),
        "П021": (known_person_record("П021"), insured_card()),
        "П022": (known_person_record("П022", ddeath=TODAY - timedelta(days=2)), insured_card()),
        "П023": (known_person_record("П023"), insured_card()),
        "П024": (known_person_record("П024"), insured_card()),
        "П025": (known_person_record("П025"), insured_card()),
        "П031": (with_visit(known_person_record("П031"), rsmo=2), insured_card(OTHER_SMO)),
        "П032": (with_visit(known_person_record("П032"), rsmo=3), insured_card(OTHER_SMO)),
        "П033": (with_visit(known_person_record("П033"), rsmo=4), insured_card(ENDED_SMO)),
        "П034": (with_visit(valid_record("П034"), rsmo=2, rpolis=1), insured_card(OTHER_SMO)),
        "П035": (with_visit(valid_record("П035"), rsmo=3, rpolis=1), insured_card(OTHER_SMO)),
        "П036": (with_visit(valid_record("П036"), rsmo=4, rpolis=1), insured_card(ENDED_SMO)),
        "П040": (
            dataclasses.replace(known_person_record("П040"), documents=(passport(docnum="654321"),)),
            insured_card(),
        ),
        "П060": (
            with_visit(with_insurance(known_person_record("П060"), **new_policy), rpolis=1),
            insured_card(
                insurance=frozenset(
                    {
                        period(
                            vpolis=PolicyType.VS,
                            npolis=VS_NUMBER,
                            dbeg=TODAY,
                            dend=add_working_days(TODAY, 30),
                        )
                    }
                )
            ),
        ),
        "П061": (
            with_visit(
                with_person(with_insurance(known_person_record("П061"), **new_policy), fam="Петров"), rpolis=2
            ),
            insured_card(),
        ),
        "П062": (
            with_visit(with_insurance(known_person_record("П062"), **new_policy), rpolis=5),
            insured_card(),
        ),
        "П063": (
            with_visit(with_insurance(known_person_record("П063"), **new_policy), rpolis=6),
            insured_card(),
        ),
    }
