"""/soap/register (СМО): submitOperations, getProtocol, getStopList, getCorrections, getPersonHistory."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from rserz_soap.domain.buffer import BatchProtocol, State
from rserz_soap.domain.codec import decode
from rserz_soap.domain.countries import CountryCodes
from rserz_soap.domain.identifiers import snils_from_wire
from rserz_soap.domain.person import Address, Document, InsurancePeriod, PersonData
from rserz_soap.domain.records import FormatError, InsuranceInput, OperationRecord, PolicyInput, Visit
from rserz_soap.soap import xml
from rserz_soap.soap.faults import FaultCode, SoapFault
from rserz_soap.soap.server import Hub, Operation, Request, Service
from rserz_soap.usecases import history, notices, submit

NS = xml.NS["reg"]
SMO = frozenset({"smo"})
_ASPECT = {
    "data": "PERSON",
    "documents": "DOC",
    "addresses": "ADDRES",
    "insurance": "INSURANCE",
    "attachments": "ATTACH",
}

log = logging.getLogger(__name__)


# -- reading the request --------------------------------------------------------------------------------


def _t(el: Any, name: str) -> str | None:
    return xml.child_text(el, name) if el is not None else None


def _d(el: Any, name: str) -> dt.date | None:
    return xml.child_date(el, name) if el is not None else None


def _i(el: Any, name: str) -> int | None:
    text = _t(el, name)
    return int(text) if text else None


def _person(el: Any, countries: CountryCodes) -> PersonData:
    """PERSON, with the wire forms СМО software uses normalised: СНИЛС to 11 digits, ОКСМ to numeric."""
    dost = " ".join(c.text or "" for c in xml.children(el, "DOST")) or None
    ss = _t(el, "SS")
    return PersonData(
        fam=_t(el, "FAM") or "",
        im=_t(el, "IM") or "",
        ot=_t(el, "OT"),
        w=_i(el, "W") or 0,
        dr=_d(el, "DR") or dt.date.min,
        dost=dost,
        mr=_t(el, "MR") or None,
        birth_oksm=countries.numeric(_t(el, "BIRTH_OKSM")),
        c_oksm=countries.numeric(_t(el, "C_OKSM")),
        kateg=_i(el, "KATEG") or 0,
        ss=snils_from_wire(ss) if ss else ss,
        phone=_t(el, "PHONE"),
        email=_t(el, "EMAIL"),
    )


def _document(el: Any, first: bool = True) -> Document:
    """DOC; without MAIN the record's first document is the identity document, the others are not."""
    main = _t(el, "MAIN")
    return Document(
        doctype=_i(el, "DOCTYPE") or 0,
        docser=_t(el, "DOCSER"),
        docnum=_t(el, "DOCNUM") or "",
        docdate=_d(el, "DOCDATE"),
        docexp=_d(el, "DOCEXP"),
        name_vp=_t(el, "NAME_VP"),
        is_main=first if main is None else main.strip() in ("true", "1"),
    )


def _documents(op: Any) -> tuple[Document, ...]:
    """DOC elements, or the DOC of DOC_LIST (I_Policies). MAIN, where given, decides; unless some document
    says MAIN=true, the first document without MAIN is the identity document and the others are not."""
    elements = list(xml.children(op, "DOC"))
    for wrapper in xml.children(op, "DOC_LIST"):
        elements += xml.children(wrapper, "DOC")
    marks = [_t(e, "MAIN") for e in elements]
    declared = any(m is not None and m.strip() in ("true", "1") for m in marks)
    first = next((i for i, m in enumerate(marks) if m is None), None)
    return tuple(_document(e, first=i == first and not declared) for i, e in enumerate(elements))


def _old_document(op: Any) -> Any | None:
    old = xml.child(op, "OLD_DOC")
    if old is None:
        wrapper = xml.child(op, "OLDDOC_LIST")
        old = xml.child(wrapper, "OLD_DOC") if wrapper is not None else None
    return old


