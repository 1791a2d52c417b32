"""/soap/attachment (МО): attachPerson, detachPerson — an МО attaches and detaches its own patients."""

from __future__ import annotations

from datetime import date
from typing import Any

from rserz_soap.db import persons, search
from rserz_soap.registry import attachments
from rserz_soap.soap import xml
from rserz_soap.soap.faults import FaultCode, SoapFault
from rserz_soap.soap.server import Operation, Request, Service

NS = xml.NS["att"]
MO = frozenset({"mo"})


def _change(req: Request, name: str, apply: Any) -> Any:
    el = req.element
    mo = xml.child_text(el, "MO") or ""
    if mo != req.caller.participant.code:
        raise SoapFault(
            FaultCode.FORBIDDEN,
            f"МО {req.caller.participant.code} may not change attachments to {mo}",
            field="MO",
        )
    enp = xml.child_text(el, "ENP") or ""
    out = xml.element(NS, name)
    b = xml.Builder(out, NS)
    with req.engine.begin() as conn:
        ids = search.by_enp(conn, enp)
        if not ids:
            xml.result(b, 1, "ЗЛ не найдено")
            b.add("REQUEST_ID", xml.child_text(el, "REQUEST_ID"))
            return out
        source = attachments.ChangeSource("mo", mo, actor=f"mo:{mo}")
        try:
            apply(conn, ids[0], mo, source)
        except attachments.AttachmentError as exc:
            xml.result(b, int(exc.code) if exc.code.isdigit() else 600, exc.message)
            b.add("REQUEST_ID", xml.child_text(el, "REQUEST_ID"))
            return out
        card = persons.load(conn, ids[0]).card
    xml.result(b, 0, "Выполнено")
    b.add("REQUEST_ID", xml.child_text(el, "REQUEST_ID"))
    b.add("ENP", card.enp)
    for a in sorted(card.attachments, key=lambda a: (a.area_type, a.date_in)):
        if a.date_out is None:
            xml.attachment(out, NS, a)
    return out


def _date(el: Any, name: str) -> date:
    value = xml.child_date(el, name)
    if value is None:  # the schema requires it; this is the type checker's reassurance
        raise SoapFault(FaultCode.SCHEMA, f"{name} is required", field=name)
    return value


def attach_person(req: Request) -> Any:
    el = req.element

    def apply(conn: Any, person_id: int, mo: str, source: attachments.ChangeSource) -> None:
        attachments.attach(
            conn,
            person_id,
            mo,
            xml.child_int(el, "AREA_TYPE", 1),
            _date(el, "DATE_IN"),
            xml.child_int(el, "METHOD", 1),
            section=xml.child_text(el, "SECTION"),
            doctor_snils=xml.child_snils(el, "DOCTOR_SS"),
            source=source,
        )

    return _change(req, "attachPersonResponse", apply)


def detach_person(req: Request) -> Any:
    el = req.element

    def apply(conn: Any, person_id: int, mo: str, source: attachments.ChangeSource) -> None:
        attachments.detach(
            conn,
            person_id,
            mo,
            xml.child_int(el, "AREA_TYPE", 1),
            _date(el, "DATE_OUT"),
            source=source,
        )

    return _change(req, "detachPersonResponse", apply)


SERVICE = Service(
    "attachment",
    NS,
    {
        "attachPerson": Operation(attach_person, MO, write=True),
        "detachPerson": Operation(detach_person, MO, write=True),
    },
)
