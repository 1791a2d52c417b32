"""/soap/identification: identifyPerson, getPersonData, getInsuranceStatus, searchPersons (МО, СМО, ИСЗЛ)."""

from __future__ import annotations

from datetime import date
from typing import Any

from rserz_soap.soap import xml
from rserz_soap.soap.faults import FaultCode, SoapFault
from rserz_soap.soap.server import Operation, Request, Service
from rserz_soap.usecases import identify as idf

NS = xml.NS["idn"]
READERS = frozenset({"mo", "smo", "iszl", "tfoms"})
DONE, NOTHING = (0, "Выполнено"), (1, "ЗЛ не идентифицировано")


def _key(el: Any) -> idf.Key:
    """The one key group of the request: ENP, or the POLIS / DOC / SNILS / FIO wrapper's fields."""
    pol, doc, ss, fio = (xml.child(el, n) for n in ("POLIS", "DOC", "SNILS", "FIO"))
    doctype = xml.child_text(doc, "DOCTYPE") if doc is not None else None
    return idf.Key(
        enp=xml.child_text(el, "ENP"),
        npolis=xml.child_text(pol, "NPOLIS") if pol is not None else None,
        spolis=xml.child_text(pol, "SPOLIS") if pol is not None else None,
        doctype=int(doctype) if doctype else None,
        docser=xml.child_text(doc, "DOCSER") if doc is not None else None,
        docnum=xml.child_text(doc, "DOCNUM") if doc is not None else None,
        ss=xml.child_snils(ss, "SS") if ss is not None else None,
        fam=xml.child_text(fio, "FAM") if fio is not None else None,
        im=xml.child_text(fio, "IM") if fio is not None else None,
        ot=xml.child_text(fio, "OT") if fio is not None else None,
        dr=xml.child_date(ss if ss is not None else fio, "DR")
        if (ss is not None or fio is not None)
        else None,
    )


def _view(req: Request) -> xml.View:
    """What a caller's kind needs of a card (docs/soap-contract.md "What each participant sees")."""
    return xml.CLINIC_VIEW if req.caller.participant.kind == "mo" else xml.FULL_VIEW


def identify_person(req: Request) -> Any:
    el = req.element
    on = xml.child_date(el, "DATEON") or date.today()
    try:
        found = idf.identify(
            req.hub.db.reading(replica=True),
            _key(el),
            on=on,
            limit=xml.child_int(el, "LIMIT", idf.DEFAULT_LIMIT),
        )
    except idf.BadKey as exc:
        raise SoapFault(FaultCode.INVALID, str(exc)) from None
    req.disclose(c.person_id for c in found.cards)
    out = xml.element(NS, "identifyPersonResponse")
    b = xml.Builder(out, NS)
    xml.result(b, *(DONE if found.cards else NOTHING))
    b.add("EXCESS", found.excess)
    for card in found.cards:
        xml.zl(out, NS, card, on=on, history=xml.child_bool(el, "HISTORY"), view=_view(req))
    return out


def get_person_data(req: Request) -> Any:
    el = req.element
    on = xml.child_date(el, "DATEON")
    card = idf.person_data(req.hub.db.reading(replica=True), xml.child_text(el, "ENP") or "", on=on)
    req.disclose([card.person_id] if card else [])
    out = xml.element(NS, "getPersonDataResponse")
    b = xml.Builder(out, NS)
    xml.result(b, *(DONE if card else NOTHING))
    if card is not None:
        xml.zl(out, NS, card, on=on or date.today(), history=True, view=_view(req))
    return out


def get_insurance_status(req: Request) -> Any:
    el = req.element
    on = xml.child_date(el, "DATE") or date.today()
    status = idf.insurance_status(req.hub.db.reading(replica=True), _key(el), on)
    req.disclose([status.person.person_id] if status.person else [])
    out = xml.element(NS, "getInsuranceStatusResponse")
    b = xml.Builder(out, NS)
    xml.result(b, *(DONE if status.person else NOTHING))
    b.add("INSURED", status.insured)
    if status.person is not None:
        b.add("ENP", status.person.enp)
        b.add("STATUS", status.person.status.value)
        if status.insured and status.period is not None:
            xml.insurance(out, NS, status.period)
    return out


def search_persons(req: Request) -> Any:
    el = req.element
    page, size = xml.child_int(el, "PAGE", 1), xml.child_int(el, "PAGE_SIZE", 20)
    size = min(size, req.hub.settings.search_page_size)
    try:
        found = idf.search_persons(
            req.hub.db.unit_of_work(replica=True),  # a transaction: the trigram threshold is set for it
            xml.child_text(el, "FAM") or "",
            xml.child_text(el, "IM"),
            xml.child_text(el, "OT"),
            dr_from=xml.child_date(el, "DR_FROM"),
            dr_to=xml.child_date(el, "DR_TO"),
            page=page,
            page_size=size,
            match=xml.child_text(el, "MATCH") or "FUZZY",
            w=xml.child_int(el, "W", 0) or None,
            max_page_size=req.hub.settings.search_page_size,
        )
    except idf.SearchTooBroad as exc:
        raise SoapFault(FaultCode.SEARCH_TOO_BROAD, str(exc), field="DR_FROM") from None
    req.disclose(c.person_id for c in found.cards)
    out = xml.element(NS, "searchPersonsResponse")
    b = xml.Builder(out, NS)
    xml.result(b, *(DONE if found.total else NOTHING))
    b.add("TOTAL", found.total)
    b.add("PAGE", page)
    b.add("PAGE_SIZE", size)
    for card, score in zip(found.cards, found.scores, strict=True):
        z = xml.Builder(b.add("ZL"), NS)
        z.add("ENP", card.enp)
        z.opt("FAM", card.data.fam)
        z.opt("IM", card.data.im)
        z.opt("OT", card.data.ot)
        z.add("W", card.data.w)
        z.add("DR", card.data.dr)
        z.add("STATUS", card.status.value)
        period = card.open_period()
        z.opt("SMOCOD", period.smo_code if period else None)
        z.add("SCORE", f"{min(1.0, score):.3f}")
    return out


SERVICE = Service(
    "identification",
    NS,
    {
        "identifyPerson": Operation(identify_person, READERS),
        "getPersonData": Operation(get_person_data, READERS),
        "getInsuranceStatus": Operation(get_insurance_status, READERS),
        "searchPersons": Operation(search_persons, READERS),
    },
)
