"""OPLIST packages as СМО software writes them: a ZIP holding one OPLIST file, read safely.

The package (I_Policies ``send_to_fond_wnd.cpp``; rt.srz ``ImporterFileSmoOp.cs``, see docs/files.md) is
named ``i<SMO>_<point>_<MMYY><number>.zip`` and holds ``i<SMO>_<point>_<MMYY><number>.xml``, an OPLIST in
windows-1251 or UTF-8 (the encoding its XML declaration names). The answers are ``p…`` (REPLIST) and
``f…`` (FLK_P), the same name with the first letter changed, as rt.srz names them.

Everything wrong with the package as a whole is a ``PackageError`` carrying its F012 code, raised before
anything is stored:

* 801 — not a ZIP, or not a ZIP we open: damaged, encrypted, too big or too compressed (a ZIP bomb), too
  many entries, an entry that is a link, a nested archive, or a name that is a path (``..``, absolute,
  backslashes);
* 802 — the package's name is not an OPLIST package name, or names another СМО than the sender;
* 803 — the OPLIST file named after the package is not in it, or something else is;
* 804 — the OPLIST file cannot be read (encoding, well-formedness, a DTD, nesting) or its header is wrong
  (SMOCOD, NRECORDS, FILENAME, or the batch's own shape against the contract's XSD).

805 (the package was handed in before) is the use case's finding (``usecases/packages.py``). The records
are read exactly as ``submitOperations`` reads them: the file's unqualified elements are put into the
contract's namespaces, validated against ``register.xsd`` and turned into ``OperationRecord`` by
``soap/services/register.py`` — one reading of an OPLIST, one ФЛК.
"""

from __future__ import annotations

import hashlib
import io
import re
import stat
import uuid
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.domain.countries import CountryCodes
from rserz_soap.domain.records import FormatError, OperationRecord
from rserz_soap.files.xmlfile import XmlFileError, deeper_than, parse_untrusted
from rserz_soap.soap import xml
from rserz_soap.soap.faults import SoapFault
from rserz_soap.soap.server import record_errors
from rserz_soap.soap.services.register import SERVICE, batch_records, header

NOT_A_ZIP = "801"
WRONG_NAME = "802"
FILES_MISSING = "803"
WRONG_VALUE = "804"
ALREADY_REGISTERED = "805"

