"""A военкомат list in each of its forms (XML, CSV in UTF-8 and windows-1251, XLSX) reads to the same
checked rows; a bad row gets its code and its neighbours go on; the protocol CSV never carries a formula."""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from rserz_soap.domain import military as mil
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.files import military as files

TODAY = date(2026, 12, 5)
SNILS = make_snils(123_456_789)
HEADER = ["VK_CODE", "VK_NAME", "LIST_NUM", "LIST_DATE", *files.ROW_COLUMNS]
ROWS = [
    ["4501", "Военкомат г. Кургана", "12/2026", "01.12.2026", "призыв", "Иванов", "Пётр", "Сергеевич",
     "15.04.2005", "14", "37 05", "123456", SNILS, "2026-11-20", "2027-11-19"],
    ["4501", "Военкомат г. Кургана", "12/2026", "01.12.2026", "увольнение", "Петров", "Олег", "",
     "2003-02-01", "14", "37 03", "654321", "", "2025-11-10", "2026-11-09"],
]  # fmt: skip


def _csv(rows: list[list[str]], encoding: str) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows([HEADER, *rows])
    return out.getvalue().encode(encoding)


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _xml(rows: list[list[str]]) -> bytes:
    body = "".join(
        "<ROW>"
        + "".join(f"<{c}>{v}</{c}>" for c, v in zip(files.ROW_COLUMNS, r[4:], strict=True) if v)
        + "</ROW>"
        for r in rows
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><MILITARY_LIST VERSION="1.0"><HEADER><VK_CODE>4501</VK_CODE>'
        "<VK_NAME>Военкомат г. Кургана</VK_NAME><LIST_NUM>12/2026</LIST_NUM><LIST_DATE>2026-12-01</LIST_DATE>"
        f"</HEADER>{body}</MILITARY_LIST>"
    ).encode()


def test_every_form_reads_to_the_same_list() -> None:
    forms = {
        "xml": _xml(ROWS),
        "csv-utf8": _csv(ROWS, "utf-8-sig"),
        "csv-1251": _csv(ROWS, "cp1251"),
        "xlsx": _xlsx([[*r[:4], *r[4:]] for r in ROWS]),
    }
    lists = {name: files.read_list(raw, name, today=TODAY) for name, raw in forms.items()}
    first = lists["xml"]
    assert first.header == mil.ListHeader("4501", "12/2026", date(2026, 12, 1), "Военкомат г. Кургана")
    assert first.errors == ()
    entering, leaving = first.rows
    assert entering.kind is mil.Kind.ENTERING and entering.start == date(2026, 11, 20)
    assert (entering.doctype, entering.docser, entering.docnum, entering.snils) == (
        14,
        "37 05",
        "123456",
        SNILS,
    )
    assert entering.months == 12
    assert leaving.kind is mil.Kind.LEAVING and leaving.end == date(2026, 11, 9) and leaving.ot is None
    assert {lst.source_format for lst in lists.values()} == {"xml", "csv", "xlsx"}
    assert len({lst.fingerprint() for lst in lists.values()}) == 1  # the same list, whatever its form


def test_an_xlsx_with_real_dates_and_numbers_reads_the_same() -> None:
    row = [*ROWS[0][:4], "призыв", "Иванов", "Пётр", "Сергеевич", date(2005, 4, 15), 14, "37 05", 123456,
           SNILS, date(2026, 11, 20), date(2027, 11, 19)]  # fmt: skip
    lst = files.read_list(_xlsx([row]), "typed.xlsx", today=TODAY)
    assert lst.errors == () and lst.rows[0].dr == date(2005, 4, 15) and lst.rows[0].docnum == "123456"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({5: ""}, mil.ROW_MISSING),  # no surname
        ({8: "31.02.2005"}, mil.ROW_DATE),
        ({9: "паспорт"}, mil.ROW_DOCUMENT),
        ({12: "12345678900"}, mil.ROW_SNILS),
        ({4: "отпуск"}, mil.ROW_KIND),
        ({13: "2027-01-01"}, mil.ROW_DATES),  # a start in the future
        ({14: "2026-01-01"}, mil.ROW_DATES),  # end before start
        ({5: "=cmd|' /C calc'!A0"}, mil.ROW_TEXT),
        ({11: "<b>1</b>"}, mil.ROW_TEXT),
    ],
)
def test_a_bad_row_gets_its_code_and_the_others_go_on(change: dict[int, str], code: str) -> None:
    bad = list(ROWS[0])
    for i, v in change.items():
        bad[i] = v
    lst = files.read_list(_csv([bad, ROWS[1]], "utf-8"), "l.csv", today=TODAY)
    assert [(e.n, e.code) for e in lst.errors] == [(1, code)]
    assert [r.n for r in lst.rows] == [2]


