"""The НСИ repository against real PostgreSQL: every imported file stays, lookups are by date."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from rserz_soap.db.nsi import DirectoryHistory, import_file, record_on, records_of, records_on, versions
from rserz_soap.db.tables import nsi_record
from rserz_soap.domain.countries import CountryCodes
from rserz_soap.files.nsi import bundled_files, parse_nsi_file

DATA = Path(__file__).parent.parent / "data" / "nsi"
V1 = DATA / "F002_v1.xml"
V2 = DATA / "F002_v2.xml"
NAME_A = "АО «СК «Северная Звезда-Мед»»"
NAME_B = "АО «СК «Полярная Звезда»»"


def _name(conn: Connection, code: str, on: date) -> str | None:
    record = record_on(conn, "F002", code, on)
    return record.data["nam_smok"] if record is not None else None


def _rows(conn: Connection, version_id: int) -> int:
    return int(conn.execute(select(func.count()).where(nsi_record.c.version_id == version_id)).scalar_one())


def test_acceptance_a_newer_file_adds_a_version_and_dates_pick_the_right_name(db_conn: Connection) -> None:
    first = import_file(db_conn, parse_nsi_file(V1))
    second = import_file(db_conn, parse_nsi_file(V2))

    assert (first.records, first.already_loaded) == (4, False)
    assert (second.records, second.already_loaded) == (4, False)
    assert _name(db_conn, "45001", date(2023, 6, 1)) == NAME_A
    assert _name(db_conn, "45001", date(2024, 12, 31)) == NAME_A
    assert _name(db_conn, "45001", date(2025, 1, 1)) == NAME_B
    assert _name(db_conn, "45001", date(2025, 6, 1)) == NAME_B
    listed = {(v.id, v.directory, v.version, v.file_name, v.records) for v in versions(db_conn, "F002")}
    assert {
        (first.version_id, "F002", "2024.1", "F002_v1.xml", 4),
        (second.version_id, "F002", "2025.1", "F002_v2.xml", 4),
    } <= listed

    again = import_file(db_conn, parse_nsi_file(V1))

    assert again == dataclasses.replace(first, already_loaded=True)
    assert _rows(db_conn, first.version_id) == 4
    assert len(versions(db_conn, "F002")) == len(listed)
    assert _name(db_conn, "45001", date(2025, 6, 1)) == NAME_B  # the old file did not become "latest"


def test_history_left_out_of_a_newer_file_is_still_served_from_the_older_one(db_conn: Connection) -> None:
    import_file(db_conn, parse_nsi_file(V1))
    import_file(db_conn, parse_nsi_file(V2))

    # v2 lists 45002 only from 01.07.2025 and omits 45003: v1 still answers for the dates v2 is silent on.
    assert _name(db_conn, "45002", date(2025, 6, 30)) == "ООО «СМО «Полярный Щит»»"
    assert _name(db_conn, "45002", date(2025, 7, 1)) == "ООО «СМО «Полярный Щит-Мед»»"
    assert _name(db_conn, "45003", date(2026, 1, 1)) == "АО «МСК «Лесной Ключ»»"


def test_a_closing_date_in_a_newer_file_ends_the_entry_even_if_an_older_file_had_it_open(
    db_conn: Connection,
) -> None:
    import_file(db_conn, parse_nsi_file(V1))
    assert _name(db_conn, "45004", date(2025, 1, 1)) is not None

    import_file(db_conn, parse_nsi_file(V2))

    assert _name(db_conn, "45004", date(2024, 6, 30)) == "ООО «МСК «Надёжный Причал»»"
    assert record_on(db_conn, "F002", "45004", date(2024, 7, 1)) is None
    assert record_on(db_conn, "F002", "45001", date(2009, 12, 31)) is None  # before any record began
    assert record_on(db_conn, "F002", "99999", date(2024, 1, 1)) is None


def test_records_on_a_date_one_per_code(db_conn: Connection) -> None:
    import_file(db_conn, parse_nsi_file(V1))
    import_file(db_conn, parse_nsi_file(V2))

    on_2024 = {r.code: r.data["nam_smok"] for r in records_on(db_conn, "F002", date(2024, 1, 1))}
    on_2025 = {r.code: r.data["nam_smok"] for r in records_on(db_conn, "F002", date(2025, 8, 1))}

    assert on_2024 == {
        "45001": NAME_A,
        "45002": "ООО «СМО «Полярный Щит»»",
        "45003": "АО «МСК «Лесной Ключ»»",
        "45004": "ООО «МСК «Надёжный Причал»»",
    }
    assert on_2025 == {
        "45001": NAME_B,
        "45002": "ООО «СМО «Полярный Щит-Мед»»",
        "45003": "АО «МСК «Лесной Ключ»»",
    }


def test_bundled_directories_import_and_answer_by_date(db_conn: Connection) -> None:
    for path in bundled_files():
        nsi = parse_nsi_file(path)
        result = import_file(db_conn, nsi)
        assert (result.directory, result.records) == (nsi.directory, len(nsi.records))

    smo = records_on(db_conn, "F002", date(2025, 6, 1))
    assert [r.code for r in smo] == ["45001", "45002", "45003", "45005", "45006"]  # 45004's contract ended
    f011 = [r.code for r in records_on(db_conn, "F011", date(2025, 6, 1))]
    assert f011[:4] == ["1", "2", "3", "4"]  # numeric order, not text order
    old = record_on(db_conn, "F011", "11", date(2019, 6, 1))
    new = record_on(db_conn, "F011", "11", date(2020, 6, 1))
    assert old is not None and new is not None
    assert (old.date_end, new.date_beg) == (date(2019, 12, 31), date(2020, 1, 1))
    assert old.data["DocNum"] != new.data["DocNum"]
    assert record_on(db_conn, "R001", "П033", date(2025, 6, 1)) is not None
    assert {v.directory for v in versions(db_conn)} >= {p.stem for p in bundled_files()}


def test_records_of_another_directory_are_refused(db_conn: Connection) -> None:
    nsi = parse_nsi_file(V1)
    wrong = dataclasses.replace(nsi, records=[dataclasses.replace(nsi.records[0], directory="F003")])

    with pytest.raises(ValueError, match="records of"):
        import_file(db_conn, wrong)


def test_in_memory_history_agrees_with_the_query(db_conn) -> None:  # type: ignore[no-untyped-def]
    """DirectoryHistory is the fast twin of record_on: same answer for every code and many dates."""
    from datetime import date as _date
    from datetime import timedelta as _td

    from rserz_soap.db import nsi as repo
    from rserz_soap.files.nsi import bundled_files, parse_nsi_file

    for path in bundled_files():
        repo.import_file(db_conn, parse_nsi_file(path))
    for name in ("F002_v1.xml", "F002_v2.xml"):
        repo.import_file(db_conn, parse_nsi_file(Path(__file__).parent.parent / "data" / "nsi" / name))
    days = [_date(2009, 12, 31) + _td(days=233 * i) for i in range(28)]
    for directory in ("F002", "F003", "F011", "O001", "R001"):
        history = repo.DirectoryHistory(db_conn, directory)
        codes = {r.code for d in days[::10] for r in repo.records_on(db_conn, directory, d)} | {"nope"}
        for code in sorted(codes):
            for day in days:
                assert history.on(code, day) == repo.record_on(db_conn, directory, code, day), (
                    directory,
                    code,
                    day,
                )


PUBLISHED = {name: DATA / f"{name}_published.xml" for name in ("F002", "F003", "R001", "O001")}


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2015, 6, 1), "ООО «СМК «Пример-Мед»»"),
        (date(2021, 6, 1), None),  # between its two insInclude periods
        (date(2023, 6, 1), "ООО «СМК «Пример-Мед»»"),
    ],
)
def test_a_published_f002_resolves_dates_between_inclusion_periods(
    db_conn: Connection, on: date, expected: str | None
) -> None:
    import_file(db_conn, parse_nsi_file(PUBLISHED["F002"]))
    history = DirectoryHistory(db_conn, "F002")

    assert _name(db_conn, "77901", on) == expected
    found = history.on("77901", on)
    assert (found.data["nam_smok"] if found is not None else None) == expected


def test_published_layouts_load_and_answer(db_conn: Connection) -> None:
    for path in PUBLISHED.values():
        import_file(db_conn, parse_nsi_file(path))

    assert record_on(db_conn, "F003", "779002", date(2020, 1, 1)) is None
    assert record_on(db_conn, "F003", "779002", date(2022, 1, 1)) is not None
    r001 = record_on(db_conn, "R001", "П034", date(2025, 1, 1))
    assert r001 is not None and r001.data["Opis"].startswith("Замена СМО")
    countries = CountryCodes.from_records(records_of(db_conn, "O001"))
    assert countries.numeric("RUS") == "643" and countries.numeric("BLR") == "112"
