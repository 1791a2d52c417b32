"""Reading a военкомат list (XML, CSV or XLSX, ``docs/military.md``) and writing its protocol (CSV or XML).

Every form is untrusted: the XML goes through the hardened parser (no DTD, no entities, no network: a
DOCTYPE is refused whole); a CSV is UTF-8 (a BOM allowed) or windows-1251, ``;``-separated, and text with
control characters is refused as a wrong encoding; an XLSX is opened only after its ZIP directory was
checked (entries, uncompressed size, ratio — a zip bomb never inflates) and its XML parts were seen to carry
no DOCTYPE anywhere, then read by openpyxl (itself on defusedxml) in read-only mode with a row limit. A file that fails raises
:class:`~rserz_soap.domain.military.MilitaryFileError` with its code; a row that fails becomes a row error.

The protocol CSV never starts a cell with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (a
spreadsheet would run it as a formula, OWASP "CSV injection"): such a cell gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.domain.military import (
    FILE_ENCODING,
    FILE_HEADER,
    FILE_HOSTILE,
    FILE_TOO_LARGE,
    FILE_UNREADABLE,
    ImportProtocol,
    MilitaryFileError,
    MilitaryList,
    check_rows,
    header_of,
)
from rserz_soap.files.xmlfile import XmlFileError, parse_untrusted

#: the row's columns (CSV header, XLSX first row, XML elements of ``ROW``)
ROW_COLUMNS: Final = (
    "KIND", "FAM", "IM", "OT", "DR", "DOCTYPE", "DOCSER", "DOCNUM", "SNILS", "DSTART", "DEND",
)  # fmt: skip
#: the list's header: elements of ``HEADER`` in the XML, columns repeated on every row of a CSV or XLSX
HEADER_COLUMNS: Final = ("VK_CODE", "VK_NAME", "LIST_NUM", "LIST_DATE")
REQUIRED: Final = ("KIND", "FAM", "IM", "DR", "DOCTYPE", "DOCNUM", "VK_CODE", "LIST_NUM", "LIST_DATE")
XML_ROOT: Final = "MILITARY_LIST"


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20 * 1024 * 1024  # the file as sent
    max_rows: int = 50_000  # a region's spring call-up is a few thousand
    max_unzipped: int = 100 * 1024 * 1024  # an XLSX's parts, inflated, all together
    max_ratio: int = 200  # inflated / compressed, per part: a zip bomb is thousands
    max_zip_entries: int = 64
    max_columns: int = 32


def read_list(raw: bytes, name: str, *, today: date, limits: Limits | None = None) -> MilitaryList:
    """The list in ``raw`` (its form from its first bytes, not its name), rows checked."""
    limits = limits or Limits()
    if len(raw) > limits.max_bytes:
        raise MilitaryFileError(FILE_TOO_LARGE, f"{name}: {len(raw)} байт, допустимо {limits.max_bytes}")
    if raw.startswith(b"PK\x03\x04"):
        header, rows = _xlsx(raw, name, limits)
        form = "xlsx"
    elif raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        header, rows = _xml(raw, name, limits)
        form = "xml"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise MilitaryFileError(FILE_ENCODING, f"{name}: UTF-16")
    else:
        header, rows = _csv(raw, name, limits)
        form = "csv"
    return check_rows(header, rows, today=today, source_format=form)


# -- XML ----------------------------------------------------------------------------------------------------


class _XmlError(XmlFileError):
    pass


def _xml(raw: bytes, name: str, limits: Limits) -> tuple[Any, list[dict[str, Any]]]:
    try:
        root = parse_untrusted(raw, name, _XmlError)
    except _XmlError as exc:
        text = str(exc)
        if "DOCTYPE" in text or "ntity" in text:
            raise MilitaryFileError(FILE_HOSTILE, text) from None
        if "encoding" in text.lower() or "utf-8" in text.lower() or "Char 0x" in text:
            raise MilitaryFileError(FILE_ENCODING, text) from None
        raise MilitaryFileError(FILE_HOSTILE, text) from None
    if etree.QName(root).localname != XML_ROOT:
        raise MilitaryFileError(FILE_UNREADABLE, f"{name}: корневой элемент не <{XML_ROOT}>")
    head = root.find("HEADER")
    if head is None:
        raise MilitaryFileError(FILE_HEADER, f"{name}: нет <HEADER>")
    header = header_of({c: head.findtext(c) for c in HEADER_COLUMNS})
    rows: list[dict[str, Any]] = []
    for el in root.iterfind("ROW"):
        if len(rows) >= limits.max_rows:
            raise MilitaryFileError(FILE_TOO_LARGE, f"{name}: более {limits.max_rows} строк")
        rows.append({c: el.findtext(c) for c in ROW_COLUMNS})
    return header, rows


# -- CSV ----------------------------------------------------------------------------------------------------

_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def decode_text(raw: bytes, name: str) -> str:
    """UTF-8 (a BOM dropped), else windows-1251; MIL-003 when neither gives clean text."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1251")
        except UnicodeDecodeError as exc:
            raise MilitaryFileError(FILE_ENCODING, f"{name}: байт {exc.start}") from None
    bad = _CONTROL.search(text)
    if bad:
        raise MilitaryFileError(FILE_ENCODING, f"{name}: управляющий символ в позиции {bad.start()}")
    return text