def _address(el: Any, kind: str) -> Address | None:
    if el is None:
        return None
    return Address(
        kind,
        okato=_t(el, "OKATO"),
        region=_t(el, "SUBJ"),
        district=_t(el, "RNNAME"),
        settlement=_t(el, "NPNAME"),
        street=_t(el, "UL"),
        house=_t(el, "DOM"),
        flat=_t(el, "KV"),
        fias_guid=_t(el, "FIAS_GUID"),
        postcode=_t(el, "INDX"),
        building=_t(el, "KORP"),
        registered_on=_d(el, "DREG"),
        homeless=xml.child_bool(el, "BOMG"),
        fias_aoid=_t(el, "FIAS_AOID"),
        fias_houseid=_t(el, "FIAS_HOUSEID"),
    )


def operation_record(
    op: Any, header_smo: str, countries: CountryCodes | None = None, received_on: dt.date | None = None
) -> OperationRecord:
    """One OP of an OPLIST as the domain's OperationRecord (the XML edge ends here).

    ``countries`` (O001) maps alpha-3 ОКСМ codes to numeric ones; without it only numeric codes and
    ``Б/Г`` are understood. ``received_on`` dates a record that comes without VIZIT."""
    countries = countries or CountryCodes()
    person = xml.child(op, "PERSON")
    vizit = xml.child(op, "VIZIT")
    ins = xml.child(op, "INSURANCE")
    pol = xml.child(ins, "POLIS") if ins is not None else None
    old_person = xml.child(op, "OLD_PERSON")
    old_doc = _old_document(op)
    policy = None
    if pol is not None:
        policy = PolicyInput(
            vpolis=_i(pol, "VPOLIS") or 0,
            npolis=_t(pol, "NPOLIS") or "",
            dbeg=_d(pol, "DBEG") or dt.date.min,
            spolis=_t(pol, "SPOLIS"),
            dend=_d(pol, "DEND"),
            dstop=_d(pol, "DSTOP"),
        )
    return OperationRecord(
        n_rec=_i(op, "N_REC") or 0,
        op=_t(op, "TIP_OP") or "",
        person=_person(person, countries),
        visit=None
        if vizit is None
        else Visit(
            dvizit=_d(vizit, "DVIZIT") or dt.date.min,
            method=_i(vizit, "METHOD") or 1,
            petition=_i(vizit, "PETITION"),
            rsmo=_i(vizit, "RSMO"),
            rpolis=_i(vizit, "RPOLIS"),
            fpolis=_i(vizit, "FPOLIS"),
        ),
        insurance=InsuranceInput(
            ter_st=_t(ins, "TER_ST") or "",
            smo_code=_t(ins, "SMOCOD") or header_smo,
            enp=_t(ins, "ENP"),
            ogrnsmo=_t(ins, "OGRNSMO"),
            policy=policy,
            erp=_t(ins, "ERP"),
        ),
        documents=_documents(op),
        address_g=_address(xml.child(op, "ADDRES_G"), "G"),
        address_p=_address(xml.child(op, "ADDRES_P"), "P"),
        old_person=_person_old(old_person) if old_person is not None else None,
        old_document=_document(old_doc) if old_doc is not None else None,
        ddeath=_d(person, "DDEATH"),
        record_id=_t(op, "ID"),
        received_on=received_on,
    )


def _malformed(op: Any, position: int, errors: tuple[FormatError, ...]) -> OperationRecord:
    """A record that failed its own format check: kept in the batch with what can be read of it (its
    number, operation and ID), rejected with its F012 errors while the rest of the batch goes on."""
    n_rec = _t(op, "N_REC") or ""
    tip_op = (_t(op, "TIP_OP") or "")[:4]
    return OperationRecord(
        n_rec=int(n_rec) if n_rec.isdigit() and len(n_rec) < 9 else position,
        op=tip_op,
        person=PersonData(fam="", im="", ot=None, w=0, dr=dt.date.min),
        visit=None,
        insurance=InsuranceInput(ter_st="", smo_code=""),
        record_id=(_t(op, "ID") or "")[:36] or None,
        format_errors=errors,
    )


