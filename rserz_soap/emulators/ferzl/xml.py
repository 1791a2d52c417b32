"""The one mapping between the register's ``PersonCard`` and the federal contract's ``PersonType``.

``person_element`` writes a card (every document, every policy), ``flat_person_element`` writes the
short form of a reconciliation result from ``fed_person``'s flat columns (main document, latest policy),
and ``card_from_person`` reads a pushed ``PersonType`` back into a card, keeping what the federal
contract does not carry (addresses, attachments, contacts) from the card the register already holds.
Element order follows ``contract/ferzl.xsd``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.domain.person import Document, InsurancePeriod, PersonCard, PersonData
from rserz_soap.emulators.ferzl.cards import FEDERAL_STATUS, STATUS_FROM_FEDERAL

__all__ = [
    "card_from_person",
    "child",
    "child_date",
    "child_text",
    "flat_person_element",
    "person_element",
    "policy_element",
    "sub",
]

NAME_MAX = 40


def sub(parent: Any, ns: str, name: str, value: object = None) -> Any:
    """Append ``<ns:name>`` to ``parent``; ``value`` (if given) as text: dates ISO, booleans xs:boolean."""
    el = etree.SubElement(parent, f"{{{ns}}}{name}")
    if value is not None:
        if isinstance(value, bool):
            el.text = "true" if value else "false"
        elif isinstance(value, date):
            el.text = value.isoformat()
        else:
            el.text = str(value)
    return el


def _opt(parent: Any, ns: str, name: str, value: object) -> None:
    if value is not None and value != "":
        sub(parent, ns, name, value)


def _name(parent: Any, ns: str, name: str, value: str | None) -> None:
    if value:
        sub(parent, ns, name, value[:NAME_MAX])


def child(el: Any, ns: str, name: str) -> Any:
    return el.find(f"{{{ns}}}{name}")


def child_text(el: Any, ns: str, name: str) -> str | None:
    found = el.find(f"{{{ns}}}{name}")
    if found is None:
        return None
    return (found.text or "").strip()


def child_date(el: Any, ns: str, name: str) -> date | None:
    value = child_text(el, ns, name)
    return date.fromisoformat(value[:10]) if value else None


def _document(parent: Any, ns: str, doc: Document) -> None:
    el = sub(parent, ns, "document")
    sub(el, ns, "docType", doc.doctype)
    _opt(el, ns, "docSer", doc.docser)
    sub(el, ns, "docNum", doc.docnum)
    _opt(el, ns, "docDate", doc.docdate)
    _opt(el, ns, "issuer", doc.name_vp)
    sub(el, ns, "main", doc.is_main)


def _policy(parent: Any, ns: str, p: InsurancePeriod, tag: str = "policy") -> None:
    el = sub(parent, ns, tag)
    sub(el, ns, "smo", p.smo_code)
    sub(el, ns, "policyType", p.vpolis)
    _opt(el, ns, "policySer", p.spolis)
    _opt(el, ns, "policyNum", p.npolis)
    sub(el, ns, "dateBegin", p.dbeg)
    _opt(el, ns, "dateEnd", p.dend)
    _opt(el, ns, "dateStop", p.dstop)
    _opt(el, ns, "stopReason", p.stop_reason)
    _opt(el, ns, "okato", p.ter_st)


def policy_element(parent: Any, ns: str, period: InsurancePeriod) -> None:
    """A ``PolicyType`` element named ``policy`` under ``parent``."""
    _policy(parent, ns, period)


def person_element(parent: Any, ns: str, card: PersonCard, tag: str = "person") -> Any:
    """The whole card as a ``PersonType`` element (documents by date, policies by beginning)."""
    d = card.data
    el = sub(parent, ns, tag)
    sub(el, ns, "enp", card.enp)
    sub(el, ns, "status", FEDERAL_STATUS[card.status])
    _name(el, ns, "fam", d.fam)
    _name(el, ns, "im", d.im)
    _name(el, ns, "ot", d.ot)
    sub(el, ns, "sex", d.w)
    sub(el, ns, "birthDate", d.dr)
    _opt(el, ns, "birthPlace", d.mr)
    _opt(el, ns, "snils", d.ss)
    _opt(el, ns, "deathDate", card.ddeath)
    for doc in sorted(card.documents, key=lambda x: (x.docdate or date.min, x.doctype, x.docnum)):
        _document(el, ns, doc)
    for period in sorted(card.insurance, key=lambda p: (p.dbeg, p.dstop or date.max, p.npolis)):
        _policy(el, ns, period)
    return el


def flat_person_element(parent: Any, ns: str, row: Mapping[str, Any]) -> Any:
    """A short ``PersonType`` from ``fed_person``'s flat columns: the main document, the latest policy."""
    el = sub(parent, ns, "person")
    sub(el, ns, "enp", row["enp"])
    sub(el, ns, "status", row["status"])
    _name(el, ns, "fam", row["fam"])
    _name(el, ns, "im", row["im"])
    _name(el, ns, "ot", row["ot"])
    sub(el, ns, "sex", row["sex"])
    sub(el, ns, "birthDate", row["birth_date"])
    _opt(el, ns, "birthPlace", row["birth_place"])
    _opt(el, ns, "snils", row["snils"])
    _opt(el, ns, "deathDate", row["death_date"])
    if row["doc_type"] is not None:
        doc = sub(el, ns, "document")
        sub(doc, ns, "docType", row["doc_type"])
        _opt(doc, ns, "docSer", row["doc_ser"])
        sub(doc, ns, "docNum", row["doc_num"])
        _opt(doc, ns, "docDate", row["doc_date"])
        _opt(doc, ns, "issuer", row["doc_issuer"])
        sub(doc, ns, "main", True)
    if row["smo"] is not None:
        pol = sub(el, ns, "policy")
        sub(pol, ns, "smo", row["smo"])
        sub(pol, ns, "policyType", row["policy_type"])
        _opt(pol, ns, "policySer", row["policy_ser"])
        _opt(pol, ns, "policyNum", row["policy_num"])
        sub(pol, ns, "dateBegin", row["policy_begin"])
        _opt(pol, ns, "dateEnd", row["policy_date_end"])
        _opt(pol, ns, "dateStop", row["policy_date_stop"])
        _opt(pol, ns, "stopReason", row["policy_stop_reason"])
        _opt(pol, ns, "okato", row["policy_okato"])
    return el


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.lstrip("-").isdigit() else None


