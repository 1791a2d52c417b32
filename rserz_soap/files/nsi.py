"""НСИ directory files in the FFOMS format (F002, F003, F008, F010, F011, F012, V005, O001, R001).

Directory files come from outside (ФФОМС, the fund's НСИ portal, an operator's upload), so they are parsed
with a hardened lxml parser: no DTD, no entities, no network, lxml's default size limits, and a file that
carries a DOCTYPE at all is refused rather than parsed "safely". Every record's validity comes from its
``DATEBEG``/``DATEEND`` — checks must use the version of a record valid on the event date, so a record
without ``DATEBEG`` is an error, never "valid forever".

Layout accepted::

    <packet>
      <zglv><type>F002</type><version>2025.1</version><date>01.01.2025</date></zglv>   (optional)
      <insCompany>…</insCompany> | <medCompany>…</medCompany> | <zap>…</zap>          (one or more)
    </packet>

Nested record elements (F002/F003 ``jurAddress``…) are flattened into ``parent.child`` keys so that a record
is one flat ``dict[str, str]``; a repeated key gets ``[2]``, ``[3]``… so nothing is silently lost.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped, unused-ignore]  # lxml ships no stubs

from rserz_soap.files.xmlfile import XmlFileError, parse_untrusted

#: The field that holds a record's code, per directory. A directory missing here is unknown and refused.
KEY_FIELDS: Final[dict[str, str]] = {
    "F002": "smocod",  # СМО
    "F003": "mcod",  # МО
    "F008": "IDDOC",  # policy types
    "F010": "KOD_TF",  # subjects of the RF
    "F011": "IDDoc",  # identity document types, with series/number masks
    "F012": "Kod",  # format (ФЛК) error codes
    "V005": "IDPOL",  # sex
    "O001": "KOD",  # countries (ОКСМ)
    "R001": "TIP_OP",  # operations on the register
}

ROOT_TAG: Final = "packet"
HEADER_TAG: Final = "zglv"
#: Record elements: ``zap`` in most directories, ``insCompany`` in F002, ``medCompany`` in F003.
RECORD_TAGS: Final[frozenset[str]] = frozenset({"zap", "insCompany", "medCompany"})
DATE_BEG_FIELD: Final = "DATEBEG"
DATE_END_FIELD: Final = "DATEEND"
DATE_FORMATS: Final[tuple[str, ...]] = ("%d.%m.%Y", "%Y-%m-%d")

#: Security limit: the real F003 of a large region is a few MB; anything near this is not a directory.
MAX_FILE_BYTES: Final = 64 * 1024 * 1024

_DIRECTORY_IN_NAME = re.compile(r"^([A-Za-z]\d{3})(?![0-9])")


class NsiFormatError(XmlFileError):
    """A directory file that cannot be trusted as a whole; the message names the file, element and line."""


@dataclass(frozen=True)
class NsiRecord:
    """One version of one directory entry: the code, its validity and its fields (without DATEBEG/DATEEND)."""

    directory: str
    code: str
    date_beg: date
    date_end: date | None
    data: dict[str, str]

    def valid_on(self, on: date) -> bool:
        return self.date_beg <= on and (self.date_end is None or on <= self.date_end)


@dataclass(frozen=True)
class NsiFile:
    """A parsed directory file; ``sha256`` of its bytes is what makes re-importing the same file a no-op."""

    directory: str
    version: str | None
    records: list[NsiRecord]
    sha256: str
    file_name: str


def parse_nsi_file(path: Path, directory: str | None = None) -> NsiFile:
    """Parse a directory file; ``directory`` defaults to the header's ``type``, then to the file name."""
    path = Path(path)
    name = path.name
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        raise NsiFormatError(f"file is larger than {MAX_FILE_BYTES} bytes", file=name)
    root = _parse_xml(raw, name)
    if _tag(root) != ROOT_TAG:
        raise NsiFormatError(
            f"root element must be <{ROOT_TAG}>", file=name, element=_tag(root), line=root.sourceline
        )

    header: Any = None
    record_elements: list[Any] = []
    for child in root.iterchildren(tag=etree.Element):
        tag = _tag(child)
        if tag == HEADER_TAG:
            if header is not None:
                raise NsiFormatError("more than one header", file=name, element=tag, line=child.sourceline)
            header = child
        elif tag in RECORD_TAGS:
            record_elements.append(child)
        else:
            raise NsiFormatError("unexpected element", file=name, element=tag, line=child.sourceline)

    header_fields = _flatten(header) if header is not None else {}
    resolved = _resolve_directory(directory, header_fields.get("type") or None, path, name)
    version = header_fields.get("version") or None
    if not record_elements:
        raise NsiFormatError("no records", file=name, element=ROOT_TAG, line=root.sourceline)

    key_field = KEY_FIELDS[resolved]
    records: list[NsiRecord] = []
    lines: list[int | None] = []
    for element in record_elements:
        records.append(_record(element, resolved, key_field, name))
        lines.append(element.sourceline)
    _check_no_overlaps(records, lines, name)
    return NsiFile(
        directory=resolved,
        version=version,
        records=records,
        sha256=hashlib.sha256(raw).hexdigest(),
        file_name=name,
    )


