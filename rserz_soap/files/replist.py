"""REPLIST and FLK_P as files: the answer to an OPLIST package, in the package's own encoding.

The element names are those of the SOAP protocol (``getProtocol``), which follow the files СМО software
reads (rt.srz ``REPType``: N_REC, ID, CODE_ERP; ``PRType``: N_REC, OSHIB, COMMENT; FLK_P headed by the
names of the protocol and of the file it answers, FNAME and FNAME_I, as in FFOMS's FLK_P). See docs/files.md.
``replist_xml`` is shared by every REPLIST the hub writes as a file.
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

from rserz_soap.domain.buffer import BatchProtocol

VERSION = "1.0"
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


def replist_xml(protocol: BatchProtocol, *, file_name: str, smo: str, encoding: str = "utf-8") -> bytes:
    """REPLIST: a header and one REP per record, in the order the records were sent."""
    root = etree.Element("REPLIST")
    _add(root, "VERS", VERSION)
    _add(root, "FILENAME", file_name)
    _add(root, "FILENAME_I", protocol.file_name)
    _add(root, "SMOCOD", smo)
    _add(root, "NRECORDS", len(protocol.lines))
    for line in protocol.lines:
        rep = etree.SubElement(root, "REP")
        _add(rep, "N_REC", line.n_rec)
        _add(rep, "ID", line.record_id)
        _add(rep, "CODE_ERP", line.code_erp)
        _add(rep, "STATE", line.state.value)
        _add(rep, "ENP", line.enp)
        _add(rep, "COMMENT", line.comment[:2000] if line.comment else None)
    return _bytes(root, encoding)


def flk_lines(protocol: BatchProtocol) -> list[FlkLine]:
    """Every finding of every record (errors and warnings), as the SOAP protocol's FLK_P lists them."""
    return [_line(e) for r in protocol.lines for e in r.errors]


def _line(e: Mapping[str, Any]) -> FlkLine:
    return FlkLine(
        str(e["code"]), str(e["comment"]), e.get("n_rec"), e.get("field"), e.get("parent"), e.get("severity")
    )


def flk_p_xml(lines: Iterable[FlkLine], *, file_name: str, answers: str, encoding: str = "utf-8") -> bytes:
    """FLK_P: FNAME (this protocol), FNAME_I (the file it answers) and one PR per finding."""
    root = etree.Element("FLK_P")
    _add(root, "FNAME", file_name)
    _add(root, "FNAME_I", answers)
    for line in lines:
        pr = etree.SubElement(root, "PR")
        _add(pr, "OSHIB", line.code)
        _add(pr, "IM_POL", line.field)
        _add(pr, "BAS_EL", line.parent)
        _add(pr, "N_REC", line.n_rec)
        _add(pr, "COMMENT", line.comment[:2000])
        _add(pr, "SEVERITY", line.severity)
    return _bytes(root, encoding)


def safe_name(name: str) -> str:
    """A file name that stays a name: no directories, nothing but letters, digits, ``_``, ``.`` and ``-``."""
    base = _SAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    return base[:120] or "package"


def write_into(directory: Path, name: str, content: bytes) -> Path:
    """``content`` as ``directory/name`` (a safe name), written whole or not at all."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / safe_name(name)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".xml")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