def _person_old(el: Any) -> PersonData:
    return PersonData(
        fam=_t(el, "FAM") or "",
        im=_t(el, "IM") or "",
        ot=_t(el, "OT"),
        w=_i(el, "W") or 0,
        dr=_d(el, "DR") or dt.date.min,
    )


# -- operations -----------------------------------------------------------------------------------------


def header(oplist: Any, name: str) -> str:
    """An OPLIST header field: a child element (the contract, rt.srz) or an attribute (I_Policies)."""
    return xml.child_text(oplist, name) or str(oplist.get(name) or "")


def batch_records(
    ops: Sequence[Any],
    header_smo: str,
    countries: CountryCodes,
    record_errors: Mapping[int, tuple[FormatError, ...]],
    received_on: dt.date,
) -> list[OperationRecord]:
    """The OPs of one OPLIST as the domain's records, those that failed the schema kept with their F012
    errors — the one reading of an OPLIST, for ``submitOperations`` and for a file package alike."""
    return [
        _malformed(op, position, record_errors[position])
        if position in record_errors
        else operation_record(op, header_smo, countries, received_on)
        for position, op in enumerate(ops, start=1)
    ]


# -- operations -----------------------------------------------------------------------------------------


def submit_operations(req: Request) -> Any:
    request_id = uuid.UUID(xml.child_text(req.element, "REQUEST_ID") or "")
    oplist = xml.child(req.element, "OPLIST")
    if oplist is None:
        raise SoapFault(FaultCode.SCHEMA, "OPLIST is required")
    header_smo = header(oplist, "SMOCOD")
    if header_smo != req.caller.participant.code:
        raise SoapFault(
            FaultCode.FORBIDDEN,
            f"OPLIST/SMOCOD {header_smo} is not the sender {req.caller.participant.code}",
            field="SMOCOD",
            parent="OPLIST",
        )
    ops = xml.children(oplist, "OP")
    declared = int(header(oplist, "NRECORDS") or 0)
    if declared != len(ops):
        raise SoapFault(
            FaultCode.INVALID,
            f"NRECORDS {declared}, the batch holds {len(ops)}",
            field="NRECORDS",
            parent="OPLIST",
        )
    countries = submit.country_codes(req.hub.db.reading(), req.hub.intake)
    records = batch_records(ops, header_smo, countries, req.record_errors, dt.date.today())
    answer = submit.submit_operations(
        req.hub.db.unit_of_work(),
        req.hub.intake,
        req.submitter,
        records,
        request_id,
        fingerprint=req.key().fingerprint,
        file_name=header(oplist, "FILENAME") or None,
    )
    if any(line.state is State.AWAITING_FEDERAL for line in answer.lines):
        _push_now(req.hub)
    return _protocol("submitOperationsResponse", answer, req)


def _push_now(hub: Hub) -> None:
    """Ask for the ФЕРЗЛ push now; if that fails (Redis away), the scheduler's next tick pushes anyway."""
    if hub.federal_waiting is None:
        return
    try:
        hub.federal_waiting()
    except Exception as exc:  # noqa: BLE001 - the batch is stored; only its push is later
        log.warning("the ФЕРЗЛ push waits for the scheduler: %s", exc.__class__.__name__)


def get_protocol(req: Request) -> Any:
    by_request, by_batch = (xml.child_text(req.element, n) for n in ("REQUEST_ID", "BATCH_ID"))
    try:
        request_id = uuid.UUID(by_request) if by_request else None
        batch_id = uuid.UUID(by_batch) if by_batch else None
    except ValueError:
        raise SoapFault(FaultCode.NOT_FOUND) from None
    if request_id is None and batch_id is None:
        raise SoapFault(FaultCode.SCHEMA, "BATCH_ID or REQUEST_ID is required", field="BATCH_ID")
    answer = submit.protocol(req.hub.db.reading(), req.submitter, request_id=request_id, batch_id=batch_id)
    if answer is None:
        raise SoapFault(FaultCode.NOT_FOUND, "no batch of yours has this id")
    return _protocol("getProtocolResponse", answer, req)