def test_the_same_person_twice_in_a_list_is_refused_the_second_time() -> None:
    lst = files.read_list(_csv([ROWS[0], ROWS[0]], "utf-8"), "l.csv", today=TODAY)
    assert [r.n for r in lst.rows] == [1] and [(e.n, e.code) for e in lst.errors] == [(2, mil.ROW_REPEATED)]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", mil.FILE_UNREADABLE),
        (b"FAM;IM\r\nx;y\r\n", mil.FILE_UNREADABLE),
        ("\ufeffFAM;IM".encode("utf-16"), mil.FILE_ENCODING),
        (b"<MILITARY_LIST><HEADER/></MILITARY_LIST>", mil.FILE_HEADER),
        (b"<OPLIST/>", mil.FILE_UNREADABLE),
        (b"PK\x03\x04not a zip", mil.FILE_HOSTILE),
    ],
)
def test_a_file_refused_as_a_whole_gets_its_code(raw: bytes, code: str) -> None:
    with pytest.raises(mil.MilitaryFileError) as err:
        files.read_list(raw, "f", today=TODAY)
    assert err.value.code == code


def test_rows_of_two_lists_in_one_flat_file_are_refused() -> None:
    other = list(ROWS[1])
    other[2] = "13/2026"
    with pytest.raises(mil.MilitaryFileError) as err:
        files.read_list(_csv([ROWS[0], other], "utf-8"), "l.csv", today=TODAY)
    assert err.value.code == mil.FILE_HEADER


def test_the_protocol_csv_never_starts_a_cell_with_a_formula(tmp_path: Path) -> None:
    protocol = mil.ImportProtocol(
        "4501|12/2026|2026-12-01", "4501", "12/2026", date(2026, 12, 1), "l.csv",
        (mil.ProtocolLine(1, "rejected", mil.ROW_TEXT, "=cmd|' /C calc'!A0"),
         mil.ProtocolLine(2, "held", mil.NOT_FOUND, "+1\t-2", "entering", None, 7)),
    )  # fmt: skip
    text = files.protocol_csv(protocol).decode()
    cells = [c for line in csv.reader(io.StringIO(text), delimiter=";") for c in line]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells), cells
    assert "'=cmd|' /C calc'!A0" in cells
    xml = files.protocol_xml(protocol)
    assert b"<CODE>MIL-107</CODE>" in xml and b"<BUFFER_ENTRY>7</BUFFER_ENTRY>" in xml
    assert files.protocol_name(protocol, "csv") == "MILP_4501_12_2026_20261201.csv"


def test_an_xml_list_in_windows_1251_reads_by_its_declaration() -> None:
    raw = _xml(ROWS).decode().replace('encoding="UTF-8"', 'encoding="windows-1251"').encode("cp1251")
    assert (
        files.read_list(raw, "l.xml", today=TODAY).rows
        == files.read_list(_xml(ROWS), "u.xml", today=TODAY).rows
    )


def test_a_doctype_hidden_behind_a_long_comment_in_an_xlsx_part_is_found(tmp_path: Path) -> None:
    import zipfile

    good = _xlsx([[*r[:4], *r[4:]] for r in ROWS])
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                pad = b"<!--" + os.urandom(1 << 20).hex().encode() + b"-->"  # 2 MB, not compressible
                data = (
                    b'<?xml version="1.0"?>'
                    + pad
                    + b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                    + data
                )
            z.writestr(info.filename, data)
    with pytest.raises(mil.MilitaryFileError) as err:
        files.read_list(out.getvalue(), "x.xlsx", today=TODAY)
    assert err.value.code == mil.FILE_HOSTILE


def test_the_layout_documents_an_example_that_reads() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "military.md").read_text("utf-8")
    example = doc.split("```xml\n", 1)[1].split("```", 1)[0]
    lst = files.read_list(example.encode(), "docs/military.md", today=TODAY)
    assert lst.errors == () and [r.kind for r in lst.rows] == [mil.Kind.ENTERING]
    assert set(files.ROW_COLUMNS + files.HEADER_COLUMNS) <= set(re.findall(r"`([A-Z_]+)`", doc))