def card_from_person(el: Any, ns: str, base: PersonCard | None = None) -> PersonCard:
    """The card a pushed ``PersonType`` describes; what the contract lacks is kept from ``base``."""
    enp = child_text(el, ns, "enp") or ""
    status = STATUS_FROM_FEDERAL[child_text(el, ns, "status") or "NOT_INSURED"]
    old = base.data if base is not None else None
    birth = child_date(el, ns, "birthDate")
    assert birth is not None  # required by the schema
    fields: dict[str, Any] = {
        "fam": child_text(el, ns, "fam") or "",
        "im": child_text(el, ns, "im") or "",
        "ot": child_text(el, ns, "ot"),
        "w": int(child_text(el, ns, "sex") or "0"),
        "dr": birth,
        "mr": child_text(el, ns, "birthPlace"),
        "ss": child_text(el, ns, "snils"),
    }
    data = dataclasses.replace(old, **fields) if old is not None else PersonData(**fields)
    documents = []
    for d in el.findall(f"{{{ns}}}document"):
        documents.append(
            Document(
                doctype=int(child_text(d, ns, "docType") or "0"),
                docser=child_text(d, ns, "docSer"),
                docnum=child_text(d, ns, "docNum") or "",
                docdate=child_date(d, ns, "docDate"),
                name_vp=child_text(d, ns, "issuer"),
                is_main=child_text(d, ns, "main") in ("true", "1"),
            )
        )
    periods = []
    for p in el.findall(f"{{{ns}}}policy"):
        dbeg = child_date(p, ns, "dateBegin")
        assert dbeg is not None  # required by the schema
        periods.append(
            InsurancePeriod(
                smo_code=child_text(p, ns, "smo") or "",
                ter_st=child_text(p, ns, "okato") or "",
                enp=enp,
                vpolis=_int_or_none(child_text(p, ns, "policyType")) or 0,
                npolis=child_text(p, ns, "policyNum") or "",
                dbeg=dbeg,
                spolis=child_text(p, ns, "policySer"),
                dend=child_date(p, ns, "dateEnd"),
                dstop=child_date(p, ns, "dateStop"),
                stop_reason=_int_or_none(child_text(p, ns, "stopReason")),
            )
        )
    common: dict[str, Any] = {
        "data": data,
        "status": status,
        "ddeath": child_date(el, ns, "deathDate"),
        "documents": frozenset(documents),
        "insurance": frozenset(periods),
        "enp": enp,
    }
    if base is None:
        return PersonCard(**common)
    return base.replace(**common)