def _protocol(name: str, answer: BatchProtocol, req: Request) -> Any:
    req.disclose(line.person_id for line in answer.lines)
    out = xml.element(NS, name)
    b = xml.Builder(out, NS)
    pending = answer.pending
    xml.result(b, 0, "Выполнено" if not pending else f"Обрабатывается: {pending} записей ещё не решено")
    b.add("BATCH_ID", answer.batch_id)
    b.opt("REQUEST_ID", answer.request_id)
    b.opt("FILENAME", answer.file_name)
    b.add("RECEIVED", answer.received_at.isoformat())
    b.add("NRECORDS", len(answer.lines))
    b.add("NPENDING", pending)
    replist = xml.Builder(b.add("REPLIST"), NS)
    for r in answer.lines:
        rep = xml.Builder(replist.add("REP"), NS)
        rep.add("N_REC", r.n_rec)
        rep.opt("ID", r.record_id)
        rep.opt("CODE_ERP", r.code_erp)
        rep.add("STATE", r.state.value)
        rep.opt("COMMENT", r.comment[:2000] if r.comment else None)
        rep.opt("ENP", r.enp)
        if r.insurance:
            xml.insurance(rep.parent, NS, decode(InsurancePeriod, r.insurance))
    flk = xml.Builder(b.add("FLK_P"), NS)
    for r in answer.lines:
        for e in r.errors:
            pr = xml.Builder(flk.add("PR"), NS)
            pr.add("OSHIB", e["code"])
            pr.opt("IM_POL", e.get("field"))
            pr.opt("BAS_EL", e.get("parent"))
            pr.add("N_REC", e["n_rec"])
            pr.add("COMMENT", e["comment"][:2000])
            pr.opt("SEVERITY", e.get("severity"))
    return out


DEFAULT_LIST_PAGE = 1000  # the contract's default PAGE_SIZE


def _period_args(req: Request) -> tuple[dt.date, dt.date, int, int]:
    el = req.element
    first = xml.child_date(el, "DATE_FROM") or dt.date.min
    last = xml.child_date(el, "DATE_TO") or dt.date.max
    return first, last, xml.child_int(el, "PAGE", 1), xml.child_int(el, "PAGE_SIZE", DEFAULT_LIST_PAGE)


def _list_page(
    name: str, first: dt.date, last: dt.date, total: int, page: int, size: int
) -> tuple[Any, xml.Builder]:
    out = xml.element(NS, name)
    b = xml.Builder(out, NS)
    xml.result(b, 0 if total else 1, "Выполнено" if total else "Записей за период нет")
    b.add("DATE_FROM", first)
    b.add("DATE_TO", last)
    b.add("TOTAL", total)
    b.add("PAGE", page)
    b.add("PAGE_SIZE", size)
    return out, b


