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
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import islice
from xml.sax.saxutils import escape

from rserz_soap.domain.snapshot import ExportRow

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


#: a value holding any of these needs XML escaping or CSV quoting (rare: the slow path of a row)
_SPECIAL = re.compile('[&<>;"\r\n]')
_SEP = "\0"  # joins a row's values for one probe: PostgreSQL text never holds NUL


def _x(text: str) -> str:
    return escape(text) if "&" in text or "<" in text or ">" in text else text


def _zap(n: int, r: ExportRow, plain: bool) -> str:
    enp, fam, im, ot, dr, w, smo, vpolis, spolis, npolis, dbeg, dend, mo = r
    if not plain:
        enp, fam, im, ot, smo, spolis, npolis, mo = map(_x, (enp, fam, im, ot, smo, spolis, npolis, mo))
    return (
        f"<ZAP><N_ZAP>{n}</N_ZAP><ENP>{enp}</ENP><PERSON><FAM>{fam}</FAM><IM>{im}</IM>"
        f"{f'<OT>{ot}</OT>' if ot else ''}<W>{w}</W><DR>{dr}</DR></PERSON><INSURANCE><SMO>{smo}</SMO><POLIS>"
        f"<VPOLIS>{vpolis}</VPOLIS>{f'<SPOLIS>{spolis}</SPOLIS>' if spolis else ''}<NPOLIS>{npolis}</NPOLIS>"
        f"<DBEG>{dbeg}</DBEG>{f'<DEND>{dend}</DEND>' if dend else ''}</POLIS></INSURANCE>"
        f"{'<MO>' + mo.replace(' ', '</MO><MO>') + '</MO>' if mo else ''}</ZAP>\n"
    )


def _csv_line(r: ExportRow, joined: str, plain: bool) -> str:
    if plain:
        return joined.replace(_SEP, ";") + "\r\n"
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerow(r)
    return buf.getvalue()


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


def _lines(formats: Sequence[str], rows: Sequence[ExportRow], first: int) -> dict[str, bytes]:
    """The lines of ``rows`` in each of ``formats`` (``first`` is the number of the first, for ``N_ZAP``).

    One probe per row decides whether any value needs escaping or quoting; most rows need none and are
    written straight from their text."""
    xml = "xml" in formats
    csv_ = "csv" in formats
    xml_out: list[str] = []
    csv_out: list[str] = []
    for n, r in enumerate(rows, first):
        joined = _SEP.join(r)
        plain = _SPECIAL.search(joined) is None
        if xml:
            xml_out.append(_zap(n, r, plain))
        if csv_:
            csv_out.append(_csv_line(r, joined, plain))
    out = {}
    if xml:
        out["xml"] = "".join(xml_out).encode()
    if csv_:
        out["csv"] = "".join(csv_out).encode()
    return out


_TAIL = {"xml": b"</ZL_LIST>\n", "csv": b""}


def parts(
    formats: Sequence[str], header: SnapshotHeader, rows: Iterable[ExportRow]
) -> Iterator[dict[str, bytes]]:
    """The bytes of several formats from one pass over ``rows``: a dict (format → bytes) per chunk."""
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    yield {fmt: _head(fmt, header) for fmt in formats}
    it = iter(rows)
    first = 1
    while batch := list(islice(it, CHUNK_ROWS)):
        yield _lines(formats, batch, first)
        first += len(batch)
    yield {fmt: _TAIL[fmt] for fmt in formats}


def chunks(fmt: str, header: SnapshotHeader, rows: Iterable[ExportRow]) -> Iterator[bytes]:
    """One format's bytes, chunk by chunk (the console's download)."""
    for part in parts((fmt,), header, rows):
        yield part[fmt]
