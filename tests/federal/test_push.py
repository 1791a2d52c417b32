"""Applications, not local numbers: an СМО's operation becomes the fund's application to ФЕРЗЛ.

Against the emulator over the document's SOAP (token, version 24.2.6): a new person's П010 is
``submitPolicyApplication`` 1/1 and the register stores the ЕНП and the digital policy ФЕРЗЛ formed
(``createdPcy``) — no ЕНП is allocated locally; a change of СМО is 1/2; a change of data without a new
policy is ``registerDudl``; a refusal rejects the entry with the federal code (591); an outage, a lost
answer and a repeated send apply nothing twice, on either side.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from datetime import date
from typing import Any

import pytest
import redis
from rq import Queue, SimpleWorker
from sqlalchemy import text

from rserz_soap.db.persons import Persons
from rserz_soap.domain.buffer import FEDERAL_REJECTED, State, Submitter
from rserz_soap.domain.flk.reference import add_working_days
from rserz_soap.domain.identifiers import make_snils
from rserz_soap.domain.records import PolicyInput, Visit
from rserz_soap.emulators.ferzl.population import Divergence
from rserz_soap.jobs import federal as federal_jobs
from rserz_soap.jobs import queues
from rserz_soap.usecases import outbox
from rserz_soap.usecases.federal_port import FederalUnavailable
from tests import builders
from tests.federal.conftest import Stand
from tests.harness import Register

_serial = iter(range(1, 10_000))


@pytest.fixture(autouse=True)
def no_local_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Federal-first never numbers anyone locally: allocating an ЕНП here fails the test."""

    def refuse(*_a: Any, **_k: Any) -> str:
        raise AssertionError("an ЕНП was allocated locally")

    monkeypatch.setattr(Persons, "allocate_enp", refuse)


def _new_person_record(document: Any = None):  # type: ignore[no-untyped-def]
    """П010 of a person neither register knows, with identifiers of its own (the СМО's ВС included)."""
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


def _submit(stand: Stand, rec: Any, smo: str = "45001") -> Any:
    participant = stand.smo_participant
    if smo != "45001":
        from rserz_soap.db.participants import upsert_participant

        with stand.hub.begin() as conn:
            participant = upsert_participant(conn, "smo", smo, f"СМО {smo}")
    return _registry(stand).submit(Submitter(participant, "smo", smo), [rec])[0]


def _versions(stand: Stand, enp: str) -> tuple[int, int]:
    hub = stand.hub_scalar(
        "SELECT count(*) FROM person_version v JOIN person p ON p.id = v.person_id WHERE p.main_enp = :e",
        e=enp,
    )
    fed = stand.ferzl_scalar("SELECT count(*) FROM fed_person_version WHERE enp = :e", e=enp)
    return int(hub), int(fed)


def _policy(stand: Stand, enp: str) -> tuple[Any, ...]:
    with stand.hub.connect() as conn:
        row = conn.execute(
            text(
                "SELECT i.vpolis, i.npolis, i.smo_code, i.dbeg FROM insurance_period i JOIN person p"
                " ON p.id = i.person_id WHERE p.main_enp = :e AND i.superseded_at IS NULL AND i.dstop IS NULL"
            ),
            {"e": enp},
        ).one()
    return tuple(row)


def test_a_new_persons_p010_is_an_application_and_ferzl_forms_the_enp_and_a_digital_policy(
    small_stand: Stand,
) -> None:
    stand = small_stand
    result = _submit(stand, _new_person_record())
    assert result.state is State.AWAITING_FEDERAL and result.code_erp is None and result.enp is None
    assert stand.hub_scalar("SELECT enp FROM federal_push WHERE entry_id = :i", i=result.entry_id) is None

    report = _registry(stand).push_pending(stand.client())

    assert (report.sent, report.accepted) == (1, 1)
    (enp,) = report.formed
    final = _registry(stand).results([result.entry_id])[0]
    assert final.state is State.APPLIED and final.code_erp == "AA" and final.enp == enp
    assert final.insurance is not None and final.insurance["vpolis"] == 5 and final.insurance["npolis"] == enp
    assert _policy(stand, enp)[:3] == (5, enp, "45001")  # Ц (F008 5), numbered by the ЕНП, the chosen СМО
    assert stand.ferzl_scalar("SELECT fam FROM fed_person WHERE enp = :e", e=enp) == "Федералова"
    assert stand.ferzl_scalar("SELECT event FROM fed_event WHERE enp = :e", e=enp) == "1П"
    assert _versions(stand, enp) == (1, 1)
    assert stand.hub_scalar("SELECT reason FROM enp_alias WHERE enp = :e", e=enp) == "assigned"
    # a second sender finds nothing to send, and nothing changes
    assert _registry(stand).push_pending(stand.client()).sent == 0
    assert _versions(stand, enp) == (1, 1)

    # a later change of the same person's document reaches ФЕРЗЛ as registerDudl (§3.6)
    card = _card(stand, enp)
    new_doc = builders.passport(docser="45 98", docnum=f"77{enp[-4:]}", docdate=date(2025, 3, 20))
    change = builders.record(
        "П040", enp=enp, policy=None, dvizit=date(2025, 4, 1), person=card.data, documents=(new_doc,)
    )
    second = _submit(stand, change)
    assert second.state is State.AWAITING_FEDERAL, second
    assert _registry(stand).push_pending(stand.client()).accepted == 1
    assert stand.ferzl_scalar("SELECT doc_num FROM fed_person WHERE enp = :e", e=enp) == new_doc.docnum
    assert _registry(stand).results([second.entry_id])[0].state is State.APPLIED
    assert _versions(stand, enp) == (2, 2)


