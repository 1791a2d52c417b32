"""Whatever an OPLIST package's fields hold, reading it and checking its records never crash: the package is
refused with its F012 code (801–804), or every record gets its format errors (90x) or the ФЛК's answer.

Hypothesis writes any text — control characters, characters windows-1251 lacks, markup, very long values —
into any field of the sample package's records or header, in either encoding, and follows it through
``files/oplist.py`` (the archive, the encoding, the XSD, the records) and the domain's ФЛК.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rserz_soap.domain.countries import CountryCodes
from rserz_soap.domain.flk.engine import check_batch
from rserz_soap.files import oplist
from rserz_soap.files.flk_directory import bundled_directory, bundled_reference
from tests.conftest import data_path
from tests.domain.flk.builders import REGION_OKATO

SAMPLE = (
    zipfile.ZipFile(data_path("files", "i45001_01_122601.zip")).read("i45001_01_122601.xml").decode("cp1251")
)
STEM = "i45001_01_122601"
#: every leaf element of the sample (its text between tags), and every header attribute
LEAVES = [m.span(2) for m in re.finditer(r"<([A-Z_0-9]+)>([^<]*)</\1>", SAMPLE)]
HEADER = [m.span(1) for m in re.finditer(r'\s[A-Z]+="([^"]*)"', SAMPLE.split("<OP>", 1)[0])]
DIRECTORY = bundled_directory()
REFERENCE = bundled_reference(REGION_OKATO)
TODAY = date(2026, 12, 5)

_values = st.one_of(
    st.text(max_size=60),  # anything at all, control characters and surrogates' neighbours included
    st.text(alphabet=st.sampled_from("АЁЖЯаёжя0123456789-./ :TZ+"), max_size=30),  # plausible-looking
    st.sampled_from(
        ["", " ", "0", "-1", "99999999999999999999", "9999-12-31", "0001-01-01", "П010", "&amp;"]
    ),
)


def _package(edits: list[tuple[tuple[int, int], str]], encoding: str) -> bytes:
    text = SAMPLE
    for (start, end), value in sorted(edits, key=lambda e: e[0][0], reverse=True):
        text = text[:start] + escape(value, {'"': "&quot;"}) + text[end:]
    if encoding != "windows-1251":
        text = re.sub(r"encoding=[\"']windows-1251[\"']", f'encoding="{encoding}"', text, count=1)
    raw = text.encode(encoding, errors="xmlcharrefreplace")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{STEM}.xml", raw)
    return buf.getvalue()


def _read(raw: bytes) -> oplist.OplistPackage | oplist.PackageError:
    try:
        return oplist.read_package(raw, f"{STEM}.zip")
    except oplist.PackageError as refused:
        return refused


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(LEAVES + HEADER), _values), min_size=1, max_size=4, unique_by=lambda e: e[0]
    ),
    encoding=st.sampled_from(["windows-1251", "UTF-8"]),
)
def test_any_field_value_is_refused_with_a_code_or_checked(
    edits: list[tuple[tuple[int, int], str]], encoding: str
) -> None:
    package = _read(_package(edits, encoding))
    if isinstance(package, oplist.PackageError):
        event(f"refused {package.code}")
        assert package.code in ("801", "802", "803", "804") and package.reason
        assert DIRECTORY.get(package.code) is not None
        return
    event("read: " + ("some records malformed" if package.record_errors else "every record well-formed"))
    records = package.records(CountryCodes(), TODAY)
    assert [r.n_rec for r in records] and len(records) == package.nrecords
    checked = [(r, None) for r in records if not r.format_errors]
    for record in records:
        for malformed in record.format_errors:
            assert re.fullmatch(r"90[1-5]", malformed.code) and DIRECTORY.get(malformed.code) is not None
    for finding in check_batch(checked, REFERENCE, DIRECTORY, today=TODAY):
        assert finding.code in DIRECTORY and finding.comment


def test_a_package_whose_archiver_records_no_file_type_is_read() -> None:
    """zipfile's writestr (and some archivers) leave the Unix file type out of an entry's mode: that is a
    plain file, not a link (found by the property above)."""
    package = _read(_package([], "UTF-8"))
    assert isinstance(package, oplist.OplistPackage), package
    assert package.nrecords == 6 and package.encoding == "UTF-8"


@pytest.mark.parametrize(
    ("file_name", "stem"),
    [("i45001_01_122601.zip", "i45001_01_122601"), ("I45001_4500101_122612.ZIP", "I45001_4500101_122612")],
)
def test_package_names_as_smo_software_writes_them(file_name: str, stem: str) -> None:
    name = oplist.package_name(f"/some/folder/{file_name}")
    assert (name.stem, name.smo, name.replist[1:], name.flk_p[0]) == (stem, "45001", stem[1:], "f")


@pytest.mark.parametrize(
    "file_name",
    [
        "i45001_01_122601.xml",
        "i4500_01_122601.zip",
        "i45001_01_132601.zip",
        "x45001_01_122601.zip",
        "i45001.zip",
    ],
)
def test_other_names_are_802(file_name: str) -> None:
    with pytest.raises(oplist.PackageError) as refused:
        oplist.package_name(file_name)
    assert refused.value.code == "802"