#: i<СМО, 5 digits>_<point of registration>_<MMYY><number of the package in the month>
PACKAGE_NAME = re.compile(
    r"^[iI](?P<smo>\d{5})_(?P<point>[0-9A-Za-z]{1,16})_(?P<mm>0[1-9]|1[0-2])(?P<yy>\d{2})(?P<number>\d{1,6})$"
)
ENCODINGS = {"utf-8": "UTF-8", "utf8": "UTF-8", "windows-1251": "windows-1251", "cp1251": "windows-1251"}
_DECLARATION = re.compile(rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ARCHIVES = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh")
#: children of these elements are of the common schema's types (cmn:PersonType, DocumentType …)
_COMMON_PARENTS = frozenset({"PERSON", "OLD_PERSON", "DOC", "OLD_DOC", "ADDRES_G", "ADDRES_P", "POLIS"})
_REQUEST_IDS = uuid.UUID("5d0e6f0a-3c57-4b8e-9f51-0a6c1e0d4a13")  # namespace of a package's REQUEST_ID


@dataclass(frozen=True)
class PackageLimits:
    """What a package may be before it is opened further; a 1,000-record OPLIST is ≈ 2 MB."""

    max_package_bytes: int = 16 * 1024 * 1024
    max_entries: int = 4
    max_file_bytes: int = 8 * 1024 * 1024  # the OPLIST file, uncompressed (declared and actually read)
    max_ratio: int = 100  # uncompressed / compressed size of an entry; XML compresses ≈ 10–20×
    max_depth: int = 32  # the deepest legitimate OPLIST element is 5 levels down


class PackageError(ValueError):
    """The package as a whole is refused with an F012 code; nothing of it is stored."""

    def __init__(self, code: str, reason: str, *, field: str | None = None) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class PackageName:
    stem: str  # i45002_01_120501
    smo: str
    point: str

    @property
    def oplist_file(self) -> str:
        return f"{self.stem}.xml"

    @property
    def replist(self) -> str:
        return f"p{self.stem[1:]}"

    @property
    def flk_p(self) -> str:
        return f"f{self.stem[1:]}"


@dataclass(frozen=True)
class OplistPackage:
    """A package that passed every package-level check: its records are ready for the buffer."""

    name: PackageName
    sha256: str
    encoding: str
    oplist: Any  # the OPLIST element, in the contract's namespaces
    record_errors: dict[int, tuple[FormatError, ...]]

    @property
    def request_id(self) -> uuid.UUID:
        """The package's REQUEST_ID for the batch: the same bytes from the same СМО are the same request."""
        return uuid.uuid5(_REQUEST_IDS, f"{self.name.smo}:{self.sha256}")

    @property
    def przcod(self) -> str:
        """The point of registration: the header's PRZCOD, else the one in the package's name."""
        return header(self.oplist, "PRZCOD") or self.name.point

    @property
    def nrecords(self) -> int:
        return len(xml.children(self.oplist, "OP"))

    def records(self, countries: CountryCodes, received_on: date) -> list[OperationRecord]:
        return batch_records(
            xml.children(self.oplist, "OP"), self.name.smo, countries, self.record_errors, received_on
        )


def package_name(file_name: str, smo: str | None = None) -> PackageName:
    """The package's name read (802 if it is not an OPLIST package's, or is another СМО's than ``smo``)."""
    base = PurePosixPath(file_name.replace("\\", "/")).name
    stem, dot, ext = base.rpartition(".")
    found = PACKAGE_NAME.match(stem) if dot and ext.lower() == "zip" else None
    if found is None:
        raise PackageError(WRONG_NAME, f"{base!r} is not i<СМО>_<пункт>_<ММГГ><номер>.zip", field="FILENAME")
    if smo is not None and found["smo"] != smo:
        raise PackageError(
            WRONG_NAME, f"the package is of СМО {found['smo']}, the sender is {smo}", field="FILENAME"
        )
    return PackageName(stem, found["smo"], found["point"])


def read_package(
    raw: bytes, file_name: str, *, smo: str | None = None, limits: PackageLimits | None = None
) -> OplistPackage:
    """Every package-level check, in order of cost; a ``PackageError`` names the first one that fails."""
    limits = limits or PackageLimits()
    if len(raw) > limits.max_package_bytes:
        raise PackageError(NOT_A_ZIP, f"the package is larger than {limits.max_package_bytes} bytes")
    if not raw.startswith(b"PK\x03\x04") and not raw.startswith(b"PK\x05\x06"):
        raise PackageError(NOT_A_ZIP, "the file is not a ZIP archive")
    name = package_name(file_name, smo)
    content = _oplist_bytes(raw, name, limits)
    encoding = _encoding(content, name.oplist_file)
    oplist = _oplist(content, name, limits)
    return OplistPackage(name, hashlib.sha256(raw).hexdigest(), encoding, oplist, _checked(oplist, name))


# -- the archive ------------------------------------------------------------------------------------------


def _oplist_bytes(raw: bytes, name: PackageName, limits: PackageLimits) -> bytes:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise PackageError(NOT_A_ZIP, f"the ZIP archive cannot be read: {exc}") from None
    with archive:
        files = [e for e in entries if not e.is_dir()]
        if len(entries) > limits.max_entries:
            raise PackageError(NOT_A_ZIP, f"{len(entries)} entries, a package holds one OPLIST file")
        for entry in entries:
            _check_entry(entry, limits)
        wanted = [e for e in files if e.filename.lower() == name.oplist_file.lower()]
        if not wanted:
            raise PackageError(FILES_MISSING, f"{name.oplist_file} is not in the package", field="OPLIST")
        others = [e.filename for e in files if e not in wanted]
        if others or len(wanted) > 1:
            raise PackageError(
                FILES_MISSING,
                f"the package must hold only {name.oplist_file}, it also holds {others or wanted[1:]}",
            )
        entry = wanted[0]
        try:
            with archive.open(entry) as stream:
                content = stream.read(limits.max_file_bytes + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
            raise PackageError(NOT_A_ZIP, f"{entry.filename} cannot be unpacked: {exc}") from None
    if len(content) > limits.max_file_bytes:
        raise PackageError(NOT_A_ZIP, f"{entry.filename} unpacks to more than {limits.max_file_bytes} bytes")
    if content.startswith(_ARCHIVES):
        raise PackageError(NOT_A_ZIP, f"{entry.filename} is itself an archive")
    return content


def _check_entry(entry: zipfile.ZipInfo, limits: PackageLimits) -> None:
    n = entry.filename
    parts = n.replace("\\", "/").split("/")
    if "\\" in n or n.startswith("/") or ".." in parts or re.match(r"^[A-Za-z]:", n) or "\x00" in n:
        raise PackageError(NOT_A_ZIP, f"entry name {n!r} is a path; a package holds bare file names")
    if "/" in n.rstrip("/"):
        raise PackageError(NOT_A_ZIP, f"entry {n!r} is in a folder; a package holds bare file names")
    kind = stat.S_IFMT(entry.external_attr >> 16)  # Unix file type, when the archiver recorded one
    if entry.create_system == 3 and kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        raise PackageError(NOT_A_ZIP, f"entry {n!r} is a link or a special file")
    if entry.flag_bits & 0x1:
        raise PackageError(NOT_A_ZIP, f"entry {n!r} is encrypted")
    if n.lower().endswith((".zip", ".rar", ".7z", ".gz", ".tar", ".arj", ".bz2")):
        raise PackageError(NOT_A_ZIP, f"entry {n!r} is a nested archive")
    if entry.file_size > limits.max_file_bytes:
        raise PackageError(NOT_A_ZIP, f"entry {n!r} declares {entry.file_size} bytes unpacked")
    if entry.file_size > 64 * 1024 and entry.file_size > limits.max_ratio * max(entry.compress_size, 1):
        raise PackageError(
            NOT_A_ZIP,
            f"entry {n!r} is compressed {entry.file_size // max(entry.compress_size, 1)}:1 (a ZIP bomb?)",
        )


# -- the OPLIST file --------------------------------------------------------------------------------------


def _encoding(content: bytes, file: str) -> str:
    """windows-1251 or UTF-8 as the XML declaration says (UTF-8 without one); the bytes must be in it."""
    if content[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in content[:4096]:
        raise PackageError(WRONG_VALUE, f"{file}: UTF-16/UTF-32 — an OPLIST file is windows-1251 or UTF-8")
    declared = _DECLARATION.match(content[:512])
    label = declared.group(1).decode("ascii").lower().replace("_", "-") if declared else "utf-8"
    encoding = ENCODINGS.get(label)
    if encoding is None:
        raise PackageError(
            WRONG_VALUE, f"{file}: encoding {label!r}; an OPLIST file is windows-1251 or UTF-8"
        )
    try:
        content.decode(encoding)
    except UnicodeDecodeError as exc:
        raise PackageError(
            WRONG_VALUE,
            f"{file}: byte {exc.start} is not {encoding} ({exc.reason}); check the declared encoding",
        ) from None
    return encoding


def _oplist(content: bytes, name: PackageName, limits: PackageLimits) -> Any:
    file = name.oplist_file
    head = content.lower()
    if b"<!doctype" in head or b"<!entity" in head:
        raise PackageError(WRONG_VALUE, f"{file}: a DTD or entity declaration is not allowed")
    try:
        root = parse_untrusted(content, file)
    except XmlFileError as exc:
        raise PackageError(WRONG_VALUE, str(exc)) from None
    if etree.QName(root).localname != "OPLIST":
        raise PackageError(
            WRONG_VALUE, f"{file}: the root element is <{etree.QName(root).localname}>, not <OPLIST>"
        )
    if deeper_than(root, limits.max_depth):
        raise PackageError(WRONG_VALUE, f"{file}: elements nested deeper than {limits.max_depth}")
    return _qualified(root)


def _qualified(root: Any) -> Any:
    """The file's OPLIST in the contract's namespaces (register, and common for the common types' children)."""
    reg, cmn = xml.NS["reg"], xml.COMMON_NS

    def copy(el: Any, parent: Any | None) -> Any:
        local = etree.QName(el).localname
        parent_local = etree.QName(parent).localname if parent is not None else None
        ns = cmn if parent_local in _COMMON_PARENTS else reg
        out = etree.Element(f"{{{ns}}}{local}", nsmap={"reg": reg, "cmn": cmn}) if parent is None else None
        if out is None:
            out = etree.SubElement(parent, f"{{{ns}}}{local}")
        for key, value in el.attrib.items():
            out.set(key, value)
        out.text = el.text
        out.tail = el.tail
        for child in el:
            if isinstance(child.tag, str):
                copy(child, out)
        return out

    return copy(root, None)


def _checked(oplist: Any, name: PackageName) -> dict[int, tuple[FormatError, ...]]:
    """The contract's XSD over the batch (as ``submitOperations`` would get it) and the header's values."""
    reg = xml.NS["reg"]
    request = etree.Element(f"{{{reg}}}submitOperations", nsmap={"reg": reg, "cmn": xml.COMMON_NS})
    etree.SubElement(request, f"{{{reg}}}REQUEST_ID").text = str(uuid.uuid5(_REQUEST_IDS, name.stem))
    request.append(oplist)
    operation = SERVICE.operations["submitOperations"]
    try:
        found = {} if SERVICE.schema.validate(request) else record_errors(SERVICE, operation, request)
    except SoapFault as fault:
        raise PackageError(WRONG_VALUE, f"{name.oplist_file}: {fault.message}", field=fault.field) from None
    smo = header(oplist, "SMOCOD")
    if smo != name.smo:
        raise PackageError(
            WRONG_VALUE, f"OPLIST/SMOCOD {smo!r}, the package is of СМО {name.smo}", field="SMOCOD"
        )
    ops = len(xml.children(oplist, "OP"))
    declared = header(oplist, "NRECORDS")
    if declared != str(ops):
        raise PackageError(WRONG_VALUE, f"NRECORDS {declared!r}, the file holds {ops} OP", field="NRECORDS")
    file_name = header(oplist, "FILENAME")
    if file_name and file_name.lower() != name.stem.lower():
        raise PackageError(
            WRONG_VALUE,
            f"OPLIST/FILENAME {file_name!r} is not the package's name {name.stem}",
            field="FILENAME",
        )
    return found
