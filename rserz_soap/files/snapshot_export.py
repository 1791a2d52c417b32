"""A published snapshot as files: the FFOMS-style XML list of the insured and the attachment-list CSV.

Both are written row by row from an iterator (a million persons never sit in memory) and depend only on
the published snapshot — no clock, no locale, no dictionary order — so a rebuilt export is byte-identical
and its sha256 in the manifest proves it. Layouts and their public sources: ``docs/exports.md``.

XML (UTF-8): ``ZL_LIST`` with a ``ZGLV`` header (``VERSION``, ``DATA`` — the snapshot's date, ``FILENAME``,
``TF_OKATO``, ``NRECORDS``, ``SNAPSHOT_SHA256``) and one ``ZAP`` per insured person in ЕНП order:
``N_ZAP``, ``ENP``, ``PERSON{FAM, IM, OT?, W, DR}``, ``INSURANCE{SMO, POLIS{VPOLIS, SPOLIS?, NPOLIS, DBEG,
DEND?}}``, ``MO``* (the МО the person is attached to on the date).

CSV: UTF-8 with a BOM, ``;``-separated, CRLF (what a spreadsheet in a Russian locale opens as is), a header
row ``ENP;FAM;IM;OT;DR;W;SMO;VPOLIS;SPOLIS;NPOLIS;DBEG;DEND;MO`` and one row per person in ЕНП order;
``MO`` lists the attached МО codes separated by spaces, empty fields for absent values, dates as ГГГГ-ММ-ДД.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from rserz_soap.domain.snapshot import InsuredRow

FORMATS = ("xml", "csv")
XML_VERSION = "1.0"
CSV_HEADER = ("ENP", "FAM", "IM", "OT", "DR", "W", "SMO", "VPOLIS", "SPOLIS", "NPOLIS", "DBEG", "DEND", "MO")
#: rows per yielded chunk (about 0.5 MB of XML)
CHUNK_ROWS = 2000


@dataclass(frozen=True)
class SnapshotHeader:
    day: date
    persons: int
    checksum: str
    okato: str


def file_name(okato: str, day: date, fmt: str) -> str:
    """``SNAP_T<okato>_<YYYYMMDD>.<fmt>``: the fund's files name their kind, sender and date."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    return f"SNAP_T{okato}_{day:%Y%m%d}.{fmt}"


def csv_row(r: InsuredRow) -> tuple[str, ...]:
    return (
        r.enp, r.fam, r.im, r.ot or "", r.dr.isoformat(), str(r.w), r.smo_code, str(r.vpolis), r.spolis or "",
        r.npolis, r.dbeg.isoformat(), r.dend.isoformat() if r.dend else "", " ".join(r.mo_codes),
    )  # fmt: skip


def csv_chunks(rows: Iterable[InsuredRow]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    buf.write("\ufeff")
    writer.writerow(CSV_HEADER)
    for n, r in enumerate(rows, 1):
        writer.writerow(csv_row(r))
        if n % CHUNK_ROWS == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


def _x(text: str) -> str:
    """XML text content: most values hold no markup characters, and skip the three replacements."""
    if "&" in text or "<" in text or ">" in text:
        return escape(text)
    return text


def _zap(n: int, r: InsuredRow) -> str:
    ot = f"<OT>{_x(r.ot)}</OT>" if r.ot else ""
    spolis = f"<SPOLIS>{_x(r.spolis)}</SPOLIS>" if r.spolis else ""
    dend = f"<DEND>{r.dend.isoformat()}</DEND>" if r.dend else ""
    mo = "".join(f"<MO>{_x(m)}</MO>" for m in r.mo_codes)
    return (
        f"<ZAP><N_ZAP>{n}</N_ZAP><ENP>{_x(r.enp)}</ENP><PERSON><FAM>{_x(r.fam)}</FAM><IM>{_x(r.im)}</IM>{ot}"
        f"<W>{r.w}</W><DR>{r.dr.isoformat()}</DR></PERSON><INSURANCE><SMO>{_x(r.smo_code)}</SMO><POLIS>"
        f"<VPOLIS>{r.vpolis}</VPOLIS>{spolis}<NPOLIS>{_x(r.npolis)}</NPOLIS><DBEG>{r.dbeg.isoformat()}</DBEG>"
        f"{dend}</POLIS></INSURANCE>{mo}</ZAP>\n"
    )


def _e(tag: str, value: str | int | date | None) -> str:
    if value is None or value == "":
        return ""
    text = value.isoformat() if isinstance(value, date) else str(value)
    return f"<{tag}>{_x(text)}</{tag}>"


def xml_chunks(header: SnapshotHeader, rows: Iterable[InsuredRow]) -> Iterator[bytes]:
    name = file_name(header.okato, header.day, "xml").removesuffix(".xml")
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ZL_LIST>\n'
        f"<ZGLV><VERSION>{XML_VERSION}</VERSION>{_e('DATA', header.day)}{_e('FILENAME', name)}"
        f"{_e('TF_OKATO', header.okato)}<NRECORDS>{header.persons}</NRECORDS>"
        f"{_e('SNAPSHOT_SHA256', header.checksum)}</ZGLV>\n"
    ).encode()
    part: list[str] = []
    for n, r in enumerate(rows, 1):
        part.append(_zap(n, r))
        if len(part) >= CHUNK_ROWS:
            yield "".join(part).encode()
            part.clear()
    part.append("</ZL_LIST>\n")
    yield "".join(part).encode()


def chunks(fmt: str, header: SnapshotHeader, rows: Iterable[InsuredRow]) -> Iterator[bytes]:
    if fmt == "xml":
        return xml_chunks(header, rows)
    if fmt == "csv":
        return csv_chunks(rows)
    raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
