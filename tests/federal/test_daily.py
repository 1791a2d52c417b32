"""Daily federal changes: taken day by day from ФЕРЗЛ, applied through the register, pins respected."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text

from rserz_soap.usecases import manual
from rserz_soap.usecases.federal_sync import sync_changes, sync_day
from tests.federal.conftest import Stand
from tests.harness import uow

TODAY = date.today()
_used: set[str] = set()


def _consistent_person(stand: Stand) -> tuple[int, str]:
    """An insured person both sides agree on, not used by another test."""
    planted = {p.enp for p in stand.planted}
    with stand.hub.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.id, p.main_enp FROM person p JOIN person_data d ON d.person_id = p.id"
                " AND d.superseded_at IS NULL AND d.valid_to IS NULL"
                " WHERE d.status = 'insured' AND p.merged_into IS NULL ORDER BY p.id LIMIT 500"
            )
        ).all()
    for pid, enp in rows:
        if enp not in planted and enp not in _used:
            _used.add(enp)
            return pid, enp
    raise AssertionError("no consistent person left")


def _card_value(stand: Stand, enp: str, column: str) -> object:
    return stand.hub_scalar(
        f"SELECT d.{column} FROM person_data d JOIN person p ON p.id = d.person_id WHERE p.main_enp = :e"
        " AND d.superseded_at IS NULL AND d.valid_to IS NULL",
        e=enp,
    )


def _federal_versions(stand: Stand, enp: str) -> int:
    """Versions of the person written from ФЕРЗЛ's data."""
    return int(
        stand.hub_scalar(
            "SELECT count(*) FROM person_version v JOIN person p ON p.id = v.person_id"
            " WHERE p.main_enp = :e AND v.source_kind = 'ferzl'",
            e=enp,
        )
    )


def test_yesterdays_changes_are_applied_once(small_stand: Stand) -> None:
    stand = small_stand
    _pid, enp = _consistent_person(stand)
    yesterday = TODAY - timedelta(days=1)
    change_id = stand.federal_change(enp, yesterday, fam="Переименованная")

    reports = sync_changes(stand.uow(), stand.client(), "45", today=TODAY)

    assert [r.day for r in reports] == [yesterday]
    assert reports[0].changes >= 1 and reports[0].applied >= 1
    assert _card_value(stand, enp, "fam") == "Переименованная"
    assert (
        stand.hub_scalar("SELECT outcome FROM federal_change_seen WHERE change_id = :c", c=change_id)
        == "applied"
    )
    assert _federal_versions(stand, enp) == 1
    # the day is finished: the next run has nothing to take; taking it again changes nothing
    assert sync_changes(stand.uow(), stand.client(), "45", today=TODAY) == []
    again = sync_day(stand.uow(), stand.client(), "45", yesterday, again=True)
    assert again.duplicates >= 1
    assert _federal_versions(stand, enp) == 1


def test_a_pinned_field_is_kept_and_a_federal_death_is_recorded(small_stand: Stand) -> None:
    stand = small_stand
    day = TODAY - timedelta(days=3)
    pinned_pid, pinned_enp = _consistent_person(stand)
    ours = _card_value(stand, pinned_enp, "fam")
    with stand.hub.begin() as conn:
        manual.set_deviation(
            uow(conn), pinned_pid, {"fam": ours}, federal={"fam": "Другая"}, actor="test", justification="суд"
        )
    stand.federal_change(pinned_enp, day, fam="Другая")
    _dead_pid, dead_enp = _consistent_person(stand)
    died = day - timedelta(days=1)
    stand.federal_change(dead_enp, day, reason="ЗАГС", ddeath=died.isoformat())

    report = sync_day(stand.uow(), stand.client(), "45", day)

    assert report.kept_pinned == 1 and report.applied == 1
    assert _card_value(stand, pinned_enp, "fam") == ours
    assert _card_value(stand, dead_enp, "status") == "dead"
    assert _card_value(stand, dead_enp, "ddeath") == died
    stopped = stand.hub_scalar(
        "SELECT count(*) FROM insurance_period i JOIN person p ON p.id = i.person_id WHERE p.main_enp = :e"
        " AND i.superseded_at IS NULL AND i.dstop = :d AND i.stop_reason = 1",
        e=dead_enp,
        d=died,
    )
    assert stopped == 1
    assert stand.hub_scalar("SELECT count(*) FROM stop_list_entry WHERE enp = :e", e=dead_enp) == 1


def test_missed_days_are_caught_up_and_duplicate_deliveries_skipped(small_stand: Stand) -> None:
    stand = small_stand
    with stand.hub.begin() as conn:
        conn.execute(text("DELETE FROM federal_sync_day"))
        conn.execute(
            text("INSERT INTO federal_sync_day (day, finished_at) VALUES (:d, now())"),
            {"d": TODAY - timedelta(days=10)},
        )
    enps = []
    for days_ago in (9, 6, 2):
        _pid, enp = _consistent_person(stand)
        stand.federal_change(enp, TODAY - timedelta(days=days_ago), ot="Федорович")
        enps.append(enp)
    stand.faults(duplicate_rate=1.0)
    try:
        reports = sync_changes(stand.uow(), stand.client(), "45", today=TODAY)
    finally:
        stand.faults()

    assert [r.day for r in reports] == [TODAY - timedelta(days=d) for d in range(9, 0, -1)]
    assert sum(r.duplicates for r in reports) >= 3
    for enp in enps:
        assert _card_value(stand, enp, "ot") == "Федорович"
        assert _federal_versions(stand, enp) == 1
