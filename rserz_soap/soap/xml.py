"""Domain values as the contract's XML (xsd/common.xsd types), in schema order; and back for requests.

One place for the mapping, so every service writes a person, a document or a policy the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.domain.categories import is_working
from rserz_soap.domain.identifiers import snils_from_wire
from rserz_soap.domain.person import Address, Attachment, Document, InsurancePeriod, PersonCard, PersonData

COMMON_NS = "urn:ru:rserz:soap:common:v1"
NS = {
    "cmn": COMMON_NS,
    "idn": "urn:ru:rserz:soap:identification:v1",
    "reg": "urn:ru:rserz:soap:register:v1",
    "chg": "urn:ru:rserz:soap:changes:v1",
    "att": "urn:ru:rserz:soap:attachment:v1",
}


class Builder:
    """Child elements in one namespace, skipping absent values (minOccurs=0)."""

    def __init__(self, parent: Any, ns: str) -> None:
        self.parent = parent
        self.ns = ns
        self._prefix = f"{{{ns}}}"  # an answer adds ≈ 35 elements: the Clark prefix is built once

    def add(self, name: str, value: object = None) -> Any:
        el = etree.SubElement(self.parent, self._prefix + name)
        if value is not None:
            el.text = value if type(value) is str else _text(value)
        return el

    def opt(self, name: str, value: object) -> Any | None:
        return None if value is None or value == "" else self.add(name, value)


def element(ns: str, name: str) -> Any:
    return etree.Element(
        f"{{{ns}}}{name}", nsmap={None: ns, "cmn": COMMON_NS} if ns != COMMON_NS else {None: ns}
    )


def _text(value: object) -> str:
    if type(value) is str:  # most values: no isinstance chain
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def result(b: Builder, code: int, text: str) -> None:
    """cmn:ResultType's ERR_CODE (0 done, 1 nothing found, otherwise a refusal code) and ERR_TEXT.

    An extension of a cmn type declared in another schema: its elements are in the *extending* element's
    namespace for the derived part, but the base part (ERR_CODE, ERR_TEXT) stays in cmn."""
    c = Builder(b.parent, COMMON_NS)
    c.add("ERR_CODE", code)
    c.add("ERR_TEXT", text)


# Each writer takes the namespace of the *wrapping* element: with elementFormDefault="qualified" the element
# (idn:DOC, reg:PERSON …) is in the namespace of the schema that declares it, its children in cmn.


@dataclass(frozen=True)
class View:
    """How much of a card an answer carries: 152-ФЗ's "only what the purpose needs"."""

    contacts: bool  # PHONE, EMAIL
    addresses: bool  # ADDRES_G, ADDRES_P
    all_documents: bool  # every document, or only the identity document
    insurance_history: bool  # every period, or only the one in force


FULL_VIEW = View(contacts=True, addresses=True, all_documents=True, insurance_history=True)
#: an МО identifies a patient and checks the insurance: name, birth, sex, СНИЛС, the identity document,
#: the policy in force and the attachments in force — no addresses, contacts or old policies
CLINIC_VIEW = View(contacts=False, addresses=False, all_documents=False, insurance_history=False)


def person(
    parent: Any, ns: str, name: str, p: PersonData, ddeath: date | None, *, contacts: bool = True
) -> None:
    c = Builder(etree.SubElement(parent, f"{{{ns}}}{name}"), COMMON_NS)
    c.opt("FAM", p.fam)
    c.opt("IM", p.im)
    c.opt("OT", p.ot)
    c.add("W", p.w)
    c.add("DR", p.dr)
    c.opt("MR", p.mr)
    for dost in (p.dost or "").split():
        c.add("DOST", dost)
    c.opt("BIRTH_OKSM", p.birth_oksm)
    c.opt("C_OKSM", p.c_oksm)
    c.opt("SS", p.ss)
    c.add("KATEG", p.kateg)
    if contacts:
        c.opt("PHONE", p.phone)
        c.opt("EMAIL", p.email)
    c.opt("DDEATH", ddeath)


def document(parent: Any, ns: str, d: Document) -> None:
    c = Builder(etree.SubElement(parent, f"{{{ns}}}DOC"), COMMON_NS)
    c.add("DOCTYPE", d.doctype)
    c.opt("DOCSER", d.docser)
    c.add("DOCNUM", d.docnum)
    c.opt("DOCDATE", d.docdate)
    c.opt("DOCEXP", d.docexp)
    c.opt("NAME_VP", d.name_vp)
    c.add("MAIN", d.is_main)


def address(parent: Any, ns: str, name: str, a: Address) -> None:
    """cmn:AddressType (an xs:all): the elements of v1.0 keep their order, the new ones sit where they read."""
    c = Builder(etree.SubElement(parent, f"{{{ns}}}{name}"), COMMON_NS)
    c.opt("OKATO", a.okato)
    c.opt("SUBJ", a.region)
    c.opt("INDX", a.postcode)
    c.opt("RNNAME", a.district)
    c.opt("NPNAME", a.settlement)
    c.opt("UL", a.street)
    c.opt("DOM", a.house)
    c.opt("KORP", a.building)
    c.opt("KV", a.flat)
    c.opt("DREG", a.registered_on)
    if a.homeless:
        c.add("BOMG", True)
    c.opt("FIAS_GUID", a.fias_guid)
    c.opt("FIAS_AOID", a.fias_aoid)
    c.opt("FIAS_HOUSEID", a.fias_houseid)


