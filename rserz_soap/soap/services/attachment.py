"""/soap/attachment (МО): attachPerson, detachPerson — an МО attaches and detaches its own patients."""

from __future__ import annotations

from datetime import date
from typing import Any

from rserz_soap.soap import xml
from rserz_soap.soap.faults import FaultCode, SoapFault
from rserz_soap.soap.server import Operation, Request, Service
from rserz_soap.usecases import attachments
from rserz_soap.usecases.attachments import AttachmentAnswer, ChangeSource

NS = xml.NS["att"]
MO = frozenset({"mo"})


def _own_mo(req: Request) -> str:
    mo = xml.child_text(req.element, "MO") or ""
    if mo != req.caller.participant.code:
        raise SoapFault(
            FaultCode.FORBIDDEN,
            f"МО {req.caller.participant.code} may not change attachments to {mo}",
            field="MO",
        )
    return mo


def _date(el: Any, name: str) -> date:
    value = xml.child_date(el, name)
    if value is None:  # the schema requires it; this is the type checker's reassurance
        raise SoapFault(FaultCode.SCHEMA, f"{name} is required", field=name)
    return value


def _answer(req: Request, name: str, answer: AttachmentAnswer) -> Any:
    out = xml.element(NS, name)
    b = xml.Builder(out, NS)
    request_id = xml.child_text(req.element, "REQUEST_ID")
    if not answer.found:
        xml.result(b, 1, "ЗЛ не найдено")
        b.add("REQUEST_ID", request_id)
        return out
    if answer.refusal is not None:
        xml.result(b, int(attachments.REFUSAL_CODES[answer.refusal]), answer.message or answer.refusal)
        b.add("REQUEST_ID", request_id)
        return out
    req.disclose([answer.person_id])
    xml.result(b, 0, "Выполнено")
    b.add("REQUEST_ID", request_id)
    b.add("ENP", answer.enp)
    for a in answer.attachments:
        xml.attachment(out, NS, a)
    return out


def attach_person(req: Request) -> Any:
    el = req.element
    mo = _own_mo(req)
    answer = attachments.attach_by_enp(
        req.hub.db.unit_of_work(),
        req.key(),
        xml.child_text(el, "ENP") or "",
        mo,
        xml.child_int(el, "AREA_TYPE", 1),
        _date(el, "DATE_IN"),
        xml.child_int(el, "METHOD", 1),
        section=xml.child_text(el, "SECTION"),
        doctor_snils=xml.child_snils(el, "DOCTOR_SS"),
        source=ChangeSource("mo", mo, actor=f"mo:{mo}"),
    )
    return _answer(req, "attachPersonResponse", answer)


def detach_person(req: Request) -> Any:
    el = req.element
    mo = _own_mo(req)
    answer = attachments.detach_by_enp(
        req.hub.db.unit_of_work(),
        req.key(),
        xml.child_text(el, "ENP") or "",
        mo,
        xml.child_int(el, "AREA_TYPE", 1),
        _date(el, "DATE_OUT"),
        source=ChangeSource("mo", mo, actor=f"mo:{mo}"),
    )
    return _answer(req, "detachPersonResponse", answer)


SERVICE = Service(
    "attachment",
    NS,
    {
        "attachPerson": Operation(attach_person, MO, write=True),
        "detachPerson": Operation(detach_person, MO, write=True),
    },
)
