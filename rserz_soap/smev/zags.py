"""ЕГР ЗАГС messages: death and birth act records pushed to the ТФОМС, the receipt, the death query.

The element names follow the published ЕГР ЗАГС schemas (``FATALZPRequest`` of the ``112-25`` kind:
``ИдСвед``/``ДатаСвед``, ``СведРегСмерт`` with ``НомерЗапис``/``ДатаЗапис``, ``ОрганЗАГС``,
``СтатусЗаписи``, ``ПрдСведРег/СведУмер`` with ``ФИОУмер``, ``ДатаРожд``, ``УдЛичнФЛ``, ``ДатаСмерт``;
the receipt ``FATALZPResponse`` with ``ИдСвед`` and ``КодОбр``). Where the public sources stop — the
4.0.1 namespaces, ``ROGDZPRequest``'s inner names, the meaning of each ``КодСтатус`` and ``КодОбр``,
``FATALINFRequest`` — the guess is kept small and listed in ``docs/smev.md``. Builders are used by the
emulator (the ЗАГС side), parsers by the hub; both live here so the two sides share one description.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.domain.civil import ActStatus, BirthRecord, CivilDocument, CivilPerson, DeathRecord

__all__ = [
    "FATALINF_NS",
    "FATALZP_NS",
    "ROGDZP_NS",
    "ZagsFormatError",
    "birth_request",
    "death_request",
    "parse_births",
    "parse_deaths",
    "receipt",
]

FATALZP_NS: Final = "urn://x-artefacts-zags-fatalzp/root/112-25/4.0.1"
FATALZP_TYPES: Final = "urn://x-artefacts-zags-fatalzp/types/4.0.1"
ROGDZP_NS: Final = "urn://x-artefacts-zags-rogdzp/root/112-51/4.0.1"
ROGDZP_TYPES: Final = "urn://x-artefacts-zags-rogdzp/types/4.0.1"
FATALINF_NS: Final = "urn://x-artefacts-zags-fatalinf/root/112-23/4.0.1"

#: ``СтатусЗаписи/@КодСтатус`` → what the hub does (01 in force, 02 corrected, 03 annulled, 07 restored)
STATUS_CODES: Final = {
    "01": ActStatus.IN_FORCE,
    "02": ActStatus.IN_FORCE,
    "03": ActStatus.CANCELLED,
    "07": ActStatus.IN_FORCE,
}
STATUS_NAMES: Final = {
    "01": "актуальная",
    "02": "исправленная",
    "03": "аннулированная",
    "07": "восстановленная",
}
#: ``КодОбр`` of the receipt: 1 taken (public), 2 not taken (a guess)
RECEIPT_TAKEN: Final = "1"
RECEIPT_REFUSED: Final = "2"
#: identity documents: ФНС СПДУЛ code (``КодВидДок``) ↔ F011 ``DOCTYPE`` of the register
SPDUL_TO_F011: Final = {"21": 14, "03": 3, "10": 9, "12": 12}
F011_TO_SPDUL: Final = {v: k for k, v in SPDUL_TO_F011.items()}


class ZagsFormatError(ValueError):
    """The content is not a ЗАГС record the hub can read (refused in the receipt, kept for an operator)."""


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _name(parent: Any, ns: str, types: str, holder: str, person: CivilPerson) -> None:
    fio = etree.SubElement(parent, _q(ns, holder))
    etree.SubElement(fio, _q(types, "Фамилия")).text = person.fam
    etree.SubElement(fio, _q(types, "Имя")).text = person.im
    if person.ot:
        etree.SubElement(fio, _q(types, "Отчество")).text = person.ot


def _document(parent: Any, ns: str, doc: CivilDocument | None) -> None:
    if doc is None or doc.doctype not in F011_TO_SPDUL:
        return
    number = f"{doc.docser} {doc.docnum}" if doc.docser else doc.docnum
    etree.SubElement(parent, _q(ns, "УдЛичнФЛ"), КодВидДок=F011_TO_SPDUL[doc.doctype], СерНомДок=number)


def _head(
    root: Any, ns: str, types: str, record: str, act_number: str, act_date: date, office: str, code: str
) -> Any:
    rec = etree.SubElement(root, _q(ns, record), НомерЗапис=act_number, ДатаЗапис=act_date.isoformat())
    etree.SubElement(rec, _q(ns, "ОрганЗАГС"), НаимЗАГС=office, КодЗАГС="R4500000")
    etree.SubElement(
        rec,
        _q(ns, "СтатусЗаписи"),
        ДатаНачСтатус=act_date.isoformat(),
        КодСтатус=code,
        НаимСтатус=STATUS_NAMES[code],
    )
    return rec


def death_request(
    record_id: str,
    act_number: str,
    act_date: date,
    office: str,
    person: CivilPerson,
    ddeath: date,
    *,
    status_code: str = "01",
) -> Any:
    """A ``FATALZPRequest`` with one death act record (the ЗАГС side, i.e. the emulator)."""
    ns, types = FATALZP_NS, FATALZP_TYPES
    root = etree.Element(
        _q(ns, "FATALZPRequest"),
        nsmap={"tns": ns, "fnst": types},
        ИдСвед=record_id,
        ДатаСвед=act_date.isoformat(),
    )
    rec = _head(root, ns, types, "СведРегСмерт", act_number, act_date, office, status_code)
    prd = etree.SubElement(rec, _q(ns, "ПрдСведРег"))
    attrs = {"Пол": str(person.w)} if person.w else {}
    umer = etree.SubElement(prd, _q(ns, "СведУмер"), **attrs)
    _name(umer, ns, types, "ФИОУмер", person)
    etree.SubElement(umer, _q(ns, "ДатаРожд")).text = person.dr.isoformat()
    _document(umer, ns, person.document)
    etree.SubElement(umer, _q(ns, "ДатаСмерт")).text = ddeath.isoformat()
    return root


def birth_request(
    record_id: str,
    act_number: str,
    act_date: date,
    office: str,
    child: CivilPerson,
    mother: CivilPerson | None,
    *,
    birth_place: str | None = None,
    status_code: str = "01",
) -> Any:
    """A ``ROGDZPRequest`` with one birth act record."""
    ns, types = ROGDZP_NS, ROGDZP_TYPES
    root = etree.Element(
        _q(ns, "ROGDZPRequest"),
        nsmap={"tns": ns, "fnst": types},
        ИдСвед=record_id,
        ДатаСвед=act_date.isoformat(),
    )
    rec = _head(root, ns, types, "СведРегРожд", act_number, act_date, office, status_code)
    prd = etree.SubElement(rec, _q(ns, "ПрдСведРег"))
    attrs = {"Пол": str(child.w)} if child.w else {}
    born = etree.SubElement(prd, _q(ns, "СведРодившемся"), **attrs)
    _name(born, ns, types, "ФИОРожд", child)
    etree.SubElement(born, _q(ns, "ДатаРожд")).text = child.dr.isoformat()
    if birth_place:
        etree.SubElement(born, _q(ns, "МестоРожден"), МестоТекст=birth_place)
    if mother is not None:
        m = etree.SubElement(prd, _q(ns, "СведМать"))
        _name(m, ns, types, "ФИОМать", mother)
        etree.SubElement(m, _q(ns, "ДатаРожд")).text = mother.dr.isoformat()
        _document(m, ns, mother.document)
    return root


def receipt(content: Any, *, taken: bool = True) -> Any:
    """The receipt a ТФОМС sends back for a pushed record: ``FATALZPResponse`` / ``ROGDZPResponse``."""
    ns = etree.QName(content).namespace
    local = etree.QName(content).localname.replace("Request", "Response")
    return etree.Element(
        _q(ns, local),
        nsmap={"tns": ns},
        ИдСвед=content.get("ИдСвед") or "",
        КодОбр=RECEIPT_TAKEN if taken else RECEIPT_REFUSED,
    )


def read_receipt(content: Any) -> tuple[str, str]:
    """(ИдСвед, КодОбр) of a receipt."""
    return content.get("ИдСвед") or "", content.get("КодОбр") or ""


# --- reading (the hub) ------------------------------------------------------------------------------------


def _children(parent: Any, name: str) -> Iterator[Any]:
    for c in parent:
        if isinstance(c.tag, str) and etree.QName(c).localname == name:
            yield c


def _one(parent: Any, name: str) -> Any | None:
    return next(_children(parent, name), None)


def _date(text: str | None, what: str) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise ZagsFormatError(f"{what}: not a date: {text!r}") from None


def _person(element: Any, name_holder: str) -> CivilPerson:
    fio = _one(element, name_holder)
    if fio is None:
        raise ZagsFormatError(f"no {name_holder}")
    fam = (_text(fio, "Фамилия") or "").strip()
    im = (_text(fio, "Имя") or "").strip()
    if not fam or not im:
        raise ZagsFormatError(f"{name_holder}: no surname or no first name")
    born = _one(element, "ДатаРожд")
    if born is None:
        raise ZagsFormatError("no full birth date (ДатаРожд)")
    sex = element.get("Пол")
    return CivilPerson(
        fam=fam.upper(),
        im=im.upper(),
        ot=((_text(fio, "Отчество") or "").strip().upper() or None),
        dr=_date(born.text, "ДатаРожд"),
        w=int(sex) if sex in ("1", "2") else None,
        document=_document_of(_one(element, "УдЛичнФЛ")),
    )


def _text(parent: Any, name: str) -> str | None:
    e = _one(parent, name)
    return e.text if e is not None else None


def _document_of(element: Any | None) -> CivilDocument | None:
    if element is None:
        return None
    doctype = SPDUL_TO_F011.get(element.get("КодВидДок") or "")
    number = (element.get("СерНомДок") or "").strip()
    if doctype is None or not number:
        return None
    parts = number.rsplit(" ", 1)
    series, num = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
    return CivilDocument(doctype, series, num)


def _head_of(rec: Any) -> tuple[str, date, str, ActStatus]:
    office = _one(rec, "ОрганЗАГС")
    status = _one(rec, "СтатусЗаписи")
    code = status.get("КодСтатус") if status is not None else "01"
    if code not in STATUS_CODES:
        raise ZagsFormatError(f"unknown КодСтатус {code!r}")
    return (
        rec.get("НомерЗапис") or "",
        _date(rec.get("ДатаЗапис"), "ДатаЗапис"),
        (office.get("НаимЗАГС") if office is not None else None) or "?",
        STATUS_CODES[code],
    )


def parse_deaths(content: Any, message_id: str) -> list[DeathRecord]:
    """The death act records of a ``FATALZPRequest``."""
    if etree.QName(content).localname != "FATALZPRequest":
        raise ZagsFormatError(f"not a FATALZPRequest: {etree.QName(content).localname}")
    record_id = content.get("ИдСвед") or ""
    out = []
    for rec in _children(content, "СведРегСмерт"):
        number, act_date, office, status = _head_of(rec)
        prd = _one(rec, "ПрдСведРег")
        umer = _one(prd, "СведУмер") if prd is not None else None
        if umer is None:
            raise ZagsFormatError("no ПрдСведРег/СведУмер")
        died = _one(umer, "ДатаСмерт")
        if died is None:
            raise ZagsFormatError("no full death date (ДатаСмерт)")
        out.append(
            DeathRecord(
                message_id,
                record_id,
                number,
                act_date,
                office,
                status,
                _person(umer, "ФИОУмер"),
                _date(died.text, "ДатаСмерт"),
            )
        )
    if not out:
        raise ZagsFormatError("FATALZPRequest holds no СведРегСмерт")
    return out


def parse_births(content: Any, message_id: str) -> list[BirthRecord]:
    """The birth act records of a ``ROGDZPRequest``."""
    if etree.QName(content).localname != "ROGDZPRequest":
        raise ZagsFormatError(f"not a ROGDZPRequest: {etree.QName(content).localname}")
    record_id = content.get("ИдСвед") or ""
    out = []
    for rec in _children(content, "СведРегРожд"):
        number, act_date, office, status = _head_of(rec)
        prd = _one(rec, "ПрдСведРег")
        born = _one(prd, "СведРодившемся") if prd is not None else None
        if born is None:
            raise ZagsFormatError("no ПрдСведРег/СведРодившемся")
        mother_el = _one(prd, "СведМать")
        place = _one(born, "МестоРожден")
        out.append(
            BirthRecord(
                message_id,
                record_id,
                number,
                act_date,
                office,
                status,
                _person(born, "ФИОРожд"),
                _person(mother_el, "ФИОМать") if mother_el is not None else None,
                place.get("МестоТекст") if place is not None else None,
            )
        )
    if not out:
        raise ZagsFormatError("ROGDZPRequest holds no СведРегРожд")
    return out


# --- the death query (FATALINFRequest): does ЕГР ЗАГС hold a death of this person? ---------------------


def death_query(request_id: str, person: CivilPerson) -> Any:
    ns = FATALINF_NS
    root = etree.Element(_q(ns, "FATALINFRequest"), nsmap={"tns": ns}, ИдЗапрос=request_id)
    _name(root, ns, ns, "ФИО", person)
    etree.SubElement(root, _q(ns, "ДатаРожд")).text = person.dr.isoformat()
    return root


def death_query_person(content: Any) -> CivilPerson:
    return _person(content, "ФИО")


def death_query_answer(request_id: str, deaths: list[Any]) -> Any:
    """``FATALINFResponse``: the matching ``FATALZPRequest`` records' ``СведРегСмерт``, or КодОбр 01 (none)."""
    ns = FATALINF_NS
    root = etree.Element(_q(ns, "FATALINFResponse"), nsmap={"tns": ns}, ИдЗапрос=request_id)
    if not deaths:
        root.set("КодОбр", "01")
    for d in deaths:
        for rec in _children(d, "СведРегСмерт"):
            root.append(rec)
    return root


def parse_death_query_answer(content: Any, message_id: str) -> list[DeathRecord]:
    if content.get("КодОбр") == "01":
        return []
    wrapper = etree.Element(_q(FATALZP_NS, "FATALZPRequest"), ИдСвед=content.get("ИдЗапрос") or "")
    for rec in _children(content, "СведРегСмерт"):
        wrapper.append(rec)
    return parse_deaths(wrapper, message_id) if len(wrapper) else []