def insurance(parent: Any, ns: str, i: InsurancePeriod) -> None:
    c = Builder(etree.SubElement(parent, f"{{{ns}}}INSURANCE"), COMMON_NS)
    c.add("TER_ST", i.ter_st)
    c.add("ENP", i.enp)
    c.opt("OGRNSMO", i.ogrnsmo)
    c.add("SMOCOD", i.smo_code)
    pol = Builder(c.add("POLIS"), COMMON_NS)
    pol.add("VPOLIS", i.vpolis)
    pol.opt("SPOLIS", i.spolis)
    pol.add("NPOLIS", i.npolis)
    pol.add("DBEG", i.dbeg)
    pol.opt("DEND", i.dend)
    pol.opt("DSTOP", i.dstop)
    c.opt("STOP_REASON", i.stop_reason)


def attachment(parent: Any, ns: str, a: Attachment) -> None:
    c = Builder(etree.SubElement(parent, f"{{{ns}}}ATTACH"), COMMON_NS)
    c.add("MO", a.mo_code)
    c.add("AREA_TYPE", a.area_type)
    c.opt("SECTION", a.section)
    c.opt("DOCTOR_SS", a.doctor_snils)
    c.add("DATE_IN", a.date_in)
    c.opt("DATE_OUT", a.date_out)
    c.add("METHOD", a.method)


#: the contract's element for a field of the card where it is not the field's name in capitals
_ELEMENT_NAMES = {
    "addresses": {
        "region": "SUBJ",
        "district": "RNNAME",
        "settlement": "NPNAME",
        "street": "UL",
        "house": "DOM",
        "flat": "KV",
    },
    "documents": {"is_main": "MAIN"},
    "insurance": {"smo_code": "SMOCOD"},
    "attachments": {"mo_code": "MO", "doctor_snils": "DOCTOR_SS"},
}


def element_name(aspect: str, field: str) -> str:
    """The element a field of an aspect of the card is written as (``history`` FIELD names)."""
    return _ELEMENT_NAMES.get(aspect, {}).get(field, field.upper())


def latest_first(periods: Iterable[InsurancePeriod]) -> list[InsurancePeriod]:
    return sorted(periods, key=lambda p: (p.dbeg, p.dstop or date.max), reverse=True)


def zl(
    parent: Any,
    ns: str,
    card: PersonCard,
    *,
    on: date,
    history: bool,
    version: bool = True,
    view: View = FULL_VIEW,
) -> None:
    """idn:ZlType — the person as of ``on``: the policy on that date (or the last one), or all of them;
    ``view`` leaves out what the caller's purpose does not need."""
    z = Builder(etree.SubElement(parent, f"{{{ns}}}ZL"), ns)
    z.add("ENP", card.enp)
    for alias in sorted(card.aliases):
        z.add("OLD_ENP", alias)
    person(z.parent, ns, "PERSON", card.data, card.ddeath, contacts=view.contacts)
    z.add("STATUS", card.status.value)
    z.opt("WORKING", is_working(card.data.kateg))
    docs = sorted(card.documents, key=lambda d: (not d.is_main, -(d.docdate or date.min).toordinal()))
    for d in docs if view.all_documents else docs[:1]:
        document(z.parent, ns, d)
    by_kind = {a.kind: a for a in card.addresses} if view.addresses else {}
    if "G" in by_kind:
        address(z.parent, ns, "ADDRES_G", by_kind["G"])
    if "P" in by_kind:
        address(z.parent, ns, "ADDRES_P", by_kind["P"])
    periods = latest_first(card.insurance)
    if not (history and view.insurance_history) and periods:
        current = card.period_on(on)
        periods = [current] if current is not None else periods[:1]
    for p in periods:
        insurance(z.parent, ns, p)
    for a in card.active_attachments(on):
        attachment(z.parent, ns, a)
    if version and card.version_no:
        z.add("VERSION_NO", card.version_no)


def child(el: Any, name: str) -> Any | None:
    for c in el:
        if etree.QName(c).localname == name:
            return c
    return None


def children(el: Any, name: str) -> list[Any]:
    return [c for c in el if etree.QName(c).localname == name]


def child_text(el: Any, name: str) -> str | None:
    for child in el:
        if etree.QName(child).localname == name:
            return str(child.text or "")
    return None


def child_snils(el: Any, name: str) -> str | None:
    """A СНИЛС element in either written form (11 digits or ``XXX-XXX-XXX YY``) as the 11 digits."""
    text = child_text(el, name)
    return snils_from_wire(text) if text else text


def child_date(el: Any, name: str) -> date | None:
    text = child_text(el, name)
    return date.fromisoformat(text) if text else None


def child_int(el: Any, name: str, default: int) -> int:
    text = child_text(el, name)
    return int(text) if text else default


def child_bool(el: Any, name: str, default: bool = False) -> bool:
    text = child_text(el, name)
    return default if text is None else text.strip() in ("true", "1")
