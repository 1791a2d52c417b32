"""The daily package of an СМО: REPLIST (protocols of the records it sent that day), STOPLIST (its insurance
periods the register stopped that day) and RECLIST (corrections made by the ТФОМС that day) as XML files in
one ZIP, in UTF-8 or windows-1251 as the СМО is set up.

The layouts follow the file-era structures RusBITech's rt.srz publishes as XSD (``rt.srz.model.HL7/smo/xsd/
REPLIST.xsd``, ``REP.xsd``, ``STOPLIST.xsd``, ``RECLIST.xsd``, ``REC.xsd``): header ``VERS``, ``FILENAME``,
``SMOCOD``, ``NRECORDS`` (REPLIST also ``NERR``; RECLIST ``START_DATE``/``END_DATE``), then one ``REP`` /
``STOP`` / ``REC`` per record. Names and the differences from rt.srz: ``docs/exports.md``.

The bytes depend only on the data: entries in a fixed order, the ZIP's timestamps set to the day, no
creation time anywhere — a package written again for the same day is byte-identical.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.domain.buffer import BatchProtocol
from rserz_soap.domain.codec import decode
from rserz_soap.domain.person import Document, InsurancePeriod, PersonCard, PersonData

VERSION = "2.1"
KINDS = ("REPLIST", "STOPLIST", "RECLIST")
#: encodings of the files written for an СМО (the software of the file era reads windows-1251)
ENCODINGS = ("utf-8", "windows-1251")


@dataclass(frozen=True)
class StopItem:
    id: int
    reason: int
    stop_date: date
    enp: str
    recorded_at: datetime
    card: PersonCard
    smo: str


@dataclass(frozen=True)
class CorrectionItem:
    id: int
    tip_op: str
    is_active: int
    err_code: str | None
    err_desc: str | None
    recorded_at: datetime
    card: PersonCard


def base_name(kind: str, okato: str, smo: str, day: date) -> str:
    """``<KIND>_T<okato>_S<smo>_<YYYYMMDD>``: kind, sender (the fund), receiver (the СМО), day."""
    return f"{kind}_T{okato}_S{smo}_{day:%Y%m%d}"


def package_name(okato: str, smo: str, day: date) -> str:
    return f"T{okato}_S{smo}_{day:%Y%m%d}.zip"


class _B:
    def __init__(self, parent: Any) -> None:
        self.parent = parent

    def add(self, tag: str, value: object = None) -> Any:
        el = etree.SubElement(self.parent, tag)
        if value is not None:
            el.text = _text(value)
        return el

    def opt(self, tag: str, value: object) -> None:
        if value is not None and value != "":
            self.add(tag, value)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _person(parent: Any, name: str, p: PersonData, ddeath: date | None) -> None:
    b = _B(etree.SubElement(parent, name))
    b.opt("FAM", p.fam)
    b.opt("IM", p.im)
    b.opt("OT", p.ot)
    b.add("W", p.w)
    b.add("DR", p.dr)
    b.opt("MR", p.mr)
    for dost in (p.dost or "").split():
        b.add("DOST", dost)
    b.opt("BIRTH_OKSM", p.birth_oksm)
    b.opt("C_OKSM", p.c_oksm)
    b.opt("SS", p.ss)
    b.add("KATEG", p.kateg)
    b.opt("DDEATH", ddeath)


def _doc(parent: Any, d: Document) -> None:
    b = _B(etree.SubElement(parent, "DOC"))
    b.add("DOCTYPE", d.doctype)
    b.opt("DOCSER", d.docser)
    b.add("DOCNUM", d.docnum)
    b.opt("DOCDATE", d.docdate)
    b.opt("DOCEXP", d.docexp)
    b.opt("NAME_VP", d.name_vp)


def _polis(parent: Any, i: InsurancePeriod) -> None:
    b = _B(etree.SubElement(parent, "POLIS"))
    b.add("VPOLIS", i.vpolis)
    b.opt("SPOLIS", i.spolis)
    b.add("NPOLIS", i.npolis)
    b.add("DBEG", i.dbeg)
    b.opt("DEND", i.dend)
    b.opt("DSTOP", i.dstop)


def _insurance(parent: Any, i: InsurancePeriod) -> None:
    el = etree.SubElement(parent, "INSURANCE")
    b = _B(el)
    b.add("TER_ST", i.ter_st)
    b.add("ENP", i.enp)
    b.opt("OGRNSMO", i.ogrnsmo)
    _polis(el, i)
    b.add("ERP", 1)


def _docs(parent: Any, card: PersonCard) -> None:
    for d in sorted(card.documents, key=lambda d: (not d.is_main, d.key)):
        _doc(parent, d)


def _header(root: Any, name: str, smo: str, n: int) -> _B:
    b = _B(root)
    b.add("VERS", VERSION)
    b.add("FILENAME", name)
    b.add("SMOCOD", smo)
    b.add("NRECORDS", n)
    return b


def replist(name: str, smo: str, protocols: Iterable[BatchProtocol]) -> Any:
    found = list(protocols)
    lines = [(p, r) for p in found for r in p.lines]
    root = etree.Element("REPLIST")
    b = _header(root, name, smo, len(lines))
    b.add("NERR", sum(1 for _p, r in lines if r.errors and r.code_erp != "AA"))
    for p, r in lines:
        rep = _B(b.add("REP"))
        rep.add("N_REC", r.n_rec)
        rep.opt("ID", r.record_id)
        rep.add("CODE_ERP", r.code_erp or "")
        rep.opt("COMMENT", r.comment[:2000] if r.comment else None)
        rep.opt("ENP", r.enp)
        rep.opt("FNAME_I", p.file_name or p.request_id or p.batch_id)
        rep.add("STATE", r.state.value)
        for e in r.errors:
            rep.opt("OSHIB", e.get("code"))
        if r.insurance:
            _insurance(rep.parent, decode(InsurancePeriod, r.insurance))
    return root


def stoplist(name: str, smo: str, items: Iterable[StopItem]) -> Any:
    found = list(items)
    root = etree.Element("STOPLIST")
    b = _header(root, name, smo, len(found))
    for s in found:
        stop = _B(b.add("STOP"))
        stop.add("ID", s.id)
        stop.add("REASON", s.reason)
        stop.add("ENP", s.enp)
        period = next(
            (p for p in s.card.insurance if p.smo_code == s.smo and p.dstop == s.stop_date),
            None,
        )
        if period is not None:
            _polis(stop.parent, period)
        else:
            pol = _B(stop.add("POLIS"))
            pol.add("VPOLIS", 3)
            pol.add("NPOLIS", s.enp)
            pol.add("DSTOP", s.stop_date)
        stop.add("DSTOP", s.stop_date)
        _person(stop.parent, "PERSON", s.card.data, s.card.ddeath)
        _docs(stop.parent, s.card)
        stop.add("CHANGE_DATE", s.recorded_at)
    return root


def reclist(name: str, smo: str, day: date, items: Iterable[CorrectionItem]) -> Any:
    found = list(items)
    root = etree.Element("RECLIST")
    b = _B(root)
    b.add("VERS", VERSION)
    b.add("FILENAME", name)
    b.add("SMOCOD", smo)
    b.add("START_DATE", day)
    b.add("END_DATE", day)
    b.add("NRECORDS", len(found))
    for c in found:
        rec = _B(b.add("REC"))
        rec.add("ID", c.id)
        rec.add("TIP_OP", c.tip_op)
        rec.add("IS_ACTIVE", c.is_active)
        rec.add("CHANGE_DATE", c.recorded_at)
        rec.opt("ERR_CODE", c.err_code)
        rec.opt("ERR_DESC", c.err_desc)
        rec.opt("ENP", c.card.enp)
        _person(rec.parent, "PERSON", c.card.data, c.card.ddeath)
        _docs(rec.parent, c.card)
        period = c.card.open_period()
        if period is not None:
            _insurance(rec.parent, period)
    return root


def xml_bytes(root: Any, encoding: str) -> bytes:
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown file encoding {encoding!r}; one of {', '.join(ENCODINGS)}")
    declared = "UTF-8" if encoding == "utf-8" else encoding
    out: bytes = etree.tostring(root, encoding=declared, xml_declaration=True, pretty_print=True)
    return out


def package(files: dict[str, bytes], day: date) -> bytes:
    """A ZIP of ``files`` (name → bytes) in name order, every timestamp the day's midnight."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(day.year, day.month, day.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, files[name])
    return buf.getvalue()