def bundled_files() -> list[Path]:
    """The demo directories shipped with the package (synthetic region 45), sorted by file name."""
    folder = resources.files("rserz_soap") / "data" / "nsi"
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.lower().endswith(".xml"))


def parse_date(value: str) -> date:
    """A directory date: ``dd.mm.yyyy`` as FFOMS writes it, or ISO ``yyyy-mm-dd``."""
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date (dd.mm.yyyy or yyyy-mm-dd): {value!r}")


def _parse_xml(raw: bytes, name: str) -> Any:
    return parse_untrusted(raw, name, NsiFormatError)


def _tag(element: Any) -> str:
    return str(etree.QName(element).localname)


def _flatten(element: Any) -> dict[str, str]:
    """Child elements as ``{name: text}``, nested ones as ``parent.child``; repeats numbered ``[2]``…"""
    data: dict[str, str] = {}

    def put(key: str, value: str) -> None:
        if key not in data:
            data[key] = value
            return
        n = 2
        while f"{key}[{n}]" in data:
            n += 1
        data[f"{key}[{n}]"] = value

    def walk(parent: Any, prefix: str) -> None:
        for child in parent.iterchildren(tag=etree.Element):
            key = prefix + _tag(child)
            if len(child):
                walk(child, key + ".")
            else:
                put(key, (child.text or "").strip())

    walk(element, "")
    return data


def _record(element: Any, directory: str, key_field: str, file: str) -> NsiRecord:
    tag, line = _tag(element), element.sourceline
    data = _flatten(element)
    code = data.get(key_field, "")
    if not code:
        raise NsiFormatError(f"record has no code ({key_field})", file=file, element=tag, line=line)
    raw_beg = data.pop(DATE_BEG_FIELD, "")
    raw_end = data.pop(DATE_END_FIELD, "")
    if not raw_beg:
        raise NsiFormatError(f"record {code} has no {DATE_BEG_FIELD}", file=file, element=tag, line=line)
    try:
        date_beg = parse_date(raw_beg)
        date_end = parse_date(raw_end) if raw_end else None
    except ValueError as exc:
        raise NsiFormatError(f"record {code}: {exc}", file=file, element=tag, line=line) from None
    if date_end is not None and date_end < date_beg:
        raise NsiFormatError(
            f"record {code}: {DATE_END_FIELD} {date_end} is before {DATE_BEG_FIELD} {date_beg}",
            file=file,
            element=tag,
            line=line,
        )
    return NsiRecord(directory=directory, code=code, date_beg=date_beg, date_end=date_end, data=data)


def _resolve_directory(explicit: str | None, declared: str | None, path: Path, file: str) -> str:
    if explicit is not None and declared is not None and explicit.upper() != declared.upper():
        raise NsiFormatError(
            f"file declares directory {declared}, expected {explicit}", file=file, element="type"
        )
    chosen = explicit or declared
    if chosen is None:
        match = _DIRECTORY_IN_NAME.match(path.stem)
        chosen = match.group(1) if match else path.stem
    chosen = chosen.strip().upper()
    if chosen not in KEY_FIELDS:
        known = ", ".join(sorted(KEY_FIELDS))
        raise NsiFormatError(f"unknown directory {chosen!r} (known: {known})", file=file)
    return chosen


def _check_no_overlaps(records: list[NsiRecord], lines: list[int | None], file: str) -> None:
    """One code must have at most one record valid on any date, or "the record valid on D" is ambiguous."""
    by_code: dict[str, list[tuple[NsiRecord, int | None]]] = defaultdict(list)
    for record, line in zip(records, lines, strict=True):
        by_code[record.code].append((record, line))
    for code, versions in by_code.items():
        versions.sort(key=lambda item: item[0].date_beg)
        for (earlier, _), (later, line) in itertools.pairwise(versions):
            if earlier.date_end is None or earlier.date_end >= later.date_beg:
                raise NsiFormatError(
                    f"record {code} valid from {later.date_beg} overlaps its record valid from "
                    f"{earlier.date_beg}",
                    file=file,
                    line=line,
                )