def test_a_change_of_smo_is_application_1_2_with_the_same_enp(small_stand: Stand) -> None:
    stand = small_stand
    first = _submit(stand, _new_person_record())
    (enp,) = _registry(stand).push_pending(stand.client()).formed
    card = _card(stand, enp)
    dvizit = date(2025, 6, 2)
    change = builders.record(
        "П034",
        enp=enp,
        person=card.data,
        documents=tuple(card.documents),
        smo="45002",
        policy=PolicyInput(vpolis=2, npolis="459900777", dbeg=dvizit, dend=add_working_days(dvizit, 30)),
        dvizit=dvizit,
    )
    change = dataclasses.replace(change, visit=Visit(dvizit, method=1, rsmo=2, rpolis=1))
    moved = _submit(stand, change, smo="45002")
    assert moved.state is State.AWAITING_FEDERAL, moved
    report = _registry(stand).push_pending(stand.client())
    assert report.formed == [enp] and first.entry_id != moved.entry_id
    assert _policy(stand, enp)[:3] == (5, enp, "45002")  # the СМО's ВС number was never stored
    assert stand.ferzl_scalar("SELECT smo FROM fed_person WHERE enp = :e", e=enp) == "45002"
    # the old СМО got its STOPLIST entry
    assert stand.hub_scalar("SELECT smo_code FROM stop_list_entry WHERE enp = :e", e=enp) == "45001"


def _card(stand: Stand, enp: str) -> Any:
    from rserz_soap.db import persons

    with stand.hub.connect() as conn:
        card = persons.load_by_enp(conn, enp)
    assert card is not None
    return card


def test_a_federal_refusal_rejects_the_entry_with_the_federal_code(small_stand: Stand) -> None:
    stand = small_stand
    # a document ФЕРЗЛ holds for a person the region does not know: the region's checks pass, ФЕРЗЛ's fail
    fed_only = next(p for p in stand.planted if p.kind is Divergence.MISSING_REGIONALLY)
    with stand.ferzl.connect() as conn:
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

    report = _registry(stand).push_pending(stand.client())

    assert report.rejected == 1
    final = _registry(stand).results([result.entry_id])[0]
    assert final.state is State.REJECTED and final.code_erp == "AE"
    assert [e["code"] for e in final.errors] == [FEDERAL_REJECTED]
    assert "409.39.5" in final.errors[0]["comment"]
    assert (
        stand.hub_scalar("SELECT federal_code FROM federal_push WHERE entry_id = :i", i=result.entry_id)
        == "409.39.5"
    )


def test_while_ferzl_is_down_entries_wait_and_apply_once_when_it_is_back(small_stand: Stand) -> None:
    stand = small_stand
    result = _submit(stand, _new_person_record())
    stand.faults(outage_until=(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).isoformat())
    try:
        with pytest.raises(FederalUnavailable):
            _registry(stand).push_pending(stand.client())
        assert _registry(stand).results([result.entry_id])[0].state is State.AWAITING_FEDERAL
        assert stand.hub_scalar("SELECT last_error FROM federal_push WHERE entry_id = :i", i=result.entry_id)
    finally:
        stand.faults()
    report = _registry(stand).push_pending(stand.client())
    assert report.accepted == 1
    (enp,) = report.formed
    assert _versions(stand, enp) == (1, 1)
    with stand.hub.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT outcome, error_code, request_body FROM exchange_journal WHERE direction = 'out'"
                " AND operation = 'submitPolicyApplication' AND request_id = (SELECT request_id"
                " FROM federal_push WHERE entry_id = :i) ORDER BY id"
            ),
            {"i": result.entry_id},
        ).all()
    assert [(r.outcome, r.error_code, r.request_body) for r in rows] == [
        ("error", "UNAVAILABLE", None),
        ("ok", None, None),
    ]