def _csv(raw: bytes, name: str, limits: Limits) -> tuple[Any, list[dict[str, Any]]]:
    text = decode_text(raw, name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"', strict=True)
    try:
        first = next(reader, None)
        if first is None:
            raise MilitaryFileError(FILE_UNREADABLE, f"{name}: пустой файл")
        columns = _columns(first, name, limits)
        rows: list[dict[str, Any]] = []
        for line in reader:
            if not any(cell.strip() for cell in line):
                continue
            if len(rows) >= limits.max_rows:
                raise MilitaryFileError(FILE_TOO_LARGE, f"{name}: более {limits.max_rows} строк")
            rows.append({c: (line[i] if i < len(line) else "") for c, i in columns.items()})
    except csv.Error as exc:
        raise MilitaryFileError(FILE_UNREADABLE, f"{name}, строка {reader.line_num}: {exc}") from None
    return _flat(rows, name)


def _columns(first: list[Any], name: str, limits: Limits) -> dict[str, int]:
    if len(first) > limits.max_columns:
        raise MilitaryFileError(FILE_UNREADABLE, f"{name}: {len(first)} столбцов")
    names = [str(c or "").strip().upper() for c in first]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise MilitaryFileError(FILE_UNREADABLE, f"{name}: нет столбцов {', '.join(missing)}")
    return {c: names.index(c) for c in (*ROW_COLUMNS, *HEADER_COLUMNS) if c in names}


def _flat(rows: list[dict[str, Any]], name: str) -> tuple[Any, list[dict[str, Any]]]:
    """A flat form repeats the list's header on every row: it must be the same on all of them."""
    if not rows:
        raise MilitaryFileError(FILE_UNREADABLE, f"{name}: нет строк")
    headers = {header_of({c: r.get(c) for c in HEADER_COLUMNS}) for r in rows}
    if len(headers) != 1:
        raise MilitaryFileError(FILE_HEADER, f"{name}: в строках разные списки")
    return headers.pop(), rows


# -- XLSX ---------------------------------------------------------------------------------------------------


def _xlsx(raw: bytes, name: str, limits: Limits) -> tuple[Any, list[dict[str, Any]]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise MilitaryFileError(FILE_HOSTILE, f"{name}: повреждённый ZIP ({exc})") from None
    if len(infos) > limits.max_zip_entries:
        raise MilitaryFileError(FILE_TOO_LARGE, f"{name}: {len(infos)} частей в архиве")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > limits.max_ratio * max(info.compress_size, 1) and info.file_size > 1_000_000:
            raise MilitaryFileError(
                FILE_TOO_LARGE,
                f"{name}: {info.filename} сжат в {info.file_size // max(info.compress_size, 1)} раз",
            )
        if info.filename.lower().endswith("vbaproject.bin"):
            raise MilitaryFileError(FILE_HOSTILE, f"{name}: книга с макросами")
    if total > limits.max_unzipped:
        raise MilitaryFileError(FILE_TOO_LARGE, f"{name}: {total} байт после распаковки")
    for info in infos:
        if info.filename.lower().endswith((".xml", ".rels", ".vml")) and _declares_dtd(archive, info):
            raise MilitaryFileError(FILE_HOSTILE, f"{name}: DOCTYPE в {info.filename}")
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # noqa: BLE001  (openpyxl raises many kinds for a broken workbook)
        raise MilitaryFileError(FILE_UNREADABLE, f"{name}: не книга XLSX ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        lines = sheet.iter_rows(values_only=True, max_col=limits.max_columns)
        first = next(lines, None)
        if first is None:
            raise MilitaryFileError(FILE_UNREADABLE, f"{name}: пустой лист")
        columns = _columns(list(first), name, limits)
        rows: list[dict[str, Any]] = []
        for seen, line in enumerate(lines, start=1):
            if seen > limits.max_rows:  # blank rows count too: a sheet padded to a million rows is refused
                raise MilitaryFileError(FILE_TOO_LARGE, f"{name}: более {limits.max_rows} строк на листе")
            if not any(v not in (None, "") for v in line):
                continue
            rows.append({c: _cell(line[i] if i < len(line) else None) for c, i in columns.items()})
    finally:
        book.close()
    return _flat(rows, name)


def _declares_dtd(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """A DOCTYPE or an entity declaration anywhere in the part (comments may push it far from the start;
    inside a cell it would be escaped, so a match is never text). Read in chunks, inflated once."""
    tail = b""
    with archive.open(info) as part:
        while chunk := part.read(1 << 20):
            window = (tail + chunk).upper()
            if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                return True
            tail = window[-16:]
    return False


def _cell(value: Any) -> str | date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if _CONTROL.search(text):
        raise MilitaryFileError(FILE_ENCODING, "управляющий символ в ячейке")
    return text


# -- the protocol -------------------------------------------------------------------------------------------

PROTOCOL_COLUMNS: Final = ("N", "STATUS", "CODE", "MESSAGE", "KIND", "ENP", "BUFFER_ENTRY")
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: never a formula, never a control character."""
    text = "" if value is None else _CONTROL.sub("?", str(value)).replace("\n", " ")
    return "'" + text if text.startswith(_FORMULA_START) else text


def protocol_csv(protocol: ImportProtocol, *, encoding: str = "utf-8") -> bytes:
    out = io.StringIO(newline="")
    w = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    w.writerow(["VK_CODE", "LIST_NUM", "LIST_DATE", "REPEAT"])
    w.writerow(
        [safe_cell(protocol.commissariat), safe_cell(protocol.number), protocol.list_date.isoformat(),
         "1" if protocol.repeat else "0"]
    )  # fmt: skip
    w.writerow(PROTOCOL_COLUMNS)
    for line in protocol.lines:
        w.writerow(
            [line.n, line.status, line.code, safe_cell(line.message), line.kind or "", line.enp or "",
             line.buffer_entry or ""]
        )  # fmt: skip
    return out.getvalue().encode(encoding, errors="replace")


def protocol_xml(protocol: ImportProtocol) -> bytes:
    root = etree.Element("MILITARY_PROTOCOL")
    head = etree.SubElement(root, "HEADER")
    for tag, text in (
        ("VK_CODE", protocol.commissariat),
        ("LIST_NUM", protocol.number),
        ("LIST_DATE", protocol.list_date.isoformat()),
        ("REPEAT", "1" if protocol.repeat else "0"),
    ):
        etree.SubElement(head, tag).text = text
    for line in protocol.lines:
        row = etree.SubElement(root, "ROW", N=str(line.n))
        fields: tuple[tuple[str, str | None], ...] = (
            ("STATUS", line.status),
            ("CODE", line.code),
            ("MESSAGE", _CONTROL.sub("?", line.message)),
            ("KIND", line.kind),
            ("ENP", line.enp),
            ("BUFFER_ENTRY", str(line.buffer_entry) if line.buffer_entry else None),
        )
        for tag, value in fields:
            if value:
                etree.SubElement(row, tag).text = value
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def protocol_name(protocol: ImportProtocol, fmt: str) -> str:
    """``MILP_<военкомат>_<number>_<date>.<fmt>``, safe as a file name."""
    stem = re.sub(r"[^0-9A-Za-zА-Яа-яЁё_\-]", "_", f"{protocol.commissariat}_{protocol.number}")
    return f"MILP_{stem}_{protocol.list_date:%Y%m%d}.{fmt}"
