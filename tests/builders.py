"""Valid domain objects for tests, with just the parts a test cares about overridden."""

from __future__ import annotations

import dataclasses
import types
from datetime import date
from typing import Any

from rserz_soap.domain.flk.reference import add_working_days
from rserz_soap.domain.identifiers import make_enp, make_snils
from rserz_soap.domain.person import Address, Document, PersonData
from rserz_soap.domain.records import InsuranceInput, OperationRecord, PolicyInput, Visit

REGION = "45"
OKATO = "45000"


def person_data(**kw: Any) -> PersonData:
    base = PersonData(
        fam="Смирнова",
        im="Анна",
        ot="Петровна",
        w=2,
        dr=date(1985, 4, 12),
        mr="г. Северск",
        c_oksm="643",
        kateg=1,
        ss=make_snils(123_456_789),
    )
    return dataclasses.replace(base, **kw)


def passport(**kw: Any) -> Document:
    return dataclasses.replace(
        Document(14, "45 05", "123456", date(2005, 5, 20), name_vp="ОВД г. Северска"), **kw
    )


def address_g(**kw: Any) -> Address:
    return dataclasses.replace(
        Address("G", okato="45000000000", settlement="г. Северск", street="ул. Ленина", house="5", flat="12"),
        **kw,
    )


def record(
    op: str = "П010",
    *,
    smo: str = "45001",
    n_rec: int = 1,
    person: PersonData | None = None,
    policy: PolicyInput | types.EllipsisType | None = ...,
    dvizit: date = date(2025, 3, 3),
    enp: str | None = None,
    documents: tuple[Document, ...] | None = None,
    rsmo: int | None = 1,
    **kw: Any,
) -> OperationRecord:
    p = person or person_data()
    # ... = a ВС issued on the visit, valid 30 working days; None = no POLIS (operations issuing no policy)
    vs = PolicyInput(vpolis=2, npolis="450012345", dbeg=dvizit, dend=add_working_days(dvizit, 30))
    pol = vs if policy is ... else policy
    return OperationRecord(
        n_rec=n_rec,
        op=op,
        person=p,
        visit=Visit(dvizit=dvizit, method=1, rsmo=rsmo, rpolis=1),
        insurance=InsuranceInput(ter_st=OKATO, smo_code=smo, enp=enp, policy=pol),
        documents=documents if documents is not None else (passport(),),
        **{"address_g": address_g(), **kw},
    )


def enp_for(p: PersonData, serial: int = 1) -> str:
    return make_enp(REGION, p.dr, p.w, serial)


def register_person(conn: Any, rec: OperationRecord | None = None) -> Any:
    """Put a person in the register the way П010 does (transition + versioned save); returns StoredCard."""
    from rserz_soap.db import persons
    from rserz_soap.domain.operations import OperationContext, apply_operation

    rec = rec or record()
    ctx = OperationContext(
        rec.insurance.smo_code, rec.event_date, lambda dr, w: persons.allocate_enp(conn, REGION, dr, w)
    )
    t = apply_operation(None, rec, ctx)
    meta = persons.VersionMeta(rec.op, "smo", rec.insurance.smo_code, t.valid_from, actor="test")
    saved = persons.save(conn, None, t.after, meta)
    return persons.load(conn, saved.person_id)