def test_an_answer_lost_after_ferzl_formed_the_policy_is_not_applied_twice(small_stand: Stand) -> None:
    stand = small_stand
    registry = _registry(stand)
    result = _submit(stand, _new_person_record())
    push = registry.prepare_push(result.entry_id)
    assert push is not None and push.application is not None
    # ФЕРЗЛ gets the application and forms the policy; the answer never reaches the hub
    first = outbox.send(stand.client(), push, "45000")
    assert first.accepted and first.formed is not None
    enp = first.formed.enp
    assert _versions(stand, enp) == (0, 1)

    report = _registry(stand).push_pending(stand.client())  # the next sender repeats the same request

    assert report.formed == [enp]  # ФЕРЗЛ's first answer, not a second person
    assert _versions(stand, enp) == (1, 1)
    assert (
        stand.ferzl_scalar("SELECT count(*) FROM fed_person WHERE fam = 'Федералова' AND enp = :e", e=enp)
        == 1
    )


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


def test_a_second_registration_of_the_same_new_person_is_stopped_before_it_reaches_ferzl(
    small_stand: Stand,
) -> None:
    stand = small_stand
    rec = _new_person_record()
    first = _submit(stand, rec)
    assert rec.insurance.policy is not None
    again = dataclasses.replace(
        rec,
        insurance=dataclasses.replace(
            rec.insurance, policy=dataclasses.replace(rec.insurance.policy, npolis="459999999")
        ),
    )
    second = _submit(stand, again)  # the person does not exist locally yet: both wait for ФЕРЗЛ
    assert (first.state, second.state) == (State.AWAITING_FEDERAL, State.AWAITING_FEDERAL)

    report = _registry(stand).push_pending(stand.client())

    assert (report.accepted, report.not_sent) == (1, 1)  # the second is checked again, refused, never sent
    final = _registry(stand).results([second.entry_id])[0]
    assert final.state is State.REJECTED and final.comment.startswith("502")
    (enp,) = report.formed
    assert _versions(stand, enp) == (1, 1)


def test_a_signed_application_is_verified_and_forms_the_policy(small_stand: Stand) -> None:
    """§3.3.2: the same application as a signed ``data`` document (GOST R 34.10-2012 over its bytes)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from rserz_soap.xmlsig.gost.asn1 import private_key_from_pem

    stand = small_stand
    result = _submit(stand, _new_person_record())
    push = _registry(stand).prepare_push(result.entry_id)
    assert push is not None and push.application is not None
    folder = stand.settings.pki_dir / "hub" / "gost"
    key = private_key_from_pem((folder / "key.pem").read_bytes())
    cert = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes()).public_bytes(Encoding.DER)
    assert key is not None
    client = stand.client()
    forged = client.submit_application_signed(str(uuid.uuid4()), dataclasses.replace(push.application, smo="45002"),
                                              _Tampered(key), cert)  # type: ignore[arg-type]  # fmt: skip
    assert not forged.accepted and forged.code == "409.39.10"
    answer = client.submit_application_signed(str(uuid.uuid4()), push.application, key, cert)
    assert answer.accepted and answer.formed is not None and answer.formed.pcy_type == "Ц"
    assert stand.ferzl_scalar("SELECT smo FROM fed_person WHERE enp = :e", e=answer.formed.enp) == "45001"


class _Tampered:
    """Signs, then the signed bytes are not the ones sent: a signature that cannot verify."""

    def __init__(self, key: Any) -> None:
        self.key = key

    def sign(self, data: bytes) -> bytes:
        return bytes(self.key.sign(data + b" "))


def test_a_vs_is_converted_as_the_document_says_never_issued_anew(small_stand: Stand) -> None:
    """П060 is §3.3.1's case 9 (2/4): the ВС is closed, stays readable as history, a digital policy follows."""
    stand = small_stand
    planted = {p.enp for p in stand.planted}
    with stand.hub.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.main_enp, i.smo_code, i.npolis FROM insurance_period i JOIN person p ON p.id = i.person_id"
                " WHERE i.superseded_at IS NULL AND i.dstop IS NULL AND i.vpolis = 2 ORDER BY p.id LIMIT 50"
            )
        ).all()
    enp, smo, vs_number = next(tuple(r) for r in rows if r.main_enp not in planted)
    card = _card(stand, enp)
    rec = builders.record(
        "П060", smo=smo, enp=enp, person=card.data, documents=tuple(card.documents), dvizit=date(2026, 11, 2),
        policy=PolicyInput(vpolis=3, npolis=enp, dbeg=date(2026, 11, 2)),
    )  # fmt: skip
    result = _submit(stand, rec, smo=smo)
    assert result.state is State.AWAITING_FEDERAL, result
    push = _registry(stand).prepare_push(result.entry_id)
    assert push is not None and push.application is not None
    assert (push.application.app_object, push.application.app_cause) == (2, 4)
    report = _registry(stand).push_pending(stand.client())
    assert report.formed == [enp]  # the same ЕНП
    assert _policy(stand, enp)[:2] == (5, enp)  # a digital policy, not the single-format blank the СМО named
    with stand.hub.connect() as conn:
        old = conn.execute(
            text(
                "SELECT i.vpolis, i.dstop, i.stop_reason FROM insurance_period i JOIN person p ON p.id = i.person_id"
                " WHERE p.main_enp = :e AND i.superseded_at IS NULL AND i.npolis = :n"
            ),
            {"e": enp, "n": vs_number},
        ).one()
    assert old.vpolis == 2 and old.dstop is not None and old.stop_reason == 8  # kept, closed: reissued


