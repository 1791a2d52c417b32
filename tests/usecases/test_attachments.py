"""Attachments to МО against real PostgreSQL: one active per area type, F003 on the date, double repair."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlalchemy import Connection, func, select

from rserz_soap.db import persons
from rserz_soap.db.nsi import import_file
from rserz_soap.db.tables import attachment, person_version
from rserz_soap.domain.operations import OperationContext, apply_operation
from rserz_soap.domain.person import Attachment, PersonCard, PersonData, Status
from rserz_soap.domain.records import PolicyInput
from rserz_soap.files.nsi import bundled_files, parse_nsi_file
from rserz_soap.usecases import attachments
from rserz_soap.usecases.attachments import (
    REFUSAL_CODES,
    AttachmentError,
    ChangeSource,
    attach,
    close_double_attachments,
    detach,
    find_double_attachments,
)
from tests import builders
from tests.harness import uow

MO = ChangeSource("mo", "450001", actor="mo-user")
THERAPY, DENTAL = 1, 2
CLOSED_2023 = "450019"  # F003: closed 31.03.2023
LEFT_OMS_2024 = "450063"  # F003: left ОМС on 31.12.2024


@pytest.fixture
def f003(db_conn: Connection) -> None:
    (path,) = [p for p in bundled_files() if p.stem == "F003"]
    import_file(db_conn, parse_nsi_file(path))


def register(conn: Connection, data: PersonData | None = None) -> int:
    """A person insured since 2010 (an old-style policy): attachments are made only to insured persons."""
    policy = PolicyInput(vpolis=1, npolis="4500000012345678", dbeg=date(2010, 1, 1))
    rec = builders.record(person=data or builders.person_data(), policy=policy)
    ctx = OperationContext(
        "45001", date(2025, 3, 3), lambda dr, w: persons.allocate_enp(conn, builders.REGION, dr, w)
    )
    t = apply_operation(None, rec, ctx)
    meta = persons.VersionMeta("П010", "smo", "45001", t.valid_from)
    return persons.save(conn, None, t.after, meta).person_id


def card(conn: Connection, person_id: int) -> PersonCard:
    return persons.load(conn, person_id).card


def open_attachments(conn: Connection, person_id: int) -> set[tuple[str, int]]:
    return {(a.mo_code, a.area_type) for a in card(conn, person_id).attachments if a.date_out is None}


def test_a_second_attach_of_the_same_area_type_closes_the_first(db_conn: Connection, f003: None) -> None:
    pid = register(db_conn)
    first = attach(uow(db_conn), pid, "450001", THERAPY, date(2024, 1, 15), 1, source=MO)
    second = attach(
        uow(db_conn),
        pid,
        "450002",
        THERAPY,
        date(2025, 2, 1),
        2,
        section="12",
        doctor_snils=builders.person_data().ss,
        source=ChangeSource("mo", "450002"),
    )

    assert first.closed == () and first.version is not None
    assert second.closed == (dataclasses.replace(first.attachment, date_out=date(2025, 2, 1)),)
    now = card(db_conn, pid)
    assert [(a.mo_code, a.section) for a in now.active_attachments(date(2025, 6, 1))] == [("450002", "12")]
    assert [a.mo_code for a in now.active_attachments(date(2025, 1, 31))] == ["450001"]
    assert open_attachments(db_conn, pid) == {("450002", THERAPY)}
    rows = db_conn.execute(select(func.count()).select_from(attachment).where(attachment.c.person_id == pid))
    assert rows.scalar_one() == 3  # the first (superseded, kept), its closed copy, the second
    assert second.version is not None
    version_id = second.version.version_id
    version = db_conn.execute(select(person_version).where(person_version.c.id == version_id)).one()
    assert (version.operation, version.source_kind, version.source_code, version.valid_from) == (
        "ATTACH",
        "mo",
        "450002",
        date(2025, 2, 1),
    )


def test_different_area_types_coexist(db_conn: Connection, f003: None) -> None:
    pid = register(db_conn)
    attach(uow(db_conn), pid, "450001", THERAPY, date(2024, 1, 15), 1, source=MO)
    dental = attach(uow(db_conn), pid, "450002", DENTAL, date(2024, 3, 1), 1, source=MO)
    assert dental.closed == ()
    assert open_attachments(db_conn, pid) == {("450001", THERAPY), ("450002", DENTAL)}
    assert pid not in {d.person_id for d in find_double_attachments(uow(db_conn))}


def test_repeating_the_same_attach_changes_nothing(db_conn: Connection, f003: None) -> None:
    pid = register(db_conn)
    attach(uow(db_conn), pid, "450001", THERAPY, date(2024, 1, 15), 1, source=MO)
    again = attach(uow(db_conn), pid, "450001", THERAPY, date(2024, 1, 15), 1, source=MO)
    assert again.version is None and card(db_conn, pid).version_no == 2


def test_an_attach_older_than_the_current_one_is_refused(db_conn: Connection, f003: None) -> None:
    pid = register(db_conn)
    attach(uow(db_conn), pid, "450001", THERAPY, date(2025, 1, 15), 1, source=MO)
    with pytest.raises(AttachmentError) as err:
        attach(uow(db_conn), pid, "450002", THERAPY, date(2024, 6, 1), 1, source=MO)
    assert err.value.code == attachments.NEWER_ATTACHMENT


def test_attach_to_an_mo_closed_in_f003_is_refused(db_conn: Connection, f003: None) -> None:
    pid = register(db_conn)
    with pytest.raises(AttachmentError) as err:
        attach(uow(db_conn), pid, CLOSED_2023, THERAPY, date(2024, 1, 15), 1, source=MO)
    assert err.value.code == attachments.UNKNOWN_MO
    with pytest.raises(AttachmentError):
        attach(uow(db_conn), pid, LEFT_OMS_2024, THERAPY, date(2025, 1, 1), 1, source=MO)
    with pytest.raises(AttachmentError):
        attach(uow(db_conn), pid, "459999", THERAPY, date(2025, 1, 1), 1, source=MO)
    # the same МО while it was still in ОМС is fine: the directory is read on the attachment's date
    attach(uow(db_conn), pid, LEFT_OMS_2024, THERAPY, date(2024, 6, 1), 1, source=MO)
    assert open_attachments(db_conn, pid) == {(LEFT_OMS_2024, THERAPY)}


def test_a_dead_person_is_refused(db_conn: Connection, f003: None) -> None:
    pid = register(db_conn)
    stored = persons.load(db_conn, pid, for_update=True)
    dead = stored.card.replace(status=Status.DEAD, ddeath=date(2025, 4, 1))
    persons.save(db_conn, stored, dead, persons.VersionMeta("П022", "zags", "zags", date(2025, 4, 1)))
    with pytest.raises(AttachmentError) as err:
        attach(uow(db_conn), pid, "450001", THERAPY, date(2025, 5, 1), 1, source=MO)
    assert err.value.code == attachments.PERSON_DEAD


def test_a_merged_person_is_refused(db_conn: Connection, f003: None) -> None:
    pid = register(db_conn)
    stored = persons.load(db_conn, pid, for_update=True)
    persons.save(
        db_conn,
        stored,
        stored.card.replace(status=Status.MERGED),
        persons.VersionMeta("MERGE", "tfoms", "operator", date(2025, 4, 1)),
    )
    with pytest.raises(AttachmentError) as err:
        attach(uow(db_conn), pid, "450001", THERAPY, date(2025, 5, 1), 1, source=MO)
    assert err.value.code == attachments.PERSON_INACTIVE


def test_an_attach_before_birth_is_refused(db_conn: Connection, f003: None) -> None:
    pid = register(db_conn)
    with pytest.raises(AttachmentError) as err:
        attach(uow(db_conn), pid, "450001", THERAPY, date(1980, 1, 1), 1, source=MO)
    assert err.value.code == attachments.BEFORE_BIRTH


def test_detach_closes_the_open_attachment(db_conn: Connection, f003: None) -> None:
    pid = register(db_conn)
    attach(uow(db_conn), pid, "450001", THERAPY, date(2024, 1, 15), 1, source=MO)
    result = detach(uow(db_conn), pid, "450001", THERAPY, date(2025, 3, 1), source=MO)
    assert result.attachment.date_out == date(2025, 3, 1) and result.version is not None
    assert open_attachments(db_conn, pid) == set()
    assert (
        detach(uow(db_conn), pid, "450001", THERAPY, date(2025, 3, 1), source=MO).version is None
    )  # a repeat
    with pytest.raises(AttachmentError) as err:
        detach(uow(db_conn), pid, "450002", THERAPY, date(2025, 3, 1), source=MO)
    assert err.value.code == attachments.NO_ATTACHMENT


def test_detach_before_the_attachment_started_is_refused(db_conn: Connection, f003: None) -> None:
    pid = register(db_conn)
    attach(uow(db_conn), pid, "450001", THERAPY, date(2024, 1, 15), 1, source=MO)
    with pytest.raises(AttachmentError) as err:
        detach(uow(db_conn), pid, "450001", THERAPY, date(2023, 1, 1), source=MO)
    assert err.value.code == attachments.BAD_DATES


def _plant(conn: Connection, person_id: int, *planted: Attachment) -> None:
    """Double attachments as files or legacy loads leave them: written straight through persons.save."""
    stored = persons.load(conn, person_id, for_update=True)
    after = stored.card.replace(attachments=stored.card.attachments | set(planted))
    persons.save(conn, stored, after, persons.VersionMeta("LEGACY", "hub", "import", date(2025, 1, 1)))


def test_double_attachments_are_found_and_closed_to_one_per_area_type(db_conn: Connection) -> None:
    doubled = register(db_conn)
    clean = register(db_conn, builders.person_data(fam="Орлова", ss=None))
    old = Attachment("450001", THERAPY, date(2020, 5, 1), 1)
    new = Attachment("450002", THERAPY, date(2023, 9, 1), 2)
    newest = Attachment("450003", THERAPY, date(2024, 2, 1), 1)
    dental_a = Attachment("450004", DENTAL, date(2021, 1, 1), 1)
    dental_b = Attachment("450005", DENTAL, date(2022, 1, 1), 1)
    _plant(db_conn, doubled, new, old, newest, dental_a, dental_b)
    _plant(db_conn, clean, old, dental_a)

    found = {(d.person_id, d.area_type): d.attachments for d in find_double_attachments(uow(db_conn))}

    assert found[(doubled, THERAPY)] == (old, new, newest)  # oldest first
    assert found[(doubled, DENTAL)] == (dental_a, dental_b)
    assert not {k for k in found if k[0] == clean}
    rows_before = db_conn.execute(
        select(func.count()).select_from(attachment).where(attachment.c.person_id == doubled)
    ).scalar_one()

    closed = close_double_attachments(uow(db_conn), actor="job")

    assert closed >= 3
    assert not {d.person_id for d in find_double_attachments(uow(db_conn))} & {doubled, clean}
    now = card(db_conn, doubled)
    assert open_attachments(db_conn, doubled) == {("450003", THERAPY), ("450005", DENTAL)}
    assert dataclasses.replace(old, date_out=newest.date_in) in now.attachments
    assert dataclasses.replace(new, date_out=newest.date_in) in now.attachments
    assert dataclasses.replace(dental_a, date_out=dental_b.date_in) in now.attachments
    assert open_attachments(db_conn, clean) == {("450001", THERAPY), ("450004", DENTAL)}
    assert card(db_conn, clean).version_no == 2  # untouched
    rows_after = db_conn.execute(
        select(func.count()).select_from(attachment).where(attachment.c.person_id == doubled)
    ).scalar_one()
    assert rows_after == rows_before + 3  # closed copies added; nothing deleted
    assert close_double_attachments(uow(db_conn), actor="job") == 0  # a rerun finds nothing to do


def test_a_person_not_insured_on_the_date_cannot_be_attached(db_conn: Connection, f003: None) -> None:
    rec = builders.record(person=builders.person_data())  # a ВС from the visit, 2025: insured from then on
    ctx = OperationContext(
        "45001", date(2025, 3, 3), lambda dr, w: persons.allocate_enp(db_conn, builders.REGION, dr, w)
    )
    t = apply_operation(None, rec, ctx)
    pid = persons.save(
        db_conn, None, t.after, persons.VersionMeta("П010", "smo", "45001", t.valid_from)
    ).person_id
    with pytest.raises(AttachmentError) as refused:
        attach(uow(db_conn), pid, "450001", THERAPY, date(2024, 1, 15), 1, source=MO)
    assert refused.value.code == "not_insured" and REFUSAL_CODES[refused.value.code] == "605"
    assert open_attachments(db_conn, pid) == set()
