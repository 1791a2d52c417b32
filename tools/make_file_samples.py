"""Rebuild the sample OPLIST packages of tests/data/files/ and the hostile packages of tests/data/hostile/files/.

Synthetic data only: the OPLIST files are the contract's SOAP samples (tests/data/soap/) with their
namespaces removed, as СМО software writes the file. Deterministic (fixed ZIP timestamps), so a rebuild
changes nothing unless this script changes. Run: python tools/make_file_samples.py
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
SOAP = ROOT / "tests" / "data" / "soap"
SAMPLES = ROOT / "tests" / "data" / "files"
HOSTILE = ROOT / "tests" / "data" / "hostile" / "files"
STAMP = (2026, 12, 5, 10, 0, 0)


def oplist_from_soap(sample: str, file_name: str) -> etree._Element:
    """The OPLIST of a submitOperations sample without namespaces, its FILENAME set to the package's."""
    request = etree.parse(str(SOAP / sample), etree.XMLParser(remove_comments=True)).getroot()
    oplist = next(c for c in request if etree.QName(c).localname == "OPLIST")
    for el in oplist.iter():
        if isinstance(el.tag, str):
            el.tag = etree.QName(el).localname
    etree.cleanup_namespaces(oplist)
    if oplist.get("FILENAME") is not None:
        oplist.set("FILENAME", file_name)
    else:
        for child in oplist:
            if child.tag == "FILENAME":
                child.text = file_name
    return oplist


def xml_bytes(root: etree._Element, encoding: str) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding=encoding, pretty_print=True))


def zipped(entries: list[tuple[str, bytes]], *, level: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=level) as z:
        for name, content in entries:
            info = zipfile.ZipInfo(name, STAMP)
            info.compress_type = level
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            z.writestr(info, content)
    return buf.getvalue()


def write(directory: Path, name: str, content: bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(content)
    print(f"{directory.relative_to(ROOT)}/{name}: {len(content)} bytes")


def samples() -> dict[str, bytes]:
    cp = oplist_from_soap("submitOperations-smo-software-request.xml", "i45001_01_122601")
    utf = oplist_from_soap("submitOperations-request.xml", "i45002_01_122601")
    spoiled = oplist_from_soap("submitOperations-smo-software-request.xml", "i45001_01_122602")
    ops = spoiled.findall("OP")
    ops[0].find("PERSON/W").text = "7"  # 904: not an allowed value (the schema, record 1 only)
    ops[1].find("PERSON/DR").text = "2031-01-01"  # 119: born after today (ФЛК, record 2 only)
    ops[2].find("PERSON/SS").text = "318-204-5X"  # 903: neither form of СНИЛС (the schema, record 3 only)
    return {
        # I_Policies' form with three broken records: the others are applied
        "i45001_01_122602.zip": zipped([("i45001_01_122602.xml", xml_bytes(spoiled, "windows-1251"))]),
        # I_Policies' form: header as attributes, windows-1251
        "i45001_01_122601.zip": zipped([("i45001_01_122601.xml", xml_bytes(cp, "windows-1251"))]),
        # rt.srz's / the contract's form: header as elements, UTF-8
        "i45002_01_122601.zip": zipped([("i45002_01_122601.xml", xml_bytes(utf, "UTF-8"))]),
    }


def _with_declared_size(raw: bytes, size: int) -> bytes:
    """The ZIP with its first entry's uncompressed size rewritten (local header and central directory)."""
    data = bytearray(raw)
    struct.pack_into("<I", data, 22, size)  # local file header: uncompressed size
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, size)
    return bytes(data)


