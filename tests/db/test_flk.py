"""The ФЛК directory in PostgreSQL: load, read back, upsert by date, operators' edits survive reloads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta

from sqlalchemy import Connection, select

from rserz_soap.db.flk import LoadResult, load_directory, read_directory, set_entry
from rserz_soap.db.tables import flk_error
from rserz_soap.domain.flk.directory import ErrorDirectory, ErrorEntry, Kind, Severity
from rserz_soap.domain.flk.engine import verify_directory
from rserz_soap.files.flk_directory import bundled_directory

LOCAL = ErrorEntry("X01", "Региональная проверка", "PHONE", "PERSON", Severity.WARNING, Kind.LOGICAL)


def _ours(conn: Connection, codes: set[str]) -> ErrorDirectory:
    """What the table holds for ``codes`` (other tests' or migrations' rows are none of ours)."""
    return ErrorDirectory(e for e in read_directory(conn) if e.code in codes)


def _newer(directory: ErrorDirectory) -> ErrorDirectory:
    """The same entries, as a file issued after the bundled one."""
    assert directory.issued is not None
    return ErrorDirectory(directory, version="next", issued=directory.issued + timedelta(days=150))


def test_the_bundled_directory_round_trips(db_conn: Connection) -> None:
    bundled = bundled_directory()

    result = load_directory(db_conn, bundled)

    assert result == LoadResult(inserted=len(bundled), updated=0, kept=0)
    back = read_directory(db_conn)
    assert _ours(db_conn, bundled.codes()) == bundled
    verify_directory(back)


def test_loading_the_same_file_again_changes_nothing(db_conn: Connection) -> None:
    bundled = bundled_directory()
    load_directory(db_conn, bundled)

    assert load_directory(db_conn, bundled) == LoadResult(inserted=0, updated=0, kept=len(bundled))


def test_a_newer_file_updates_messages_and_severity_and_keeps_codes_it_lacks(db_conn: Connection) -> None:
    bundled = bundled_directory()
    load_directory(db_conn, bundled.with_entry(LOCAL))
    newer = _newer(
        bundled.with_message("203", "Серия паспорта набрана неверно")
        .with_severity("117", Severity.OFF)
        .without("420")
    )

    result = load_directory(db_conn, newer)

    assert result == LoadResult(inserted=0, updated=len(newer), kept=0)
    back = read_directory(db_conn)
    assert back["203"].message == "Серия паспорта набрана неверно"
    assert back["117"].severity is Severity.OFF
    assert back["420"] == bundled["420"]  # not in the newer file: kept
    assert back["X01"] == LOCAL  # an operator's own code: kept


def test_an_operators_later_edit_survives_a_reload_and_force_overrides_it(db_conn: Connection) -> None:
    bundled = bundled_directory()
    load_directory(db_conn, bundled)

    assert set_entry(db_conn, "307", severity=Severity.WARNING, message="Проверьте ЕНП")
    assert not set_entry(db_conn, "nope", severity=Severity.OFF)
    reload = load_directory(db_conn, bundled)

    assert (reload.updated, reload.kept) == (0, len(bundled))
    assert read_directory(db_conn)["307"] == replace(
        bundled["307"], severity=Severity.WARNING, message="Проверьте ЕНП"
    )
    forced = load_directory(db_conn, bundled, force=True)
    assert forced.updated == len(bundled)
    assert read_directory(db_conn)["307"] == bundled["307"]


def test_an_older_file_does_not_undo_a_newer_one(db_conn: Connection) -> None:
    bundled = bundled_directory()
    load_directory(db_conn, _newer(bundled.with_message("101", "Новая формулировка")))

    result = load_directory(db_conn, bundled)

    assert result.updated == 0
    assert read_directory(db_conn)["101"].message == "Новая формулировка"


def test_rows_from_a_file_carry_its_date(db_conn: Connection) -> None:
    load_directory(db_conn, bundled_directory())

    stamp = db_conn.execute(select(flk_error.c.updated_at).where(flk_error.c.code == "101")).scalar_one()

    assert stamp.astimezone(UTC).date() == bundled_directory().issued
