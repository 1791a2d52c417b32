"""Nothing lost, nothing applied twice: concurrent writers and a worker killed mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from rserz_soap.config import PROJECT_ROOT, Settings
from rserz_soap.db import persons
from rserz_soap.db.participants import upsert_participant
from rserz_soap.domain.buffer import State, Submitter
from tests import builders
from tests.harness import Register


def _scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_two_connections_cannot_both_apply_a_change_to_one_person(fresh_engine: Engine) -> None:
    with fresh_engine.begin() as conn:
        pid = builders.register_person(conn).card.person_id
    a, b = fresh_engine.connect(), fresh_engine.connect()
    try:
        ta, tb = a.begin(), b.begin()
        stale_a, stale_b = persons.load(a, pid), persons.load(b, pid)  # both read version 1
        meta = persons.VersionMeta("П040", "smo", "45001", date(2025, 5, 1))
        persons.save(a, stale_a, stale_a.card.replace(data=builders.person_data(phone="1")), meta)
        ta.commit()
        with pytest.raises(persons.ConcurrentChange):
            persons.save(b, stale_b, stale_b.card.replace(data=builders.person_data(phone="2")), meta)
        tb.rollback()
    finally:
        a.close()
        b.close()
    assert _scalar(fresh_engine, f"SELECT version_no FROM person WHERE id = {pid}") == 2
    with fresh_engine.connect() as conn:
        assert persons.load(conn, pid).card.data.phone == "1"


def test_a_change_waits_for_the_lock_of_another(fresh_engine: Engine) -> None:
    with fresh_engine.begin() as conn:
        pid = builders.register_person(conn).card.person_id
    holder = fresh_engine.connect()
    tx = holder.begin()
    persons.load(holder, pid, for_update=True)
    with fresh_engine.connect() as other:
        other.execute(text("SET lock_timeout = '300ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            persons.load(other, pid, for_update=True)
    tx.rollback()
    holder.close()


def test_concurrent_claims_on_one_person_apply_exactly_one(fresh_engine: Engine, settings: Settings) -> None:
    registry = Register.of(fresh_engine, settings)
    with fresh_engine.begin() as conn:
        codes = {c: upsert_participant(conn, "smo", c, c) for c in ("45001", "45002", "45003")}
    (reg,) = registry.submit(Submitter(codes["45001"], "smo", "45001"), [builders.record("П010")])
    results: dict[str, object] = {}

    def claim(code: str) -> None:
        # by wish: allowed once a year, so once the first claim is applied the second must be refused
        rec = builders.record("П031", smo=code, enp=reg.enp, dvizit=date(2025, 9, 1), rsmo=2, policy=None)
        (results[code],) = registry.submit(Submitter(codes[code], "smo", code), [rec])

    threads = [threading.Thread(target=claim, args=(c,)) for c in ("45002", "45003")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    outcomes = sorted(r.code_erp for r in results.values())  # type: ignore[attr-defined]
    assert outcomes == ["AA", "AE"], results
    assert (
        _scalar(fresh_engine, f"SELECT count(*) FROM person_version WHERE person_id = {reg.person_id}") == 2
    )
    assert _scalar(fresh_engine, "SELECT count(*) FROM stop_list_entry") == 1


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_nothing_and_applies_nothing_twice(
    fresh_engine: Engine, settings: Settings
) -> None:
    n = 400
    url = fresh_engine.url.render_as_string(hide_password=False)
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.usecases.crash_worker", url, str(n)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill once part of the batch is applied
        if child.poll() is not None:
            pytest.fail(f"worker ended before it was killed: {child.communicate()}")
        if _scalar(fresh_engine, "SELECT count(*) FROM buffer_entry WHERE state = 'applied'") >= n // 3:
            break
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    applied_at_kill = _scalar(fresh_engine, "SELECT count(*) FROM buffer_entry WHERE state = 'applied'")
    assert 0 < applied_at_kill < n, "the kill must land mid-batch"
    assert (
        _scalar(fresh_engine, "SELECT count(*) FROM buffer_entry WHERE state = 'received'")
        == n - applied_at_kill
    )
    assert _scalar(fresh_engine, "SELECT count(*) FROM buffer_entry") == n  # every record was kept

    registry = Register.of(fresh_engine, settings)
    assert registry.process_pending() == n - applied_at_kill
    states = dict(text_rows(fresh_engine, "SELECT state, count(*) FROM buffer_entry GROUP BY state"))
    assert states == {State.APPLIED.value: n}
    # exactly one version and one person per record
    assert _scalar(fresh_engine, "SELECT count(*) FROM person") == n
    assert _scalar(fresh_engine, "SELECT count(DISTINCT buffer_entry_id) FROM person_version") == n
    assert _scalar(fresh_engine, "SELECT count(*) FROM person_version") == n


def text_rows(engine: Engine, sql: str) -> list[tuple[object, object]]:
    with engine.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(text(sql))]