def _symlink_zip(name: str, target: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo(name, STAMP)
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        z.writestr(info, target)
    return buf.getvalue()


def hostile() -> dict[str, bytes]:
    """Each package is named as a valid one of СМО 45001 (unless the name is the point)."""
    good = samples()["i45001_01_122601.zip"]
    oplist = zipfile.ZipFile(io.BytesIO(good)).read("i45001_01_122601.xml")
    stem = "i45001_01_122601"
    bomb = zipped([(f"{stem}.xml", b"<OPLIST>" + b" " * (6 * 1024 * 1024) + b"</OPLIST>")])
    big = zipped([(f"{stem}.xml", b"<OPLIST>" + b" " * (50 * 1024 * 1024) + b"</OPLIST>")])
    small = zipped([(f"{stem}.xml", b"<OPLIST/>")], level=zipfile.ZIP_STORED)
    xxe = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE OPLIST [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b'<OPLIST SMOCOD="45001" NRECORDS="1"><OP><N_REC>1</N_REC><TIP_OP>&xxe;</TIP_OP></OP></OPLIST>'
    )
    laughs = (
        b'<?xml version="1.0"?>\n<!DOCTYPE OPLIST [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8))
        + b']>\n<OPLIST SMOCOD="45001" NRECORDS="1">&i;</OPLIST>'
    )
    cp_text = oplist.decode("windows-1251")
    deep = b"<OPLIST>" + b"<OP>" * 5000 + b"</OP>" * 5000 + b"</OPLIST>"
    return {
        "not-a-zip.zip": oplist,  # the bare XML under a .zip name
        "truncated.zip": good[: len(good) // 2],
        "wrong-name.zip": zipped([("wrong-name.xml", oplist)]),
        "i45001_01_122601-other-smo.zip": good,  # renamed below to an i45009 package
        "missing-file.zip": zipped([("i45001_01_122699.xml", oplist)]),
        "extra-file.zip": zipped([(f"{stem}.xml", oplist), ("readme.txt", b"hello")]),
        "zip-bomb-ratio.zip": bomb,
        "zip-bomb-declared.zip": _with_declared_size(small, 0xFFFFFFF0),
        "zip-bomb-big.zip": big,
        "zip-bomb-lying-size.zip": _with_declared_size(big, 1000),
        "traversal-dotdot.zip": zipped([(f"../../{stem}.xml", oplist)]),
        "traversal-absolute.zip": zipped([(f"/var/lib/{stem}.xml", oplist)]),
        "traversal-backslash.zip": zipped([(f"..\\..\\{stem}.xml", oplist)]),
        "nested-zip.zip": zipped([(f"{stem}.zip", good)]),
        "nested-zip-disguised.zip": zipped([(f"{stem}.xml", good)]),
        "symlink.zip": _symlink_zip(f"{stem}.xml", "/etc/passwd"),
        "too-many-entries.zip": zipped(
            [(f"{stem}.xml", oplist)] + [(f"x{i}.xml", b"<a/>") for i in range(200)]
        ),
        "xxe.zip": zipped([(f"{stem}.xml", xxe)]),
        "billion-laughs.zip": zipped([(f"{stem}.xml", laughs)]),
        "invalid-utf8.zip": zipped(
            [(f"{stem}.xml", cp_text.replace("windows-1251", "UTF-8").encode("windows-1251"))]
        ),
        "utf16.zip": zipped([(f"{stem}.xml", cp_text.replace("windows-1251", "UTF-16").encode("utf-16"))]),
        "koi8r-declared.zip": zipped(
            [(f"{stem}.xml", cp_text.replace("windows-1251", "KOI8-R").encode("koi8-r"))]
        ),
        "not-well-formed.zip": zipped([(f"{stem}.xml", oplist[: len(oplist) // 2])]),
        "deep.zip": zipped([(f"{stem}.xml", deep)]),
        "huge-text.zip": zipped([(f"{stem}.xml", b"<OPLIST>" + b"x" * (9 * 1024 * 1024) + b"</OPLIST>")]),
        "wrong-root.zip": zipped([(f"{stem}.xml", b'<?xml version="1.0"?><REPLIST/>')]),
        "header-smocod.zip": zipped(
            [(f"{stem}.xml", oplist.replace(b'SMOCOD="45001"', b'SMOCOD="45002"', 1))]
        ),
        "header-nrecords.zip": zipped([(f"{stem}.xml", oplist.replace(b'NRECORDS="6"', b'NRECORDS="7"', 1))]),
        "encrypted-flag.zip": _encrypted_flag(zipped([(f"{stem}.xml", oplist)])),
    }


def hostile_nsi() -> dict[str, bytes]:
    """Directory files (as an НСИ update finds them in its folder) that must be refused whole."""
    good = (ROOT / "tests" / "data" / "nsi" / "F002_v2.xml").read_bytes()
    declaration, body = good.split(b"?>", 1)
    declaration += b"?>"
    return {
        "nsi-xxe.xml": declaration
        + b'\n<!DOCTYPE packet [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        + body.replace(b"<version>2025.1</version>", b"<version>&x;</version>", 1),
        "nsi-billion-laughs.xml": declaration
        + b'\n<!DOCTYPE packet [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8))
        + b"]>\n"
        + body.replace(b"<version>2025.1</version>", b"<version>&i;</version>", 1),
        "nsi-external-dtd.xml": declaration
        + b'\n<!DOCTYPE packet SYSTEM "http://127.0.0.1:9/nsi.dtd">\n'
        + body,
        "nsi-invalid-utf8.xml": good.replace(b"windows-1251", b"UTF-8", 1),
        "nsi-not-well-formed.xml": good[: len(good) // 2],
        "nsi-deep.xml": b"<packet>" + b"<zap>" * 3000 + b"</zap>" * 3000 + b"</packet>",
    }


def _encrypted_flag(raw: bytes) -> bytes:
    data = bytearray(raw)
    struct.pack_into("<H", data, 6, struct.unpack_from("<H", data, 6)[0] | 1)
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 8, struct.unpack_from("<H", data, central + 8)[0] | 1)
    return bytes(data)


def main() -> None:
    for name, content in samples().items():
        write(SAMPLES, name, content)
    for name, content in hostile().items():
        if name == "i45001_01_122601-other-smo.zip":
            continue
        write(HOSTILE, name, content)
    for name, content in hostile_nsi().items():
        write(HOSTILE, name, content)


if __name__ == "__main__":
    main()
