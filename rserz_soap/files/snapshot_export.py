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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import islice
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


def _head(fmt: str, header: SnapshotHeader) -> bytes:
    if fmt == "csv":
        buf = io.StringIO()
        buf.write("\ufeff")
        csv.writer(buf, delimiter=";", lineterminator="\r\n").writerow(CSV_HEADER)
        return buf.getvalue().encode("utf-8")
    name = file_name(header.okato, header.day, "xml").removesuffix(".xml")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ZL_LIST>\n'
        f"<ZGLV><VERSION>{XML_VERSION}</VERSION>{_e('DATA', header.day)}{_e('FILENAME', name)}"
        f"{_e('TF_OKATO', header.okato)}<NRECORDS>{header.persons}</NRECORDS>"
        f"{_e('SNAPSHOT_SHA256', header.checksum)}</ZGLV>\n"
    ).encode()


def _part(fmt: str, rows: Sequence[InsuredRow], first: int) -> bytes:
    """The lines of ``rows`` (``first`` is the number of the first, for ``N_ZAP``)."""
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(csv_row(r) for r in rows)
        return buf.getvalue().encode("utf-8")
    return "".join(_zap(n, r) for n, r in enumerate(rows, first)).encode()


_TAIL = {"xml": b"</ZL_LIST>\n", "csv": b""}


def parts(
    formats: Sequence[str], header: SnapshotHeader, rows: Iterable[InsuredRow]
) -> Iterator[dict[str, bytes]]:
    """The bytes of several formats from one pass over ``rows``: a dict (format → bytes) per chunk."""
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    yield {fmt: _head(fmt, header) for fmt in formats}
    it = iter(rows)
    first = 1
    while batch := list(islice(it, CHUNK_ROWS)):
        yield {fmt: _part(fmt, batch, first) for fmt in formats}
        first += len(batch)
    yield {fmt: _TAIL[fmt] for fmt in formats}


def chunks(fmt: str, header: SnapshotHeader, rows: Iterable[InsuredRow]) -> Iterator[bytes]:
    """One format's bytes, chunk by chunk (the console's download)."""
    for part in parts((fmt,), header, rows):
        yield part[fmt]
