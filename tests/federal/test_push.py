"""Federal-first writes: an accepted change reaches ФЕРЗЛ first and applies locally only on its acceptance.

Against the ФЕРЗЛ emulator over signed SOAP: accepted, rejected with the federal code, "ФЕРЗЛ down, then
back", and an answer lost after ФЕРЗЛ applied the change — in no path is a change applied twice, on
either side.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from datetime import date
from typing import Any

import pytest
import redis
from rq import Queue, SimpleWorker

from rserz_soap.domain.buffer import FEDERAL_REJECTED, State, Submitter
from rserz_soap.domain.flk.reference import add_working_days
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.domain.records import PolicyInput
from rserz_soap.emulators.ferzl.population import Divergence
from rserz_soap.jobs import federal as federal_jobs
from rserz_soap.jobs import queues
from rserz_soap.usecases.federal_port import FederalUnavailable
from tests import builders
from tests.federal.conftest import Stand
from tests.harness import Register

_serial = iter(range(1, 10_000))


def _new_person_record(document: Any = None):  # type: ignore[no-untyped-def]
    """П010 of a person neither register knows, with identifiers of its own (ВС number included)."""
    n = next(_serial)
    person = builders.person_data(
        fam="Федералова", im="Ирина", ss=make_snils(987_000_000 + n), dr=date(1979, 2, n % 28 + 1)
    )
    doc = document or builders.passport(docser="45 99", docnum=f"{910_000 + n}", docdate=date(2024, 6, 1))
    dvizit = date(2025, 3, 3)
    vs = PolicyInput(vpolis=2, npolis=f"4599{n:05d}", dbeg=dvizit, dend=add_working_days(dvizit, 30))
    return builders.record("П010", person=person, documents=(doc,), policy=vs, dvizit=dvizit)


def _registry(stand: Stand) -> Register:
    return Register.of(stand.hub, stand.settings)


def _submit(stand: Stand, rec: Any) -> Any:
    return _registry(stand).submit(Submitter(stand.smo_participant, "smo", "45001"), [rec])[0]


def _versions(stand: Stand, enp: str) -> tuple[int, int]:
    hub = stand.hub_scalar(
        "SELECT count(*) FROM person_version v JOIN person p ON p.id = v.person_id WHERE p.main_enp = :e",
        e=enp,
    )
    fed = stand.ferzl_scalar("SELECT count(*) FROM fed_person_version WHERE enp = :e", e=enp)
    return int(hub), int(fed)


def test_an_accepted_change_waits_for_ferzl_then_applies_once(small_stand: Stand) -> None:
    stand = small_stand
    result = _submit(stand, _new_person_record())
    assert result.state is State.AWAITING_FEDERAL and result.code_erp is None
    enp = stand.hub_scalar("SELECT enp FROM federal_push WHERE entry_id = :i", i=result.entry_id)
    assert enp and stand.hub_scalar("SELECT count(*) FROM person WHERE main_enp = :e", e=enp) == 0

    report = _registry(stand).push_pending(stand.client(), "45")

    assert report.accepted == 1
    final = _registry(stand).results([result.entry_id])[0]
    assert final.state is State.APPLIED and final.code_erp == "AA" and final.enp == enp
    assert _versions(stand, enp) == (1, 1)  # one version on each side
    assert stand.ferzl_scalar("SELECT fam FROM fed_person WHERE enp = :e", e=enp) == "Федералова"
    # a second sender finds nothing to send, and nothing changes
    assert _registry(stand).push_pending(stand.client(), "45").sent == 0
    assert _versions(stand, enp) == (1, 1)

    # a later change of the same person (a new passport) is pushed with the card as it is now
    card = _card(stand, enp)
    new_doc = builders.passport(docser="45 98", docnum="777001", docdate=date(2025, 3, 20))
    change = builders.record(
        "П040", enp=enp, policy=None, dvizit=date(2025, 4, 1), person=card.data, documents=(new_doc,)
    )
    second = _submit(stand, change)
    assert second.state is State.AWAITING_FEDERAL, second
    assert _registry(stand).push_pending(stand.client(), "45").accepted == 1
    assert stand.ferzl_scalar("SELECT doc_num FROM fed_person WHERE enp = :e", e=enp) == "777001"
    assert stand.ferzl_scalar("SELECT fam FROM fed_person WHERE enp = :e", e=enp) == "Федералова"
    assert _versions(stand, enp) == (2, 2)


def _card(stand: Stand, enp: str) -> Any:
    from rserz_soap.db import persons

    with stand.hub.connect() as conn:
        card = persons.load_by_enp(conn, enp)
    assert card is not None
    return card


def test_a_federal_rejection_rejects_the_entry_with_the_federal_code(small_stand: Stand) -> None:
    stand = small_stand
    # a document ФЕРЗЛ holds for a person the region does not know: the region's checks pass, ФЕРЗЛ's fail
    fed_only = next(p for p in stand.planted if p.kind is Divergence.MISSING_REGIONALLY)
    with stand.ferzl.connect() as conn:
        from sqlalchemy import text

        row = conn.execute(
            text("SELECT doc_type, doc_ser, doc_num FROM fed_person WHERE enp = :e"), {"e": fed_only.enp}
        ).one()
    rec = _new_person_record(
        builders.passport(
            doctype=row.doc_type, docser=row.doc_ser, docnum=row.doc_num, docdate=date(2024, 6, 1)
        )
    )
    result = _submit(stand, rec)
    assert result.state is State.AWAITING_FEDERAL, result

    report = _registry(stand).push_pending(stand.client(), "45")

    assert report.rejected == 1
    final = _registry(stand).results([result.entry_id])[0]
    assert final.state is State.REJECTED and final.code_erp == "AE"
    assert [e["code"] for e in final.errors] == [FEDERAL_REJECTED]
    assert "F001" in final.errors[0]["comment"]
    assert (
        stand.hub_scalar("SELECT federal_code FROM federal_push WHERE entry_id = :i", i=result.entry_id)
        == "F001"
    )
    assert (
        stand.hub_scalar("SELECT count(*) FROM person_version WHERE buffer_entry_id = :i", i=result.entry_id)
        == 0
    )


def test_while_ferzl_is_down_entries_wait_and_apply_once_when_it_is_back(small_stand: Stand) -> None:
    stand = small_stand
    result = _submit(stand, _new_person_record())
    enp = stand.hub_scalar("SELECT enp FROM federal_push WHERE entry_id = :i", i=result.entry_id)
    stand.faults(outage_until=(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat())
    try:
        with pytest.raises(FederalUnavailable):
            _registry(stand).push_pending(stand.client(), "45")
        assert _registry(stand).results([result.entry_id])[0].state is State.AWAITING_FEDERAL
        assert stand.hub_scalar("SELECT last_error FROM federal_push WHERE entry_id = :i", i=result.entry_id)
        assert _versions(stand, enp) == (0, 0)
    finally:
        stand.faults()

    assert _registry(stand).push_pending(stand.client(), "45").accepted == 1
    assert _registry(stand).results([result.entry_id])[0].state is State.APPLIED
    assert _versions(stand, enp) == (1, 1)
    # both attempts are in the exchange journal under the push's request id, without bodies
    with stand.hub.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(
            text(
                "SELECT outcome, error_code, request_body FROM exchange_journal WHERE direction = 'out'"
                " AND operation = 'acceptRegionalChange' AND request_id = (SELECT request_id FROM federal_push"
                " WHERE entry_id = :i) ORDER BY id"
            ),
            {"i": result.entry_id},
        ).all()
    assert [(r.outcome, r.error_code, r.request_body) for r in rows] == [
        ("error", "UNAVAILABLE", None),
        ("ok", None, None),
    ]


def test_an_answer_lost_after_ferzl_applied_the_change_is_not_applied_twice(small_stand: Stand) -> None:
    stand = small_stand
    registry = _registry(stand)
    result = _submit(stand, _new_person_record())
    push = registry.prepare_push(result.entry_id)
    assert push is not None
    # ФЕРЗЛ gets the change and applies it; the answer never reaches the hub (the worker dies here)
    first = stand.client().accept_regional_change(
        push.request_id, "45", push.operation, push.change_date, push.card
    )
    assert first.accepted
    enp = push.card.enp
    assert enp is not None
    assert _versions(stand, enp) == (0, 1)

    report = _registry(stand).push_pending(stand.client(), "45")  # the next sender repeats the same request

    assert report.accepted == 1
    assert _versions(stand, enp) == (1, 1)


def test_the_scheduled_push_job_sends_through_a_real_rq_worker(
    small_stand: Stand, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand = small_stand
    stand.use_in_this_process(monkeypatch)
    result = _submit(stand, _new_person_record())
    assert stand.settings.redis_url
    rds = redis.Redis.from_url(stand.settings.redis_url)
    queue = Queue(queues.FEDERAL, connection=rds)
    job = queue.enqueue(federal_jobs.push_pending, retry=federal_jobs.retry([1, 1]))

    SimpleWorker([queue], connection=rds).work(burst=True)

    assert job.return_value() == {"sent": 1, "accepted": 1, "rejected": 0, "not_sent": 0}
    assert _registry(stand).results([result.entry_id])[0].state is State.APPLIED
    rds.close()


def test_a_scheduled_push_during_an_outage_hands_over_to_one_retrying_job(
    small_stand: Stand, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    stand = small_stand
    stand.use_in_this_process(monkeypatch)
    result = _submit(stand, _new_person_record())
    assert stand.settings.redis_url
    rds = redis.Redis.from_url(stand.settings.redis_url)
    queue = Queue(queues.FEDERAL, connection=rds)
    stand.faults(outage_until=(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat())
    try:
        for _ in range(3):  # three scheduler ticks during the outage
            queue.enqueue(federal_jobs.scheduled_push)
            SimpleWorker([queue], connection=rds).work(burst=True)
        scheduled = ScheduledJobRegistry(queue=queue).get_job_ids()
        assert scheduled.count("rserz-ferzl-push-retry") == 1
        retry_job = Job.fetch("rserz-ferzl-push-retry", connection=rds)
        assert retry_job.retries_left == len(federal_jobs.RETRY_INTERVALS)
        assert _registry(stand).results([result.entry_id])[0].state is State.AWAITING_FEDERAL
    finally:
        stand.faults()
    time.sleep(federal_jobs.RETRY_INTERVALS[0] + 0.5)
    SimpleWorker([queue], connection=rds).work(burst=True, with_scheduler=True)
    assert _registry(stand).results([result.entry_id])[0].state is State.APPLIED
    rds.close()


def test_a_change_the_register_can_no_longer_apply_is_rejected_not_half_applied(small_stand: Stand) -> None:
    from rserz_soap.db import persons
    from rserz_soap.domain.operations import record_death

    stand = small_stand
    result = _submit(stand, _new_person_record())
    assert _registry(stand).push_pending(stand.client(), "45").accepted == 1
    enp = stand.hub_scalar("SELECT enp FROM federal_push WHERE entry_id = :i", i=result.entry_id)
    card = _card(stand, enp)
    new_doc = builders.passport(docser="45 96", docnum="777002", docdate=date(2025, 3, 20))
    change = _submit(
        stand,
        builders.record(
            "П040", enp=enp, policy=None, dvizit=date(2025, 4, 1), person=card.data, documents=(new_doc,)
        ),
    )
    registry = _registry(stand)
    push = registry.prepare_push(change.entry_id)
    assert push is not None
    answer = stand.client().accept_regional_change(
        push.request_id, "45", push.operation, push.change_date, push.card
    )
    assert answer.accepted
    with stand.hub.begin() as conn:  # meanwhile the register learns of a death (ЗАГС, another path)
        stored = persons.load(conn, card.person_id, for_update=True)
        t = record_death(stored.card, date(2025, 3, 25))
        persons.save(
            conn, stored, t.after, persons.VersionMeta("FEDERAL_DEATH", "ferzl", "test", t.valid_from)
        )
    versions = _versions(stand, enp)[0]

    final = registry.federal_answered(change.entry_id, answer)

    assert final.state is State.REJECTED and final.code_erp == "AE" and "503" in final.comment
    assert _versions(stand, enp)[0] == versions  # nothing of the change was applied
    assert (
        stand.hub_scalar("SELECT state FROM federal_push WHERE entry_id = :i", i=change.entry_id)
        == "accepted"
    )


def test_a_second_registration_of_the_same_new_person_is_stopped_before_it_reaches_ferzl(
    small_stand: Stand,
) -> None:
    stand = small_stand
    rec = _new_person_record()
    first = _submit(stand, rec)
    again = dataclasses.replace(
        rec,
        insurance=dataclasses.replace(
            rec.insurance, policy=dataclasses.replace(rec.insurance.policy, npolis="459999999")
        ),
    )
    second = _submit(stand, again)  # the person does not exist locally yet: both wait for ФЕРЗЛ
    assert (first.state, second.state) == (State.AWAITING_FEDERAL, State.AWAITING_FEDERAL)

    report = _registry(stand).push_pending(stand.client(), "45")

    assert (report.accepted, report.not_sent) == (1, 1)  # the second is recomputed, refused, never sent
    final = _registry(stand).results([second.entry_id])[0]
    assert final.state is State.REJECTED and final.comment.startswith("502")
    enp = stand.hub_scalar("SELECT enp FROM federal_push WHERE entry_id = :i", i=first.entry_id)
    assert _versions(stand, enp) == (1, 1)
