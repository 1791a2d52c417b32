"""The НСИ parser on the bundled demo directories and on files that must be refused."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from rserz_soap.files.nsi import KEY_FIELDS, NsiFile, NsiFormatError, bundled_files, parse_nsi_file

DATA = Path(__file__).parent.parent / "data" / "nsi"
BUNDLED = {path.stem: path for path in bundled_files()}


def _bundled(directory: str) -> NsiFile:
    return parse_nsi_file(BUNDLED[directory])


def _valid(nsi: NsiFile, code: str, on: date) -> list[dict[str, str]]:
    return [r.data for r in nsi.records if r.code == code and r.valid_on(on)]


def _write(tmp_path: Path, name: str, body: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(f'<?xml version="1.0" encoding="{encoding}"?>\n{body}'.encode(encoding))
    return path


def test_every_known_directory_is_bundled() -> None:
    assert set(BUNDLED) == set(KEY_FIELDS)


@pytest.mark.parametrize("path", bundled_files(), ids=lambda p: p.stem)
def test_bundled_file_parses_with_one_record_per_code_and_date(path: Path) -> None:
    nsi = parse_nsi_file(path)

    assert nsi.directory == path.stem
    assert nsi.version == "2025.1"
    assert nsi.file_name == path.name
    assert nsi.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert nsi.records and all(r.directory == nsi.directory for r in nsi.records)
    boundaries = {r.date_beg for r in nsi.records} | {r.date_end for r in nsi.records if r.date_end}
    for on in boundaries:
        valid = Counter(r.code for r in nsi.records if r.valid_on(on))
        assert [code for code, n in valid.items() if n > 1] == [], on


@pytest.mark.parametrize(
    ("directory", "low", "high"),
    [
        ("F002", 6, 6),
        ("F003", 60, None),
        ("F008", 5, 5),
        ("F010", 20, None),
        ("F011", 15, None),
        ("F012", 10, 10),
        ("V005", 2, 2),
        ("O001", 35, None),
        ("R001", 17, 17),
    ],
)
def test_bundled_record_counts(directory: str, low: int, high: int | None) -> None:
    count = len(_bundled(directory).records)
    assert count >= low
    assert high is None or count <= high


def test_f002_smo_of_the_synthetic_region_one_with_contract_ended_in_2024() -> None:
    nsi = _bundled("F002")

    assert [r.code for r in nsi.records] == ["45001", "45002", "45003", "45004", "45005", "45006"]
    assert {r.data["tf_okato"] for r in nsi.records} == {"45000"}
    assert all(len(r.data["inn"]) == 10 and len(r.data["Ogrn"]) == 13 for r in nsi.records)
    ended = [r for r in nsi.records if r.date_end is not None]
    assert [(r.code, r.date_end) for r in ended] == [("45004", date(2024, 12, 31))]
    assert nsi.records[0].data["nam_smok"] == "АО «СК «Северная Звезда-Мед»»"
    assert nsi.records[0].data["jurAddress.addr_j"].startswith("Условная обл.")


def test_f003_mo_codes_kinds_and_two_closed() -> None:
    nsi = _bundled("F003")
    codes = [r.code for r in nsi.records]
    names = " ".join(r.data["nam_mok"] for r in nsi.records)

    assert len(set(codes)) == len(codes)
    assert all(len(c) == 6 and c.startswith("45") for c in codes)
    assert len([r for r in nsi.records if r.date_end is not None]) == 2
    for kind in ("ГП №", "ДГП №", "ГКБ №", "ЦРБ", "СП №"):
        assert kind in names


def test_f011_masks_and_the_residence_permit_mask_change_in_2020() -> None:
    nsi = _bundled("F011")

    (passport,) = _valid(nsi, "14", date(2024, 1, 1))
    assert (passport["DocSer"], passport["DocNum"]) == ("99 99", "999999")
    (birth,) = _valid(nsi, "3", date(2024, 1, 1))
    assert (birth["DocSer"], birth["DocNum"]) == ("R-ББ", "999999")
    (old,) = _valid(nsi, "11", date(2019, 12, 31))
    (new,) = _valid(nsi, "11", date(2020, 1, 1))
    assert old["DocNum"] != new["DocNum"]
    expected = {"1", "3", "9", "11", "12", "13", "14", "21", "22", "23", "24", "25"}
    assert expected <= {r.code for r in nsi.records}


def test_small_directories_have_the_expected_codes() -> None:
    assert [r.code for r in _bundled("F008").records] == ["1", "2", "3", "4", "5"]
    assert [r.code for r in _bundled("V005").records] == ["1", "2"]
    assert {r.code for r in _bundled("F012").records} == {
        "801",
        "802",
        "803",
        "804",
        "805",
        "901",
        "902",
        "903",
        "904",
        "905",
    }
    assert [r.code for r in _bundled("R001").records] == [
        "П010",
        "П021",
        "П022",
        "П023",
        "П024",
        "П025",
        "П031",
        "П032",
        "П033",
        "П034",
        "П035",
        "П036",
        "П040",
        "П060",
        "П061",
        "П062",
        "П063",
    ]


def test_o001_countries() -> None:
    records = {r.code: r.data for r in _bundled("O001").records}

    assert {"643", "051", "112", "398", "417", "860", "762", "804", "156"} <= set(records)
    assert records["643"]["ALFA3"] == "RUS"
    assert all(len(code) == 3 and code.isdigit() for code in records)
    assert all(len(d["ALFA2"]) == 2 and len(d["ALFA3"]) == 3 for d in records.values())


def test_f010_has_the_synthetic_region() -> None:
    records = {r.code: r.data for r in _bundled("F010").records}

    assert records["45"]["KOD_OKATO"] == "45000"


def test_sample_versions_utf8_and_windows_1251() -> None:
    v1 = parse_nsi_file(DATA / "F002_v1.xml")
    v2 = parse_nsi_file(DATA / "F002_v2.xml")

    assert (v1.directory, v1.version, len(v1.records)) == ("F002", "2024.1", 4)
    assert (v2.directory, v2.version, len(v2.records)) == ("F002", "2025.1", 4)
    assert v1.records[1].date_beg == date(2010, 1, 1)  # ISO date accepted too
    # <DATEEND/> and <DATEEND></DATEEND> both mean open-ended
    assert v1.records[0].date_end is None and v1.records[2].date_end is None
    assert _valid(v2, "45001", date(2025, 6, 1))[0]["nam_smok"] == "АО «СК «Полярная Звезда»»"


def test_directory_comes_from_the_file_name_without_a_header(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "V005_2025.xml",
        "<packet><zap><IDPOL>1</IDPOL><POLNAME>М</POLNAME><DATEBEG>01.01.2011</DATEBEG></zap></packet>",
    )

    nsi = parse_nsi_file(path)

    assert (nsi.directory, nsi.version) == ("V005", None)
    assert nsi.records[0].data == {"IDPOL": "1", "POLNAME": "М"}


def test_repeated_field_is_kept_numbered(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "F003.xml",
        "<packet><medCompany><mcod>450001</mcod><phone>1</phone><phone>2</phone>"
        "<DATEBEG>01.01.2011</DATEBEG></medCompany></packet>",
    )

    assert parse_nsi_file(path).records[0].data == {"mcod": "450001", "phone": "1", "phone[2]": "2"}


RECORD = "<zap><Kod>901</Kod><Opis>x</Opis>{dates}</zap>"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<packet>" + RECORD.format(dates="") + "</packet>", "record 901 has no DATEBEG"),
        ("<packet>" + RECORD.format(dates="<DATEBEG></DATEBEG>") + "</packet>", "has no DATEBEG"),
        ("<packet>" + RECORD.format(dates="<DATEBEG>31.02.2020</DATEBEG>") + "</packet>", "not a date"),
        (
            "<packet>"
            + RECORD.format(dates="<DATEBEG>01.01.2020</DATEBEG><DATEEND>31.12.2019</DATEEND>")
            + "</packet>",
            "is before DATEBEG",
        ),
        ("<packet><zap><Opis>x</Opis><DATEBEG>01.01.2020</DATEBEG></zap></packet>", r"has no code \(Kod\)"),
        (
            "<packet>"
            + RECORD.format(dates="<DATEBEG>01.01.2011</DATEBEG>")
            + RECORD.format(dates="<DATEBEG>01.01.2020</DATEBEG>")
            + "</packet>",
            "overlaps",
        ),
        ("<packet><zglv><type>F012</type></zglv></packet>", "no records"),
        ("<packet><zglv/><zglv/></packet>", "more than one header"),
        ("<packet><record/></packet>", "unexpected element"),
        ("<root>" + RECORD.format(dates="<DATEBEG>01.01.2011</DATEBEG>") + "</root>", "root element"),
        ("<packet><zap>", "not well-formed"),
        ("<packet><zglv><type>F099</type></zglv></packet>", "unknown directory 'F099'"),
    ],
)
def test_bad_file_is_refused_with_file_and_place(tmp_path: Path, body: str, expected: str) -> None:
    path = _write(tmp_path, "F012.xml", body)

    with pytest.raises(NsiFormatError, match=expected) as caught:
        parse_nsi_file(path)

    assert str(caught.value).startswith("F012.xml")


def test_error_names_the_record_element_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "F012.xml",
        "<packet>\n"
        + RECORD.format(dates="<DATEBEG>01.01.2011</DATEBEG>")
        + "\n"
        + RECORD.format(dates="")
        + "\n</packet>",
    )

    with pytest.raises(NsiFormatError) as caught:
        parse_nsi_file(path)

    assert (caught.value.file, caught.value.element, caught.value.line) == ("F012.xml", "zap", 4)
    assert str(caught.value) == "F012.xml, line 4, <zap>: record 901 has no DATEBEG"


def test_unknown_file_name_without_header_is_refused(tmp_path: Path) -> None:
    record = RECORD.format(dates="<DATEBEG>01.01.2011</DATEBEG>")
    path = _write(tmp_path, "spravochnik.xml", f"<packet>{record}</packet>")

    with pytest.raises(NsiFormatError, match="unknown directory"):
        parse_nsi_file(path)


def test_explicit_directory_must_match_the_header() -> None:
    assert parse_nsi_file(DATA / "F002_v1.xml", "F002").directory == "F002"
    with pytest.raises(NsiFormatError, match="declares directory F002, expected F003"):
        parse_nsi_file(DATA / "F002_v1.xml", "F003")


@pytest.mark.parametrize("target", ["file:///etc/passwd", "secret"])
def test_doctype_with_external_entity_is_refused_unread(tmp_path: Path, target: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    url = secret.as_uri() if target == "secret" else target
    path = _write(
        tmp_path,
        "F012.xml",
        f'<!DOCTYPE x [<!ENTITY e SYSTEM "{url}">]>'
        "<packet><zap><Kod>901</Kod><Opis>&e;</Opis><DATEBEG>01.01.2011</DATEBEG></zap></packet>",
    )

    with pytest.raises(NsiFormatError, match="DOCTYPE is not allowed") as caught:
        parse_nsi_file(path)

    assert "TOP-SECRET" not in str(caught.value) and "root:" not in str(caught.value)


def test_internal_entity_expansion_is_refused(tmp_path: Path) -> None:
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    path = _write(
        tmp_path,
        "F012.xml",
        f'<!DOCTYPE x [<!ENTITY l0 "lol">{lol}]>'
        "<packet><zap><Kod>901</Kod><Opis>&l9;</Opis><DATEBEG>01.01.2011</DATEBEG></zap></packet>",
    )

    # libxml2 may stop it already (amplification limit); either way the file is refused, not expanded.
    with pytest.raises(NsiFormatError, match=r"DOCTYPE is not allowed|entity amplification"):
        parse_nsi_file(path)


# --------------------------------------------------------------------------- the layouts FFOMS publishes


def test_published_f002_gives_one_record_per_insinclude_period() -> None:
    nsi = parse_nsi_file(DATA / "F002_published.xml")

    assert (nsi.directory, nsi.version) == ("F002", "3.12")
    periods = [(r.code, r.date_beg, r.date_end) for r in nsi.records]
    assert periods == [
        ("77901", date(2011, 1, 1), date(2019, 12, 31)),
        ("77901", date(2022, 1, 1), None),
        ("77902", date(2012, 1, 1), date(2024, 6, 30)),
    ]
    first, second, _ = nsi.records
    assert first.data["nam_smok"] == "ООО «СМК «Пример-Мед»»" == second.data["nam_smok"]
    assert first.data["insInclude.name_e"] == "Исключена по заявлению"
    assert "insInclude.d_begin" not in first.data and "DATEBEG" not in first.data
    assert first.data["insAdvice.kol_zl"] == "120000" and first.data["insAdvice.kol_zl[2]"] == "125000"


@pytest.mark.parametrize(
    ("on", "valid"),
    [
        (date(2015, 6, 1), True),  # inside the first period
        (date(2019, 12, 31), True),  # its last day
        (date(2021, 6, 1), False),  # between the two periods
        (date(2022, 1, 1), True),  # the second period's first day
        (date(2030, 1, 1), True),
        (date(2010, 12, 31), False),  # before the first
    ],
)
def test_a_date_between_two_inclusion_periods_finds_no_valid_record(on: date, valid: bool) -> None:
    nsi = parse_nsi_file(DATA / "F002_published.xml")

    assert bool(_valid(nsi, "77901", on)) is valid


def test_published_f003_reads_medinclude_periods() -> None:
    nsi = parse_nsi_file(DATA / "F003_published.xml")

    assert [(r.code, r.date_beg, r.date_end) for r in nsi.records] == [
        ("779001", date(2011, 1, 1), None),
        ("779002", date(2016, 1, 1), date(2018, 12, 31)),
        ("779002", date(2021, 1, 1), None),
    ]
    assert not _valid(nsi, "779002", date(2020, 1, 1))
    assert nsi.records[0].data["nam_mok"] == "ГБУЗ «ПГП № 1»"


def test_published_r001_is_keyed_by_kod_with_its_text_in_opis() -> None:
    nsi = parse_nsi_file(DATA / "R001_published.xml")

    assert [r.code for r in nsi.records] == ["П010", "П021", "П034", "П060"]
    assert nsi.records[0].data["Opis"] == "Подача заявления о выборе СМО"
    assert not _valid(nsi, "П060", date(2023, 1, 1))


def test_published_o001_without_datebeg_starts_on_datevved_or_1900() -> None:
    nsi = parse_nsi_file(DATA / "O001_published.xml")
    records = {r.code: r for r in nsi.records}

    assert records["643"].data["ALFA3"] == "RUS" and records["643"].date_beg == date(2002, 7, 1)
    assert records["860"].date_beg == date(1900, 1, 1) and records["860"].date_end is None


def test_an_inclusion_block_without_its_start_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "F002.xml",
        "<packet><insCompany><smocod>45001</smocod><insInclude><d_end>01.01.2020</d_end></insInclude>"
        "</insCompany></packet>",
    )

    with pytest.raises(NsiFormatError, match=r"record 45001, <insInclude> has no d_begin"):
        parse_nsi_file(path)


def test_overlapping_inclusion_periods_are_refused(tmp_path: Path) -> None:
    blocks = "".join(
        f"<insInclude><d_begin>{b}</d_begin><d_end>{e}</d_end></insInclude>"
        for b, e in (("01.01.2011", "31.12.2020"), ("01.01.2020", ""))
    )
    path = _write(
        tmp_path, "F002.xml", f"<packet><insCompany><smocod>45001</smocod>{blocks}</insCompany></packet>"
    )

    with pytest.raises(NsiFormatError, match="overlaps"):
        parse_nsi_file(path)


def test_the_earlier_demo_layout_with_datebeg_is_still_read(tmp_path: Path) -> None:
    nsi = parse_nsi_file(DATA / "F002_v1.xml")
    r001 = _write(
        tmp_path,
        "R001.xml",
        "<packet><zap><TIP_OP>П010</TIP_OP><NAME>x</NAME><DATEBEG>01.01.2011</DATEBEG></zap></packet>",
    )

    assert nsi.records[1].date_beg == date(2010, 1, 1)
    assert [r.code for r in parse_nsi_file(r001).records] == ["П010"]


def test_f010_codes_are_the_region_codes_of_the_territorial_funds() -> None:
    records = {r.code: r.data for r in _bundled("F010").records}

    assert records["22"]["SUBNAME"] == "Алтайский край" and records["22"]["KOD_OKATO"] == "01000"
    assert records["78"]["KOD_OKATO"] == "40000"  # Санкт-Петербург
    assert records["50"]["KOD_OKATO"] == "46000"  # Московская область
    assert records["01"]["KOD_OKATO"] == "79000"  # Республика Адыгея
    assert records["45"]["KOD_OKATO"] == "45000"  # the synthetic region borrows Курганская's 45
    assert all(len(code) == 2 and code.isdigit() for code in records)


def test_f011_has_the_types_26_to_28() -> None:
    nsi = _bundled("F011")

    assert {"26", "27", "28"} <= {r.code for r in nsi.records}
