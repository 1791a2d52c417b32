"""The one mapping between the federal PersonType (any API version) and the hub's values.

The hub reads every ФЕРЗЛ answer with lxml through :func:`person_from_xml` — also the 10,000-person
reconciliation results, which an object mapper would take seconds to build — and writes the card it
pushes with :func:`person_to_zeep`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rserz_soap.domain.federal import STATUS_TO_FEDERAL, FederalPerson, FederalPolicy
from rserz_soap.domain.person import Document, PersonCard

# -- XML ---------------------------------------------------------------------------------------------------


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def children(el: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for child in el:
        if isinstance(child.tag, str):
            out.setdefault(child.tag.rsplit("}", 1)[-1], []).append(child)
    return out


def _text(kids: dict[str, list[Any]], name: str) -> str | None:
    found = kids.get(name)
    return found[0].text if found else None


def policy_from_xml(el: Any) -> FederalPolicy:
    """A PolicyType element as a value."""
    pk = children(el)
    dbeg = _date(_text(pk, "dateBegin"))
    assert dbeg is not None  # required by the schema
    return FederalPolicy(
        _text(pk, "smo") or "",
        _text(pk, "policyType") or "",
        dbeg,
        ser=_text(pk, "policySer"),
        num=_text(pk, "policyNum"),
        dend=_date(_text(pk, "dateEnd")),
        dstop=_date(_text(pk, "dateStop")),
        stop_reason=_text(pk, "stopReason"),
    )


def person_from_xml(el: Any) -> FederalPerson:
    """A PersonType element (any namespace version) as a value."""
    k = children(el)
    documents = []
    for d in k.get("document", []):
        dk = children(d)
        documents.append(
            Document(
                int(_text(dk, "docType") or 0),
                _text(dk, "docSer"),
                _text(dk, "docNum") or "",
                docdate=_date(_text(dk, "docDate")),
                name_vp=_text(dk, "issuer"),
                is_main=_text(dk, "main") in ("true", "1"),
            )
        )
    policies = []
    policies = [policy_from_xml(p) for p in k.get("policy", [])]
    dr = _date(_text(k, "birthDate"))
    assert dr is not None
    return FederalPerson(
        enp=_text(k, "enp") or "",
        status=_text(k, "status") or "",
        fam=_text(k, "fam"),
        im=_text(k, "im"),
        ot=_text(k, "ot"),
        w=int(_text(k, "sex") or 0),
        dr=dr,
        ss=_text(k, "snils"),
        ddeath=_date(_text(k, "deathDate")),
        mr=_text(k, "birthPlace"),
        documents=tuple(documents),
        policies=tuple(policies),
    )


def person_to_zeep(card: PersonCard) -> dict[str, Any]:
    """The card the region pushes, as the keyword arguments of a zeep PersonType (schema order)."""
    d = card.data
    return {
        "enp": card.enp,
        "status": STATUS_TO_FEDERAL[card.status],
        "fam": d.fam or None,
        "im": d.im or None,
        "ot": d.ot or None,
        "sex": d.w,
        "birthDate": d.dr,
        "birthPlace": d.mr,
        "snils": d.ss,
        "deathDate": card.ddeath,
        "document": [
            {
                "docType": doc.doctype,
                "docSer": doc.docser,
                "docNum": doc.docnum,
                "docDate": doc.docdate,
                "issuer": doc.name_vp,
                "main": doc.is_main,
            }
            for doc in sorted(card.documents, key=lambda x: (not x.is_main, x.doctype, x.docnum))
        ],
        "policy": [
            {
                "smo": p.smo_code,
                "policyType": str(p.vpolis),
                "policySer": p.spolis,
                "policyNum": p.npolis,
                "dateBegin": p.dbeg,
                "dateEnd": p.dend,
                "dateStop": p.dstop,
                "stopReason": None if p.stop_reason is None else str(p.stop_reason),
                "okato": p.ter_st,
            }
            for p in sorted(card.insurance, key=lambda x: x.dbeg)
        ],
    }


def describe(p: FederalPerson) -> str:
    """A federal card for a person to read (the CLI's ``rserz federal find``)."""
    lines = [
        f"ЕНП {p.enp}  [{p.status}]",
        f"{p.fam or ''} {p.im or ''} {p.ot or ''}".strip() + f", пол {p.w}, д.р. {p.dr.isoformat()}",
    ]
    if p.ss:
        lines.append(f"СНИЛС {p.ss}")
    if p.ddeath:
        lines.append(f"дата смерти {p.ddeath.isoformat()}")
    for d in p.documents:
        lines.append(
            f"документ {d.doctype} {d.docser or ''} {d.docnum}" + (" (основной)" if d.is_main else "")
        )
    for pol in sorted(p.policies, key=lambda x: x.dbeg):
        end = pol.dstop or pol.dend
        lines.append(
            f"полис {pol.policy_type} {pol.ser or ''} {pol.num or ''}, СМО {pol.smo}, с {pol.dbeg.isoformat()}"
            + (f" по {end.isoformat()}" if end else "")
        )
    return "\n".join(lines)
