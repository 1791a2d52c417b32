"""The ФЛК error directory file (``data/flk/errors.xml``) and the bundled data file-only checks run on.

The directory is edited by operators and may come back from them by mail, so it is parsed like any file
from outside: the hardened parser of :mod:`rserz_soap.files.nsi` (no DTD, no entities, no network, a
DOCTYPE refused outright), a size limit, and strict structure — an unknown element is an error, because a
misspelt ``<SEVERITI>`` silently ignored would leave a check at the wrong severity.

Layout (the same ``packet``/``zglv``/``zap`` shape as the НСИ directories)::

    <packet>
      <zglv><type>FLK</type><version>2025.1</version><date>01.01.2025</date></zglv>
      <zap>
        <OSHIB>203</OSHIB> <KIND>logical</KIND> <SEVERITY>E</SEVERITY>
        <IM_POL>DOCSER</IM_POL> <BAS_EL>DOC</BAS_EL> <MESSAGE>Серия документа …</MESSAGE>
      </zap>
      …
    </packet>

The header date is required: the database loader compares it with a row's ``updated_at`` so that loading
an older file never overwrites a newer edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped, unused-ignore]  # lxml ships no stubs

from rserz_soap.domain.flk.directory import ErrorDirectory, ErrorEntry, Kind, Severity
from rserz_soap.domain.flk.reference import InMemoryReference
from rserz_soap.domain.person import PersonCard
from rserz_soap.files.nsi import bundled_files, parse_date, parse_nsi_file
from rserz_soap.files.xmlfile import XmlFileError, parse_untrusted

__all__ = [
    "DIRECTORY_TYPE",
    "MAX_FILE_BYTES",
    "FlkDirectoryFormatError",
    "bundled_directory",
    "bundled_directory_path",
    "bundled_reference",
    "parse_flk_directory",
    "parse_flk_directory_bytes",
]

DIRECTORY_TYPE: Final = "FLK"
ROOT_TAG: Final = "packet"
HEADER_TAG: Final = "zglv"
RECORD_TAG: Final = "zap"
#: Security limit: the real directory is a few dozen KB.
MAX_FILE_BYTES: Final = 4 * 1024 * 1024
MAX_CODE_LENGTH: Final = 8  # flk_error.code
MAX_ELEMENT_LENGTH: Final = 32  # flk_error.im_pol / bas_el
HEADER_FIELDS: Final = frozenset({"type", "version", "date"})
REQUIRED_FIELDS: Final = ("OSHIB", "KIND", "SEVERITY", "MESSAGE")
RECORD_FIELDS: Final = frozenset({*REQUIRED_FIELDS, "IM_POL", "BAS_EL"})


class FlkDirectoryFormatError(XmlFileError):
    """A directory file that cannot be used as a whole; the message names the file, element and line."""


def parse_flk_directory(path: Path) -> ErrorDirectory:
    path = Path(path)
    return parse_flk_directory_bytes(path.read_bytes(), path.name)


def parse_flk_directory_bytes(raw: bytes, name: str) -> ErrorDirectory:
    """Parse the directory from bytes (an upload in the console, a test) named ``name`` in errors."""
    if len(raw) > MAX_FILE_BYTES:
        raise FlkDirectoryFormatError(f"file is larger than {MAX_FILE_BYTES} bytes", file=name)
    root = parse_untrusted(raw, name, FlkDirectoryFormatError)
    if _tag(root) != ROOT_TAG:
        raise FlkDirectoryFormatError(
            f"root element must be <{ROOT_TAG}>", file=name, element=_tag(root), line=root.sourceline
        )
    header: dict[str, str] | None = None
    entries: list[ErrorEntry] = []
    lines: dict[str, int | None] = {}
    for child in root.iterchildren(tag=etree.Element):
        tag = _tag(child)
        if tag == HEADER_TAG and header is None and not entries:
            header = _fields(child, HEADER_FIELDS, name)
        elif tag == RECORD_TAG:
            entry = _entry(child, name)
            if entry.code in lines:
                raise FlkDirectoryFormatError(
                    f"code {entry.code} repeats the entry at line {lines[entry.code]}",
                    file=name,
                    element=tag,
                    line=child.sourceline,
                )
            lines[entry.code] = child.sourceline
            entries.append(entry)
        else:
            raise FlkDirectoryFormatError("unexpected element", file=name, element=tag, line=child.sourceline)
    if header is None:
        raise FlkDirectoryFormatError(f"no <{HEADER_TAG}> header", file=name, element=ROOT_TAG)
    declared = header.get("type", "")
    if declared.upper() != DIRECTORY_TYPE:
        raise FlkDirectoryFormatError(
            f"header type must be {DIRECTORY_TYPE}, got {declared!r}", file=name, element="type"
        )
    raw_date = header.get("date", "")
    if not raw_date:
        raise FlkDirectoryFormatError("header has no date", file=name, element="date")
    try:
        issued = parse_date(raw_date)
    except ValueError as exc:
        raise FlkDirectoryFormatError(str(exc), file=name, element="date") from None
    if not entries:
        raise FlkDirectoryFormatError("no entries", file=name, element=ROOT_TAG)
    return ErrorDirectory(entries, version=header.get("version") or None, issued=issued)


def bundled_directory_path() -> Path:
    return Path(str(resources.files("rserz_soap") / "data" / "flk" / "errors.xml"))


def bundled_directory() -> ErrorDirectory:
    """The directory shipped with the package: the default until an operator loads another."""
    return parse_flk_directory(bundled_directory_path())


def bundled_reference(region_okato: str, people: Iterable[PersonCard] = ()) -> InMemoryReference:
    """An :class:`InMemoryReference` over the bundled НСИ files, for file-only checks and tests.

    It lives here, not in the domain, because it reads files; ``people`` are the registered persons whose
    СНИЛС, documents and ЕНП the uniqueness rules must see.
    """
    records = [record for path in bundled_files() for record in parse_nsi_file(path).records]
    return InMemoryReference(records, region_okato=region_okato, people=people)


def _tag(element: Any) -> str:
    return str(etree.QName(element).localname)


def _fields(element: Any, allowed: frozenset[str], file: str) -> dict[str, str]:
    data: dict[str, str] = {}
    for child in element.iterchildren(tag=etree.Element):
        tag = _tag(child)
        if tag not in allowed:
            raise FlkDirectoryFormatError("unexpected element", file=file, element=tag, line=child.sourceline)
        if tag in data:
            raise FlkDirectoryFormatError("element repeated", file=file, element=tag, line=child.sourceline)
        if len(child):
            raise FlkDirectoryFormatError(
                "must hold text, not elements", file=file, element=tag, line=child.sourceline
            )
        data[tag] = (child.text or "").strip()
    return data


def _entry(element: Any, file: str) -> ErrorEntry:
    line = element.sourceline
    data = _fields(element, RECORD_FIELDS, file)
    for required in REQUIRED_FIELDS:
        if not data.get(required):
            raise FlkDirectoryFormatError(
                f"entry has no {required}", file=file, element=RECORD_TAG, line=line
            )
    code = data["OSHIB"]
    if len(code) > MAX_CODE_LENGTH or not code.isalnum():
        raise FlkDirectoryFormatError(
            f"code {code!r}: at most {MAX_CODE_LENGTH} letters or digits",
            file=file,
            element="OSHIB",
            line=line,
        )
    try:
        severity = Severity(data["SEVERITY"])
        kind = Kind(data["KIND"])
    except ValueError as exc:
        raise FlkDirectoryFormatError(
            f"code {code}: {exc}", file=file, element=RECORD_TAG, line=line
        ) from None
    for name in ("IM_POL", "BAS_EL"):
        if len(data.get(name, "")) > MAX_ELEMENT_LENGTH:
            raise FlkDirectoryFormatError(
                f"code {code}: longer than {MAX_ELEMENT_LENGTH} characters",
                file=file,
                element=name,
                line=line,
            )
    return ErrorEntry(
        code=code,
        message=data["MESSAGE"],
        field=data.get("IM_POL") or None,
        parent=data.get("BAS_EL") or None,
        severity=severity,
        kind=kind,
    )
