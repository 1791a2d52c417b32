"""REPLIST and FLK_P as files: the answer to an OPLIST package, in the package's own encoding.

The layouts are rt.srz's (``rt.srz.model.HL7/smo/xsd/REPLIST.xsd``, ``REP.xsd``, ``FLK_P.xsd``), which
СМО software reads, without namespaces as the files are written; see docs/files.md. ``replist_xml`` is
shared by every REPLIST the hub writes as a file.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from rserz_soap.domain.buffer import ACCEPTED_CODE, BatchProtocol
from rserz_soap.domain.codec import decode
from rserz_soap.domain.person import InsurancePeriod
from rserz_soap.soap import xml

VERSION = "2.0"  # the layout of rt.srz's REPLIST.xsd and FLK_P.xsd (their VERS default)
_SAFE_NAME = re.compile(r"[^0-9A-Za-z_.-]")


@dataclass(frozen=True)
class FlkLine:
    """One PR of FLK_P."""

    code: str
    comment: str
    n_rec: int | None = None
    field: str | None = None
    parent: str | None = None
    severity: str | None = None


def _add(parent: Any, name: str, value: object | None) -> None:
    if value is not None and value != "":
        etree.SubElement(parent, name).text = str(value)


def _bytes(root: Any, encoding: str) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding=encoding, pretty_print=True))


def replist_xml(
    protocol: BatchProtocol, *, file_name: str, smo: str, przcod: str = "", encoding: str = "UTF-8"
) -> bytes:
    """REPLIST (rt.srz ``REPLIST.xsd``): a header and one REP per record, in the order they were sent.

    REP/ID is the hub's id of the record (rt.srz: «Идентификатор записи ТФОМС»); INSURANCE is the
    insurance in force after an accepted change. A record still waiting (an operator's review, ФЕРЗЛ) has
    no CODE_ERP yet, and a rejected one no INSURANCE."""
    root = etree.Element("REPLIST")
    _add(root, "VERS", VERSION)
    _add(root, "FILENAME", file_name)
    _add(root, "SMOCOD", smo)
    etree.SubElement(root, "PRZCOD").text = przcod
    _add(root, "NRECORDS", len(protocol.lines))
    _add(root, "NERR", sum(1 for r in protocol.lines if r.final and r.code_erp != ACCEPTED_CODE))
    for line in protocol.lines:
        rep = etree.SubElement(root, "REP")
        _add(rep, "N_REC", line.n_rec)
        _add(rep, "ID", line.entry_id)
        _add(rep, "CODE_ERP", line.code_erp)
        _add(rep, "COMMENT", line.comment[:2000] if line.comment else None)
        if line.insurance:
            xml.insurance(rep, xml.COMMON_NS, decode(InsurancePeriod, line.insurance))
    return _bytes(_unqualified(root), encoding)


def _unqualified(root: Any) -> Any:
    """The file forms carry no namespaces: the contract's shared writers qualify what they write."""
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = etree.QName(el).localname
    etree.cleanup_namespaces(root)
    return root


def flk_lines(protocol: BatchProtocol) -> list[FlkLine]:
    """Every finding of every record (errors and warnings), as the SOAP protocol's FLK_P lists them."""
    return [_line(e) for r in protocol.lines for e in r.errors]


def _line(e: Mapping[str, Any]) -> FlkLine:
    return FlkLine(
        str(e["code"]), str(e["comment"]), e.get("n_rec"), e.get("field"), e.get("parent"), e.get("severity")
    )


def flk_p_xml(lines: Iterable[FlkLine], *, file_name: str, answers: str, encoding: str = "UTF-8") -> bytes:
    """FLK_P (rt.srz ``FLK_P.xsd``): FNAME (this protocol), FNAME_I (the file it answers), one PR per
    finding with all five of its elements (IM_POL, BAS_EL, N_REC empty where a finding has none — a
    package refused whole has no record). Warnings are listed too; their record's CODE_ERP is AA."""
    root = etree.Element("FLK_P")
    _add(root, "VERS", VERSION)
    _add(root, "FNAME", file_name)
    _add(root, "FNAME_I", answers)
    for line in lines:
        pr = etree.SubElement(root, "PR")
        for name, value in (
            ("OSHIB", line.code),
            ("IM_POL", line.field),
            ("BAS_EL", line.parent),
            ("N_REC", line.n_rec),
            ("COMMENT", line.comment[:2000]),
        ):
            etree.SubElement(pr, name).text = "" if value is None else str(value)
    return _bytes(root, encoding)


def safe_name(name: str) -> str:
    """A file name that stays a name: no directories, nothing but letters, digits, ``_``, ``.`` and ``-``."""
    base = _SAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    return base[:120] or "package"


def write_into(directory: Path, name: str, content: bytes, *, replace: bool = True) -> Path:
    """``content`` as ``directory/name`` (a safe name), written whole or not at all; with ``replace``
    False an existing file is kept and the new one gets ``-2``, ``-3`` … before its extension."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / safe_name(name)
    n = 1
    while not replace and target.exists():
        n += 1
        target = directory / safe_name(f"{Path(name).stem}-{n}{Path(name).suffix}")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".xml")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