def test_senders_share_the_work_by_person_and_each_person_keeps_their_order(small_stand: Stand) -> None:
    """Two lanes: a person's entries are in one lane (in order), new persons in lane 0; while one sender
    holds lane 0 a second sender takes lane 1, and a third finds nothing free."""
    stand = small_stand
    registry = _registry(stand)
    enps = []
    for _ in range(4):  # four known persons
        _submit(stand, _new_person_record())
        enps += registry.push_pending(stand.client()).formed
    changes = []
    for enp in enps:  # two changes each, in order: a document, then another
        card = _card(stand, enp)
        for k in (1, 2):
            doc = builders.passport(docser="45 97", docnum=f"{k}{enp[-5:]}", docdate=date(2025, 3, 10 + k))
            rec = builders.record(
                "П040", enp=enp, policy=None, dvizit=date(2025, 4, k), person=card.data, documents=(doc,)
            )
            changes.append((enp, _submit(stand, rec)))
    newcomer = _submit(stand, _new_person_record())
    ids = [r.entry_id for _, r in changes]
    lanes = {lane: outbox.pending_pushes(registry.uow(), lane=lane, lanes=2) for lane in (0, 1)}
    assert sorted(lanes[0] + lanes[1]) == sorted([*ids, newcomer.entry_id])
    assert newcomer.entry_id in lanes[0]
    for enp, _ in changes:  # both changes of a person in one lane, the earlier first
        mine = [r.entry_id for e, r in changes if e == enp]
        lane = 0 if mine[0] in lanes[0] else 1
        assert [i for i in lanes[lane] if i in mine] == mine
    with registry.uow().exclusive(outbox.SENDER_LOCK, 0) as held:
        assert held
        second = registry.push_pending(stand.client(), lanes=2)
        assert second.sent == len(lanes[1])  # it took lane 1 only
        with registry.uow().exclusive(outbox.SENDER_LOCK, 1) as held_too:
            assert held_too
            assert registry.push_pending(stand.client(), lanes=2).sent == 0  # both lanes busy: returns
    rest = registry.push_pending(stand.client(), lanes=2)
    assert rest.sent == len(lanes[0])
    for enp in enps:  # the later document won: the changes were applied in order
        assert stand.ferzl_scalar("SELECT doc_num FROM fed_person WHERE enp = :e", e=enp) == f"2{enp[-5:]}"


def test_a_sender_passes_over_a_free_lane_with_nothing_waiting(small_stand: Stand) -> None:
    """Lane 0 free and empty, lane 1 waiting: the sender does not stop at lane 0 and leave lane 1 to nobody."""
    stand = small_stand
    registry = _registry(stand)
    enps: list[str] = []
    while not any(_card(stand, e).person_id % 2 for e in enps):  # a known person of lane 1
        _submit(stand, _new_person_record())
        enps += registry.push_pending(stand.client()).formed
    enp = next(e for e in enps if _card(stand, e).person_id % 2)
    card = _card(stand, enp)
    doc = builders.passport(docser="45 96", docnum=f"7{enp[-5:]}", docdate=date(2025, 3, 12))
    rec = builders.record(
        "П040", enp=enp, policy=None, dvizit=date(2025, 4, 1), person=card.data, documents=(doc,)
    )
    entry = _submit(stand, rec)
    assert outbox.pending_pushes(registry.uow(), lane=0, lanes=2) == []
    assert outbox.pending_pushes(registry.uow(), lane=1, lanes=2) == [entry.entry_id]
    report = registry.push_pending(stand.client(), lanes=2)
    assert report.sent == 1 and report.accepted == 1
    assert outbox.pending_pushes(registry.uow(), lanes=1) == []
    assert stand.ferzl_scalar("SELECT doc_num FROM fed_person WHERE enp = :e", e=enp) == f"7{enp[-5:]}"
