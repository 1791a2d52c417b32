"""The ФЛК directory file: the bundled one parses, hostile or sloppy files are refused whole."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rserz_soap.domain.flk.directory import ErrorEntry, Kind, Severity
from rserz_soap.files.flk_directory import (
    MAX_FILE_BYTES,
    FlkDirectoryFormatError,
    bundled_directory,
    bundled_directory_path,
    parse_flk_directory,
    parse_flk_directory_bytes,
)

HEADER = "<zglv><type>FLK</type><version>t1</version><date>01.06.2025</date></zglv>"
ENTRY = (
    "<zap><OSHIB>101</OSHIB><KIND>logical</KIND><SEVERITY>W</SEVERITY><IM_POL>FAM</IM_POL>"
    "<BAS_EL>PERSON</BAS_EL><MESSAGE>Фамилия &amp; прочее</MESSAGE></zap>"
)


def _doc(body: str, prolog: str = "") -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<packet>{body}</packet>'.encode()


def test_bundled_directory_parses_with_header_and_both_kinds() -> None:
    directory = bundled_directory()

    assert bundled_directory_path().name == "errors.xml"
    assert (directory.version, directory.issued) == ("2026.1", date(2026, 12, 5))
    assert len(directory.codes(Kind.FORMAT)) == 10
    assert len(directory.codes(Kind.LOGICAL)) >= 40
    assert directory["905"].field == "N_REC" and directory["801"].field is None


def test_an_entry_is_read_field_by_field(tmp_path: Path) -> None:
    path = tmp_path / "errors.xml"
    path.write_bytes(_doc(HEADER + ENTRY))

    directory = parse_flk_directory(path)

    assert list(directory) == [
        ErrorEntry("101", "Фамилия & прочее", "FAM", "PERSON", Severity.WARNING, Kind.LOGICAL)
    ]
    assert (directory.version, directory.issued) == ("t1", date(2025, 6, 1))


def test_windows_1251_is_accepted() -> None:
    raw = f'<?xml version="1.0" encoding="windows-1251"?>\n<packet>{HEADER}{ENTRY}</packet>'.encode("cp1251")

    assert parse_flk_directory_bytes(raw, "errors.xml")["101"].message == "Фамилия & прочее"


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (_doc(HEADER + ENTRY, '<!DOCTYPE packet [<!ENTITY x "boom">]>'), "DOCTYPE"),
        (
            _doc(HEADER + ENTRY.replace("прочее", "&x;"), '<!DOCTYPE packet [<!ENTITY x "boom">]>'),
            "DOCTYPE|entity",
        ),
        (_doc(HEADER + ENTRY, '<!DOCTYPE packet SYSTEM "http://example.invalid/x.dtd">'), "DOCTYPE"),
        (b"<packet><zap>", "not well-formed"),
        (
            _doc(HEADER + ENTRY).replace(b"<packet>", b"<root>").replace(b"</packet>", b"</root>"),
            "root element",
        ),
        (_doc(HEADER + ENTRY + ENTRY), "repeats the entry"),
        (_doc(HEADER + ENTRY.replace("<SEVERITY>W", "<SEVERITY>X")), "'X' is not a valid Severity"),
        (_doc(HEADER + ENTRY.replace("logical", "other")), "not a valid Kind"),
        (_doc(HEADER + ENTRY.replace("SEVERITY", "SEVERITI")), "SEVERITI"),
        (_doc(HEADER + ENTRY.replace("<MESSAGE>Фамилия &amp; прочее</MESSAGE>", "<MESSAGE/>")), "no MESSAGE"),
        (_doc(HEADER + ENTRY.replace("<OSHIB>101", "<OSHIB>1 01")), "letters or digits"),
        (_doc(HEADER + ENTRY.replace("PERSON", "P" * 33)), "longer than 32"),
        (_doc(HEADER.replace("<date>01.06.2025</date>", "") + ENTRY), "no date"),
        (_doc(HEADER.replace("01.06.2025", "June") + ENTRY), "not a date"),
        (_doc(HEADER.replace("FLK", "F012") + ENTRY), "type must be FLK"),
        (_doc(ENTRY), "no <zglv> header"),
        (_doc(HEADER), "no entries"),
        (_doc(HEADER + "<other/>" + ENTRY), "unexpected element"),
    ],
)
def test_a_bad_file_is_refused_with_the_reason(raw: bytes, match: str) -> None:
    with pytest.raises(FlkDirectoryFormatError, match=match):
        parse_flk_directory_bytes(raw, "errors.xml")


def test_the_error_names_file_and_line() -> None:
    raw = _doc("\n" + HEADER + "\n" + ENTRY + "\n" + ENTRY)

    with pytest.raises(FlkDirectoryFormatError) as info:
        parse_flk_directory_bytes(raw, "mine.xml")

    assert info.value.file == "mine.xml" and info.value.line == 5
    assert str(info.value).startswith("mine.xml, line 5")


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(FlkDirectoryFormatError, match="larger than"):
        parse_flk_directory_bytes(b" " * (MAX_FILE_BYTES + 1), "big.xml")
