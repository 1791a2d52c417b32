"""НСИ directory files in the FFOMS format (F002, F003, F008, F010, F011, F012, V005, O001, R001).

Directory files come from outside (ФФОМС, the fund's НСИ portal, an operator's upload), so they are parsed
with a hardened lxml parser: no DTD, no entities, no network, lxml's default size limits, and a file that
carries a DOCTYPE at all is refused rather than parsed "safely". Checks must use the version of a record
valid on the event date, so every record needs a start of validity, never "valid forever":

* F002 and F003 as FFOMS publishes them carry it in repeated inclusion blocks, ``insInclude`` /
  ``medInclude`` with ``d_begin`` and ``d_end`` (an СМО or МО excluded from the register and included again
  has two). Each block becomes a record of its own, so a date between two blocks finds no valid record.
* Every other directory carries ``DATEBEG``/``DATEEND`` on the record (``zap``); so do the demo F002/F003 of
  earlier releases, which are still read.
* O001 as some editions publish it (the ОКСМ's own columns) has no ``DATEBEG``: its ``DATEVVED`` (the day
  the entry was introduced) starts the record, and an entry with neither is valid from 01.01.1900.

The code of a record is ``KEY_FIELDS`` of its directory: R001 as published names it ``Kod`` (and its text
``Opis``); the older ``TIP_OP`` layout is still read. Sources of each layout: docs/domain-sources.md.

Layout accepted::

    <packet>
      <zglv><type>F002</type><version>2025.1</version><date>01.01.2025</date></zglv>   (optional)
      <insCompany>…</insCompany> | <medCompany>…</medCompany> | <zap>…</zap>          (one or more)
    </packet>

Nested record elements (F002/F003 ``jurAddress``…) are flattened into ``parent.child`` keys so that a record
is one flat ``dict[str, str]``; a repeated key gets ``[2]``, ``[3]``… so nothing is silently lost. An
inclusion block's own fields other than its dates stay in its record as ``insInclude.name_e`` and so on.
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

#: The field(s) that hold a record's code, per directory, the published name first. A directory missing
#: here is unknown and refused.
KEY_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "F002": ("smocod",),  # СМО
    "F003": ("mcod",),  # МО
    "F008": ("IDDOC",),  # policy types
    "F010": ("KOD_TF",),  # subjects of the RF: the region code of the territorial fund
    "F011": ("IDDoc",),  # identity document types, with series/number masks
    "F012": ("Kod",),  # format (ФЛК) error codes
    "V005": ("IDPOL",),  # sex
    "O001": ("KOD",),  # countries (ОКСМ), with ALFA2/ALFA3
    "R001": ("Kod", "TIP_OP"),  # operations on the register: Kod/Opis as published, TIP_OP/NAME before
}

#: Inclusion blocks that carry a record's validity, per directory (FFOMS's F002/F003 layout).
PERIOD_BLOCKS: Final[dict[str, str]] = {"F002": "insInclude", "F003": "medInclude"}
PERIOD_BEGIN: Final = "d_begin"
PERIOD_END: Final = "d_end"

#: Where a record without DATEBEG starts, per directory: the first field present, else the date given.
UNDATED: Final[dict[str, tuple[tuple[str, ...], date]]] = {"O001": (("DATEVVED",), date(1900, 1, 1))}

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

    key_fields = KEY_FIELDS[resolved]
    records: list[NsiRecord] = []
    lines: list[int | None] = []
    for element in record_elements:
        for record in _records(element, resolved, key_fields, name):
            records.append(record)
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


def _flatten(element: Any, skip: str | None = None) -> dict[str, str]:
    """Child elements as ``{name: text}``, nested ones as ``parent.child``; repeats numbered ``[2]``…

    Direct children named ``skip`` (the inclusion blocks, read on their own) are left out."""
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
            if not prefix and skip is not None and _tag(child) == skip:
                continue
            key = prefix + _tag(child)
            if len(child):
                walk(child, key + ".")
            else:
                put(key, (child.text or "").strip())

    walk(element, "")
    return data


def _records(element: Any, directory: str, key_fields: tuple[str, ...], file: str) -> list[NsiRecord]:
    """The record(s) of one element: one per inclusion block where the directory has them, else one."""
    tag, line = _tag(element), element.sourceline
    block = PERIOD_BLOCKS.get(directory)
    blocks = [child for child in element.iterchildren(tag=etree.Element) if block and _tag(child) == block]
    data = _flatten(element, skip=block)
    code = next((data[k] for k in key_fields if data.get(k)), "")
    if not code:
        wanted = " or ".join(key_fields)
        raise NsiFormatError(f"record has no code ({wanted})", file=file, element=tag, line=line)
    raw_beg = data.pop(DATE_BEG_FIELD, "")
    raw_end = data.pop(DATE_END_FIELD, "")
    if blocks:
        periods = []
        for b in blocks:
            fields = _flatten(b)
            begin, end = fields.pop(PERIOD_BEGIN, ""), fields.pop(PERIOD_END, "")
            extra = {f"{block}.{k}": v for k, v in fields.items()}
            where = f"record {code}, <{block}>"
            periods.append(
                (_dates(begin, end, where, (PERIOD_BEGIN, PERIOD_END), file, tag, b.sourceline), extra)
            )
        return [
            NsiRecord(directory=directory, code=code, date_beg=beg, date_end=end, data={**data, **extra})
            for (beg, end), extra in periods
        ]
    if not raw_beg and directory in UNDATED:
        fallbacks, since = UNDATED[directory]
        raw_beg = next((data[f] for f in fallbacks if data.get(f)), since.strftime(DATE_FORMATS[0]))
    if not raw_beg:
        raise NsiFormatError(f"record {code} has no {DATE_BEG_FIELD}", file=file, element=tag, line=line)
    date_beg, date_end = _dates(
        raw_beg, raw_end, f"record {code}", (DATE_BEG_FIELD, DATE_END_FIELD), file, tag, line
    )
    return [NsiRecord(directory=directory, code=code, date_beg=date_beg, date_end=date_end, data=data)]


def _dates(
    raw_beg: str, raw_end: str, where: str, fields: tuple[str, str], file: str, tag: str, line: int | None
) -> tuple[date, date | None]:
    begin_field, end_field = fields
    if not raw_beg:
        raise NsiFormatError(f"{where} has no {begin_field}", file=file, element=tag, line=line)
    try:
        date_beg = parse_date(raw_beg)
        date_end = parse_date(raw_end) if raw_end else None
    except ValueError as exc:
        raise NsiFormatError(f"{where}: {exc}", file=file, element=tag, line=line) from None
    if date_end is not None and date_end < date_beg:
        raise NsiFormatError(
            f"{where}: {end_field} {date_end} is before {begin_field} {date_beg}",
            file=file,
            element=tag,
            line=line,
        )
    return date_beg, date_end


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


#: The most directory files one update takes from a folder or an index, and how long a download may take.
MAX_UPDATE_FILES: Final = 64
DOWNLOAD_TIMEOUT: Final = 60.0


def update_files(source: str, into: Path) -> list[Path]:
    """The directory files of an update: ``*.xml`` of a folder (sorted by name), or from a URL — an XML
    file itself, or a text index listing file names or URLs (relative to the index), one per line.
    Downloads go into ``into``, each under its own plain name, at most ``MAX_FILE_BYTES`` each."""
    if not source.startswith(("http://", "https://")):
        folder = Path(source)
        if not folder.is_dir():
            raise NsiFormatError("not a folder or an http(s) URL", file=source)
        found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".xml")
        if len(found) > MAX_UPDATE_FILES:
            raise NsiFormatError(f"more than {MAX_UPDATE_FILES} files", file=source)
        return found
    raw, content_type = _download(source)
    if raw.lstrip().startswith(b"<"):
        return [_save(into, source, raw)]
    if not content_type.startswith("text/plain") and not source.lower().endswith(".txt"):
        raise NsiFormatError(f"neither XML nor a text index ({content_type})", file=source)
    lines = [ln.strip() for ln in raw.decode("utf-8", "replace").splitlines()]
    names = [ln for ln in lines if ln and not ln.startswith("#")]
    if len(names) > MAX_UPDATE_FILES:
        raise NsiFormatError(f"the index lists more than {MAX_UPDATE_FILES} files", file=source)
    from urllib.parse import urljoin

    files = []
    for name in names:
        url = urljoin(source, name)
        if not url.startswith(("http://", "https://")):
            raise NsiFormatError(f"index entry {name!r} is not an http(s) address", file=source)
        files.append(_save(into, url, _download(url)[0]))
    return files


def _download(url: str) -> tuple[bytes, str]:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as resp:  # noqa: S310  (http(s) only, checked)
            raw = resp.read(MAX_FILE_BYTES + 1)
            content_type = str(resp.headers.get("Content-Type") or "").lower()
    except OSError as exc:
        raise NsiFormatError(f"cannot be downloaded: {exc}", file=url) from None
    if len(raw) > MAX_FILE_BYTES:
        raise NsiFormatError(f"file is larger than {MAX_FILE_BYTES} bytes", file=url)
    return raw, content_type


def _save(into: Path, url: str, raw: bytes) -> Path:
    from urllib.parse import urlparse

    name = re.sub(r"[^0-9A-Za-z_.-]", "_", Path(urlparse(url).path).name).lstrip(".") or "directory.xml"
    into.mkdir(parents=True, exist_ok=True)
    target = into / name
    if target.exists():
        raise NsiFormatError("two files of the update have this name", file=name)
    target.write_bytes(raw)
    return target
