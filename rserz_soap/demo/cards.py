"""Synthetic persons as domain cards and as operation records (benchmarks, emulators, demo submissions)."""

from __future__ import annotations

from rserz_soap.demo.region import SyntheticPerson
from rserz_soap.domain.person import (
    Address,
    Attachment,
    Document,
    InsurancePeriod,
    PersonCard,
    PersonData,
    Status,
)


def to_card(p: SyntheticPerson) -> PersonCard:
    data = PersonData(
        fam=p.fam,
        im=p.im,
        ot=p.ot,
        w=p.sex,
        dr=p.birth_date,
        mr=p.birth_place,
        birth_oksm=p.birth_oksm,
        c_oksm=p.c_oksm,
        kateg=p.kateg,
        ss=p.snils,
        phone=p.phone,
        email=p.email,
    )
    return PersonCard(
        data=data,
        status=Status(p.status),
        ddeath=p.death_date,
        enp=p.enp,
        documents=frozenset(
            Document(d.doctype, d.docser, d.docnum, d.docdate, d.docexp, d.name_vp, d.is_main)
            for d in p.documents
        ),
        addresses=frozenset(
            Address(
                a.kind, a.okato, a.region, a.district, a.settlement, a.street, a.house, a.flat, a.fias_guid
            )
            for a in p.addresses
        ),
        insurance=frozenset(
            InsurancePeriod(
                smo_code=i.smo_code,
                ter_st=i.ter_st,
                enp=i.enp,
                vpolis=i.vpolis,
                npolis=i.npolis,
                dbeg=i.dbeg,
                spolis=i.spolis,
                ogrnsmo=i.ogrnsmo,
                dend=i.dend,
                dstop=i.dstop,
                stop_reason=i.stop_reason,
                rsmo=i.rsmo,
                rpolis=i.rpolis,
                method=i.method,
            )
            for i in p.periods
        ),
        attachments=frozenset(
            Attachment(a.mo_code, a.area_type, a.date_in, a.method, a.section, a.doctor_snils, a.date_out)
            for a in p.attachments
        ),
    )
