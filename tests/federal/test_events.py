"""ФЕРЗЛ's events (§5) applied to the register exactly once: births, deaths, ЕРН changes, working status,
suspension — with duplicate deliveries, both feeds carrying the same event, and a worker killed mid-run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import text

from rserz_soap.usecases import federal_events
from tests.federal.conftest import Stand

TODAY = date.today()
_used: set[str] = set()


def _person(stand: Stand, kateg: int | None = None) -> tuple[int, str]:
    """An insured person both sides agree on, not used by another test."""
    planted = {p.enp for p in stand.planted}
    extra = f" AND d.kateg = {int(kateg)}" if kateg is not None else ""
    with stand.hub.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.id, p.main_enp FROM person p JOIN person_data d ON d.person_id = p.id"
                " AND d.superseded_at IS NULL AND d.valid_to IS NULL"
                " WHERE d.status = 'insured' AND p.merged_into IS NULL" + extra + " ORDER BY p.id LIMIT 800"
            )
        ).all()
    for pid, enp in rows:
        if enp not in planted and enp not in _used:
            _used.add(enp)
            return pid, enp
    raise AssertionError("no consistent person left")


def _value(stand: Stand, enp: str, column: str) -> Any:
    return stand.hub_scalar(
        f"SELECT d.{column} FROM person_data d JOIN person p ON p.id = d.person_id WHERE p.main_enp = :e"
        " AND d.superseded_at IS NULL AND d.valid_to IS NULL",
        e=enp,
    )


def _ferzl_versions(stand: Stand, enp: str) -> int:
    return int(
        stand.hub_scalar(
            "SELECT count(*) FROM person_version v JOIN person p ON p.id = v.person_id"
            " WHERE p.main_enp = :e AND v.source_kind = 'ferzl'",
            e=enp,
        )
    )


def _pull(stand: Stand) -> list[federal_events.PullReport]:
    client = stand.client()
    return [
        federal_events.pull(
            stand.uow(), client, "45000", today=TODAY, feed=feed, wait=lambda _s: time.sleep(0.05)
        )
        for feed in federal_events.FEEDS
    ]


def test_each_kind_of_event_is_applied_through_the_registers_use_cases(small_stand: Stand) -> None:
    stand = small_stand
    born = stand.event(None, "1П", person={"fam": "Новорождённая", "im": "Вера", "w": 2, "dr": "2026-11-20",
                                           "docnum": "700001", "docser": "I-ОБ", "smo": "45002"})["enp"]  # fmt: skip
    _p, dead = _person(stand)
    stand.event(dead, "ФСМ", ddeath="2026-11-01")
    _p, renamed = _person(stand)
    stand.event(renamed, "ИЗЕРН", fam="Переименованная")
    _p, worker = _person(stand, kateg=6)
    stand.event(worker, "РАБ")
    _p, conscript = _person(stand)
    stand.event(conscript, "ПРИОСТ", date=TODAY.isoformat())
    stand.event(renamed, "НЕИЗВЕСТНОЕ")  # a code §5 does not list

    reports = _pull(stand)

    outcomes = sum((r.outcomes for r in reports), start=Counter[str]())
    assert outcomes["applied"] == 5 and outcomes["unknown_code"] == 1, outcomes
    # the birth: a new person with the ЕНП and the digital policy ФЕРЗЛ formed
    assert _value(stand, born, "fam") == "Новорождённая"
    assert stand.hub_scalar(
        "SELECT i.vpolis || ' ' || i.npolis || ' ' || i.smo_code FROM insurance_period i JOIN person p"
        " ON p.id = i.person_id WHERE p.main_enp = :e AND i.superseded_at IS NULL", e=born
    ) == f"5 {born} 45002"  # fmt: skip
    assert _value(stand, dead, "status") == "dead" and str(_value(stand, dead, "ddeath")) == "2026-11-01"
    assert _value(stand, renamed, "fam") == "Переименованная"
    assert _value(stand, worker, "kateg") == 1
    assert _value(stand, conscript, "status") == "suspended"
    kept = stand.hub_scalar("SELECT outcome FROM federal_event WHERE event = 'НЕИЗВЕСТНОЕ'")
    assert kept == "unknown_code"

    # the death is cancelled (ОФСМ): the death's version is undone
    stand.event(dead, "ОФСМ")
    _pull(stand)
    assert _value(stand, dead, "status") == "insured" and _value(stand, dead, "ddeath") is None

    # taken again, with every event delivered twice by both feeds: nothing changes
    versions = {e: _ferzl_versions(stand, e) for e in (dead, renamed, worker, conscript)}
    stand.faults(duplicate_rate=1.0)
    try:
        again = _pull(stand)
    finally:
        stand.faults()
    assert sum(r.events for r in again) == 0 and sum(r.duplicates for r in again) > 0
    assert {e: _ferzl_versions(stand, e) for e in versions} == versions


def test_a_worker_killed_mid_run_loses_nothing_and_applies_nothing_twice(small_stand: Stand) -> None:
    stand = small_stand
    _pull(stand)  # what earlier tests left
    before = stand.hub_scalar("SELECT count(*) FROM federal_event WHERE event = 'РАБ'")
    changed = []
    for _ in range(12):
        _p, enp = _person(stand, kateg=6)
        stand.event(enp, "РАБ")
        changed.append(enp)
    stand.faults(latency_ms=250)  # every call a quarter of a second: the kill lands mid-window
    worker = subprocess.Popen(
        [sys.executable, "-m", "rserz_soap", "federal", "sync"],
        env=stand.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            taken = stand.hub_scalar("SELECT count(*) FROM federal_event WHERE event = 'РАБ'") - before
            if taken >= 3:
                break
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        stand.faults()
    killed_at = stand.hub_scalar("SELECT count(*) FROM federal_event WHERE event = 'РАБ'") - before
    assert 3 <= killed_at < len(changed), killed_at
    assert stand.hub_scalar("SELECT op_token FROM federal_event_window WHERE feed = 'getChangesEvent'")

    _pull(stand)

    assert stand.hub_scalar("SELECT count(*) FROM federal_event WHERE event = 'РАБ'") - before == len(changed)
    for enp in changed:
        assert _value(stand, enp, "kateg") == 1
        assert _ferzl_versions(stand, enp) == 1, enp
