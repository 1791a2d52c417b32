"""Reconciliation of 100,000 persons with 1 % planted divergences through ФЕРЗЛ's insurance витрина
(getViewDataInsuranceStart/Poll, a ZIP of CSV as an MTOM attachment): exactly the planted set, whatever happens.

The emulator's ground truth (``Planted``) is the expected report. The same register is reconciled
cleanly, with its worker killed mid-run, and through an outage window plus a 5 % federal error rate
driven by a real RQ worker — each time the report must be exactly the planted set, with no item twice.
The last tests apply the ``federal_wins`` policy, which changes the register, so they run last.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from collections import Counter

import redis
from click.testing import CliRunner

from rserz_soap.cli import main
from rserz_soap.emulators.ferzl.population import Divergence
from rserz_soap.jobs.federal import enqueue_reconciliation
from rserz_soap.usecases import manual, reconcile
from rserz_soap.usecases.reconcile import Filter, Reconciler
from tests.federal.conftest import Stand, expected_report, stand_fixture
from tests.harness import uow

N = 100_000


stand = stand_fixture(N, 0.01, "100,000 persons, 1 % planted: the acceptance size of issue 5.")


def _reconciler(stand: Stand) -> Reconciler:
    return Reconciler(stand.uow(), stand.client(), stand.settings.region_okato, poll_seconds=0.05)


def _report(stand: Stand, run_id: int) -> set[tuple[str, str, str]]:
    items = reconcile.report(stand.uow(), run_id)
    keys = [(d.enp, d.category, d.field) for d in items]
    assert len(keys) == len(set(keys)), "an item reported twice"
    return set(keys)


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_planted_set_is_about_one_percent_of_every_kind(stand: Stand) -> None:
    kinds = Counter(p.kind for p in stand.planted)
    assert 700 <= len(stand.planted) <= 1300
    assert set(kinds) == set(Divergence), kinds


def test_full_reconciliation_reports_exactly_the_planted_divergences(stand: Stand) -> None:
    rec = _reconciler(stand)
    run_id = rec.start(policy="report", actor="test")

    progress = rec.run(run_id)

    assert progress.state == "done" and progress.error is None
    assert _report(stand, run_id) == expected_report(stand.planted)
    federal_only = sum(p.kind is Divergence.MISSING_REGIONALLY for p in stand.planted)
    assert progress.persons == N + federal_only
    assert progress.batches >= -(-progress.persons // reconcile.BATCH)
    # the values are the two sides' own, not just a flag
    by_key = {(d.enp, d.field): d for d in reconcile.report(stand.uow(), run_id)}
    for p in stand.planted:
        if p.kind is Divergence.SNILS:
            d = by_key[(p.enp, "ss")]
            assert (d.regional, d.federal) == (p.regional, p.federal)
        if p.kind is Divergence.DEATH_ONLY_FEDERAL:
            d = by_key[(p.enp, "ddeath")]
            assert (d.regional, d.federal) == (None, p.federal)
        if p.kind is Divergence.DOCUMENT:
            d = by_key[(p.enp, "document")]
            assert d.regional is not None and d.federal is not None
            assert d.regional.endswith(p.regional or "?") and d.federal.endswith(p.federal or "?")


def test_a_worker_killed_mid_run_is_resumed_where_it_stopped(stand: Stand) -> None:
    run_id = _reconciler(stand).start(policy="report", actor="test")
    worker = subprocess.Popen(
        [sys.executable, "-m", "rserz_soap", "reconcile", "resume", str(run_id), "--here"],
        env=stand.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: reconcile.progress(stand.uow(), run_id).batches >= 3, 120, "three settled batches")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    killed = reconcile.progress(stand.uow(), run_id)
    assert killed.state == "running" and 3 <= killed.batches < 10, killed

    progress = _reconciler(stand).run(run_id)

    assert progress.state == "done"
    assert _report(stand, run_id) == expected_report(stand.planted)


def test_an_outage_and_five_percent_errors_are_ridden_out_by_rq_retries(stand: Stand) -> None:
    assert stand.settings.redis_url
    rds = redis.Redis.from_url(stand.settings.redis_url)
    run_id = _reconciler(stand).start(policy="report", actor="test")
    until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6)
    stand.faults(error_rate=0.05, outage_until=until.isoformat())
    worker = subprocess.Popen(
        [sys.executable, "-m", "rserz_soap", "worker"],
        env=stand.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        job = enqueue_reconciliation(rds, run_id, intervals=[1] * 120)
        _wait(lambda: reconcile.progress(stand.uow(), run_id).state != "running", 300, "the run to finish")
        job.refresh()
        assert job.retries_left is not None and job.retries_left < 120, "the faults never reached the run"
    finally:
        stand.faults()
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        rds.close()

    assert reconcile.progress(stand.uow(), run_id).state == "done"
    assert _report(stand, run_id) == expected_report(stand.planted)


def test_a_filter_reconciles_only_the_persons_it_selects(stand: Stand) -> None:
    rec = _reconciler(stand)
    run_id = rec.start(Filter(smo="45002"), policy="report", actor="test")

    assert rec.run(run_id).state == "done"

    insured_by = {
        p.enp: stand.hub_scalar(
            "SELECT i.smo_code FROM insurance_period i JOIN person p ON p.id = i.person_id"
            " WHERE p.main_enp = :enp AND i.superseded_at IS NULL AND i.dstop IS NULL",
            enp=p.enp,
        )
        for p in stand.planted
        if p.kind is not Divergence.MISSING_REGIONALLY
    }
    expected = {e for e in expected_report(stand.planted) if e[2] != "*" or e[1] == "missing_federally"}
    expected = {e for e in expected if insured_by.get(e[0]) == "45002"}
    assert expected, "the filter selects some planted persons"
    assert _report(stand, run_id) == expected


def test_federal_wins_corrects_fields_keeps_pins_and_leaves_the_rest_for_review(stand: Stand) -> None:
    names = [p for p in stand.planted if p.kind is Divergence.SNILS]
    pinned, corrected = names[0], names[1]
    pid = stand.hub_scalar("SELECT id FROM person WHERE main_enp = :e", e=pinned.enp)
    with stand.hub.begin() as conn:  # the region keeps its СНИЛС on purpose
        manual.set_deviation(
            uow(conn),
            pid,
            {"ss": pinned.regional},
            federal={"ss": pinned.federal},
            actor="test",
            justification="решение суда",
        )
    rec = _reconciler(stand)
    run_id = rec.start(policy="federal_wins", actor="test")

    progress = rec.run(run_id)

    assert progress.state == "done"
    items = {(d.enp, d.field): d for d in reconcile.report(stand.uow(), run_id)}
    assert items[(pinned.enp, "ss")].category == "accepted_deviation"
    assert items[(corrected.enp, "ss")].category == "differs"
    fam = (
        "SELECT d.ss FROM person_data d JOIN person p ON p.id = d.person_id WHERE p.main_enp = :e"
        " AND d.superseded_at IS NULL AND d.valid_to IS NULL"
    )
    assert stand.hub_scalar(fam, e=pinned.enp) == pinned.regional
    assert stand.hub_scalar(fam, e=corrected.enp) == corrected.federal
    correctable = {Divergence.SNILS, Divergence.DOCUMENT}
    assert progress.applied == sum(p.kind in correctable for p in stand.planted) - 1
    resolutions = {(d.enp, d.field): d.resolution for d in items.values()}
    for p in stand.planted:
        enp, _category, field_ = p.report_key
        want = "applied" if p.kind in correctable else "review"
        assert resolutions[(enp, field_)] == ("pinned" if p is pinned else want), p

    after = _reconciler(stand)
    second = after.start(policy="report", actor="test")
    assert after.run(second).state == "done"
    left = {e for e in expected_report(stand.planted) if e[2] not in ("ss", "document")}
    assert _report(stand, second) == left | {(pinned.enp, "accepted_deviation", "ss")}

    # what an operator reads: the run's progress and its report, filtered
    env = {k: v for k, v in stand.env().items() if k.startswith("RSERZ_")}
    status = CliRunner().invoke(main, ["reconcile", "status", str(second)], env=env)
    assert status.exit_code == 0 and f"run {second} [done] report" in status.output, status.output
    report = CliRunner().invoke(
        main, ["reconcile", "report", str(second), "--category", "accepted_deviation"], env=env
    )
    assert report.exit_code == 0, report.output
    assert report.output.splitlines()[1:] == [
        f"{pinned.enp}\taccepted_deviation\tss\t{pinned.regional}\t{pinned.federal}\tpinned"
    ]