def get_stop_list(req: Request) -> Any:
    smo = req.caller.participant.code
    first, last, page, size = _period_args(req)
    try:
        found = notices.stop_list(req.hub.db.reading(), smo, first, last, page=page, size=size)
    except notices.BadPeriod as exc:
        raise SoapFault(FaultCode.INVALID, str(exc), field="DATE_TO") from None
    req.disclose(line.card.person_id for line in found.lines)
    out, b = _list_page("getStopListResponse", first, last, found.total, page, size)
    stops = xml.Builder(b.add("STOPLIST"), NS)
    for line in found.lines:
        r, card = line.stop, line.card
        period = next((p for p in card.insurance if p.smo_code == smo and p.dstop == r.stop_date), None)
        s = xml.Builder(stops.add("STOP"), NS)
        s.add("ID", r.id)
        s.add("REASON", r.reason)
        s.add("DSTOP", r.stop_date)
        s.add("ENP", r.enp)
        pol = xml.Builder(s.add("POLIS"), xml.COMMON_NS)
        pol.add("VPOLIS", period.vpolis if period else 3)
        pol.opt("SPOLIS", period.spolis if period else None)
        pol.add("NPOLIS", period.npolis if period else r.enp)
        pol.add("DBEG", period.dbeg if period else r.stop_date)
        pol.opt("DEND", period.dend if period else None)
        pol.add("DSTOP", r.stop_date)
        xml.person(s.parent, NS, "PERSON", card.data, card.ddeath)
        for d in sorted(card.documents, key=lambda d: not d.is_main):
            xml.document(s.parent, NS, d)
        s.add("RECORDED_AT", r.created_at.isoformat())
    return out


def get_corrections(req: Request) -> Any:
    first, last, page, size = _period_args(req)
    try:
        found = notices.corrections(
            req.hub.db.reading(), req.caller.participant.code, first, last, page=page, size=size
        )
    except notices.BadPeriod as exc:
        raise SoapFault(FaultCode.INVALID, str(exc), field="DATE_TO") from None
    req.disclose(line.card.person_id for line in found.lines)
    out, b = _list_page("getCorrectionsResponse", first, last, found.total, page, size)
    recs = xml.Builder(b.add("RECLIST"), NS)
    for line in found.lines:
        r, card = line.correction, line.card
        c = xml.Builder(recs.add("REC"), NS)
        c.add("ID", r.id)
        c.add("TIP_OP", r.tip_op)
        c.add("IS_ACTIVE", r.is_active)
        c.opt("ERR_CODE", r.err_code)
        c.opt("ERR_DESC", r.err_desc)
        c.add("ENP", card.enp)
        xml.person(c.parent, NS, "PERSON", card.data, card.ddeath)
        for d in sorted(card.documents, key=lambda d: not d.is_main):
            xml.document(c.parent, NS, d)
        period = card.open_period()
        if period is not None:
            xml.insurance(c.parent, NS, period)
        c.add("RECORDED_AT", r.created_at.isoformat())
    return out


def get_person_history(req: Request) -> Any:
    found = history.person_history(
        req.hub.db.reading(), xml.child_text(req.element, "ENP") or "", req.submitter
    )
    req.disclose([found.card.person_id] if found else [])
    out = xml.element(NS, "getPersonHistoryResponse")
    b = xml.Builder(out, NS)
    xml.result(b, 0 if found else 1, "Выполнено" if found else "ЗЛ не найдено")
    if found is None:
        return out
    b.add("ENP", found.card.enp)
    for v in found.versions:
        ver = xml.Builder(b.add("VERSION"), NS)
        ver.add("VERSION_NO", v.version_no)
        ver.add("OPERATION", v.operation)
        ver.add("SOURCE_KIND", v.source_kind)
        ver.opt("SOURCE_CODE", v.source_code)
        ver.add("VALID_FROM", v.valid_from)
        ver.add("RECORDED_AT", v.recorded_at.isoformat())
        for ch in v.changes:
            c = xml.Builder(ver.add("CHANGE"), NS)
            c.add("ASPECT", _ASPECT.get(ch.aspect, ch.aspect))
            c.add("ADDED", len(ch.added))
            c.add("SUPERSEDED", len(ch.superseded))
            for name in ch.changed_fields:
                c.add("FIELD", xml.element_name(ch.aspect, name))
    return out


SERVICE = Service(
    "register",
    NS,
    {
        "submitOperations": Operation(submit_operations, SMO, write=True, records="OP"),
        "getProtocol": Operation(get_protocol, SMO),
        "getStopList": Operation(get_stop_list, SMO),
        "getCorrections": Operation(get_corrections, SMO),
        "getPersonHistory": Operation(get_person_history, SMO | {"tfoms"}),
    },
)
